//! The builder's side of the private edge API (asu_protocol::builder_api).

use std::path::Path;
use std::time::Duration;

use asu_protocol::answer::ImagebuilderStatus;
use asu_protocol::builder_api::{
    artifact_path, complete_path, phase_path, Completion, Job, LeaseRequest, PhaseReport,
    LEASE_HEADER, LEASE_PATH, SHA256_HEADER,
};
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeError {
    /// 403/404/409/410 on a job call: the job is no longer ours.
    LeaseLost(u16),
    /// Another 4xx: retrying the same call will not help.
    Rejected(u16, String),
    /// Connection trouble, 5xx, 408, 429: worth retrying.
    Transient(String),
}

impl std::fmt::Display for EdgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EdgeError::LeaseLost(s) => write!(f, "lease lost (HTTP {s})"),
            EdgeError::Rejected(s, body) => write!(f, "rejected (HTTP {s}): {body}"),
            EdgeError::Transient(e) => write!(f, "{e}"),
        }
    }
}

pub struct Edge {
    base: String,
    token: String,
    http: reqwest::Client,
}

fn short(body: String) -> String {
    crate::runner::tail(&body, 300)
}

impl Edge {
    pub fn new(base: &str, token: &str) -> reqwest::Result<Edge> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("asu-builder/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Edge {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    async fn check(
        resp: Result<reqwest::Response, reqwest::Error>,
        job_call: bool,
    ) -> Result<reqwest::Response, EdgeError> {
        let resp = resp.map_err(|e| EdgeError::Transient(e.to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let code = status.as_u16();
        let body = short(resp.text().await.unwrap_or_default());
        if job_call && matches!(code, 403 | 404 | 409 | 410) {
            return Err(EdgeError::LeaseLost(code));
        }
        if status.is_server_error() || matches!(code, 408 | 429) {
            return Err(EdgeError::Transient(format!("HTTP {code}: {body}")));
        }
        Err(EdgeError::Rejected(code, body))
    }

    /// Asks for the next job; `Ok(None)` when the queue is empty (204).
    pub async fn lease(&self, builder: &str) -> Result<Option<Job>, EdgeError> {
        let resp = self
            .http
            .post(self.url(LEASE_PATH))
            .header(AUTHORIZATION, self.bearer())
            .timeout(Duration::from_secs(90)) // the edge may hold the call a while
            .json(&LeaseRequest {
                builder: builder.to_string(),
            })
            .send()
            .await;
        let resp = Self::check(resp, false).await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| EdgeError::Transient(e.to_string()))?;
        serde_json::from_slice::<Job>(&bytes)
            .map(Some)
            .map_err(|e| EdgeError::Rejected(200, format!("lease answer is not a job: {e}")))
    }

    pub async fn phase(
        &self,
        hash: &str,
        lease: &str,
        status: ImagebuilderStatus,
    ) -> Result<(), EdgeError> {
        let resp = self
            .http
            .post(self.url(&phase_path(hash)))
            .header(AUTHORIZATION, self.bearer())
            .timeout(Duration::from_secs(15))
            .json(&PhaseReport {
                lease: lease.to_string(),
                imagebuilder_status: status,
            })
            .send()
            .await;
        Self::check(resp, true).await.map(|_| ())
    }

    /// Streams one file up with its length and sha256.
    pub async fn upload(
        &self,
        hash: &str,
        lease: &str,
        name: &str,
        path: &Path,
        size: u64,
        sha256: &str,
    ) -> Result<(), EdgeError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| EdgeError::Transient(format!("{}: {e}", path.display())))?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let resp = self
            .http
            .put(self.url(&artifact_path(hash, name)))
            .header(AUTHORIZATION, self.bearer())
            .header(LEASE_HEADER, lease)
            .header(SHA256_HEADER, sha256)
            .header(CONTENT_LENGTH, size)
            .header(CONTENT_TYPE, "application/octet-stream")
            .timeout(Duration::from_secs(600))
            .body(body)
            .send()
            .await;
        Self::check(resp, true).await.map(|_| ())
    }

    pub async fn complete(&self, hash: &str, completion: &Completion) -> Result<(), EdgeError> {
        let resp = self
            .http
            .post(self.url(&complete_path(hash)))
            .header(AUTHORIZATION, self.bearer())
            .timeout(Duration::from_secs(60))
            .json(completion)
            .send()
            .await;
        Self::check(resp, true).await.map(|_| ())
    }
}
