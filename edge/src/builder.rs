//! The private builder API: lease a job, report phases, upload artifacts
//! into R2, complete. The token check happens before any of this runs.

use std::collections::BTreeSet;

use asu_protocol::answer::{BuildAnswer, BuildResult};
use asu_protocol::builder_api::{is_artifact_name, Artifact, Completion, LeaseRequest, Outcome, PhaseReport, LEASE_HEADER, SHA256_HEADER};
use serde_json::{json, Value};
use worker::{Env, Request, Response, Result};

use crate::body::{read_capped, Body};
use crate::config::Config;
use crate::queue_api::{QueueCall, QueueReply};
use crate::store::{object_key, FILES_FIELD};
use crate::ttl::{result_ttl, FAILED_SECONDS};
use crate::{http, queue, results};

const MAX_SMALL_BODY: usize = 64 * 1024;
/// A completion carries the build logs and the merged profile.
const MAX_COMPLETION_BODY: usize = 16 * 1024 * 1024;

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn read_json<T: serde::de::DeserializeOwned>(req: &mut Request, cap: usize, what: &str) -> Result<std::result::Result<T, Response>> {
    let bytes = match read_capped(req, cap).await? {
        Body::Complete(b) => b,
        Body::TooLarge => return Ok(Err(http::error(413, format!("The {what} is larger than {} KiB", cap / 1024))?)),
    };
    match serde_json::from_slice::<T>(&bytes) {
        Ok(v) => Ok(Ok(v)),
        Err(e) => Ok(Err(http::error(400, format!("The {what} is not valid: {e}"))?)),
    }
}

/// The answer to a lease problem reported by the queue.
fn lease_refused(reply: QueueReply, hash: &str) -> Result<Response> {
    match reply {
        QueueReply::NotFound => http::error_for(hash, 404, "No such job"),
        QueueReply::LeaseInvalid { detail } => http::error_for(hash, 403, format!("Lease refused: {detail}")),
        QueueReply::Conflict { detail } => http::error_for(hash, 409, detail),
        other => Err(worker::Error::RustError(format!("unexpected reply from the build queue: {other:?}"))),
    }
}

pub async fn lease(mut req: Request, env: &Env, cfg: &Config) -> Result<Response> {
    let bytes = match read_capped(&mut req, MAX_SMALL_BODY).await? {
        Body::Complete(b) => b,
        Body::TooLarge => return http::error(413, "The lease request is too large"),
    };
    // The body is optional: an empty one leases as an unnamed builder.
    let builder = if bytes.iter().all(u8::is_ascii_whitespace) {
        "unnamed".to_string()
    } else {
        match serde_json::from_slice::<LeaseRequest>(&bytes) {
            Ok(r) => r.builder.chars().filter(|c| !c.is_control()).take(128).collect(),
            Err(e) => return http::error(400, format!("The lease request is not valid: {e}")),
        }
    };
    match queue::call(env, &QueueCall::Lease { builder, lease_seconds: cfg.lease_seconds }).await? {
        QueueReply::Leased { job } => http::json(200, &job),
        QueueReply::Empty => Ok(Response::empty()?.with_status(204)),
        other => Err(worker::Error::RustError(format!("unexpected reply from the build queue: {other:?}"))),
    }
}

pub async fn phase(mut req: Request, env: &Env, cfg: &Config, hash: &str) -> Result<Response> {
    let report: PhaseReport = match read_json(&mut req, MAX_SMALL_BODY, "phase report").await? {
        Ok(r) => r,
        Err(resp) => return Ok(resp),
    };
    let call = QueueCall::Touch {
        hash: hash.to_string(),
        lease: report.lease,
        phase: Some(report.imagebuilder_status),
        lease_seconds: cfg.lease_seconds,
    };
    match queue::call(env, &call).await? {
        QueueReply::LeaseOk { .. } => {
            http::json(200, &json!({"status": 200, "detail": "ok", "lease_seconds": cfg.lease_seconds}))
        }
        other => lease_refused(other, hash),
    }
}

pub async fn artifact(req: Request, env: &Env, cfg: &Config, hash: &str, name: &str) -> Result<Response> {
    let Some(lease) = req.headers().get(LEASE_HEADER)?.filter(|l| !l.is_empty()) else {
        return http::error(400, format!("The {LEASE_HEADER} header is required"));
    };
    let Some(sha256) = req.headers().get(SHA256_HEADER)?.map(|s| s.trim().to_ascii_lowercase()) else {
        return http::error(400, format!("The {SHA256_HEADER} header is required"));
    };
    if !is_sha256_hex(&sha256) {
        return http::error(400, format!("The {SHA256_HEADER} header must be 64 hex digits"));
    }
    // R2 stores a stream only when its length is known up front.
    let Some(length) = req.headers().get("Content-Length")?.and_then(|v| v.trim().parse::<u64>().ok()) else {
        return http::error(411, "Artifacts need a Content-Length");
    };
    let call = QueueCall::Touch { hash: hash.to_string(), lease, phase: None, lease_seconds: cfg.lease_seconds };
    match queue::call(env, &call).await? {
        QueueReply::LeaseOk { .. } => {}
        other => return lease_refused(other, hash),
    }
    let digest = hex::decode(&sha256).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let bucket = env.bucket("STORE")?;
    let data: worker::Data = match req.inner().body() {
        Some(stream) if length > 0 => stream.into(),
        _ => Vec::new().into(),
    };
    let metadata = std::collections::HashMap::from([("sha256".to_string(), sha256.clone())]);
    // R2 checks the digest itself and refuses the write on a mismatch.
    match bucket.put(object_key(hash, &sha256, name), data).sha256(digest).custom_metadata(metadata).execute().await {
        Ok(Some(object)) if object.size() == length => {
            http::json(200, &json!({"name": name, "size": object.size(), "sha256": sha256}))
        }
        Ok(Some(object)) => {
            let _ = bucket.delete(object_key(hash, &sha256, name)).await;
            http::error(400, format!("Received {} bytes but Content-Length said {length}", object.size()))
        }
        Ok(None) => http::error(503, "The store did not accept the artifact; retry"),
        Err(e) => {
            let text = e.to_string();
            let lower = text.to_ascii_lowercase();
            if lower.contains("sha-256") || lower.contains("sha256") || lower.contains("checksum") || lower.contains("digest") {
                http::error(400, format!("The body does not match its {SHA256_HEADER} ({text})"))
            } else if lower.contains("length") {
                http::error(400, format!("The body does not match its Content-Length ({text})"))
            } else {
                http::error(503, format!("Storing the artifact failed: {text}"))
            }
        }
    }
}

