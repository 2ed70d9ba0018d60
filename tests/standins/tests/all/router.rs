//! The virtual router over HTTP, as a browser or the builder's clients see it.

use crate::common::*;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SERVER: &str = "http://127.0.0.1:8787";

fn board_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("boards/glinet_gl-mt6000-23.05.4.json")
}

fn start(extra: &[&str]) -> Server {
    let board = board_file();
    let mut args = vec![
        "--board",
        board.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--server-url",
        SERVER,
    ];
    args.extend_from_slice(extra);
    spawn_server(env!("CARGO_BIN_EXE_virtual-router"), &args)
}

fn rpc(addr: SocketAddr, body: &Value) -> Value {
    let r = http(
        addr,
        "POST",
        "/ubus",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 200);
    r.json()
}

fn call(addr: SocketAddr, sid: &str, object: &str, method: &str, args: Value) -> Value {
    rpc(
        addr,
        &json!({"jsonrpc": "2.0", "id": 7, "method": "call", "params": [sid, object, method, args]}),
    )
}

fn login(addr: SocketAddr, pw: &str) -> Option<String> {
    let r = call(
        addr,
        "00000000000000000000000000000000",
        "session",
        "login",
        json!({"username": "root", "password": pw}),
    );
    r["result"][1]["ubus_rpc_session"]
        .as_str()
        .map(str::to_string)
}

