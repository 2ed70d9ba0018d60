//! The router's JSON-RPC (rpcd over uhttpd) as this app speaks it: request
//! bodies, answer parsing and the data of the calls an upgrade makes.
//! Plain Rust, tested natively; the transport is in `web::ubus`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

use crate::json;

/// The session id for calls that need none (`session login`).
pub const NULL_SESSION: &str = "00000000000000000000000000000000";

/// Where the image goes on the router and what the upload sets.
pub const FIRMWARE_PATH: &str = "/tmp/firmware.bin";
pub const FIRMWARE_MODE: &str = "600";

/// `cgi-upload` lives on the same host as the ubus endpoint.
pub fn upload_url(ubus_url: &str) -> String {
    let origin = ubus_url
        .split_once("://")
        .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or("")))
        .unwrap_or_default();
    format!("{origin}/cgi-bin/cgi-upload")
}

pub fn call_body(id: u32, session: &str, object: &str, method: &str, args: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "call", "params": [session, object, method, args]}).to_string()
}

/// Why a call did not give data.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcError {
    /// No HTTP answer at all (router down, connection refused, timeout).
    Network(String),
    /// An HTTP status other than 200.
    Http { status: u16, body: String },
    /// A JSON-RPC `error` object (-32001 session not found, -32002 access denied ...).
    Transport { code: i64, message: String },
    /// A ubus status code other than 0.
    Ubus(u32),
    BadAnswer(String),
}

impl RpcError {
    /// The answer a router gives for a session it does not know (any
    /// longer): after a reboot every old session is gone.
    pub fn session_gone(&self) -> bool {
        matches!(self, RpcError::Transport { code: -32001 | -32002, .. } | RpcError::Ubus(6))
    }

    /// Readable text, naming the call.
    pub fn describe(&self, call: &str) -> String {
        match self {
            RpcError::Network(e) => format!("Could not reach the router for {call}: {e}"),
            RpcError::Http { status, body } => {
                let body = body.trim();
                if body.is_empty() {
                    format!("The router answered HTTP {status} to {call}")
                } else {
                    format!("The router answered HTTP {status} to {call}: {}", shorten(body, 200))
                }
            }
            RpcError::Transport { code, message } => {
                format!("The router refused {call}: {message} (JSON-RPC error {code})")
            }
            RpcError::Ubus(code) => format!("The router refused {call}: {} (ubus code {code})", ubus_status_text(*code)),
            RpcError::BadAnswer(e) => format!("The router's answer to {call} is unreadable: {e}"),
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("the call"))
    }
}

pub fn ubus_status_text(code: u32) -> &'static str {
    match code {
        0 => "ok",
        1 => "invalid command",
        2 => "invalid argument",
        3 => "method not found",
        4 => "not found",
        5 => "no data",
        6 => "permission denied",
        7 => "timeout",
        8 => "not supported",
        9 => "unknown error",
        10 => "connection failed",
        _ => "unknown status",
    }
}

pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// Reads one call's answer: `{"result":[0,{data}]}` gives the data (an
/// empty object when the call returned none).
pub fn parse_answer(body: &str) -> Result<Value, RpcError> {
    let value: Value = serde_json::from_str(body).map_err(|e| {
        RpcError::BadAnswer(format!("not JSON ({}): {}", json::error_place(&e), shorten(body.trim(), 80)))
    })?;
    if let Some(err) = value.get("error") {
        let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = err.get("message").and_then(Value::as_str).unwrap_or("no message").to_string();
        return Err(RpcError::Transport { code, message });
    }
    let Some(result) = value.get("result").and_then(Value::as_array) else {
        return Err(RpcError::BadAnswer("it has neither result nor error".into()));
    };
    let code = result.first().and_then(Value::as_u64).ok_or_else(|| RpcError::BadAnswer("no status code".into()))?;
    if code != 0 {
        return Err(RpcError::Ubus(code as u32));
    }
    Ok(result.get(1).cloned().unwrap_or_else(|| json!({})))
}

/// `system board`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub model: String,
    pub hostname: String,
    pub board_name: String,
    pub rootfs_type: String,
    pub release: BoardRelease,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRelease {
    pub distribution: String,
    pub version: String,
    pub revision: String,
    pub target: String,
    pub description: String,
}

fn openwrt() -> String {
    "OpenWrt".into()
}

