//! Package knowledge of the edge: the two index endpoints against upstream's
//! own files, the 422 for an unknown package (suggestion and
//! `X-Unknown-Package`, nothing queued), the package-change tables in the
//! overview, and a virtual router with `auc` and `luci-app-opkg` installed
//! whose build request comes out with `owut` and `luci-app-package-manager`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use asu_protocol::builder_api::Outcome;
use integration::builder_client::FakeBuilder;
use integration::contract::{board_file, drain, login, mirror_arch_feeds, mirror_json, start_router, ubus};
use integration::http::{get, request, Answer};
use integration::stack::{mirror_root, scratch, serial, Edge, Mirror};
use serde_json::{json, Value};

struct Stack {
    edge: Edge,
    _mirror: Mirror,
    dir: std::path::PathBuf,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("package-checks");
        let mirror = Mirror::start(&dir);
        let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
        Stack { edge, _mirror: mirror, dir }
    })
}

fn e() -> &'static str {
    &stack().edge.url
}

fn builder() -> FakeBuilder {
    stack().edge.fake_builder()
}

async fn post(body: &Value) -> Answer {
    request("POST", &format!("{}/api/v1/build", e()), &[("content-type", "application/json")], Some(serde_json::to_vec(body).unwrap())).await
}

fn build(packages: &[&str]) -> Value {
    json!({"version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000", "packages": packages})
}

/// `name (ABI suffix removed) -> version` of a `Packages` file, first entry wins.
fn packages_file(rel: &str, out: &mut BTreeMap<String, String>) {
    let text = std::fs::read_to_string(mirror_root().join(rel)).unwrap();
    for stanza in text.split("\n\n") {
        let field = |key: &str| stanza.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
        let (Some(name), Some(version)) = (field("Package: "), field("Version: ")) else { continue };
        let name = match field("ABIVersion: ") {
            Some(abi) if name.ends_with(abi) && name.len() > abi.len() => &name[..name.len() - abi.len()],
            _ => name,
        };
        out.entry(name.to_string()).or_insert_with(|| version.to_string());
    }
}

#[tokio::test]
async fn index_endpoints_say_what_upstream_says() {
    // 24.10.5 publishes index.json: ours must be the same maps.
    let target = get(&format!("{}/json/v1/releases/24.10.5/targets/mediatek/filogic/index.json", e())).await;
    assert_eq!(target.status, 200);
    assert!(target.header("cache-control").unwrap_or_default().contains("max-age"));
    let upstream = mirror_json("releases/24.10.5/targets/mediatek/filogic/packages/index.json");
    assert_eq!(target.json(), json!({"architecture": upstream["architecture"], "packages": upstream["packages"]}));

    let arch = get(&format!("{}/json/v1/releases/24.10.5/packages/aarch64_cortex-a53-index.json", e())).await.json();
    let mut expected = serde_json::Map::new();
    for dir in mirror_arch_feeds("24.10.5", "aarch64_cortex-a53") {
        for (k, v) in mirror_json(&format!("{dir}/index.json"))["packages"].as_object().unwrap() {
            expected.entry(k.clone()).or_insert(v.clone());
        }
    }
    assert_eq!(arch, Value::Object(expected));

    // 23.05.4 has only Packages files: the maps come from them, ABI suffixes removed.
    for (arch, target) in [("aarch64_cortex-a53", "mediatek/filogic"), ("x86_64", "x86/64"), ("mips_24kc", "ath79/tiny")] {
        let mut want = BTreeMap::new();
        for dir in mirror_arch_feeds("23.05.4", arch) {
            packages_file(&format!("{dir}/Packages"), &mut want);
        }
        let got: BTreeMap<String, String> =
            serde_json::from_value(get(&format!("{}/json/v1/releases/23.05.4/packages/{arch}-index.json", e())).await.json()).unwrap();
        assert_eq!(got, want, "{arch}");
        assert!(got.contains_key("libubus") && !got.contains_key("libubus20230605"), "names without ABI suffix");
        let mut want = BTreeMap::new();
        packages_file(&format!("releases/23.05.4/targets/{target}/packages/Packages"), &mut want);
        let t = get(&format!("{}/json/v1/releases/23.05.4/targets/{target}/index.json", e())).await.json();
        assert_eq!(t["architecture"], arch);
        assert_eq!(serde_json::from_value::<BTreeMap<String, String>>(t["packages"].clone()).unwrap(), want, "{target}");
    }

    for (path, status) in [
        ("/json/v1/releases/24.10.5/packages/x86_64-index.json", 404),
        ("/json/v1/releases/24.10.5/targets/x86/64/index.json", 404),
        ("/json/v1/releases/99.01.0/packages/x86_64-index.json", 404),
        ("/json/v1/releases/24.10.5/packages/X86;64-index.json", 400),
    ] {
        let a = get(&format!("{}{path}", e())).await;
        assert_eq!(a.status, status, "{path}");
        assert!(!a.detail().is_empty());
        assert_eq!(a.header("access-control-allow-origin").as_deref(), Some("*"));
    }
}

