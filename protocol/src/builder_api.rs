//! The private API between the edge and its builders. Every call carries
//! `Authorization: Bearer <builder token>`; calls about a job also carry the
//! lease id the builder got with it, so a builder can only touch the job it
//! holds.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::answer::ImagebuilderStatus;
use crate::request::BuildRequest;

/// `POST` here to lease the next job: 200 with a [`Job`], 204 when the
/// queue is empty.
pub const LEASE_PATH: &str = "/api/v1/builder/lease";

/// `POST /api/v1/builder/jobs/{hash}/phase` with a [`PhaseReport`]; also the heartbeat.
pub fn phase_path(hash: &str) -> String {
    format!("/api/v1/builder/jobs/{hash}/phase")
}

/// `PUT /api/v1/builder/jobs/{hash}/artifacts/{name}` with the file as body
/// and the headers [`LEASE_HEADER`] and [`SHA256_HEADER`].
pub fn artifact_path(hash: &str, name: &str) -> String {
    format!("/api/v1/builder/jobs/{hash}/artifacts/{name}")
}

/// `POST /api/v1/builder/jobs/{hash}/complete` with a [`Completion`].
pub fn complete_path(hash: &str) -> String {
    format!("/api/v1/builder/jobs/{hash}/complete")
}

pub const LEASE_HEADER: &str = "X-Lease";
pub const SHA256_HEADER: &str = "X-Sha256";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRequest {
    /// A name for logs and stats (host name, container id).
    pub builder: String,
}

/// A job handed to a builder. `request.profile` is already the resolved
/// profile id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub request_hash: String,
    pub lease: String,
    /// The lease lapses unless a phase report arrives within this time.
    pub lease_seconds: u32,
    pub request: BuildRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseReport {
    pub lease: String,
    pub imagebuilder_status: ImagebuilderStatus,
}

/// A file the builder uploaded, as it declares it at completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// `result` is a [`crate::answer::BuildResult`] as JSON.
    Done { result: Map<String, Value>, artifacts: Vec<Artifact> },
    Failed { detail: String, stdout: String, stderr: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub lease: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Whether `name` may be an artifact file name: a plain file name, no path.
pub fn is_artifact_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_wire_shape() {
        let c = Completion {
            lease: "l".into(),
            outcome: Outcome::Failed { detail: "Error: x".into(), stdout: "o".into(), stderr: "e".into() },
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v, serde_json::json!({"lease":"l","outcome":"failed","detail":"Error: x","stdout":"o","stderr":"e"}));
        assert_eq!(serde_json::from_value::<Completion>(v).unwrap(), c);
    }

    #[test]
    fn artifact_names() {
        assert!(is_artifact_name("openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin"));
        assert!(is_artifact_name("profiles.json"));
        for bad in ["", "../x", "a/b", ".hidden", "a b", "a%2fb"] {
            assert!(!is_artifact_name(bad), "{bad}");
        }
    }
}