impl Board {
    pub fn parse(data: &Value) -> Result<Board, RpcError> {
        let bad = RpcError::BadAnswer;
        let release = data.get("release").filter(|r| r.is_object()).ok_or_else(|| bad("it has no release".into()))?;
        let distribution = match json::text(release, "distribution") {
            d if d.is_empty() => openwrt(),
            d => d,
        };
        Ok(Board {
            model: json::text(data, "model"),
            hostname: json::text(data, "hostname"),
            board_name: json::need_text(data, "board_name").map_err(bad)?,
            rootfs_type: json::text(data, "rootfs_type"),
            release: BoardRelease {
                distribution,
                version: json::need_text(release, "version").map_err(bad)?,
                revision: json::text(release, "revision"),
                target: json::need_text(release, "target").map_err(bad)?,
                description: json::text(release, "description"),
            },
        })
    }

    /// "OpenWrt 23.05.4 r24106-10cc5fcd00".
    pub fn running(&self) -> String {
        let r = &self.release;
        [r.distribution.as_str(), r.version.as_str(), r.revision.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `rpc-sys packagelist`: the names, sorted.
pub fn package_names(data: &Value) -> Result<Vec<String>, RpcError> {
    Ok(package_versions(data)?.into_keys().collect())
}

/// `rpc-sys packagelist`: name -> version (empty when not a string).
pub fn package_versions(data: &Value) -> Result<BTreeMap<String, String>, RpcError> {
    let packages = data
        .get("packages")
        .and_then(Value::as_object)
        .ok_or_else(|| RpcError::BadAnswer("no packages object".into()))?;
    // Inserting one by one: `collect` into a map would sort with its own copy of a sort.
    let mut out = BTreeMap::new();
    for (k, v) in packages {
        out.insert(k.clone(), v.as_str().unwrap_or("").to_string());
    }
    Ok(out)
}

/// `system validate_firmware_image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareCheck {
    pub valid: bool,
    pub forceable: bool,
    pub tests: BTreeMap<String, bool>,
}

impl FirmwareCheck {
    pub fn parse(data: &Value) -> Result<FirmwareCheck, RpcError> {
        let flag = |v: &Value, k: &str| v.get(k).and_then(Value::as_bool);
        let valid = flag(data, "valid").ok_or_else(|| RpcError::BadAnswer("it has no valid flag".into()))?;
        let mut tests = BTreeMap::new();
        for (k, v) in data.get("tests").and_then(Value::as_object).into_iter().flatten() {
            if let Some(b) = v.as_bool() {
                tests.insert(k.clone(), b);
            }
        }
        Ok(FirmwareCheck { valid, forceable: flag(data, "forceable").unwrap_or(false), tests })
    }

    /// Why the router refuses the image, in words.
    pub fn refusal(&self) -> String {
        let failed: Vec<&str> = self.tests.iter().filter(|(_, ok)| !**ok).map(|(name, _)| name.as_str()).collect();
        let reasons: Vec<&str> = failed
            .iter()
            .map(|t| match *t {
                "fwtool_signature" => "its metadata signature is missing or wrong",
                "fwtool_device_match" => "it is not made for this device",
                other => other,
            })
            .collect();
        let mut text = "The router says the image is not valid".to_string();
        if !reasons.is_empty() {
            text.push_str(&format!(": {}", reasons.join("; ")));
        }
        text.push('.');
        text
    }
}

/// `cgi-upload`'s answer: 200 with either the file's checksums or a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReceipt {
    pub size: u64,
    pub sha256sum: String,
}

pub fn parse_upload_answer(status: u16, body: &str) -> Result<UploadReceipt, String> {
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            return Err(format!("The router answered the upload with HTTP {status}: {}", shorten(body.trim(), 200)))
        }
    };
    if let Some(sum) = value.get("sha256sum").and_then(Value::as_str) {
        let size = value.get("size").and_then(Value::as_u64).unwrap_or(0);
        return Ok(UploadReceipt { size, sha256sum: sum.to_ascii_lowercase() });
    }
    let message = value.get("message").and_then(Value::as_str).unwrap_or("no reason given");
    let failure = value
        .get("failure")
        .and_then(Value::as_array)
        .map(|f| f.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect::<Vec<_>>())
        .filter(|f| !f.is_empty())
        .map(|f| format!(" ({})", f.join(": ")))
        .unwrap_or_default();
    Err(format!("The router refused the upload: {message}{failure}"))
}