#[tokio::test]
async fn an_unknown_package_is_a_422_before_anything_is_queued() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    let stats = get(&format!("{}/api/v1/stats", e())).await.json();

    let a = post(&build(&["luci", "tcpdum"])).await;
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("x-unknown-package").as_deref(), Some("tcpdum"));
    let detail = a.detail();
    assert!(detail.contains("'tcpdum' (did you mean 'tcpdump'?)"), "{detail}");
    assert!(detail.contains("24.10.5 mediatek/filogic"), "{detail}");
    assert!(a.header("access-control-expose-headers").unwrap_or_default().contains("X-Unknown-Package"));

    // Nothing close: no suggestion. Several unknown names: all named, the first in the header.
    let a = post(&build(&["zzzz-nothing-like-it", "luci", "qqqq-neither"])).await;
    assert_eq!(a.status, 422);
    assert_eq!(a.header("x-unknown-package").as_deref(), Some("zzzz-nothing-like-it"));
    assert!(!a.detail().contains("did you mean"), "{}", a.detail());
    assert!(a.detail().contains("'qqqq-neither'"));

    assert_eq!(get(&format!("{}/api/v1/stats", e())).await.json(), stats);
    assert!(b.lease().await.is_none(), "a refused request was queued");

    // What is known under another name passes: a provided name, an ABI-suffixed
    // name, a removal of a package that is not there.
    for packages in [&["luci", "wpad"][..], &["libubus20250102"], &["luci", "-nosuch-package"]] {
        let a = post(&build(packages)).await;
        assert_eq!(a.status, 202, "{packages:?}: {}", String::from_utf8_lossy(&a.body));
        let job = b.lease().await.unwrap();
        b.complete(&job, Outcome::Failed { detail: "done".into(), stdout: String::new(), stderr: String::new() }).await;
    }
}

