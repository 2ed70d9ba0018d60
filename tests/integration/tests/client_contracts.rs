//! One test per existing client (LuCI attended-sysupgrade app, owut, auc,
//! firmware selector): the calls that client makes in a normal upgrade, in
//! its order and with its headers, against the real `wrangler dev`, with
//! every field the client reads checked for presence, type and value. The
//! test plays the builder, so no ImageBuilder runs.
//!
//! The expected values come from the generated mirror's files on disk, not
//! from the edge's code.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use asu_protocol::answer::ImagebuilderStatus;
use asu_protocol::builder_api::Outcome;
use integration::builder_client::FakeBuilder;
use integration::contract::{drain, finish_like_builder, image_bytes, login, mirror_json, mirror_profiles, start_router, ubus};
use integration::http::{request, Answer};
use integration::stack::{repo_root, scratch, serial, Edge, Mirror};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ORIGIN: &str = "http://192.168.1.1";
const TARGET: &str = "mediatek/filogic";
const NEW: &str = "24.10.5";
const OLD: &str = "23.05.4";
/// The phases the LuCI app knows; any other value makes it throw.
const KNOWN_PHASES: &[&str] =
    &["init", "container_setup", "validate_revision", "validate_manifest", "calculate_packages_hash", "building_image", "signing_images"];

struct Stack {
    edge: Edge,
    mirror: Mirror,
    dir: PathBuf,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("client-contracts");
        let mirror = Mirror::start(&dir);
        let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
        Stack { edge, mirror, dir }
    })
}

fn edge() -> &'static str {
    &stack().edge.url
}

fn builder() -> FakeBuilder {
    stack().edge.fake_builder()
}

async fn get_h(url: &str, headers: &[(&str, &str)]) -> Answer {
    request("GET", url, headers, None).await
}

async fn head_h(url: &str, headers: &[(&str, &str)]) -> Answer {
    request("HEAD", url, headers, None).await
}

async fn post_h(url: &str, headers: &[(&str, &str)], body: &Value) -> Answer {
    request("POST", url, headers, Some(serde_json::to_vec(body).unwrap())).await
}

/// The browser's CORS preflight before a call with `Content-Type: application/json`.
async fn assert_preflight(url: &str, method: &str) {
    let a = request(
        "OPTIONS",
        url,
        &[("origin", ORIGIN), ("access-control-request-method", method), ("access-control-request-headers", "content-type")],
        None,
    )
    .await;
    assert_eq!(a.status / 100, 2, "preflight of {url} answered {}", a.status);
    assert_eq!(a.header("access-control-allow-origin").as_deref(), Some("*"), "{url}");
    assert!(a.header("access-control-allow-methods").unwrap_or_default().contains(method), "{url}");
    assert!(a.header("access-control-allow-headers").unwrap_or_default().to_lowercase().contains("content-type"), "{url}");
    let max_age: u64 = a.header("access-control-max-age").and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(max_age >= 600, "{url}: preflights must be cacheable, Max-Age {max_age}");
}

