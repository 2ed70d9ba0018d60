//! rpcd's JSON-RPC 2.0 interface as uhttpd-mod-ubus exposes it: `call` and
//! `list`, single requests and batches, ubus status codes in `result`,
//! transport errors in `error`.

use super::firmware;
use super::{now_unix, RouterState, ANONYMOUS_SESSION, FIRMWARE_PATH, SESSION_TIMEOUT};
use serde_json::{json, Value};

pub const UBUS_OK: i64 = 0;
pub const UBUS_INVALID_ARGUMENT: i64 = 2;
pub const UBUS_METHOD_NOT_FOUND: i64 = 3;
pub const UBUS_NOT_FOUND: i64 = 4;
pub const UBUS_PERMISSION_DENIED: i64 = 6;
pub const UBUS_NOT_SUPPORTED: i64 = 8;

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn result(id: Value, r: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": r})
}

/// Answers a request body (one call or a batch).
pub fn handle_body(state: &RouterState, body: &[u8]) -> Value {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return error(Value::Null, -32700, "Parse error"),
    };
    match parsed {
        Value::Array(items) if !items.is_empty() => {
            Value::Array(items.into_iter().map(|r| handle_one(state, r)).collect())
        }
        Value::Array(_) => error(Value::Null, -32600, "Invalid request"),
        other => handle_one(state, other),
    }
}

fn handle_one(state: &RouterState, req: Value) -> Value {
    let Some(obj) = req.as_object() else {
        return error(Value::Null, -32600, "Invalid request");
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return error(id, -32600, "Invalid request");
    }
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        return error(id, -32600, "Invalid request");
    };
    let params = obj
        .get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match method {
        "call" => {
            let (Some(sid), Some(object), Some(func)) = (
                params.first().and_then(Value::as_str),
                params.get(1).and_then(Value::as_str),
                params.get(2).and_then(Value::as_str),
            ) else {
                return error(id, -32602, "Invalid params");
            };
            let args = match params.get(3) {
                None => json!({}),
                Some(Value::Object(m)) => Value::Object(m.clone()),
                Some(_) => return error(id, -32602, "Invalid params"),
            };
            let public = object == "session" && (func == "login" || func == "access");
            if !public && (sid == ANONYMOUS_SESSION || !state.touch_session(sid)) {
                return error(id, -32002, "Access denied");
            }
            match call(state, sid, object, func, &args) {
                Some(r) => result(id, r),
                None => error(id, -32000, "Object not found"),
            }
        }
        "list" => {
            let Some(sid) = params.first().and_then(Value::as_str) else {
                return error(id, -32602, "Invalid params");
            };
            if !state.touch_session(sid) {
                return error(id, -32002, "Access denied");
            }
            let wanted: Vec<&str> = params.iter().skip(1).filter_map(Value::as_str).collect();
            let mut out = serde_json::Map::new();
            for (o, methods) in OBJECTS {
                if wanted.is_empty() || wanted.iter().any(|w| w == o || *w == "*") {
                    let m: serde_json::Map<String, Value> =
                        methods.iter().map(|m| (m.to_string(), json!({}))).collect();
                    out.insert(o.to_string(), Value::Object(m));
                }
            }
            result(id, Value::Object(out))
        }
        _ => error(id, -32601, "Method not found"),
    }
}

const OBJECTS: &[(&str, &[&str])] = &[
    ("session", &["login", "access", "destroy", "get"]),
    (
        "system",
        &[
            "board",
            "info",
            "reboot",
            "validate_firmware_image",
            "sysupgrade",
        ],
    ),
    (
        "rpc-sys",
        &["packagelist", "upgrade_test", "upgrade_start", "reboot"],
    ),
    ("file", &["stat", "read"]),
    ("uci", &["get", "configs"]),
];

fn code(c: i64) -> Value {
    json!([c])
}

fn ok(data: Value) -> Value {
    json!([UBUS_OK, data])
}

