//! Extra package feeds (`repositories`, `repositories_mode`,
//! `repository_keys`) through the whole stack: the edge's allow-list, the
//! builder writing the ImageBuilder's repositories.conf and keys/ for one
//! build, the ImageBuilder stand-in reading the feeds it names; and the
//! cached ImageBuilder left as the release shipped it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use integration::http::get;
use integration::stack::{mirror_root, scratch, serial, Builder, Edge, Mirror};
use integration::wait::build_to_end;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ALLOWED: &str = "https://feeds.example.org/openwrt";
const MYFEED: &str = "https://feeds.example.org/openwrt/24.10/myfeed";
const TIMEOUT: Duration = Duration::from_secs(180);

struct Stack {
    edge: Edge,
    cache_dir: PathBuf,
    _builder: Builder,
    _mirror: Mirror,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("repositories");
        let mirror = Mirror::start(&dir);
        let mut config = Edge::config(&mirror.url, &dir);
        config.extra_vars = vec![("REPOSITORY_ALLOW_LIST".into(), ALLOWED.into())];
        let edge = Edge::start(config, &dir);
        let builder_config = Builder::config(&edge, &dir);
        let builder = Builder::start(&builder_config, "builder-repos", &dir);
        Stack { edge, cache_dir: builder_config.cache_dir, _builder: builder, _mirror: mirror }
    })
}

/// The builder's unpacked 24.10.5 mediatek/filogic ImageBuilder.
fn cached_ib() -> PathBuf {
    stack().cache_dir.join("24.10.5/mediatek/filogic")
}

/// repositories.conf as the release's ImageBuilder archive on the mirror has it.
fn release_conf() -> String {
    let dir = mirror_root().join("releases/24.10.5/targets/mediatek/filogic");
    let archive = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("openwrt-imagebuilder-"))
        .expect("an ImageBuilder archive on the mirror");
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(&archive)
        .args(["--wildcards", "*/repositories.conf"])
        .output()
        .expect("tar runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The JSON body of a stand-in image (what is before the fwtool trailer).
fn image_body(image: &[u8]) -> Value {
    let n = image.len();
    let trailer = u32::from_be_bytes(image[n - 4..].try_into().unwrap()) as usize;
    serde_json::from_slice(&image[..n - trailer]).expect("a stand-in image body is JSON")
}

/// Builds `body` to the end and returns (result, body of its sysupgrade image).
async fn build(body: &Value) -> (Value, Value) {
    let s = stack();
    let (done, phases) = build_to_end(&s.edge.url, body, TIMEOUT).await;
    assert_eq!(done.status, 200, "{} {phases:?}", String::from_utf8_lossy(&done.body));
    let d = done.json();
    let sys = d["images"].as_array().unwrap().iter().find(|i| i["type"] == "sysupgrade").expect("a sysupgrade image");
    let name = sys["name"].as_str().unwrap();
    let file = get(&format!("{}/store/{}/{name}", s.edge.url, d["bin_dir"].as_str().unwrap())).await;
    assert_eq!(file.status, 200);
    assert_eq!(hex::encode(Sha256::digest(&file.body)), sys["sha256"].as_str().unwrap());
    (d.clone(), image_body(&file.body))
}

fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list.as_array().expect("a list of feeds").iter().map(|n| n.as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

/// The cached folder is as the release shipped it: same repositories.conf,
/// no key of the job left behind.
fn assert_pristine(ib: &Path, keys: &[&str]) {
    let conf = std::fs::read_to_string(ib.join("repositories.conf")).unwrap();
    assert_eq!(conf, release_conf());
    for key in keys {
        let file = ib.join("keys").join(hex::encode(Sha256::digest(key.as_bytes())));
        assert!(!file.exists(), "{} was left behind", file.display());
    }
}

#[tokio::test]
async fn extra_feeds_are_used_for_one_build_and_then_removed() {
    let _one_at_a_time = serial();
    let base = json!({"version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000", "packages": ["luci"]});
    let release_feeds: Vec<String> = release_conf()
        .lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["src" | "src/gz", name, _] => Some(name.to_string()),
            _ => None,
        })
        .collect();
    assert!(release_feeds.iter().any(|n| n == "openwrt_base"), "{release_feeds:?}");

    // append: the release's feeds and myfeed. myfeed serves nothing here
    // (the stand-in warns as opkg does) and the build goes on.
    let key = "untrusted comment: myfeed signing key\nRWQ4AMlD1ZEPZWx4QiOhNtfUn0zN+3fGr6uM1hV2V6sYFKuHgO4r7Yd9\n";
    let mut body = base.clone();
    body["repositories"] = json!({"myfeed": MYFEED});
    body["repository_keys"] = json!([key]);
    let (result, image) = build(&body).await;
    let mut want = release_feeds.clone();
    want.push("myfeed".into());
    want.sort();
    assert_eq!(names(&image["repositories"]), want);
    let stdout = result["stdout"].as_str().unwrap_or_default();
    assert!(stdout.contains(&format!("Downloading {MYFEED}/Packages.gz")), "{stdout}");
    assert!(image["installed"]["luci"].is_string());
    let ib = cached_ib();
    assert_pristine(&ib, &[key]);

    // replace: only the local feed and myfeed. To build at all, myfeed must
    // carry the release's packages: give the stand-in a copy of them under
    // the feed's name (it reads remote feeds from bundled copies).
    let bundled = ib.join("staging_dir/standin/feeds");
    let mut all = String::new();
    for name in release_feeds.iter().filter(|n| bundled.join(n).is_dir()) {
        all.push_str(&std::fs::read_to_string(bundled.join(name).join("Packages")).unwrap());
        all.push('\n');
    }
    std::fs::create_dir_all(bundled.join("myfeed")).unwrap();
    std::fs::write(bundled.join("myfeed/Packages"), all).unwrap();
    let mut body = base.clone();
    body["repositories"] = json!({"myfeed": MYFEED});
    body["repositories_mode"] = json!("replace");
    let (result, image) = build(&body).await;
    assert_eq!(names(&image["repositories"]), ["imagebuilder", "myfeed"]);
    assert!(image["installed"]["luci"].is_string());
    let stdout = result["stdout"].as_str().unwrap_or_default();
    assert!(!stdout.contains("downloads.openwrt.org"), "release feeds were read: {stdout}");
    assert_pristine(&ib, &[key]);

    // A later build without extra feeds sees the release's feeds only.
    let (_, image) = build(&base).await;
    let mut want = release_feeds.clone();
    want.sort();
    assert_eq!(names(&image["repositories"]), want);
}

#[tokio::test]
async fn a_feed_off_the_allow_list_is_refused_before_queuing() {
    let _one_at_a_time = serial();
    let s = stack();
    let body = json!({
        "version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000",
        "repositories": {"evil": "https://feeds.example.org.evil.example/openwrt"}
    });
    let (answer, _) = build_to_end(&s.edge.url, &body, TIMEOUT).await;
    assert_eq!(answer.status, 400, "{}", String::from_utf8_lossy(&answer.body));
    assert!(answer.detail().contains("allow-list"), "{}", answer.detail());
}