/// Checks a declared artifact against what the bucket holds.
async fn verify_artifact(bucket: &worker::Bucket, hash: &str, a: &Artifact) -> Result<Option<String>> {
    if !is_artifact_name(&a.name) {
        return Ok(Some(format!("{:?} is not an artifact name", a.name)));
    }
    let Some(object) = bucket.head(object_key(hash, &a.sha256.to_ascii_lowercase(), &a.name)).await? else {
        return Ok(Some(format!("artifact {} was not uploaded", a.name)));
    };
    if object.size() != a.size {
        return Ok(Some(format!("artifact {} has {} bytes in the store, not {}", a.name, object.size(), a.size)));
    }
    let stored = object
        .checksum()
        .sha256
        .map(hex::encode)
        .or_else(|| object.custom_metadata().ok().and_then(|m| m.get("sha256").cloned()));
    if stored.as_deref() != Some(a.sha256.to_ascii_lowercase().as_str()) {
        return Ok(Some(format!("artifact {} has a different sha256 in the store", a.name)));
    }
    Ok(None)
}

pub async fn complete(mut req: Request, env: &Env, cfg: &Config, hash: &str) -> Result<Response> {
    let completion: Completion = match read_json(&mut req, MAX_COMPLETION_BODY, "completion").await? {
        Ok(c) => c,
        Err(resp) => return Ok(resp),
    };
    let lease = completion.lease;
    let (answer, keep_seconds) = match completion.outcome {
        Outcome::Failed { detail, stdout, stderr } => (BuildAnswer::failed(hash, &detail, stdout, stderr), FAILED_SECONDS),
        Outcome::Done { mut result, artifacts } => {
            let touch = QueueCall::Touch { hash: hash.to_string(), lease: lease.clone(), phase: None, lease_seconds: cfg.lease_seconds };
            let request = match queue::call(env, &touch).await? {
                QueueReply::LeaseOk { request } => request,
                // A retried completion whose first attempt got through: answer from the queue below.
                QueueReply::LeaseInvalid { .. } => return finish_again(env, hash, &lease).await,
                other => return lease_refused(other, hash),
            };
            result.insert("bin_dir".into(), Value::String(hash.to_string()));
            let typed: BuildResult = match serde_json::from_value(Value::Object(result.clone())) {
                Ok(r) => r,
                Err(e) => return http::error_for(hash, 400, format!("The result is not a build result: {e}")),
            };
            let declared: BTreeSet<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
            if let Some(missing) = typed.images.iter().find(|i| !declared.contains(i.name.as_str())) {
                return http::error_for(hash, 400, format!("The result lists image {} but no such artifact was declared", missing.name));
            }
            let bucket = env.bucket("STORE")?;
            for a in &artifacts {
                if let Some(problem) = verify_artifact(&bucket, hash, a).await? {
                    return http::error_for(hash, 400, format!("Cannot complete: {problem}"));
                }
            }
            // What the store may hand out from now on: exactly these files.
            let files: serde_json::Map<String, Value> =
                artifacts.iter().map(|a| (a.name.clone(), Value::String(a.sha256.to_ascii_lowercase()))).collect();
            result.insert(FILES_FIELD.into(), Value::Object(files));
            (BuildAnswer::done(hash, result), result_ttl(&request, true))
        }
    };
    let call = QueueCall::Finish { hash: hash.to_string(), lease, answer, keep_seconds };
    match queue::call(env, &call).await? {
        QueueReply::Finished { answer, .. } => {
            results::put(env, &answer, hash, keep_seconds).await?;
            http::json(200, &json!({"status": 200, "detail": "recorded", "request_hash": hash}))
        }
        other => lease_refused(other, hash),
    }
}

/// A Done completion whose lease is no longer current: fine if this very
/// lease finished the job already (its first answer got lost), else refused.
async fn finish_again(env: &Env, hash: &str, lease: &str) -> Result<Response> {
    let call = QueueCall::Recall { hash: hash.to_string(), lease: lease.to_string() };
    match queue::call(env, &call).await? {
        QueueReply::Finished { answer, .. } => {
            let keep = match answer.done_result() {
                Some(r) => result_ttl(&r.request, true),
                None => FAILED_SECONDS,
            };
            results::put(env, &answer, hash, keep).await?;
            http::json(200, &json!({"status": 200, "detail": "recorded", "request_hash": hash}))
        }
        other => lease_refused(other, hash),
    }
}

#[cfg(test)]
mod tests {
    use super::is_sha256_hex;

    #[test]
    fn sha256_header_shape() {
        assert!(is_sha256_hex(&"a".repeat(64)));
        assert!(!is_sha256_hex(&"A".repeat(64)));
        assert!(!is_sha256_hex(&"a".repeat(63)));
        assert!(!is_sha256_hex(&"g".repeat(64)));
    }
}
