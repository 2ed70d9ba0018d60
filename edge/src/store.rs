//! Which files of a build `/store/{hash}/{name}` may hand out, and where
//! they live in the bucket.

use asu_protocol::answer::BuildAnswer;
use asu_protocol::builder_api::is_artifact_name;
use serde_json::Value;

/// The bucket key of an artifact: content-addressed by its sha256, so that
/// an upload can only ever add an object with exactly that content. A late
/// upload of a lapsed lease lands at another key and is never served.
pub fn object_key(hash: &str, sha256: &str, name: &str) -> String {
    format!("{hash}/{sha256}/{name}")
}

/// The result field listing every file the completion declared and the
/// edge checked: `{name: sha256}`.
pub const FILES_FIELD: &str = "files";

/// The sha256 of `name` if a finished build may hand it out: only files its
/// completion declared (and the edge checked) are served.
pub fn served_sha256(answer: &BuildAnswer, name: &str) -> Option<String> {
    if answer.status != 200 || !is_artifact_name(name) {
        return None;
    }
    match answer.result.get(FILES_FIELD)?.get(name)? {
        Value::String(sha) => Some(sha.clone()),
        _ => None,
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

    #[test]
    fn only_declared_files_of_a_finished_build() {
        let result = json!({"images": [{"name": "a.img", "type": "combined"}], "files": {"a.img": "ab", "profiles.json": "cd"}});
        let a = BuildAnswer::done("h", result.as_object().unwrap().clone());
        assert_eq!(served_sha256(&a, "a.img").as_deref(), Some("ab"));
        assert_eq!(served_sha256(&a, "profiles.json").as_deref(), Some("cd"));
        assert_eq!(served_sha256(&a, "sha256sums"), None);
        assert_eq!(served_sha256(&a, "x.manifest"), None);
        assert_eq!(served_sha256(&a, "../a.img"), None);
        assert_eq!(served_sha256(&BuildAnswer::queued("h", 0), "a.img"), None);
    }

    #[test]
    fn types() {
        assert_eq!(content_type("a-sysupgrade.bin"), "application/octet-stream");
        assert_eq!(content_type("profiles.json"), "application/json");
        assert_eq!(object_key("h", "s", "f"), "h/s/f");
    }
}
