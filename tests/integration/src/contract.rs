//! Helpers for the client-contract tests: an edge with extra settings, the
//! generated mirror's files read straight from disk (so expected values do
//! not come from the edge's own code), a virtual router with a chosen
//! package list, and a fake builder that finishes a job the way the real
//! builder does (upstream profile fields merged into the result).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use asu_protocol::answer::BuildResult;
use asu_protocol::builder_api::{Job, Outcome};
use asu_protocol::upstream::{Image, ProfilesJson};
use serde_json::{json, Value};

use crate::builder_client::FakeBuilder;
use crate::http::{request, Answer};
use crate::stack::{bin, mirror_root, shared_dir, Edge, EdgeConfig, Router};

/// Starts `wrangler dev` like [`Edge::start`], with more `--var`s.
pub fn start_edge_with(mut config: EdgeConfig, vars: &[(&str, &str)], logs: &Path) -> Edge {
    config.extra_vars.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Edge::start(config, logs)
}

/// A JSON file of the generated mirror, e.g. `releases/24.10.5/.targets.json`.
pub fn mirror_json(rel: &str) -> Value {
    let path = mirror_root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn mirror_profiles(version: &str, target: &str) -> ProfilesJson {
    serde_json::from_value(mirror_json(&format!("releases/{version}/targets/{target}/profiles.json"))).unwrap()
}

/// `Package` -> `Version` of a mirror `Packages` file, read line by line
/// (names as written, ABI suffix included).
pub fn mirror_packages(rel: &str) -> BTreeMap<String, String> {
    let path = mirror_root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Package: ") {
            name = Some(n.trim().to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("Version: "), name.take()) {
            out.insert(n, v.trim().to_string());
        }
    }
    out
}

/// The feeds of an architecture that the mirror has, in opkg's order.
pub fn mirror_arch_feeds(version: &str, arch: &str) -> Vec<String> {
    ["base", "packages", "luci", "routing", "telephony"]
        .iter()
        .map(|f| format!("releases/{version}/packages/{arch}/{f}"))
        .filter(|d| mirror_root().join(d).join("Packages").exists())
        .collect()
}

/// Writes a board file of a 23.05.4 GL-MT6000 with `packages` installed on
/// top of the defaults, with the stand-ins' own generator.
pub fn board_file(out: &Path, packages: &str) -> PathBuf {
    let status = Command::new(bin("upstream-mirror"))
        .arg("board-file")
        .arg("--fixtures")
        .arg(shared_dir().join("fixtures/upstream"))
        .args(["--packages", packages])
        .arg("--out")
        .arg(out)
        .status()
        .expect("run upstream-mirror board-file");
    assert!(status.success(), "board-file failed");
    out.to_path_buf()
}

/// A virtual router with the given board file.
pub fn start_router(board: &Path, server_url: &str, state: &Path, logs: &Path) -> Router {
    Router::start_with_board(board, server_url, state, logs)
}

/// One rpcd call: `[code, data]` as the router answers it.
pub async fn ubus(router: &str, session: &str, object: &str, method: &str, args: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": [session, object, method, args]});
    let a = request(
        "POST",
        &format!("{router}/ubus"),
        &[("content-type", "application/json")],
        Some(serde_json::to_vec(&body).unwrap()),
    )
    .await;
    assert_eq!(a.status, 200, "ubus {object} {method}: {}", String::from_utf8_lossy(&a.body));
    a.json()["result"].clone()
}

/// Logs in as root with the empty password of a fresh router.
pub async fn login(router: &str) -> String {
    let r = ubus(router, "00000000000000000000000000000000", "session", "login", json!({"username": "root", "password": ""})).await;
    assert_eq!(r[0], 0, "login: {r}");
    r[1]["ubus_rpc_session"].as_str().unwrap().to_string()
}

/// The image file name the real ImageBuilder gives a profile's image.
pub fn image_name(profiles: &ProfilesJson, profile: &str, fs: &str, kind: &str) -> String {
    let p = &profiles.profiles[profile];
    p.images
        .iter()
        .find(|i| i.filesystem.as_deref() == Some(fs) && i.kind == kind)
        .map(|i| i.name.clone())
        .unwrap_or_else(|| format!("{}-{fs}-{kind}.bin", p.image_prefix))
}

/// Finishes `job` as the real builder does: uploads one image, then
/// completes with the upstream profile's fields merged into the result,
/// `manifest` taken from `manifest`. Returns the image name.
pub async fn finish_like_builder(
    b: &FakeBuilder,
    job: &Job,
    profiles: &ProfilesJson,
    fs: &str,
    kind: &str,
    image: &[u8],
    manifest: BTreeMap<String, String>,
) -> String {
    let profile_id = job.request.profile.clone();
    let name = image_name(profiles, &profile_id, fs, kind);
    let (up, artifact) = b.upload(job, &name, image).await;
    assert!(up.status < 300, "upload answered {}: {}", up.status, String::from_utf8_lossy(&up.body));
    let merged = profiles.merged_profile(&profile_id).expect("the job's profile exists upstream");
    let p = &profiles.profiles[&profile_id];
    let mut extra = merged.clone();
    for key in [
        "id", "images", "titles", "manifest", "bin_dir", "version_number", "version_code", "target", "supported_devices",
        "image_prefix", "default_packages", "build_at", "build_cmd", "request", "stdout", "stderr",
    ] {
        extra.remove(key);
    }
    let result = BuildResult {
        id: profile_id.clone(),
        images: vec![Image {
            filesystem: Some(fs.into()),
            name: name.clone(),
            sha256: artifact.sha256.clone(),
            sha256_unsigned: artifact.sha256.clone(),
            kind: kind.into(),
        }],
        titles: p.titles.clone(),
        manifest,
        bin_dir: job.request_hash.clone(),
        version_number: profiles.version_number.clone(),
        version_code: profiles.version_code.clone(),
        target: profiles.target.clone(),
        supported_devices: p.supported_devices.clone(),
        image_prefix: p.image_prefix.clone(),
        default_packages: profiles.default_packages.clone(),
        build_at: "1735689600".into(),
        build_cmd: vec!["make".into(), "image".into(), format!("PROFILE={profile_id}")],
        request: job.request.clone(),
        stdout: "make image: done".into(),
        stderr: String::new(),
        profile: extra,
    };
    let done: Answer = b.complete(job, Outcome::Done { result: result.to_map(), artifacts: vec![artifact] }).await;
    assert!(done.status < 300, "complete answered {}: {}", done.status, String::from_utf8_lossy(&done.body));
    name
}

/// Fails whatever an earlier test left in the queue.
pub async fn drain(b: &FakeBuilder) {
    while let Some(job) = b.lease().await {
        b.complete(&job, Outcome::Failed { detail: "drained".into(), stdout: String::new(), stderr: String::new() }).await;
    }
}

/// The image bytes a test uploads: deterministic, distinct per `seed`.
pub fn image_bytes(seed: u32, len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| ((i.wrapping_mul(31).wrapping_add(seed * 7)) % 251) as u8).collect()
}