fn assert_cors(a: &Answer, what: &str) {
    assert_eq!(a.header("access-control-allow-origin").as_deref(), Some("*"), "{what} lacks Access-Control-Allow-Origin");
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn is_hash(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The arch feeds' versions as upstream's own index.json files state them.
fn upstream_arch_index(version: &str, arch: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for feed in ["base", "packages", "luci"] {
        let idx = mirror_json(&format!("releases/{version}/packages/{arch}/{feed}/index.json"));
        for (k, v) in idx["packages"].as_object().unwrap() {
            out.entry(k.clone()).or_insert(v.as_str().unwrap().to_string());
        }
    }
    out
}

fn upstream_target_index(version: &str, target: &str) -> Value {
    mirror_json(&format!("releases/{version}/targets/{target}/packages/index.json"))
}

/// The board file the stand-ins ship: a GL-MT6000 on 23.05.4.
fn default_board() -> PathBuf {
    repo_root().join("tests/standins/boards/glinet_gl-mt6000-23.05.4.json")
}

fn board_world(path: &PathBuf) -> BTreeMap<String, String> {
    let b: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(b["packages"]["world"].clone()).unwrap()
}

/// Checks the fields every finished build answer must carry for the
/// clients, against the upstream profile.
fn assert_done_fields(d: &Value, hash: &str, profile: &str, image_name: &str, image_sha: &str) {
    let profiles = mirror_profiles(NEW, TARGET);
    let upstream = &profiles.profiles[profile];
    assert_eq!(d["status"], 200);
    assert_eq!(d["request_hash"], hash);
    assert_eq!(d["bin_dir"], hash, "bin_dir is the /store/ folder");
    assert_eq!(d["id"], profile);
    assert_eq!(d["target"], TARGET);
    assert_eq!(d["version_number"], NEW);
    assert_eq!(d["version_code"], profiles.version_code.as_str());
    assert!(d["build_at"].is_string(), "build_at: {}", d["build_at"]);
    assert!(d["manifest"].is_object());
    assert!(d["build_cmd"].is_array());
    assert!(d["stdout"].is_string() && d["stderr"].is_string());
    assert_eq!(d["titles"], serde_json::to_value(&upstream.titles).unwrap(), "the firmware selector crashes without titles");
    assert_eq!(d["supported_devices"], serde_json::to_value(&upstream.supported_devices).unwrap());
    let image = d["images"].as_array().unwrap().iter().find(|i| i["name"] == image_name).expect("the image is listed");
    for key in ["name", "type", "filesystem", "sha256", "sha256_unsigned"] {
        assert!(image[key].is_string(), "images[].{key}: {image}");
    }
    assert_eq!(image["sha256"], image_sha);
}

/// Downloads an image as a browser does (cross-origin, no preflight) and
/// checks its sha256 and headers.
async fn download(bin_dir: &str, name: &str, extra: &[(&str, &str)], expected_sha: &str) -> Answer {
    let mut headers = vec![("origin", ORIGIN)];
    headers.extend_from_slice(extra);
    let file = get_h(&format!("{}/store/{bin_dir}/{name}", edge()), &headers).await;
    assert_eq!(file.status, 200, "download of {name}: {}", String::from_utf8_lossy(&file.body));
    assert_cors(&file, "the /store/ download");
    assert_eq!(file.header("content-type").as_deref(), Some("application/octet-stream"));
    assert_eq!(sha256_hex(&file.body), expected_sha);
    file
}

#[tokio::test]
async fn luci_app() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let s = stack();
    let e = edge();

    // What the app reads from the router: packagelist, system board.
    let router = start_router(&default_board(), e, &s.dir, &s.dir);
    let sid = login(&router.url).await;
    let packagelist = ubus(&router.url, &sid, "rpc-sys", "packagelist", json!({"all": false})).await;
    let board = ubus(&router.url, &sid, "system", "board", json!({})).await;
    let packages: BTreeMap<String, String> = serde_json::from_value(packagelist[1]["packages"].clone()).unwrap();
    let board = &board[1];
    assert_eq!(board["release"]["version"], OLD);

    // 1. The overview through the 301; the redirect itself carries CORS.
    let no_follow = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect = no_follow.get(format!("{e}/api/v1/overview")).header("origin", ORIGIN).send().await.unwrap();
    assert_eq!(redirect.status().as_u16(), 301);
    assert_eq!(redirect.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()), Some("*"));
    let location = redirect.headers().get("location").unwrap().to_str().unwrap().to_string();
    assert!(location.ends_with("/json/v1/overview.json"), "{location}");
    let overview = get_h(&location, &[("origin", ORIGIN)]).await;
    assert_eq!(overview.status, 200);
    assert_cors(&overview, "overview.json");
    let o = overview.json();
    let latest: Vec<String> = serde_json::from_value(o["latest"].clone()).expect("latest is a list of versions");
    let versions: Value = mirror_json(".versions.json");
    assert_eq!(latest, [versions["stable_version"].as_str().unwrap(), versions["oldstable_version"].as_str().unwrap()]);
    for branch in ["23.05", "24.10"] {
        assert!(o["branches"][branch]["package_changes"].is_array(), "branches[{branch}].package_changes must be a list");
    }

    // The app's candidate choice (advanced mode, so branch upgrades are offered).
    let version = board["release"]["version"].as_str().unwrap();
    let branch_of = |v: &str| v.replace("-SNAPSHOT", "").split('.').take(2).collect::<Vec<_>>().join(".");
    let mut candidates = Vec::new();
    for remote in &latest {
        if remote == version {
            break;
        }
        candidates.insert(0, remote.clone());
        if branch_of(remote) == branch_of(version) {
            break;
        }
    }
    assert_eq!(candidates, [NEW]);

    // 2. The revision call (used on snapshots; must answer on releases too).
    let rev = get_h(&format!("{e}/api/v1/revision/{NEW}/{TARGET}"), &[("origin", ORIGIN)]).await;
    assert_eq!(rev.status, 200);
    assert_cors(&rev, "revision");
    let profiles = mirror_profiles(NEW, TARGET);
    assert_eq!(rev.json(), json!({"revision": profiles.version_code}));

    // 3. The build request, exactly as the app sends it.
    let client = format!("luci/{}", packages["luci-app-attendedsysupgrade"]);
    let mut sorted: Vec<String> = packages.keys().cloned().collect();
    sorted.sort();
    let body = json!({
        "client": client,
        "packages": sorted,
        "profile": board["board_name"],
        "target": board["release"]["target"],
        "version": candidates[0],
        "diff_packages": true,
        "filesystem": board["rootfs_type"],
    });
    let build_url = format!("{e}/api/v1/build");
    let json_headers = [("origin", ORIGIN), ("content-type", "application/json")];
    assert_preflight(&build_url, "POST").await;
    let queued = post_h(&build_url, &json_headers, &body).await;
    assert_eq!(queued.status, 202, "{}", String::from_utf8_lossy(&queued.body));
    assert_cors(&queued, "the build POST");
    let q = queued.json();
    assert!(is_hash(&q["request_hash"]), "{q}");
    assert!(q.get("queue_position").is_some_and(Value::is_u64), "'queue_position' in response while queued: {q}");
    let hash = q["request_hash"].as_str().unwrap().to_string();

    // 4. Polls: GET with Content-Type (so a preflight each time) and a timestamp query.
    let poll_url = format!("{e}/api/v1/build/{hash}");
    assert_preflight(&poll_url, "GET").await;
    let polled = get_h(&format!("{poll_url}?1735689600123"), &json_headers).await;
    assert_eq!(polled.status, 202);
    assert_cors(&polled, "a poll");
    assert_eq!(polled.json()["queue_position"], 0);

    let job = b.lease().await.expect("the job");
    assert_eq!(job.request_hash, hash);
    assert_eq!(job.request.profile, "glinet_gl-mt6000");
    assert_eq!(job.request.client.as_deref(), Some(client.as_str()));
    // The router's list plus fitblk, a new filogic default a 23.05 list lacks.
    let mut expected = sorted.clone();
    expected.push("fitblk".into());
    assert_eq!(job.request.packages, expected);

    for phase in [ImagebuilderStatus::Init, ImagebuilderStatus::BuildingImage] {
        assert!(b.phase(&job, phase).await.status < 300);
        assert_preflight(&poll_url, "GET").await;
        let building = get_h(&format!("{poll_url}?1735689605000"), &json_headers).await;
        assert_eq!(building.status, 202);
        let j = building.json();
        assert!(j.get("queue_position").is_none(), "while building the app must not see queue_position: {j}");
        assert!(KNOWN_PHASES.contains(&j["imagebuilder_status"].as_str().unwrap_or("")), "{j}");
        assert_eq!(j["imagebuilder_status"], phase.as_str());
    }

    let image = image_bytes(1, 150_000);
    let name = finish_like_builder(&b, &job, &profiles, "squashfs", "sysupgrade", &image, BTreeMap::new()).await;
    let done = get_h(&format!("{poll_url}?1735689610000"), &json_headers).await;
    assert_eq!(done.status, 200);
    let d = done.json();
    assert_done_fields(&d, &hash, "glinet_gl-mt6000", &name, &sha256_hex(&image));

    // The app's image choice: the router's filesystem, sysupgrade or combined.
    let chosen = d["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["filesystem"] == board["rootfs_type"] && (i["type"] == "sysupgrade" || i["type"] == "combined"))
        .expect("an image the app can pick");
    // 5. The download: the app sets a form Content-Type, which needs no preflight.
    download(
        d["bin_dir"].as_str().unwrap(),
        chosen["name"].as_str().unwrap(),
        &[("content-type", "application/x-www-form-urlencoded")],
        chosen["sha256"].as_str().unwrap(),
    )
    .await;
}

/// owut's `apply_pkg_mods`: every change up to the target revision with a
/// `source` that is installed is applied (replaced or removed).
fn owut_apply(changes: &[Value], to_rev: u64, installed: &mut Vec<String>) -> BTreeMap<String, Option<String>> {
    let mut replaced = BTreeMap::new();
    for chg in changes {
        let rev = chg["revision"].as_u64().expect("every change has an integer revision");
        let Some(source) = chg.get("source").and_then(Value::as_str) else { continue };
        if rev > to_rev || !installed.iter().any(|p| p == source) {
            continue;
        }
        installed.retain(|p| p != source);
        match chg.get("target").and_then(Value::as_str) {
            Some(t) => {
                if !installed.iter().any(|p| p == t) {
                    installed.push(t.to_string());
                }
                replaced.insert(source.to_string(), Some(t.to_string()));
            }
            None => {
                replaced.insert(source.to_string(), None);
            }
        }
    }
    replaced
}

#[tokio::test]
async fn owut() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let e = edge();
    let ua = [("user-agent", "owut/2025.08.28~1b3b2f3a-r1")];

    // A 23.05.4 router that has auc and luci-app-opkg installed.
    let s = stack();
    let board_path = integration::contract::board_file(
        &s.dir.join("board-owut.json"),
        "luci luci-app-attendedsysupgrade tcpdump wireguard-tools auc luci-app-opkg",
    );
    let world = board_world(&board_path);

    // 1. overview.json: upstream_url, the branch's versions, path, package_changes.
    let o = get_h(&format!("{e}/json/v1/overview.json"), &ua).await.json();
    let upstream = o["upstream_url"].as_str().expect("upstream_url");
    assert_eq!(upstream, s.mirror.url);
    let branch = &o["branches"]["24.10"];
    let versions: Vec<String> = serde_json::from_value(branch["versions"].clone()).unwrap();
    assert!(versions.contains(&NEW.to_string()));
    let path = branch["path"].as_str().unwrap();
    assert!(path.contains("{version}"), "{path}");
    let dir = path.replace("{version}", NEW);
    let changes = branch["package_changes"].as_array().expect("package_changes is a list");

    // 2. owut reads profiles.json from upstream_url itself.
    let platform = get_h(&format!("{upstream}/{dir}/targets/{TARGET}/profiles.json"), &ua).await.json();
    let to_rev: u64 = platform["version_code"].as_str().unwrap()[1..].split('-').next().unwrap().parse().unwrap();
    let arch = platform["arch_packages"].as_str().unwrap();

    // 3. The two package indexes, compared with upstream's own index.json files.
    let arch_index = get_h(&format!("{e}/json/v1/{dir}/packages/{arch}-index.json"), &ua).await;
    assert_eq!(arch_index.status, 200, "{}", String::from_utf8_lossy(&arch_index.body));
    let arch_map: BTreeMap<String, String> = serde_json::from_slice(&arch_index.body).expect("a flat {name: version} map");
    assert_eq!(arch_map, upstream_arch_index(NEW, arch));
    let plat = get_h(&format!("{e}/json/v1/{dir}/targets/{TARGET}/index.json"), &ua).await.json();
    assert_eq!(plat["packages"], upstream_target_index(NEW, TARGET)["packages"]);
    let mut available = arch_map.clone();
    available.extend(serde_json::from_value::<BTreeMap<String, String>>(plat["packages"].clone()).unwrap());

    // 4. owut's package changes and its check that every package exists.
    let mut top_level: Vec<String> = world.keys().filter(|p| *p != "kernel" && *p != "libc").cloned().collect();
    let replaced = owut_apply(changes, to_rev, &mut top_level);
    assert_eq!(replaced.get("auc"), Some(&Some("owut".to_string())));
    assert_eq!(replaced.get("luci-app-opkg"), Some(&Some("luci-app-package-manager".to_string())));
    let missing: Vec<&String> = top_level.iter().filter(|p| !available.contains_key(*p)).collect();
    assert!(missing.is_empty(), "owut would refuse: missing {missing:?}");

    // 5. The build blob and POST.
    let blob = json!({
        "client": "owut/2025.08.28~1b3b2f3a-r1",
        "target": TARGET,
        "profile": "glinet_gl-mt6000",
        "version": NEW,
        "version_code": platform["version_code"],
        "filesystem": "squashfs",
        "diff_packages": true,
        "packages": top_level,
    });
    let headers = [ua[0], ("content-type", "application/json")];
    let first = post_h(&format!("{e}/api/v1/build"), &headers, &blob).await;
    assert_eq!(first.status, 202, "{}", String::from_utf8_lossy(&first.body));
    let f = first.json();
    assert_eq!(f["detail"], "queued");
    assert!(f["queue_position"].is_u64());
    let hash = f["request_hash"].as_str().unwrap().to_string();
    let status_url = format!("{e}/api/v1/build/{hash}");

    // 6. HEAD polls: only the headers.
    let h = head_h(&status_url, &ua).await;
    assert_eq!(h.status, 202);
    assert!(h.body.is_empty());
    assert_eq!(h.header("x-queue-position").as_deref(), Some("0"));
    assert_eq!(h.header("x-imagebuilder-status").as_deref(), Some("queued"));

    let job = b.lease().await.unwrap();
    assert_eq!(job.request.version_code, platform["version_code"].as_str().unwrap());
    let mut expected = top_level.clone();
    expected.push("fitblk".into());
    assert_eq!(job.request.packages, expected, "only fitblk added; owut already replaced auc and luci-app-opkg");
    assert!(b.phase(&job, ImagebuilderStatus::BuildingImage).await.status < 300);
    let h = head_h(&status_url, &ua).await;
    assert_eq!(h.status, 202);
    assert_eq!(h.header("x-imagebuilder-status").as_deref(), Some("building_image"));

    // The manifest owut checks: every top-level package at the indexed version.
    let manifest: BTreeMap<String, String> = expected.iter().filter_map(|p| available.get(p).map(|v| (p.clone(), v.clone()))).collect();
    let profiles = mirror_profiles(NEW, TARGET);
    let image = image_bytes(2, 120_000);
    let name = finish_like_builder(&b, &job, &profiles, "squashfs", "sysupgrade", &image, manifest.clone()).await;

    // 7. HEAD says 200, then owut GETs the full answer.
    assert_eq!(head_h(&status_url, &ua).await.status, 200);
    let d = get_h(&status_url, &ua).await.json();
    assert_done_fields(&d, &hash, "glinet_gl-mt6000", &name, &sha256_hex(&image));
    assert_eq!(d["request"]["version_code"], platform["version_code"]);
    assert!(d["request"].get("rootfs_size_mb").is_none_or(Value::is_null));
    assert!(d["request"].get("defaults").is_none_or(Value::is_null));
    for pkg in &top_level {
        assert_eq!(d["manifest"][pkg].as_str(), available.get(pkg).map(String::as_str), "manifest[{pkg}]");
    }
    let img = d["images"].as_array().unwrap().iter().find(|i| i["filesystem"] == "squashfs" && i["type"] == "sysupgrade").unwrap();
    download(d["bin_dir"].as_str().unwrap(), img["name"].as_str().unwrap(), &ua, img["sha256"].as_str().unwrap()).await;
}

