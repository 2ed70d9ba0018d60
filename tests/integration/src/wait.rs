//! Polling a build until it leaves the queue, as a client does.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{get, post_json, Answer};

/// Posts a build and polls it every 500 ms until it is no longer 202;
/// returns the final answer and every `(detail, imagebuilder_status,
/// queue_position)` seen on the way.
pub async fn build_to_end(edge: &str, body: &Value, timeout: Duration) -> (Answer, Vec<(String, String, String)>) {
    let first = post_json(&format!("{edge}/api/v1/build"), body).await;
    let mut seen = Vec::new();
    if first.status != 202 {
        return (first, seen);
    }
    let hash = first.json()["request_hash"].as_str().unwrap().to_string();
    let deadline = Instant::now() + timeout;
    let mut last = first;
    while last.status == 202 {
        let j = last.json();
        let entry = (
            j["detail"].as_str().unwrap_or_default().to_string(),
            j["imagebuilder_status"].as_str().unwrap_or_default().to_string(),
            j["queue_position"].to_string(),
        );
        if seen.last() != Some(&entry) {
            seen.push(entry);
        }
        assert!(Instant::now() < deadline, "build {hash} still not finished after {timeout:?}: {seen:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        last = get(&format!("{edge}/api/v1/build/{hash}")).await;
    }
    (last, seen)
}