#[tokio::test]
async fn the_overview_publishes_the_change_tables() {
    let o = get(&format!("{}/json/v1/overview.json", e())).await.json();
    let of = |branch: &str| o["branches"][branch]["package_changes"].as_array().unwrap().clone();
    let b2410 = of("24.10");
    let b2305 = of("23.05");
    let find = |list: &[Value], source: &str| list.iter().find(|c| c["source"] == source).cloned();
    let auc = find(&b2410, "auc").expect("auc -> owut is listed for 24.10");
    assert_eq!(auc["target"], "owut");
    assert_eq!(auc["revision"], 26792);
    assert_eq!(find(&b2410, "luci-app-opkg").unwrap()["target"], "luci-app-package-manager");
    assert!(find(&b2305, "auc").is_none(), "23.05 routers keep auc");
    for c in b2410.iter().chain(b2305.iter()) {
        assert!(c["revision"].is_u64(), "{c}");
        assert!(c["why"].is_string(), "{c}");
        // Entries old clients would misapply (scoped or not a rename) carry no `source`.
        if c.get("targets").is_some() || !["renamed", "split", "dropped"].contains(&c["kind"].as_str().unwrap()) {
            assert!(c.get("source").is_none(), "{c}");
        }
    }
    let filogic: Vec<(String, String)> = b2410
        .iter()
        .filter(|c| c["targets"] == json!(["mediatek/filogic"]))
        .map(|c| (c["kind"].as_str().unwrap().to_string(), c["package"].as_str().unwrap().to_string()))
        .collect();
    for want in [
        ("default_added", "fitblk"),
        ("default_removed", "busybox"),
        ("default_removed", "procd"),
        ("default_removed", "procd-seccomp"),
        ("moved_to_device", "kmod-mt7915e"),
    ] {
        assert!(filogic.contains(&(want.0.to_string(), want.1.to_string())), "{want:?} in {filogic:?}");
    }
    // branches.json carries the same lists.
    let branches = get(&format!("{}/json/v1/branches.json", e())).await.json();
    let b = branches.as_array().unwrap().iter().find(|b| b["name"] == "24.10").unwrap();
    assert_eq!(b["package_changes"], Value::Array(b2410));
}

#[tokio::test]
async fn a_router_with_auc_and_luci_app_opkg_gets_their_successors() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    let s = stack();
    let board = board_file(&s.dir.join("board-auc.json"), "luci luci-app-attendedsysupgrade tcpdump auc luci-app-opkg");
    let router = start_router(&board, e(), &s.dir, &s.dir);
    let sid = login(&router.url).await;
    let world: BTreeMap<String, String> =
        serde_json::from_value(ubus(&router.url, &sid, "rpc-sys", "packagelist", json!({"all": false})).await[1]["packages"].clone()).unwrap();
    let board_info = ubus(&router.url, &sid, "system", "board", json!({})).await[1].clone();
    assert!(world.contains_key("auc") && world.contains_key("luci-app-opkg"), "{world:?}");

    // The request the LuCI app makes from what the router reports.
    let request_for = |version: &str| {
        json!({
            "client": "luci/git-24.243.60587-ca30060",
            "packages": world.keys().collect::<Vec<_>>(),
            "profile": board_info["board_name"],
            "target": board_info["release"]["target"],
            "version": version,
            "diff_packages": true,
            "filesystem": board_info["rootfs_type"],
        })
    };
    let a = post(&request_for("24.10.5")).await;
    assert_eq!(a.status, 202, "{}", String::from_utf8_lossy(&a.body));
    let job = b.lease().await.unwrap();
    let got = &job.request.packages;
    for name in ["owut", "luci-app-package-manager", "fitblk", "luci", "tcpdump"] {
        assert!(got.contains(&name.to_string()), "{name} missing from {got:?}");
    }
    for name in ["auc", "luci-app-opkg"] {
        assert!(!got.contains(&name.to_string()), "{name} still in {got:?}");
    }
    let mut expected: Vec<String> = world.keys().map(|k| match k.as_str() {
        "auc" => "owut".to_string(),
        "luci-app-opkg" => "luci-app-package-manager".to_string(),
        other => other.to_string(),
    }).collect();
    expected.push("fitblk".into());
    let mut sorted_got = got.clone();
    sorted_got.sort();
    expected.sort();
    assert_eq!(sorted_got, expected);
    b.complete(&job, Outcome::Failed { detail: "done".into(), stdout: String::new(), stderr: String::new() }).await;

    // Staying on 23.05 keeps both: the 24.10 table does not apply.
    let a = post(&request_for("23.05.4")).await;
    assert_eq!(a.status, 202, "{}", String::from_utf8_lossy(&a.body));
    let job = b.lease().await.unwrap();
    let mut same: Vec<String> = world.keys().cloned().collect();
    same.sort();
    let mut got = job.request.packages.clone();
    got.sort();
    assert_eq!(got, same);
    b.complete(&job, Outcome::Failed { detail: "done".into(), stdout: String::new(), stderr: String::new() }).await;
}
