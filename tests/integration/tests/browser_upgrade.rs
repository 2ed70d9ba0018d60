//! The first milestone end to end: a person opens the virtual GL-MT6000's
//! LuCI page in headless Chromium, clicks upgrade, and the router ends up
//! on 24.10.5 with its own packages, flashed with the image the edge built.

use std::collections::BTreeMap;
use std::time::Duration;

use asu_protocol::canonical::request_hash;
use asu_protocol::request::{BuildRequest, Limits};
use integration::http::{get, post_json};
use integration::stack::{scratch, Builder, Edge, Mirror, Router};
use integration::webdriver::Browser;
use serde_json::{json, Value};

/// One JSON-RPC call to the router's rpcd.
async fn ubus(router: &str, session: &str, object: &str, method: &str, args: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": [session, object, method, args]});
    let a = post_json(&format!("{router}/ubus"), &body).await;
    assert_eq!(a.status, 200);
    a.json()["result"].clone()
}

async fn login(router: &str) -> String {
    let r = ubus(router, "00000000000000000000000000000000", "session", "login", json!({"username": "root", "password": ""})).await;
    assert_eq!(r[0], 0, "login refused: {r}");
    r[1]["ubus_rpc_session"].as_str().unwrap().to_string()
}

async fn world(router: &str, session: &str) -> BTreeMap<String, String> {
    let r = ubus(router, session, "rpc-sys", "packagelist", json!({"all": false})).await;
    serde_json::from_value(r[1]["packages"].clone()).unwrap()
}

#[tokio::test]
async fn upgrade_a_gl_mt6000_from_23_05_to_24_10_in_the_browser() {
    let dir = scratch("browser-upgrade");
    let mirror = Mirror::start(&dir);
    let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
    let _builder = Builder::start(&Builder::config(&edge, &dir), "builder-1", &dir);
    let router = Router::start("glinet_gl-mt6000-23.05.4.json", &edge.url, &dir, &dir);

    // What the router has before, read the way any client reads it.
    let sid = login(&router.url).await;
    let board_before = ubus(&router.url, &sid, "system", "board", json!({})).await[1].clone();
    assert_eq!(board_before["release"]["version"], "23.05.4");
    let packages_before = world(&router.url, &sid).await;
    for p in ["luci", "luci-app-attendedsysupgrade", "tcpdump", "wireguard-tools"] {
        assert!(packages_before.contains_key(p), "the virtual router should start with {p}");
    }

    let browser = Browser::start(&dir, 1280, 900).await;
    browser.goto(&format!("{}/", router.url)).await;
    browser.type_into("input[name=luci_password]", "").await;
    browser.click("form [type=submit]").await;
    let err = Some("#error");
    browser.wait_for_text("#current-version", |t| t.contains("23.05.4"), err, Duration::from_secs(60)).await;
    browser.wait_for_text("#target-version", |t| t.contains("24.10.5"), err, Duration::from_secs(30)).await;
    browser.screenshot(&dir.join("1-offer.png")).await;
    browser.click("#upgrade-button").await;

    let done = browser.wait_for_text("#done", |t| t.contains("24.10.5"), err, Duration::from_secs(300)).await;
    browser.screenshot(&dir.join("2-done.png")).await;
    assert!(done.contains("r29087-d9c5716d1d"), "{done}");
    browser.close().await;

    // The router itself now says 24.10.5 and kept every package it had.
    let sid = login(&router.url).await;
    let board_after = ubus(&router.url, &sid, "system", "board", json!({})).await[1].clone();
    assert_eq!(board_after["release"]["version"], "24.10.5");
    assert_eq!(board_after["release"]["revision"], "r29087-d9c5716d1d");
    let packages_after = world(&router.url, &sid).await;
    for p in ["luci", "luci-app-attendedsysupgrade", "tcpdump", "wireguard-tools"] {
        assert!(packages_after.contains_key(p), "{p} was lost in the upgrade: {packages_after:?}");
    }

    // The request the app must have sent: this router's packages, complete
    // set, its filesystem. Its hash names the build whose image the router got.
    let mut expected = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
    expected.packages = packages_before.keys().cloned().collect();
    // 24.10 made fitblk a default on mediatek/filogic; the edge's package
    // changes keep it in a complete-set request from 23.05.
    expected.packages.push("fitblk".into());
    expected.diff_packages = true;
    expected.filesystem = Some("squashfs".into());
    let hash = request_hash(&BuildRequest::from_json(&serde_json::to_vec(&expected).unwrap(), &Limits::default()).unwrap());
    let build = get(&format!("{}/api/v1/build/{hash}", edge.url)).await;
    assert_eq!(build.status, 200, "no finished build for the request the app should have sent");
    let announced = build.json()["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "sysupgrade")
        .map(|i| i["sha256"].as_str().unwrap().to_string())
        .unwrap();
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&router.state_file).unwrap()).unwrap();
    assert_eq!(state["flashed_image"]["sha256"], announced, "the router flashed another image than the edge announced");
}