/// One ubus call; None if the object does not exist.
fn call(state: &RouterState, sid: &str, object: &str, method: &str, args: &Value) -> Option<Value> {
    let known = OBJECTS.iter().find(|(o, _)| *o == object)?;
    if !known.1.contains(&method) {
        return Some(code(UBUS_METHOD_NOT_FOUND));
    }
    let s = |k: &str| args.get(k).and_then(Value::as_str);
    let b = |k: &str| args.get(k).and_then(Value::as_bool).unwrap_or(false);
    Some(match (object, method) {
        ("session", "login") => {
            let (user, pw) = (s("username").unwrap_or(""), s("password").unwrap_or(""));
            match state.login(user, pw) {
                Some(sid) => ok(json!({
                    "ubus_rpc_session": sid,
                    "timeout": SESSION_TIMEOUT,
                    "expires": SESSION_TIMEOUT,
                    "acls": {
                        "access-group": {"luci-base": ["read", "write"], "luci-app-attendedsysupgrade": ["read", "write"], "unauthenticated": ["read"]},
                        "cgi-io": {"upload": ["write"], "download": ["read"]},
                        "file": {"/tmp/firmware.bin": ["write"], "*": ["read"]},
                        "ubus": {"*": ["*"], "session": ["access", "login"]},
                        "uci": {"*": ["read", "write"]},
                    },
                    "data": {"username": user},
                })),
                None => code(UBUS_PERMISSION_DENIED),
            }
        }
        ("session", "access") => {
            ok(json!({"access": sid != ANONYMOUS_SESSION && state.touch_session(sid)}))
        }
        ("session", "destroy") => {
            state.destroy_session(sid);
            code(UBUS_OK)
        }
        ("session", "get") => ok(json!({"values": {"username": "root"}})),
        ("system", "board") => ok(state.lock().persistent.board.clone()),
        ("system", "info") => ok(system_info(state)),
        ("system", "reboot") | ("rpc-sys", "reboot") => {
            state.schedule_flash(Vec::new(), 0, None);
            code(UBUS_OK)
        }
        ("system", "validate_firmware_image") => {
            let Some(path) = s("path") else {
                return Some(code(UBUS_INVALID_ARGUMENT));
            };
            ok(validate_path(state, path).to_json())
        }
        ("system", "sysupgrade") => {
            let Some(path) = s("path") else {
                return Some(code(UBUS_INVALID_ARGUMENT));
            };
            let v = validate_path(state, path);
            if !v.valid && !v.forceable {
                return Some(
                    json!([UBUS_NOT_SUPPORTED, {"error": {"message": "Firmware image is broken and cannot be installed"}}]),
                );
            }
            if !v.valid && !b("force") {
                return Some(
                    json!([UBUS_NOT_SUPPORTED, {"error": {"message": "Firmware image is invalid"}}]),
                );
            }
            flash(state, path, &v)
        }
        ("rpc-sys", "packagelist") => {
            let inner = state.lock();
            let p = if b("all") {
                &inner.persistent.packages.all
            } else {
                &inner.persistent.packages.world
            };
            ok(json!({"packages": p}))
        }
        ("rpc-sys", "upgrade_test") => ok(validate_path(state, FIRMWARE_PATH).test_result()),
        ("rpc-sys", "upgrade_start") => {
            // Like sysupgrade started in the background: the call returns
            // at once; an image that fails the check is simply not flashed.
            let v = validate_path(state, FIRMWARE_PATH);
            if v.valid {
                flash(state, FIRMWARE_PATH, &v);
            } else {
                eprintln!(
                    "virtual-router: upgrade_start: image check failed, not flashing: {}",
                    v.messages.join("; ")
                );
            }
            code(UBUS_OK)
        }
        ("file", "stat") => {
            let Some(path) = s("path") else {
                return Some(code(UBUS_INVALID_ARGUMENT));
            };
            match file_stat(state, path) {
                Some(st) => ok(st),
                None => code(UBUS_NOT_FOUND),
            }
        }
        ("file", "read") => {
            let Some(path) = s("path") else {
                return Some(code(UBUS_INVALID_ARGUMENT));
            };
            match state.lock().tmp.get(path) {
                Some(f) => ok(json!({"data": String::from_utf8_lossy(&f.data)})),
                None => code(UBUS_NOT_FOUND),
            }
        }
        ("uci", "configs") => ok(json!({"configs": ["attendedsysupgrade", "system"]})),
        ("uci", "get") => {
            let Some(config) = s("config") else {
                return Some(code(UBUS_INVALID_ARGUMENT));
            };
            uci_get(state, config, s("section"), s("option"), s("type"))
        }
        _ => code(UBUS_METHOD_NOT_FOUND),
    })
}

fn validate_path(state: &RouterState, path: &str) -> firmware::Validation {
    let inner = state.lock();
    let image = inner.tmp.get(path).map(|f| f.data.as_slice());
    let p = &inner.persistent;
    firmware::validate(
        image,
        &p.board_name(),
        &p.compat_version,
        p.require_image_metadata,
    )
}