fn multipart(sid: &str, filename: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----standinTestBoundary7MA4YWxkTrZu0gW";
    let mut b = Vec::new();
    for (name, value) in [
        ("sessionid", sid),
        ("filename", filename),
        ("filemode", "600"),
    ] {
        b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"filedata\"; filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    b.extend_from_slice(data);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

fn upload(addr: SocketAddr, sid: &str, data: &[u8]) -> Value {
    let (ct, body) = multipart(sid, "/tmp/firmware.bin", data);
    let r = http(
        addr,
        "POST",
        "/cgi-bin/cgi-upload",
        &[("Content-Type", &ct)],
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    r.json()
}

/// A stand-in image for `devices`, built here with the crate's fwtool writer.
fn image(devices: &[&str], version: &str, revision: &str) -> Vec<u8> {
    let mut img = serde_json::to_vec(&json!({
        "standin_image": 1,
        "version": version,
        "revision": revision,
        "target": "mediatek/filogic",
        "profile": "glinet_gl-mt6000",
        "kernel": "6.6.119~6a9e125268c43e0bae8cecb014c8ab03-r1",
        "source_date_epoch": 1766005702u64,
        "installed": {"base-files": "1", "luci": "25.1", "luci-base": "25.1", "owut": "2025.1"},
        "world": ["base-files", "luci", "owut"],
    }))
    .unwrap();
    asu_protocol::fwtool::append_metadata(
        &mut img,
        &asu_protocol::fwtool::FwMetadata::openwrt(
            devices.iter().map(|s| s.to_string()).collect(),
            version,
            revision,
            "mediatek/filogic",
            "glinet_gl-mt6000",
        ),
    );
    img
}

#[test]
fn login_sessions_and_board() {
    let srv = start(&[]);
    let a = srv.addr;
    assert!(login(a, "wrong").is_none());
    let bad = call(
        a,
        "00000000000000000000000000000000",
        "session",
        "login",
        json!({"username": "root", "password": "wrong"}),
    );
    assert_eq!(bad["result"], json!([6]));
    let sid = login(a, "").expect("empty password works by default");
    assert_eq!(sid.len(), 32);
    assert!(sid.chars().all(|c| c.is_ascii_hexdigit()));

    let denied = call(
        a,
        "0123456789abcdef0123456789abcdef",
        "system",
        "board",
        json!({}),
    );
    assert_eq!(denied["error"]["code"], -32002);
    assert_eq!(denied["id"], 7);
    let anon = call(
        a,
        "00000000000000000000000000000000",
        "system",
        "board",
        json!({}),
    );
    assert_eq!(anon["error"]["code"], -32002);

    let board = call(a, &sid, "system", "board", json!({}));
    assert_eq!(board["result"][0], 0);
    let b = &board["result"][1];
    assert_eq!(b["board_name"], "glinet,gl-mt6000");
    assert_eq!(b["model"], "GL.iNet GL-MT6000");
    assert_eq!(b["rootfs_type"], "squashfs");
    assert_eq!(b["release"]["version"], "23.05.4");
    assert_eq!(b["release"]["revision"], "r24012-d8dd03c46f");
    assert_eq!(b["release"]["target"], "mediatek/filogic");
    assert_eq!(
        b["release"]["description"],
        "OpenWrt 23.05.4 r24012-d8dd03c46f"
    );

    let world = call(a, &sid, "rpc-sys", "packagelist", json!({"all": false}));
    let all = call(a, &sid, "rpc-sys", "packagelist", json!({"all": true}));
    let (w, al) = (
        world["result"][1]["packages"].as_object().unwrap(),
        all["result"][1]["packages"].as_object().unwrap(),
    );
    assert!(w.contains_key("luci") && w.contains_key("tcpdump") && w.contains_key("busybox"));
    assert!(!w.contains_key("luci-base") && al.contains_key("luci-base"));
    assert!(al.len() > w.len());

    assert_eq!(
        call(
            a,
            &sid,
            "file",
            "stat",
            json!({"path": "/sys/firmware/efi"})
        )["result"],
        json!([4])
    );
    let uci = call(
        a,
        &sid,
        "uci",
        "get",
        json!({"config": "attendedsysupgrade"}),
    );
    assert_eq!(uci["result"][1]["values"]["server"]["url"], SERVER);
    let info = call(a, &sid, "system", "info", json!({}));
    assert!(info["result"][1]["memory"]["total"].as_u64().unwrap() > 0);
    assert!(info["result"][1]["root"]["avail"].is_u64());

    // Batch, unknown object, unknown JSON-RPC method, parse error.
    let batch = rpc(
        a,
        &json!([
            {"jsonrpc": "2.0", "id": 1, "method": "call", "params": [sid, "system", "board", {}]},
            {"jsonrpc": "2.0", "id": 2, "method": "call", "params": [sid, "nosuchobject", "x", {}]},
            {"jsonrpc": "2.0", "id": 3, "method": "frobnicate", "params": []},
        ]),
    );
    assert_eq!(batch[0]["id"], 1);
    assert_eq!(batch[0]["result"][1]["board_name"], "glinet,gl-mt6000");
    assert_eq!(batch[1]["error"]["code"], -32000);
    assert_eq!(batch[2]["error"]["code"], -32601);
    let r = http(a, "POST", "/ubus", &[], b"{not json").unwrap();
    assert_eq!(r.json()["error"]["code"], -32700);
    // LuCI's path works too.
    let r = http(a, "POST", "/cgi-bin/luci/admin/ubus/system.board", &[], json!({"jsonrpc": "2.0", "id": 1, "method": "call", "params": [sid, "system", "board", {}]}).to_string().as_bytes()).unwrap();
    assert_eq!(r.json()["result"][0], 0);

    // Password option.
    let srv2 = start(&["--password", "s3cret"]);
    assert!(login(srv2.addr, "").is_none());
    assert!(login(srv2.addr, "s3cret").is_some());
}

#[test]
fn upload_checksums_and_an_image_for_another_board_is_refused() {
    let srv = start(&[]);
    let a = srv.addr;
    let sid = login(a, "").unwrap();
    let img = image(&["tplink,archer-c7-v5"], "24.10.5", "r29087-d9c5716d1d");
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("img.bin");
    std::fs::write(&local, &img).unwrap();

    let ans = upload(a, &sid, &img);
    assert_eq!(ans["size"], img.len());
    assert_eq!(ans["checksum"], md5sum_cli(&local).as_str());
    assert_eq!(ans["sha256sum"], sha256sum_cli(&local).as_str());
    let st = call(
        a,
        &sid,
        "file",
        "stat",
        json!({"path": "/tmp/firmware.bin"}),
    );
    assert_eq!(st["result"][1]["size"], img.len());

    let bad = upload(a, "0123456789abcdef0123456789abcdef", &img);
    assert!(
        bad["message"].is_string() && bad["failure"][0] == 13,
        "{bad}"
    );

    let v = call(
        a,
        &sid,
        "system",
        "validate_firmware_image",
        json!({"path": "/tmp/firmware.bin"}),
    );
    let v = &v["result"][1];
    assert_eq!(v["valid"], false);
    assert_eq!(v["tests"]["fwtool_signature"], true);
    assert_eq!(v["tests"]["fwtool_device_match"], false);
    assert_eq!(v["forceable"], true);
    let t = call(a, &sid, "rpc-sys", "upgrade_test", json!({}));
    assert_eq!(t["result"][1]["code"], 1);
    assert!(t["result"][1]["stderr"]
        .as_str()
        .unwrap()
        .contains("Device glinet,gl-mt6000 not supported by this image"));
    let s = call(
        a,
        &sid,
        "system",
        "sysupgrade",
        json!({"path": "/tmp/firmware.bin", "keep_settings": true}),
    );
    assert_eq!(s["result"][0], 8);
    // Nothing was flashed: the router stays up on its release.
    std::thread::sleep(Duration::from_millis(2500));
    let b = call(a, &sid, "system", "board", json!({}));
    assert_eq!(b["result"][1]["release"]["version"], "23.05.4");

    // A corrupted image fails the CRC.
    let mut broken = image(&["glinet,gl-mt6000"], "24.10.5", "r29087-d9c5716d1d");
    broken[5] ^= 0xff;
    upload(a, &sid, &broken);
    let v = call(
        a,
        &sid,
        "system",
        "validate_firmware_image",
        json!({"path": "/tmp/firmware.bin"}),
    );
    assert_eq!(v["result"][1]["tests"]["fwtool_signature"], false);
    assert_eq!(v["result"][1]["valid"], false);
}

fn wait_until<F: Fn() -> bool>(what: &str, timeout: Duration, f: F) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn flash_reboots_into_the_image_and_survives_a_restart() {
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("router.json");
    let state_arg = state.to_str().unwrap().to_string();
    let srv = start(&["--reboot-seconds", "1", "--state-file", &state_arg]);
    let a = srv.addr;
    let sid = login(a, "").unwrap();
    let img = image(&["glinet,gl-mt6000"], "24.10.5", "r29087-d9c5716d1d");
    upload(a, &sid, &img);
    let t = call(a, &sid, "rpc-sys", "upgrade_test", json!({}));
    assert_eq!(t["result"][1]["code"], 0, "{t}");
    let v = call(
        a,
        &sid,
        "system",
        "validate_firmware_image",
        json!({"path": "/tmp/firmware.bin"}),
    );
    assert_eq!(v["result"][1]["valid"], true);
    let started = Instant::now();
    assert_eq!(
        call(a, &sid, "rpc-sys", "upgrade_start", json!({"keep": true}))["result"],
        json!([0])
    );

    // Down for a while: requests fail without an answer.
    wait_until("the reboot", Duration::from_secs(5), || {
        http(a, "POST", "/ubus", &[], b"{}").is_err()
    });
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "flash starts about 2 s later"
    );
    wait_until("the router to come back", Duration::from_secs(10), || {
        http(a, "POST", "/ubus", &[], b"{}").is_ok()
    });

    // Sessions are gone; the new firmware answers.
    assert_eq!(
        call(a, &sid, "system", "board", json!({}))["error"]["code"],
        -32002
    );
    let sid = login(a, "").unwrap();
    let b = &call(a, &sid, "system", "board", json!({}))["result"][1];
    assert_eq!(b["release"]["version"], "24.10.5");
    assert_eq!(b["release"]["revision"], "r29087-d9c5716d1d");
    assert_eq!(
        b["release"]["description"],
        "OpenWrt 24.10.5 r29087-d9c5716d1d"
    );
    assert_eq!(b["kernel"], "6.6.119");
    assert_eq!(b["board_name"], "glinet,gl-mt6000");
    let w =
        &call(a, &sid, "rpc-sys", "packagelist", json!({"all": false}))["result"][1]["packages"];
    assert_eq!(
        w,
        &json!({"base-files": "1", "luci": "25.1", "owut": "2025.1"})
    );
    let all =
        &call(a, &sid, "rpc-sys", "packagelist", json!({"all": true}))["result"][1]["packages"];
    assert_eq!(all["luci-base"], "25.1");
    assert_eq!(
        call(
            a,
            &sid,
            "file",
            "stat",
            json!({"path": "/tmp/firmware.bin"})
        )["result"],
        json!([4]),
        "/tmp is emptied"
    );

    // A restart with the same state file keeps the flashed firmware.
    drop(srv);
    let srv = start(&["--state-file", &state_arg]);
    let sid = login(srv.addr, "").unwrap();
    let b = &call(srv.addr, &sid, "system", "board", json!({}))["result"][1];
    assert_eq!(b["release"]["version"], "24.10.5");
}

#[test]
fn luci_login_and_attendedsysupgrade_page() {
    let www = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../frontend/luci-app-asu-rs/htdocs");
    let srv = start(&["--password", "pw", "--www", www.to_str().unwrap()]);
    let a = srv.addr;
    let root = http(a, "GET", "/", &[], b"").unwrap();
    assert_eq!(root.status, 200);
    let html = root.text();
    assert!(html.contains("name=\"luci_username\"") && html.contains("name=\"luci_password\""));
    assert!(html.contains("action=\"/cgi-bin/luci\""));

    let page_path = "/cgi-bin/luci/admin/system/attendedsysupgrade";
    assert_eq!(
        http(a, "GET", page_path, &[], b"").unwrap().status,
        403,
        "no cookie, no page"
    );
    let form = &[("Content-Type", "application/x-www-form-urlencoded")];
    let bad = http(
        a,
        "POST",
        "/cgi-bin/luci",
        form,
        b"luci_username=root&luci_password=nope",
    )
    .unwrap();
    assert_eq!(bad.status, 403);
    let ok = http(
        a,
        "POST",
        "/cgi-bin/luci",
        form,
        b"luci_username=root&luci_password=pw",
    )
    .unwrap();
    assert_eq!(ok.status, 302);
    assert_eq!(ok.header("location").unwrap(), page_path);
    let cookie = ok
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let sid = cookie.split_once('=').unwrap().1.to_string();

    let page = http(a, "GET", page_path, &[("Cookie", &cookie)], b"").unwrap();
    assert_eq!(page.status, 200);
    let html = page.text();
    // LuCI's shell hands the router package's view the session and server.
    assert!(html.contains(&format!(r#"sessionid: "{sid}""#)), "{html}");
    assert!(html.contains(&format!(r#"? "{SERVER}""#)), "{html}");
    // The view is the router package's own file, served from --www.
    let package_view = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../frontend/luci-app-asu-rs/htdocs/luci-static/resources/view/asu-rs/upgrade.js");
    let view = http(a, "GET", "/luci-static/resources/view/asu-rs/upgrade.js", &[], b"").unwrap();
    assert_eq!(view.status, 200);
    assert_eq!(view.text(), std::fs::read_to_string(package_view).unwrap());
    assert_eq!(http(a, "GET", "/luci-static/../Cargo.toml", &[], b"").unwrap().status, 404);
    // The page's session works for ubus.
    assert_eq!(call(a, &sid, "system", "board", json!({}))["result"][0], 0);
}

#[test]
fn board_file_matches_the_generated_indexes() {
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(board_file()).unwrap()).unwrap();
    let fresh = standins::boardgen::board_file(
        &standins::fixtures::Fixtures::new(fixtures()),
        &standins::boardgen::gl_mt6000_spec(),
    )
    .unwrap();
    assert_eq!(
        committed,
        serde_json::to_value(&fresh).unwrap(),
        "regenerate with: upstream-mirror board-file --fixtures <dir> --out {}",
        board_file().display()
    );

    // Versions are those of the served 23.05.4 indexes (read independently).
    let r = mirror().join("releases/23.05.4");
    let mut idx = read_packages(&r.join("targets/mediatek/filogic/packages/Packages"));
    for feed in ["base", "luci", "packages"] {
        idx.extend(read_packages(
            &r.join("packages/aarch64_cortex-a53")
                .join(feed)
                .join("Packages"),
        ));
    }
    let world = committed["packages"]["world"].as_object().unwrap();
    for p in [
        "luci",
        "luci-app-attendedsysupgrade",
        "tcpdump",
        "wireguard-tools",
        "busybox",
        "kmod-usb3",
    ] {
        assert_eq!(world[p], Value::String(idx[p].0.clone()), "{p}");
    }
    let all = committed["packages"]["all"].as_object().unwrap();
    assert_eq!(
        all["kmod-wireguard"],
        Value::String(idx["kmod-wireguard"].0.clone())
    );
    assert_eq!(
        all["libubus"],
        Value::String(idx["libubus20230605"].0.clone())
    );
}