/// `session login`: the new session id.
pub fn login_session(data: &Value) -> Result<String, RpcError> {
    data.get("ubus_rpc_session")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| RpcError::BadAnswer("no ubus_rpc_session".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_next_to_ubus() {
        assert_eq!(upload_url("/ubus"), "/cgi-bin/cgi-upload");
        assert_eq!(upload_url("/cgi-bin/luci/admin/ubus"), "/cgi-bin/cgi-upload");
        assert_eq!(upload_url("http://192.168.1.1/ubus"), "http://192.168.1.1/cgi-bin/cgi-upload");
    }

    #[test]
    fn call_body_shape() {
        let body: Value = serde_json::from_str(&call_body(7, "abc", "system", "board", &json!({}))).unwrap();
        assert_eq!(body, json!({"jsonrpc":"2.0","id":7,"method":"call","params":["abc","system","board",{}]}));
    }

    #[test]
    fn answers() {
        assert_eq!(parse_answer(r#"{"jsonrpc":"2.0","id":1,"result":[0,{"a":1}]}"#).unwrap(), json!({"a":1}));
        assert_eq!(parse_answer(r#"{"jsonrpc":"2.0","id":1,"result":[0]}"#).unwrap(), json!({}));
        assert_eq!(parse_answer(r#"{"jsonrpc":"2.0","id":1,"result":[4]}"#).unwrap_err(), RpcError::Ubus(4));
        let e = parse_answer(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"Access denied"}}"#).unwrap_err();
        assert!(e.session_gone());
        assert_eq!(e.describe("system board"), "The router refused system board: Access denied (JSON-RPC error -32002)");
        assert!(RpcError::Ubus(6).session_gone());
        assert!(!RpcError::Ubus(4).session_gone());
        assert!(!RpcError::Network("refused".into()).session_gone());
        assert!(matches!(parse_answer("<html>"), Err(RpcError::BadAnswer(_))));
        assert!(matches!(parse_answer(r#"{"id":1}"#), Err(RpcError::BadAnswer(_))));
        assert_eq!(
            RpcError::Ubus(6).describe("session login"),
            "The router refused session login: permission denied (ubus code 6)"
        );
    }

    #[test]
    fn board_from_a_real_shape() {
        let data = json!({"kernel":"5.15.162","hostname":"OpenWrt","system":"ARMv8 Processor rev 4",
            "model":"GL.iNet GL-MT6000","board_name":"glinet,gl-mt6000","rootfs_type":"squashfs",
            "release":{"distribution":"OpenWrt","version":"23.05.4","revision":"r24012-d8dd03c46f",
                       "target":"mediatek/filogic","description":"OpenWrt 23.05.4 r24012-d8dd03c46f","builddate":"1719439200"}});
        let b = Board::parse(&data).unwrap();
        assert_eq!(b.board_name, "glinet,gl-mt6000");
        assert_eq!(b.release.target, "mediatek/filogic");
        assert_eq!(b.running(), "OpenWrt 23.05.4 r24012-d8dd03c46f");
        assert!(Board::parse(&json!({"model": "x"})).is_err());
    }

    #[test]
    fn package_list_sorted() {
        let data = json!({"packages": {"luci": "git-24", "base-files": "1", "dropbear": "2"}});
        assert_eq!(package_names(&data).unwrap(), ["base-files", "dropbear", "luci"]);
        assert!(package_names(&json!({})).is_err());
        let v = package_versions(&data).unwrap();
        assert_eq!(v["luci"], "git-24");
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn firmware_check() {
        let ok = FirmwareCheck::parse(&json!({"tests":{"fwtool_signature":true,"fwtool_device_match":true},
            "valid":true,"forceable":true,"allow_backup":true}))
        .unwrap();
        assert!(ok.valid);
        let bad = FirmwareCheck::parse(&json!({"tests":{"fwtool_signature":true,"fwtool_device_match":false},
            "valid":false,"forceable":true,"allow_backup":true}))
        .unwrap();
        assert_eq!(bad.refusal(), "The router says the image is not valid: it is not made for this device.");
    }

    #[test]
    fn upload_answers() {
        let r = parse_upload_answer(200, r#"{"size":12,"checksum":"d41d","sha256sum":"ABCDEF"}"#).unwrap();
        assert_eq!(r, UploadReceipt { size: 12, sha256sum: "abcdef".into() });
        let e = parse_upload_answer(200, r#"{"message":"Upload failed","failure":[28,"No space left on device"]}"#)
            .unwrap_err();
        assert_eq!(e, "The router refused the upload: Upload failed (28: No space left on device)");
        let e = parse_upload_answer(413, "Request Entity Too Large").unwrap_err();
        assert!(e.contains("HTTP 413") && e.contains("Too Large"), "{e}");
    }

    #[test]
    fn login() {
        let data = json!({"ubus_rpc_session":"0123456789abcdef0123456789abcdef","timeout":300});
        assert_eq!(login_session(&data).unwrap(), "0123456789abcdef0123456789abcdef");
        assert!(login_session(&json!({})).is_err());
    }
}