#[tokio::test]
async fn auc() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let e = edge();
    let ua = [("user-agent", "auc (0.3.2-1)")];
    let target = TARGET;
    let board_name = "glinet,gl-mt6000";

    // 1. branches.json: the fields auc requires of each branch.
    let branches = get_h(&format!("{e}/json/v1/branches.json"), &ua).await;
    assert_eq!(branches.status, 200);
    let list = branches.json();
    let list = list.as_array().expect("branches.json is a list");
    for br in list {
        assert_eq!(br["enabled"], true, "{br}");
        for key in ["name", "path", "path_packages"] {
            assert!(br[key].is_string(), "{key}: {br}");
        }
        assert!(br["versions"].is_array() && br["targets"].is_object(), "{br}");
    }
    let br = list.iter().find(|b| b["name"] == "24.10").expect("the 24.10 branch");
    let arch = br["targets"][target].as_str().expect("the router's target is offered");
    assert_eq!(arch, mirror_json(&format!("releases/{NEW}/.targets.json"))[target]);
    let path = br["path"].as_str().unwrap().replace("{version}", NEW);

    // 2. {profile}.json with the board name's comma as '_'.
    let board_json = get_h(&format!("{e}/json/v1/{path}/targets/{target}/{}.json", board_name.replace(',', "_")), &ua).await;
    assert_eq!(board_json.status, 200);
    let bj = board_json.json();
    assert_eq!(bj["metadata_version"], 1);
    assert_eq!(bj["arch_packages"], arch);
    assert_eq!(bj["target"], target);
    assert!(bj["images"].is_array());
    let profiles = mirror_profiles(NEW, TARGET);
    assert_eq!(bj["version_code"], profiles.version_code.as_str());
    assert_eq!(bj["version_number"], NEW);

    // 3. The package lists: the target's index (architecture checked), then the arch's.
    let idx = get_h(&format!("{e}/json/v1/{path}/targets/{target}/index.json"), &ua).await.json();
    assert_eq!(idx["architecture"], arch);
    assert!(idx["packages"].is_object());
    let arch_idx = get_h(&format!("{e}/json/v1/{path}/packages/{arch}-index.json"), &ua).await.json();
    assert!(arch_idx.is_object());
    let mut remote: BTreeMap<String, String> = serde_json::from_value(idx["packages"].clone()).unwrap();
    remote.extend(serde_json::from_value::<BTreeMap<String, String>>(arch_idx).unwrap());

    // 4. The request: packages_versions of the installed packages found remotely, no client.
    let world = board_world(&default_board());
    let builtin = ["libc", "librt", "libpthread", "kernel"];
    let pv: BTreeMap<String, String> = world
        .keys()
        .filter(|p| !builtin.contains(&p.as_str()))
        .filter_map(|p| remote.get(p).map(|v| (p.clone(), v.clone())))
        .collect();
    assert!(pv.contains_key("luci") && pv.contains_key("tcpdump"));
    let body = json!({
        "version": NEW,
        "version_code": bj["version_code"],
        "target": target,
        "profile": board_name.replace(',', "_"),
        "diff_packages": true,
        "packages_versions": pv,
    });
    let headers = [ua[0], ("content-type", "application/json")];

    // An unknown package first: auc prints the X-Unknown-Package header.
    let mut bad = body.clone();
    bad["packages_versions"]["tcpdumb"] = json!("1.0-r1");
    let refused = post_h(&format!("{e}/api/v1/build"), &headers, &bad).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.header("x-unknown-package").as_deref(), Some("tcpdumb"));

    let first = post_h(&format!("{e}/api/v1/build"), &headers, &body).await;
    assert_eq!(first.status, 202, "{}", String::from_utf8_lossy(&first.body));
    let f = first.json();
    assert!(is_hash(&f["request_hash"]));
    assert!(f["queue_position"].is_u64(), "auc shows the queue position: {f}");
    let hash = f["request_hash"].as_str().unwrap().to_string();

    // 5. auc polls with GET.
    let poll = get_h(&format!("{e}/api/v1/build/{hash}"), &ua).await;
    assert_eq!(poll.status, 202);
    assert_eq!(poll.json()["request_hash"], hash.as_str());
    let job = b.lease().await.unwrap();
    assert_eq!(job.request.client.as_deref(), Some("auc (0.3.2-1)"), "the User-Agent names the client");
    assert_eq!(job.request.packages_versions, pv);
    let image = image_bytes(3, 99_999);
    let name = finish_like_builder(&b, &job, &profiles, "squashfs", "sysupgrade", &image, pv.clone()).await;
    let done = get_h(&format!("{e}/api/v1/build/{hash}"), &ua).await;
    assert_eq!(done.status, 200);
    let d = done.json();
    assert_done_fields(&d, &hash, "glinet_gl-mt6000", &name, &sha256_hex(&image));

    // 6. auc's image choice and download: it compares Content-Length with what it got.
    let img = d["images"].as_array().unwrap().iter().find(|i| i["type"] == "sysupgrade" && i["filesystem"] == "squashfs").unwrap();
    let file = download(d["bin_dir"].as_str().unwrap(), img["name"].as_str().unwrap(), &ua, img["sha256"].as_str().unwrap()).await;
    assert_eq!(file.header("content-length"), Some(file.body.len().to_string()));
}

