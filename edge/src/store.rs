//! Which files of a build `/store/{hash}/{name}` may hand out, and where
//! they live in the bucket.

use asu_protocol::answer::BuildAnswer;
use asu_protocol::builder_api::is_artifact_name;
use serde_json::Value;

/// The bucket key of an artifact.
pub fn object_key(hash: &str, name: &str) -> String {
    format!("{hash}/{name}")
}

/// Companion files every build publishes next to its images.
const COMPANIONS: &[&str] = &["profiles.json", "sha256sums"];

/// Only a finished build's files are served: the images its answer lists,
/// its manifest, profiles.json and sha256sums.
pub fn may_serve(answer: &BuildAnswer, name: &str) -> bool {
    if answer.status != 200 || !is_artifact_name(name) {
        return false;
    }
    if COMPANIONS.contains(&name) || name.ends_with(".manifest") {
        return true;
    }
    match answer.result.get("images") {
        Some(Value::Array(images)) => images.iter().any(|i| i.get("name").and_then(Value::as_str) == Some(name)),
        _ => false,
    }
}

/// The Content-Type of a stored file.
pub fn content_type(name: &str) -> &'static str {
    if name.ends_with(".json") {
        "application/json"
    } else if name.ends_with(".manifest") || name == "sha256sums" {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn done() -> BuildAnswer {
        let result = json!({"images": [{"name": "openwrt-x86-64-generic-ext4-combined.img.gz", "type": "combined"}]});
        BuildAnswer::done("h", result.as_object().unwrap().clone())
    }

    #[test]
    fn only_files_of_a_finished_build() {
        let a = done();
        assert!(may_serve(&a, "openwrt-x86-64-generic-ext4-combined.img.gz"));
        assert!(may_serve(&a, "openwrt-x86-64-generic.manifest"));
        assert!(may_serve(&a, "profiles.json"));
        assert!(may_serve(&a, "sha256sums"));
        assert!(!may_serve(&a, "openwrt-x86-64-generic-squashfs-combined.img.gz"));
        assert!(!may_serve(&a, "../profiles.json"));
        let queued = BuildAnswer::queued("h", 0);
        assert!(!may_serve(&queued, "profiles.json"));
        let failed = BuildAnswer::failed("h", "x", String::new(), String::new());
        assert!(!may_serve(&failed, "sha256sums"));
    }

    #[test]
    fn types() {
        assert_eq!(content_type("a-sysupgrade.bin"), "application/octet-stream");
        assert_eq!(content_type("profiles.json"), "application/json");
        assert_eq!(object_key("h", "f"), "h/f");
    }
}
