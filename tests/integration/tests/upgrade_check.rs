//! `POST /api/v1/upgrade-check` against the fixture releases: a 23.05.4
//! GL-MT6000 learns of 24.10.5 with its package versions and the changes
//! between the branches; nothing newer is a 204; an unknown device or bad
//! input is a 400 with a string detail. Expected values are read from the
//! generated mirror's files.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use integration::contract::{board_file, mirror_json, mirror_profiles};
use integration::http::{request, Answer};
use integration::stack::{scratch, Edge, Mirror};
use serde_json::{json, Value};

struct Stack {
    edge: Edge,
    _mirror: Mirror,
    dir: std::path::PathBuf,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("upgrade-check");
        let mirror = Mirror::start(&dir);
        let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
        Stack { edge, _mirror: mirror, dir }
    })
}

async fn check(body: &Value) -> Answer {
    request(
        "POST",
        &format!("{}/api/v1/upgrade-check", stack().edge.url),
        &[("content-type", "application/json"), ("origin", "http://192.168.1.1")],
        Some(serde_json::to_vec(body).unwrap()),
    )
    .await
}

/// Every 24.10.5 package a filogic build can get, from upstream's index.json files.
fn available_24_10_5() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut add = |rel: &str| {
        for (k, v) in mirror_json(rel)["packages"].as_object().unwrap() {
            out.entry(k.clone()).or_insert_with(|| v.as_str().unwrap().to_string());
        }
    };
    for feed in ["base", "packages", "luci"] {
        add(&format!("releases/24.10.5/packages/aarch64_cortex-a53/{feed}/index.json"));
    }
    add("releases/24.10.5/targets/mediatek/filogic/packages/index.json");
    out
}

#[tokio::test]
async fn a_23_05_router_learns_of_24_10_5() {
    let board = board_file(&stack().dir.join("board.json"), "luci luci-app-attendedsysupgrade tcpdump wireguard-tools auc luci-app-opkg");
    let b: Value = serde_json::from_str(&std::fs::read_to_string(board).unwrap()).unwrap();
    let installed: BTreeMap<String, String> = serde_json::from_value(b["packages"]["world"].clone()).unwrap();
    assert!(installed.contains_key("auc") && installed.contains_key("luci-app-opkg"));
    let a = check(&json!({
        "distro": "openwrt",
        "version": "23.05.4",
        "version_code": b["board"]["release"]["revision"],
        "target": "mediatek/filogic",
        "profile": b["board"]["board_name"],
        "packages": installed,
    }))
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("access-control-allow-origin").as_deref(), Some("*"));
    let r = a.json();
    let new = mirror_profiles("24.10.5", "mediatek/filogic");
    assert_eq!(r["version"], "24.10.5");
    assert_eq!(r["version_code"], new.version_code.as_str());
    assert_eq!(r["target"], "mediatek/filogic");
    assert_eq!(r["profile"], "glinet_gl-mt6000", "the board name resolves to the profile id");
    assert_eq!(r["titles"], serde_json::to_value(&new.profiles["glinet_gl-mt6000"].titles).unwrap());

    // The expected version changes, computed from the indexes alone.
    let available = available_24_10_5();
    let replaced = [("auc", "owut"), ("luci-app-opkg", "luci-app-package-manager")];
    let mut expected = serde_json::Map::new();
    for (name, current) in &installed {
        if replaced.iter().any(|(old, _)| old == name) {
            continue;
        }
        let new = available.get(name).unwrap_or_else(|| panic!("{name} is not in 24.10.5"));
        if new != current {
            expected.insert(name.clone(), json!({"current": current, "new": new}));
        }
    }
    for added in ["owut", "luci-app-package-manager", "fitblk"] {
        expected.insert(added.into(), json!({"current": null, "new": available[added]}));
    }
    assert_eq!(r["packages"], Value::Object(expected));
    assert_eq!(r["missing"], json!([]));

    let replacements: Vec<(String, String)> = r["replacements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap().to_string(), c["effect"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        replacements,
        [
            ("renamed".to_string(), "auc replaced by owut".to_string()),
            ("renamed".to_string(), "luci-app-opkg replaced by luci-app-package-manager".to_string()),
            ("default_added".to_string(), "fitblk included: it is a default package of this release".to_string()),
        ]
    );
    let auc = &r["replacements"][0];
    assert_eq!((auc["source"].as_str(), auc["target"].as_str(), auc["revision"].as_u64()), (Some("auc"), Some("owut"), Some(26792)));
}

#[tokio::test]
async fn nothing_newer_is_204() {
    for (version, target, profile) in [
        ("24.10.5", "mediatek/filogic", "glinet,gl-mt6000"),
        // 24.10.5 does not publish these targets.
        ("23.05.4", "x86/64", "generic"),
        ("23.05.4", "ath79/tiny", "engenius_eap350-v1"),
    ] {
        let a = check(&json!({"version": version, "target": target, "profile": profile, "packages": {"luci": "1"}})).await;
        assert_eq!(a.status, 204, "{version} {target} {profile}: {}", String::from_utf8_lossy(&a.body));
        assert!(a.body.is_empty());
    }
}

#[tokio::test]
async fn a_branch_snapshot_moves_to_the_next_release() {
    // 22.03-SNAPSHOT is not in .versions.json, but 23.05.4 has x86/64, whose
    // only profile is generic: any board name is that device.
    for profile in ["generic", "qemu-standard-pc-q35-ich9-2009"] {
        let a = check(&json!({"version": "22.03-SNAPSHOT", "target": "x86/64", "profile": profile, "packages": {}})).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let r = a.json();
        assert_eq!(r["version"], "23.05.4");
        assert_eq!(r["profile"], "generic");
        assert_eq!(r["version_code"], mirror_profiles("23.05.4", "x86/64").version_code.as_str());
        assert_eq!(r["from"]["branch"], "22.03");
        assert_eq!(r["branch"], "23.05");
    }
}

#[tokio::test]
async fn unknown_devices_and_bad_input_are_400() {
    let cases = [
        (json!({"version": "23.05.4", "target": "mediatek/filogic", "profile": "vendor,nosuch-device"}), "nosuch-device"),
        (json!({"version": "99.01.0", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000"}), "Unknown device"),
        (json!({"version": "23.05.4", "profile": "glinet,gl-mt6000"}), "target"),
        (json!({"version": "23.05.4", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000", "packages": ["luci"]}), "packages"),
        (json!({"version": "23.05.4", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000", "packages": {"lu ci": "1"}}), "lu ci"),
        (json!("23.05.4"), "body"),
    ];
    for (body, needle) in cases {
        let a = check(&body).await;
        assert_eq!(a.status, 400, "{body}: {}", String::from_utf8_lossy(&a.body));
        assert!(a.detail().contains(needle), "{body}: {}", a.detail());
    }
    let get = request("GET", &format!("{}/api/v1/upgrade-check", stack().edge.url), &[], None).await;
    assert_eq!(get.status, 405);
}