#[tokio::test]
async fn firmware_selector() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let e = edge();
    let profiles = mirror_profiles(NEW, TARGET);
    let headers = [("origin", "https://firmware-selector.openwrt.org"), ("content-type", "application/json")];
    let build_url = format!("{e}/api/v1/build");

    // The page's request: the profile id, its own package list, an empty
    // defaults box, the version_code it showed.
    let mut body = json!({
        "profile": "glinet_gl-mt6000",
        "target": TARGET,
        "packages": ["luci", "tcpdump", "-dnsmasq", "dnsmasq-full"],
        "defaults": "",
        "version_code": profiles.version_code,
        "version": NEW,
        "diff_packages": true,
        "client": "ofs/4.3.0",
    });
    // dnsmasq-full is not in the fixture feeds: a 422 the page shows as text.
    assert_preflight(&build_url, "POST").await;
    let refused = post_h(&build_url, &headers, &body).await;
    assert_eq!(refused.status, 422);
    assert_cors(&refused, "a 422");
    assert!(refused.json()["detail"].as_str().unwrap().contains("dnsmasq-full"));
    body["packages"] = json!(["luci", "tcpdump", "-dnsmasq"]);

    let first = post_h(&build_url, &headers, &body).await;
    assert_eq!(first.status, 202, "{}", String::from_utf8_lossy(&first.body));
    let f = first.json();
    assert_eq!(f["detail"], "queued", "shown as tr-queued");
    assert!(f["queue_position"].is_u64());
    let hash = f["request_hash"].as_str().unwrap().to_string();
    let poll_url = format!("{build_url}/{hash}");

    let job = b.lease().await.unwrap();
    assert_eq!(job.request.defaults, None, "an empty defaults box is no script");
    assert_eq!(job.request.client.as_deref(), Some("ofs/4.3.0"));
    assert!(b.phase(&job, ImagebuilderStatus::ValidateManifest).await.status < 300);
    assert_preflight(&poll_url, "GET").await;
    let started = get_h(&poll_url, &headers).await.json();
    assert_eq!(started["detail"], "started");
    assert_eq!(started["imagebuilder_status"], "validate_manifest");

    let image = image_bytes(4, 64_000);
    let name = finish_like_builder(&b, &job, &profiles, "squashfs", "sysupgrade", &image, BTreeMap::new()).await;
    let done = get_h(&poll_url, &headers).await;
    assert_eq!(done.status, 200);
    let d = done.json();
    assert_done_fields(&d, &hash, "glinet_gl-mt6000", &name, &sha256_hex(&image));
    download(d["bin_dir"].as_str().unwrap(), &name, &[], &sha256_hex(&image)).await;

    // A first-boot script, and a build that fails: detail and logs as strings.
    body["defaults"] = json!("uci set system.@system[0].hostname='fs-test'\nuci commit\n");
    let second = post_h(&build_url, &headers, &body).await;
    assert_eq!(second.status, 202);
    let hash2 = second.json()["request_hash"].as_str().unwrap().to_string();
    assert_ne!(hash2, hash, "the script is part of the image");
    let job2 = b.lease().await.unwrap();
    assert_eq!(job2.request.defaults.as_deref(), body["defaults"].as_str());
    let failed = b
        .complete(
            &job2,
            Outcome::Failed {
                detail: "Selected packages exceed device storage".into(),
                stdout: "make image".into(),
                stderr: "WARNING: Image file is too big".into(),
            },
        )
        .await;
    assert!(failed.status < 300);
    let f2 = get_h(&format!("{build_url}/{hash2}"), &headers).await;
    assert_eq!(f2.status, 500);
    assert_cors(&f2, "a failed build");
    let j = f2.json();
    assert_eq!(j["detail"], "Error: Selected packages exceed device storage");
    assert!(j["stderr"].is_string() && j["stdout"].is_string());
}
