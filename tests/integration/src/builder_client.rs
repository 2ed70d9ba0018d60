//! The test playing the builder's part of the private API, so edge tests
//! control exactly when a job starts, reports and finishes.

use asu_protocol::answer::{BuildResult, ImagebuilderStatus};
use asu_protocol::builder_api::{self, Artifact, Completion, Job, LeaseRequest, Outcome, PhaseReport};
use sha2::{Digest, Sha256};

use crate::http::{request, Answer};

pub struct FakeBuilder {
    pub edge: String,
    pub token: String,
}

impl FakeBuilder {
    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    pub async fn lease_raw(&self) -> Answer {
        let body = serde_json::to_vec(&LeaseRequest { builder: "test".into() }).unwrap();
        let auth = self.auth();
        request(
            "POST",
            &format!("{}{}", self.edge, builder_api::LEASE_PATH),
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(body),
        )
        .await
    }

    /// The next job, or None when the queue is empty (204).
    pub async fn lease(&self) -> Option<Job> {
        let a = self.lease_raw().await;
        match a.status {
            204 => None,
            200 => Some(serde_json::from_slice(&a.body).unwrap()),
            s => panic!("lease answered {s}: {}", String::from_utf8_lossy(&a.body)),
        }
    }

    pub async fn phase(&self, job: &Job, phase: ImagebuilderStatus) -> Answer {
        let body = serde_json::to_vec(&PhaseReport { lease: job.lease.clone(), imagebuilder_status: phase }).unwrap();
        let auth = self.auth();
        request(
            "POST",
            &format!("{}{}", self.edge, builder_api::phase_path(&job.request_hash)),
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(body),
        )
        .await
    }

    pub async fn upload(&self, job: &Job, name: &str, bytes: &[u8]) -> (Answer, Artifact) {
        let sha = hex::encode(Sha256::digest(bytes));
        let auth = self.auth();
        let a = request(
            "PUT",
            &format!("{}{}", self.edge, builder_api::artifact_path(&job.request_hash, name)),
            &[("authorization", &auth), (builder_api::LEASE_HEADER, &job.lease), (builder_api::SHA256_HEADER, &sha)],
            Some(bytes.to_vec()),
        )
        .await;
        (a, Artifact { name: name.into(), size: bytes.len() as u64, sha256: sha })
    }

    pub async fn complete(&self, job: &Job, outcome: Outcome) -> Answer {
        let body = serde_json::to_vec(&Completion { lease: job.lease.clone(), outcome }).unwrap();
        let auth = self.auth();
        request(
            "POST",
            &format!("{}{}", self.edge, builder_api::complete_path(&job.request_hash)),
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(body),
        )
        .await
    }

    /// Uploads one image and completes the job with a plausible result.
    pub async fn finish_with_image(&self, job: &Job, image_name: &str, bytes: &[u8]) -> Answer {
        let (up, artifact) = self.upload(job, image_name, bytes).await;
        assert!(up.status < 300, "upload answered {}: {}", up.status, String::from_utf8_lossy(&up.body));
        let result = BuildResult {
            id: job.request.profile.clone(),
            images: vec![asu_protocol::upstream::Image {
                filesystem: Some("squashfs".into()),
                name: image_name.into(),
                sha256: artifact.sha256.clone(),
                sha256_unsigned: artifact.sha256.clone(),
                kind: "sysupgrade".into(),
            }],
            titles: vec![],
            manifest: [("base-files".to_string(), "1".to_string())].into(),
            bin_dir: job.request_hash.clone(),
            version_number: job.request.version.clone(),
            version_code: String::new(),
            target: job.request.target.clone(),
            supported_devices: vec![],
            image_prefix: String::new(),
            default_packages: vec![],
            build_at: "0".into(),
            build_cmd: vec!["make".into(), "image".into()],
            request: job.request.clone(),
            stdout: String::new(),
            stderr: String::new(),
            profile: Default::default(),
        };
        self.complete(job, Outcome::Done { result: result.to_map(), artifacts: vec![artifact] }).await
    }
}
