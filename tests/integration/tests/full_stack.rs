//! Real builds: the edge under wrangler dev, the builder binary, the
//! ImageBuilder stand-in it downloads from the mirror and runs.

use std::sync::OnceLock;
use std::time::Duration;

use asu_protocol::fwtool;
use integration::http::get;
use integration::stack::{scratch, Builder, Edge, Mirror};
use integration::wait::build_to_end;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Stack {
    edge: Edge,
    _builder: Builder,
    _mirror: Mirror,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("full-stack");
        let mirror = Mirror::start(&dir);
        let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
        let builder = Builder::start(&Builder::config(&edge, &dir), "builder-1", &dir);
        Stack { edge, _builder: builder, _mirror: mirror }
    })
}

const TIMEOUT: Duration = Duration::from_secs(180);

/// The JSON the stand-in writes before the trailer: what is inside the image.
fn image_contents(image: &[u8]) -> Value {
    let meta_start = image.len() - fwtool_trailer_len(image);
    serde_json::from_slice(&image[..meta_start]).expect("a stand-in image body is JSON")
}

fn fwtool_trailer_len(image: &[u8]) -> usize {
    // The last 4 bytes of the trailer are the chunk size (header + JSON + trailer), big-endian.
    let n = image.len();
    u32::from_be_bytes(image[n - 4..].try_into().unwrap()) as usize
}

#[tokio::test]
async fn a_build_is_done_with_the_requested_packages_in_a_checked_image() {
    let s = stack();
    let body = json!({
        "version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000",
        "packages": ["luci", "tcpdump"], "client": "integration-test"
    });
    let (done, phases) = build_to_end(&s.edge.url, &body, TIMEOUT).await;
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
    let seen: Vec<&str> = phases.iter().map(|p| p.0.as_str()).collect();
    assert!(seen.contains(&"queued") || seen.contains(&"started"), "{phases:?}");
    for (_, phase, _) in &phases {
        assert!(phase.is_empty() || asu_protocol::answer::ImagebuilderStatus::parse(phase).is_some(), "{phase}");
    }
    let d = done.json();
    assert_eq!(d["version_number"], "24.10.5");
    assert_eq!(d["version_code"], "r29087-d9c5716d1d");
    assert_eq!(d["id"], "glinet_gl-mt6000");
    assert_eq!(d["titles"][0]["model"], "GL-MT6000");
    assert!(d["manifest"]["tcpdump"].is_string(), "manifest lacks tcpdump: {}", d["manifest"]);
    assert!(d["manifest"]["luci"].is_string());
    assert!(d["manifest"]["fitblk"].is_string(), "a default package of 24.10.5 is in the image");

    let images = d["images"].as_array().unwrap();
    let sysupgrade = images.iter().find(|i| i["type"] == "sysupgrade").expect("a sysupgrade image");
    let name = sysupgrade["name"].as_str().unwrap();
    // The reference server puts a hash of the package set in the name (EXTRA_IMAGE_NAME).
    assert!(name.starts_with("openwrt-24.10.5-"), "{name}");
    assert!(name.ends_with("-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin"), "{name}");
    let file = get(&format!("{}/store/{}/{name}", s.edge.url, d["bin_dir"].as_str().unwrap())).await;
    assert_eq!(file.status, 200);
    assert_eq!(hex::encode(Sha256::digest(&file.body)), sysupgrade["sha256"].as_str().unwrap());

    let meta = fwtool::read_metadata(&file.body).expect("a valid fwtool trailer");
    assert!(meta.supported_devices.iter().any(|d| d == "glinet,gl-mt6000"));
    assert_eq!(meta.version.version, "24.10.5");
    assert_eq!(meta.version.revision, "r29087-d9c5716d1d");
    let inside = image_contents(&file.body);
    assert!(inside["installed"]["tcpdump"].is_string(), "{inside}");
    assert!(inside["installed"]["luci"].is_string());
}

#[tokio::test]
async fn an_impossible_package_fails_with_a_detail_naming_it() {
    let s = stack();
    let body = json!({
        "version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet_gl-mt6000",
        "packages": ["luci", "no-such-package-xyz"]
    });
    let (failed, _) = build_to_end(&s.edge.url, &body, TIMEOUT).await;
    assert!(matches!(failed.status, 422 | 500), "{}", String::from_utf8_lossy(&failed.body));
    let detail = failed.detail();
    assert!(detail.contains("no-such-package-xyz"), "{detail}");
}

#[tokio::test]
async fn an_image_too_big_for_the_flash_fails_with_a_storage_message() {
    let s = stack();
    let tiny: Value = serde_json::from_str(
        &std::fs::read_to_string(integration::stack::shared_dir().join("fixtures/upstream/releases/23.05.4/targets/ath79/tiny/profiles.json")).unwrap(),
    )
    .unwrap();
    let profile = tiny["profiles"].as_object().unwrap().keys().next().unwrap().clone();
    let body = json!({
        "version": "23.05.4", "target": "ath79/tiny", "profile": profile,
        "packages": ["luci", "tcpdump", "wireguard-tools"]
    });
    let (failed, _) = build_to_end(&s.edge.url, &body, TIMEOUT).await;
    assert_eq!(failed.status, 500, "{}", String::from_utf8_lossy(&failed.body));
    let detail = failed.detail();
    assert!(detail.starts_with("Error: "), "{detail}");
    assert!(detail.contains("exceed device storage"), "{detail}");
}
