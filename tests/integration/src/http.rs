//! Small HTTP helpers for tests: every answer as status, headers and body.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

/// An answer as a test looks at it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("answer {} is not JSON ({e}): {}", self.status, String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap_or_default().to_string())
    }

    /// The `detail` string; panics unless it is a non-empty string.
    pub fn detail(&self) -> String {
        match self.json().get("detail") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            other => panic!("detail is not a non-empty string: {other:?} in {}", String::from_utf8_lossy(&self.body)),
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap()
}

async fn collect(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap().to_vec();
    Answer { status, headers, body }
}

pub async fn get(url: &str) -> Answer {
    collect(client().get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))).await
}

pub async fn head(url: &str) -> Answer {
    collect(client().head(url).send().await.unwrap_or_else(|e| panic!("HEAD {url}: {e}"))).await
}

pub async fn post_json(url: &str, body: &Value) -> Answer {
    post_raw(url, "application/json", serde_json::to_vec(body).unwrap()).await
}

pub async fn post_raw(url: &str, content_type: &str, body: Vec<u8>) -> Answer {
    let resp = client().post(url).header("content-type", content_type).body(body).send().await;
    collect(resp.unwrap_or_else(|e| panic!("POST {url}: {e}"))).await
}

/// A request with any method and headers, e.g. a builder call or a CORS preflight.
pub async fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Answer {
    let mut req = client().request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    collect(req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"))).await
}

/// Whether a plain GET answers 200, without an async runtime (for start-up waits).
pub fn blocking_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(stream.read(&mut buf), Ok(n) if n >= 12 && &buf[9..12] == b"200")
}
