//! HTTP routes of the virtual router: rpcd's `/ubus`, cgi-io's upload and
//! a LuCI-like login plus attended-sysupgrade page that mounts our app.

use super::{now_unix, rpc, RouterState, TmpFile};
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Form, Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The attended-sysupgrade page; `{{server_url}}`, `{{session}}`, ... are
/// replaced. Kept in one file so the LuCI package can take it over.
pub const PAGE_TEMPLATE: &str = include_str!("../../templates/luci-page.html");
pub const LOGIN_TEMPLATE: &str = include_str!("../../templates/login.html");
pub const ASU_PAGE_PATH: &str = "/cgi-bin/luci/admin/system/attendedsysupgrade";
const COOKIE: &str = "sysauth_http";
/// Largest upload cgi-upload takes (images are far smaller).
const UPLOAD_LIMIT: usize = 256 * 1024 * 1024;

pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A server URL we can put into the page as is: http(s), none of the
/// characters that could end an attribute, a JS string or the script.
pub fn check_server_url(url: &str) -> Result<String, String> {
    let url = url.trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "server URL must start with http:// or https://, got {url:?}"
        ));
    }
    if url.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`')
    }) {
        return Err(format!(
            "server URL contains a character that is not allowed: {url:?}"
        ));
    }
    Ok(url.to_string())
}

fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

fn board_field(state: &RouterState, pointer: &str) -> String {
    state
        .lock()
        .persistent
        .board
        .pointer(pointer)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn login_form(state: &RouterState, status: StatusCode, error: Option<&str>) -> Response {
    let err = error
        .map(|e| format!("<p class=\"error\">{}</p>", escape_html(e)))
        .unwrap_or_default();
    let hostname = escape_html(&board_field(state, "/hostname"));
    html(
        status,
        render(LOGIN_TEMPLATE, &[("hostname", hostname), ("error", err)]),
    )
}

fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE || *k == "sysauth")
        .map(|(_, v)| v.to_string())
}

async fn root(State(state): State<RouterState>) -> Response {
    login_form(&state, StatusCode::OK, None)
}

async fn luci_root(State(state): State<RouterState>, headers: HeaderMap) -> Response {
    match cookie_session(&headers) {
        Some(sid) if state.touch_session(&sid) => redirect(ASU_PAGE_PATH, None),
        _ => login_form(&state, StatusCode::OK, None),
    }
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut r = Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, to);
    if let Some(c) = cookie {
        r = r.header(header::SET_COOKIE, c);
    }
    r.body(axum::body::Body::empty()).expect("valid response")
}

async fn login_post(
    State(state): State<RouterState>,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.map(|f| f.0).unwrap_or_default();
    let user = form.get("luci_username").map(String::as_str).unwrap_or("");
    let pw = form.get("luci_password").map(String::as_str).unwrap_or("");
    match state.login(user, pw) {
        Some(sid) => redirect(
            ASU_PAGE_PATH,
            Some(format!(
                "{COOKIE}={sid}; path=/cgi-bin/luci/; SameSite=Strict; HttpOnly"
            )),
        ),
        None => login_form(
            &state,
            StatusCode::FORBIDDEN,
            Some("Invalid username and/or password! Please try again."),
        ),
    }
}

async fn asu_page(State(state): State<RouterState>, headers: HeaderMap) -> Response {
    let Some(sid) = cookie_session(&headers).filter(|s| state.touch_session(s)) else {
        return login_form(&state, StatusCode::FORBIDDEN, None);
    };
    let template = state
        .config
        .page_template
        .clone()
        .unwrap_or_else(|| PAGE_TEMPLATE.to_string());
    let page = render(
        &template,
        &[
            // Checked at start-up to need no escaping (see check_server_url).
            ("server_url", state.config.server_url.clone()),
            ("session", sid),
            ("hostname", escape_html(&board_field(&state, "/hostname"))),
            ("model", escape_html(&board_field(&state, "/model"))),
            (
                "description",
                escape_html(&board_field(&state, "/release/description")),
            ),
        ],
    );
    html(StatusCode::OK, page)
}

async fn logout(State(state): State<RouterState>, headers: HeaderMap) -> Response {
    if let Some(sid) = cookie_session(&headers) {
        state.destroy_session(&sid);
    }
    redirect(
        "/cgi-bin/luci",
        Some(format!("{COOKIE}=; path=/cgi-bin/luci/; Max-Age=0")),
    )
}

async fn ubus(State(state): State<RouterState>, body: Bytes) -> Response {
    let answer = rpc::handle_body(&state, &body);
    (
        [(header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
        .into_response()
}

fn upload_answer(v: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        v.to_string(),
    )
        .into_response()
}

fn upload_failure(message: &str, errno: i32, text: &str) -> Response {
    upload_answer(serde_json::json!({"message": message, "failure": [errno, text]}))
}

/// cgi-io: fields sessionid, filename, filemode, then filedata.
async fn upload(
    State(state): State<RouterState>,
    mp: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(mut mp) = mp else {
        return upload_failure("Invalid request", 22, "Invalid argument");
    };
    let (mut sid, mut filename, mut mode, mut data) = (None, None, None, None);
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                match name.as_str() {
                    "filedata" => match field.bytes().await {
                        Ok(b) => data = Some(b),
                        Err(_) => {
                            return upload_failure(
                                "Error while reading upload",
                                5,
                                "Input/output error",
                            )
                        }
                    },
                    "sessionid" | "filename" | "filemode" => {
                        let Ok(text) = field.text().await else {
                            return upload_failure("Invalid request", 22, "Invalid argument");
                        };
                        match name.as_str() {
                            "sessionid" => sid = Some(text),
                            "filename" => filename = Some(text),
                            _ => mode = Some(text),
                        }
                    }
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return upload_failure("Invalid request", 22, "Invalid argument"),
        }
    }
    if !sid.is_some_and(|s| state.touch_session(&s)) {
        return upload_failure("Access to path denied by ACL", 13, "Permission denied");
    }
    let Some(filename) = filename.filter(|f| !f.is_empty()) else {
        return upload_failure("File name missing", 22, "Invalid argument");
    };
    // Only RAM (/tmp) is writable for uploads, as the ACL of a real router.
    if !filename.starts_with("/tmp/") || filename.contains("/../") || filename.ends_with('/') {
        return upload_failure("Access to path denied by ACL", 13, "Permission denied");
    }
    let mode = match mode.as_deref().map(str::trim) {
        None | Some("") => 0o600,
        Some(m) => match u32::from_str_radix(m, 8) {
            Ok(m) if m <= 0o7777 => m,
            _ => return upload_failure("Invalid file mode", 22, "Invalid argument"),
        },
    };
    let Some(data) = data else {
        return upload_failure("No file data received", 5, "Input/output error");
    };
    let md5 = hex::encode(Md5::digest(&data));
    let sha = hex::encode(Sha256::digest(&data));
    let size = data.len();
    state.lock().tmp.insert(
        filename,
        TmpFile {
            data: data.to_vec(),
            mode,
            mtime: now_unix(),
        },
    );
    upload_answer(serde_json::json!({"size": size, "checksum": md5, "sha256sum": sha}))
}

/// Files under the router's /www/luci-static (the LuCI packages' htdocs,
/// from --www): read only below that folder.
async fn luci_static(State(state): State<RouterState>, axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    let Some(www) = &state.config.www_dir else { return not_found().await };
    let plain = !path.is_empty() && path.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && !seg.contains('\\'));
    if !plain {
        return not_found().await;
    }
    match std::fs::read(www.join("luci-static").join(&path)) {
        Ok(bytes) => {
            let kind = match path.rsplit('.').next() {
                Some("js") => "application/javascript",
                Some("css") => "text/css",
                Some("json") => "application/json",
                _ => "application/octet-stream",
            };
            (StatusCode::OK, [(header::CONTENT_TYPE, kind)], bytes).into_response()
        }
        Err(_) => not_found().await,
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain")],
        "Not Found\n",
    )
        .into_response()
}

pub fn app(state: RouterState) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/cgi-bin/luci", get(luci_root).post(login_post))
        .route("/cgi-bin/luci/", get(luci_root).post(login_post))
        .route(ASU_PAGE_PATH, get(asu_page).post(login_post))
        .route("/cgi-bin/luci/admin/logout", get(logout))
        .route("/luci-static/{*path}", get(luci_static))
        .route("/ubus", post(ubus))
        .route("/ubus/{*rest}", post(ubus))
        .route("/cgi-bin/luci/admin/ubus", post(ubus))
        .route("/cgi-bin/luci/admin/ubus/{*rest}", post(ubus))
        .route(
            "/cgi-bin/cgi-upload",
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .fallback(not_found)
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(
            check_server_url("http://127.0.0.1:8787/").unwrap(),
            "http://127.0.0.1:8787"
        );
        assert!(check_server_url("javascript:alert(1)").is_err());
        assert!(check_server_url("http://x\"></div><script>").is_err());
    }

    #[test]
    fn template_runs_the_luci_view_with_the_session() {
        let page = render(
            PAGE_TEMPLATE,
            &[("server_url", "http://s".into()), ("session", "abc".into())],
        );
        // LuCI hands the view its session and the configured server; the
        // view (frontend/luci-app-asu-rs) builds the app's mount from them.
        assert!(page.contains(r#"sessionid: "abc""#), "{page}");
        assert!(page.contains(r#"? "http://s""#), "{page}");
        assert!(page.contains("/luci-static/resources/view/asu-rs/upgrade.js"), "{page}");
    }
}