fn flash(state: &RouterState, path: &str, v: &firmware::Validation) -> Value {
    let image = state
        .lock()
        .tmp
        .get(path)
        .map(|f| f.data.clone())
        .unwrap_or_default();
    let body_len = if v.metadata.is_some() {
        v.body_len
    } else {
        image.len()
    };
    state.schedule_flash(image, body_len, v.metadata.clone());
    code(UBUS_OK)
}

fn system_info(state: &RouterState) -> Value {
    let inner = state.lock();
    let uptime = inner.booted_at.elapsed().as_secs();
    let tmp_used: u64 = inner.tmp.values().map(|f| f.data.len() as u64).sum::<u64>() / 1024;
    json!({
        "localtime": now_unix(),
        "uptime": uptime,
        "load": [2112, 3328, 1152],
        "memory": {
            "total": 1_003_130_880u64,
            "free": 861_437_952u64,
            "shared": 1_249_280u64,
            "buffered": 0,
            "available": 872_759_296u64,
            "cached": 43_352_064u64,
        },
        "root": {"total": 7_213_056u64, "free": 7_150_592u64, "used": 62_464u64, "avail": 7_137_280u64},
        "tmp": {"total": 489_812u64, "free": 489_812u64.saturating_sub(tmp_used), "used": tmp_used, "avail": 489_812u64.saturating_sub(tmp_used)},
        "swap": {"total": 0, "free": 0},
    })
}

fn file_stat(state: &RouterState, path: &str) -> Option<Value> {
    let inner = state.lock();
    let t = now_unix();
    let dir = |p: &str| json!({"path": p, "type": "directory", "size": 4096, "mode": 0o40755, "atime": t, "mtime": t, "ctime": t, "inode": 1, "uid": 0, "gid": 0});
    let mut dirs = vec!["/", "/tmp", "/etc", "/etc/config", "/sys", "/sys/firmware"];
    if inner.persistent.efi {
        dirs.push("/sys/firmware/efi");
    }
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    if dirs.contains(&path) {
        return Some(dir(path));
    }
    let f = inner.tmp.get(path)?;
    Some(
        json!({"path": path, "type": "file", "size": f.data.len(), "mode": 0o100000 | f.mode, "atime": f.mtime, "mtime": f.mtime, "ctime": f.mtime, "inode": 2, "uid": 0, "gid": 0}),
    )
}

fn uci_config(state: &RouterState, config: &str) -> Option<Vec<(String, Value)>> {
    let section = |name: &str, ty: &str, idx: usize, anon: bool, opts: Value| {
        let mut s = json!({".anonymous": anon, ".type": ty, ".name": name, ".index": idx});
        if let (Some(m), Some(o)) = (s.as_object_mut(), opts.as_object()) {
            m.extend(o.clone());
        }
        (name.to_string(), s)
    };
    match config {
        "attendedsysupgrade" => Some(vec![
            section(
                "server",
                "server",
                0,
                false,
                json!({"url": state.config.server_url}),
            ),
            section(
                "client",
                "client",
                1,
                false,
                json!({"upgrade_packages": "1", "auto_search": "0", "advanced_mode": "0"}),
            ),
        ]),
        "system" => {
            let compat = state.lock().persistent.compat_version.clone();
            Some(vec![section(
                "cfg01e48a",
                "system",
                0,
                true,
                json!({"hostname": "OpenWrt", "timezone": "UTC", "zonename": "UTC", "compat_version": compat}),
            )])
        }
        _ => None,
    }
}

fn uci_get(
    state: &RouterState,
    config: &str,
    section: Option<&str>,
    option: Option<&str>,
    ty: Option<&str>,
) -> Value {
    let Some(sections) = uci_config(state, config) else {
        return code(UBUS_NOT_FOUND);
    };
    match (section, option) {
        (None, _) => {
            let values: serde_json::Map<String, Value> = sections
                .into_iter()
                .filter(|(_, v)| ty.is_none_or(|t| v[".type"] == t))
                .collect();
            ok(json!({"values": values}))
        }
        (Some(sec), None) => match sections.into_iter().find(|(n, _)| n == sec) {
            Some((_, v)) => ok(json!({"values": v})),
            None => code(UBUS_NOT_FOUND),
        },
        (Some(sec), Some(opt)) => match sections
            .into_iter()
            .find(|(n, _)| n == sec)
            .and_then(|(_, v)| v.get(opt).cloned())
        {
            Some(v) => ok(json!({"value": v})),
            None => code(UBUS_NOT_FOUND),
        },
    }
}
