//! Static file server for the generated mirror: GET and HEAD with the right
//! Content-Length, plain directory listings, 404 for anything else.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;

use crate::mirror::CACHE_DIR;

#[derive(Clone)]
struct Root(Arc<PathBuf>);

/// Percent-decodes a URL path; None if it is not valid UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a request path to a file under `root`, refusing anything that
/// could leave it and the cache folder.
pub fn resolve_path(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut p = root.to_path_buf();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(n) => {
                if n == CACHE_DIR {
                    return None;
                }
                p.push(n)
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(p)
}

fn content_type(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".json") {
        "application/json"
    } else if name.ends_with(".html") {
        "text/html; charset=utf-8"
    } else if name == "Packages"
        || name == "sha256sums"
        || name.ends_with(".manifest")
        || name.ends_with(".buildinfo")
    {
        "text/plain; charset=utf-8"
    } else if name.ends_with(".xz") {
        "application/x-xz"
    } else if name.ends_with(".zst") {
        "application/zstd"
    } else {
        "application/octet-stream"
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain")],
        "404 Not Found\n",
    )
        .into_response()
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn listing(dir: &Path, url_path: &str) -> Response {
    let mut names = Vec::new();
    if let Ok(mut rd) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = rd.next_entry().await {
            let n = e.file_name().to_string_lossy().into_owned();
            if n == CACHE_DIR {
                continue;
            }
            let is_dir = e.file_type().await.map(|t| t.is_dir()).unwrap_or(false);
            names.push(if is_dir { format!("{n}/") } else { n });
        }
    }
    names.sort();
    let mut html = format!("<!DOCTYPE html>\n<html><head><title>Index of {0}</title></head><body><h1>Index of {0}</h1><ul>\n", escape_html(url_path));
    for n in names {
        html.push_str(&format!(
            "<li><a href=\"{0}\">{0}</a></li>\n",
            escape_html(&n)
        ));
    }
    html.push_str("</ul></body></html>\n");
    let len = html.len();
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, len)
        .body(Body::from(html))
        .expect("valid response")
}

async fn serve_file(State(root): State<Root>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "405 Method Not Allowed\n",
        )
            .into_response();
    }
    let Some(path) = resolve_path(&root.0, uri.path()) else {
        return not_found();
    };
    let Ok(meta) = tokio::fs::metadata(&path).await else {
        return not_found();
    };
    if meta.is_dir() {
        if !uri.path().ends_with('/') {
            let to = format!("{}/", uri.path());
            return Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .header(
                    header::LOCATION,
                    HeaderValue::from_str(&to).unwrap_or(HeaderValue::from_static("/")),
                )
                .body(Body::empty())
                .expect("valid response");
        }
        return listing(&path, uri.path()).await;
    }
    let len = meta.len();
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        match tokio::fs::read(&path).await {
            Ok(b) => Body::from(b),
            Err(_) => return not_found(),
        }
    };
    Response::builder()
        .header(header::CONTENT_TYPE, content_type(&path))
        .header(header::CONTENT_LENGTH, len)
        .body(body)
        .expect("valid response")
}

pub fn router(root: PathBuf) -> Router {
    Router::new()
        .fallback(serve_file)
        .with_state(Root(Arc::new(root)))
}

/// Serves `root` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, root: PathBuf) -> std::io::Result<()> {
    axum::serve(listener, router(root)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_root() {
        let root = Path::new("/srv/mirror");
        assert_eq!(
            resolve_path(root, "/releases/23.05.4/.targets.json").unwrap(),
            root.join("releases/23.05.4/.targets.json")
        );
        assert_eq!(resolve_path(root, "/a%20b").unwrap(), root.join("a b"));
        assert!(resolve_path(root, "/../etc/passwd").is_none());
        assert!(resolve_path(root, "/releases/%2e%2e/%2e%2e/etc").is_none());
        assert!(resolve_path(root, "/.standin-cache/x").is_none());
        assert!(resolve_path(root, "/%zz").is_none());
    }
}
