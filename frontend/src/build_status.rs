//! What an answer of the build endpoints means for the app, and readable
//! text for the edge's error answers. Plain Rust, tested natively.

use asu_protocol::answer::ImagebuilderStatus;
use asu_protocol::upstream::Image;
use serde_json::Value;

use crate::json;
use crate::rpc::shorten;

/// How many build phases the server reports (for "phase 3 of 7").
pub const PHASE_COUNT: u32 = ImagebuilderStatus::ALL.len() as u32;

/// What a finished build gives the app.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedBuild {
    pub bin_dir: String,
    pub images: Vec<Image>,
    pub version_number: String,
    pub version_code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BuildProgress {
    Queued { position: Option<u32> },
    /// Words for the running phase (`ImagebuilderStatus::describe`) and its
    /// place among the known phases (1-based, of [`PHASE_COUNT`]).
    Started { phase: String, step: Option<u32> },
    Done(FinishedBuild),
    /// Overloaded (429/503/529): come back later; polling carries on.
    Busy(String),
    /// Failed, rejected or unknown: the text to show and the build log tail.
    Failed { message: String, log: Option<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct BuildStatus {
    pub request_hash: Option<String>,
    pub progress: BuildProgress,
}

/// Reads one answer of `POST /api/v1/build` or `GET /api/v1/build/{hash}`.
pub fn interpret(http_status: u16, body: &str) -> BuildStatus {
    let value: Value = match serde_json::from_str(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let message = http_error_text(http_status, body, "the build request");
            let progress = if is_busy(http_status) {
                BuildProgress::Busy(message)
            } else {
                BuildProgress::Failed { message, log: None }
            };
            return BuildStatus { request_hash: None, progress };
        }
    };
    let request_hash = value.get("request_hash").and_then(Value::as_str).map(str::to_string);
    let detail = detail_text(&value).unwrap_or_default();
    let progress = match http_status {
        200 => match finished(&value) {
            Ok(done) => BuildProgress::Done(done),
            Err(e) => BuildProgress::Failed { message: format!("The finished build's answer is unreadable: {e}"), log: None },
        },
        202 => match value.get("imagebuilder_status").and_then(Value::as_str) {
            Some(phase) => {
                let known = ImagebuilderStatus::parse(phase);
                BuildProgress::Started {
                    phase: known.map(|p| p.describe().to_string()).unwrap_or_else(|| phase.to_string()),
                    step: known.and_then(|k| ImagebuilderStatus::ALL.iter().position(|p| *p == k)).map(|i| i as u32 + 1),
                }
            }
            None => BuildProgress::Queued {
                position: value.get("queue_position").and_then(Value::as_u64).map(|p| p as u32),
            },
        },
        s if is_busy(s) => BuildProgress::Busy(http_error_text(s, body, "the build request")),
        s => {
            // The edge's own words stay verbatim inside ours.
            let message = if detail.is_empty() {
                http_error_text(s, body, "the build request")
            } else if s == 404 {
                format!("The server does not know this build (404): {detail}")
            } else if s >= 500 {
                format!("The build failed. {detail}")
            } else {
                format!("The build server refused the request ({s}): {detail}")
            };
            BuildProgress::Failed { message, log: log_tail(&value) }
        }
    };
    BuildStatus { request_hash, progress }
}

fn is_busy(status: u16) -> bool {
    matches!(status, 429 | 503 | 529)
}

/// The fields of a finished build this app uses (the answer has many more).
fn finished(value: &Value) -> Result<FinishedBuild, String> {
    let bin_dir = json::need_text(value, "bin_dir")?;
    if value.get("images").is_none() {
        return Err("it has no images".into());
    }
    let images: Vec<Image> = json::images(value)?;
    Ok(FinishedBuild {
        bin_dir,
        images,
        version_number: json::text(value, "version_number"),
        version_code: json::text(value, "version_code"),
    })
}

/// The edge's `detail`, as a string even when a server sent a list or object.
fn detail_text(value: &Value) -> Option<String> {
    match value.get("detail")? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The last lines of the build's stderr (or stdout), for a failed build.
fn log_tail(value: &Value) -> Option<String> {
    let pick = |k: &str| value.get(k).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
    let log = pick("stderr").or_else(|| pick("stdout"))?;
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(12);
    Some(lines[start..].join("\n"))
}

/// Readable text for a non-success answer of any edge endpoint: its
/// `detail` string when it has one, else the status and a bit of the body.
pub fn http_error_text(status: u16, body: &str, what: &str) -> String {
    let detail = serde_json::from_str::<Value>(body).ok().as_ref().and_then(detail_text);
    match detail {
        Some(d) if !d.is_empty() => format!("The build server answered {status} to {what}: {d}"),
        _ => {
            let body = body.trim();
            if body.is_empty() {
                format!("The build server answered {status} to {what}")
            } else {
                format!("The build server answered {status} to {what}: {}", shorten(body, 200))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queued_and_started() {
        let s = interpret(202, r#"{"request_hash":"ab","status":202,"detail":"queued","queue_position":3}"#);
        assert_eq!(s.request_hash.as_deref(), Some("ab"));
        assert_eq!(s.progress, BuildProgress::Queued { position: Some(3) });
        let s = interpret(202, r#"{"request_hash":"ab","status":202,"detail":"started","imagebuilder_status":"building_image"}"#);
        assert_eq!(s.progress, BuildProgress::Started { phase: "Building the image".into(), step: Some(6) });
        let s = interpret(202, r#"{"status":202,"detail":"started","imagebuilder_status":"init"}"#);
        assert_eq!(s.progress, BuildProgress::Started { phase: "Starting".into(), step: Some(1) });
        assert_eq!(PHASE_COUNT, 7);
        // A phase this app does not know is shown as it is, without a place.
        let s = interpret(202, r#"{"status":202,"detail":"started","imagebuilder_status":"compressing"}"#);
        assert_eq!(s.progress, BuildProgress::Started { phase: "compressing".into(), step: None });
    }

    #[test]
    fn done_lean_answer() {
        let body = json!({"request_hash":"ab","status":200,"detail":"done","bin_dir":"ab/x",
            "version_number":"24.10.5","version_code":"r29087-d9c5716d1d",
            "images":[{"name":"a-squashfs-sysupgrade.bin","type":"sysupgrade","filesystem":"squashfs","sha256":"11"}]});
        let s = interpret(200, &body.to_string());
        let BuildProgress::Done(done) = s.progress else { panic!("not done") };
        assert_eq!(done.bin_dir, "ab/x");
        assert_eq!(done.images[0].name, "a-squashfs-sysupgrade.bin");
        assert_eq!(done.version_code, "r29087-d9c5716d1d");
        let s = interpret(200, r#"{"status":200,"detail":"done","images":[]}"#);
        assert!(matches!(s.progress, BuildProgress::Failed { .. }));
    }

    #[test]
    fn done_full_answer_uses_build_result() {
        let body = json!({"request_hash":"ab","status":200,"detail":"done","id":"glinet_gl-mt6000","bin_dir":"store/ab",
            "images":[{"name":"i.bin","type":"sysupgrade","filesystem":"squashfs","sha256":"22","sha256_unsigned":"33"}],
            "titles":[{"vendor":"GL.iNet","model":"GL-MT6000"}],"manifest":{"luci":"1"},"version_number":"24.10.5",
            "version_code":"r1-a","target":"mediatek/filogic","build_at":"1700000000","build_cmd":["make","image"],
            "request":{"distro":"openwrt","version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000"}});
        let BuildProgress::Done(done) = interpret(200, &body.to_string()).progress else { panic!() };
        assert_eq!(done.bin_dir, "store/ab");
        assert_eq!(done.images[0].sha256, "22");
    }

    #[test]
    fn failures_show_detail() {
        let s = interpret(500, r#"{"request_hash":"ab","status":500,"detail":"Error: Selected packages exceed device storage","stdout":"","stderr":"line1\n\nline2\n"}"#);
        assert_eq!(
            s.progress,
            BuildProgress::Failed {
                message: "The build failed. Error: Selected packages exceed device storage".into(),
                log: Some("line1\nline2".into())
            }
        );
        let s = interpret(400, r#"{"status":400,"detail":"version: is required"}"#);
        assert_eq!(
            s.progress,
            BuildProgress::Failed { message: "The build server refused the request (400): version: is required".into(), log: None }
        );
        // A list detail is still shown as text.
        let s = interpret(422, r#"{"detail":[{"msg":"bad"}]}"#);
        assert_eq!(
            s.progress,
            BuildProgress::Failed { message: r#"The build server refused the request (422): [{"msg":"bad"}]"#.into(), log: None }
        );
        let s = interpret(404, r#"{"status":404,"detail":"unknown request hash"}"#);
        assert!(matches!(s.progress, BuildProgress::Failed { ref message, .. } if message.contains("404")));
        let s = interpret(502, "Bad Gateway");
        assert_eq!(
            s.progress,
            BuildProgress::Failed { message: "The build server answered 502 to the build request: Bad Gateway".into(), log: None }
        );
    }

    #[test]
    fn busy_keeps_polling() {
        let s = interpret(429, r#"{"status":429,"detail":"too many builds queued"}"#);
        assert_eq!(s.progress, BuildProgress::Busy("The build server answered 429 to the build request: too many builds queued".into()));
    }

    #[test]
    fn error_text() {
        assert_eq!(http_error_text(503, "", "overview.json"), "The build server answered 503 to overview.json");
        assert_eq!(
            http_error_text(404, r#"{"detail":"no such release"}"#, "the device profile"),
            "The build server answered 404 to the device profile: no such release"
        );
    }
}
