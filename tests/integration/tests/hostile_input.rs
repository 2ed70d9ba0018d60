//! Every request of the bad-request corpus (corpus/bad-requests.jsonl, made
//! by corpus/generate.py) against the real edge under `wrangler dev`: each
//! gets a 4xx with a string `detail`, none a 5xx, and none queues a job.

use std::sync::OnceLock;

use asu_protocol::builder_api::Outcome;
use asu_protocol::request::{BuildRequest, Limits};
use futures::stream::{self, StreamExt};
use integration::builder_client::FakeBuilder;
use integration::http::{get, post_json, post_raw, Answer};
use integration::stack::{repo_root, scratch, serial, Edge, Mirror};
use serde_json::{json, Value};

/// The allow-list the edge runs with; the corpus' URL cases are measured against it.
const ALLOWED: &str = "https://downloads.example.org/feeds";
/// The edge's body cap (edge/src/public.rs MAX_REQUEST_BODY).
const MAX_BODY: usize = 256 * 1024;

struct Stack {
    edge: Edge,
    _mirror: Mirror,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("hostile-input");
        let mirror = Mirror::start(&dir);
        let mut config = Edge::config(&mirror.url, &dir);
        config.extra_vars.push(("REPOSITORY_ALLOW_LIST".into(), ALLOWED.into()));
        let edge = Edge::start(config, &dir);
        Stack { edge, _mirror: mirror }
    })
}

fn builder() -> FakeBuilder {
    stack().edge.fake_builder()
}

/// The limits the edge applies with the settings above (its defaults plus the allow-list).
fn limits() -> Limits {
    Limits { repository_allow_list: vec![ALLOWED.to_string()], ..Limits::default() }
}

#[derive(Debug)]
struct Case {
    name: String,
    layer: String,
    field: Option<String>,
    body: Vec<u8>,
}

/// Applies a `grow` directive: a field made huge at load time.
fn grow(body: &mut Value, g: &Value) {
    let field = g["field"].as_str().unwrap();
    let unit = g["unit"].as_str().unwrap();
    let count = g["count"].as_u64().unwrap() as usize;
    let value = match g["kind"].as_str().unwrap() {
        "string" => json!(unit.repeat(count)),
        "list" => json!(vec![unit; count]),
        "append_string" => {
            let mut list = body[field].as_array().cloned().unwrap_or_default();
            list.push(json!(unit.repeat(count)));
            Value::Array(list)
        }
        "map" => Value::Object((0..count).map(|i| (format!("{unit}{i}"), json!("1.0-r1"))).collect()),
        "map_key" => json!({ unit.repeat(count): g["value"].clone() }),
        other => panic!("unknown grow kind {other}"),
    };
    body[field] = value;
}

fn corpus() -> Vec<Case> {
    let path = repo_root().join("tests/integration/corpus/bad-requests.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let c: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("corpus line {}: {e}", n + 1));
            let body = if let Some(raw) = c["raw"].as_str() {
                raw.as_bytes().to_vec()
            } else if let Some(h) = c["raw_hex"].as_str() {
                hex::decode(h).unwrap()
            } else if let Some(g) = c.get("raw_grow") {
                let unit = g["unit"].as_str().unwrap().repeat(g["count"].as_u64().unwrap() as usize);
                format!("{}{unit}{}", g["before"].as_str().unwrap(), g["after"].as_str().unwrap()).into_bytes()
            } else {
                let mut body = c["body"].clone();
                match c.get("grow") {
                    Some(Value::Array(all)) => all.iter().for_each(|g| grow(&mut body, g)),
                    Some(g) => grow(&mut body, g),
                    None => {}
                }
                serde_json::to_vec(&body).unwrap()
            };
            Case {
                name: c["name"].as_str().unwrap().to_string(),
                layer: c["layer"].as_str().unwrap().to_string(),
                field: c["field"].as_str().map(String::from),
                body,
            }
        })
        .collect()
}

/// What is wrong with the edge's answer to `case`, if anything.
fn judge(case: &Case, a: &Answer) -> Option<String> {
    if !(400..500).contains(&a.status) {
        return Some(format!("answered {}: {}", a.status, String::from_utf8_lossy(&a.body)));
    }
    let detail = match serde_json::from_slice::<Value>(&a.body).ok().and_then(|v| v.get("detail").cloned()) {
        Some(Value::String(d)) if !d.trim().is_empty() => d,
        other => return Some(format!("{}: detail is not a readable string: {other:?}", a.status)),
    };
    if a.header("access-control-allow-origin").is_none() {
        return Some("no CORS header on the refusal".into());
    }
    if detail.contains('\0') || detail.contains('\n') {
        return Some(format!("detail {detail:?} carries a control character"));
    }
    match case.layer.as_str() {
        "size" if a.status != 413 => Some(format!("answered {} instead of 413: {detail}", a.status)),
        "syntax" => {
            let field = case.field.as_deref().unwrap();
            (!detail.starts_with(&format!("{field}: "))).then(|| format!("detail {detail:?} does not blame {field}"))
        }
        _ => None,
    }
}

#[tokio::test]
async fn every_corpus_request_is_refused_with_a_4xx_and_nothing_is_queued() {
    let _serial = serial();
    let cases = corpus();
    assert!(cases.len() >= 200, "the corpus has only {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are not unique");

    // Each case is refused for the reason its layer says: the parser refuses
    // the syntax cases (blaming the named field), it accepts the upstream
    // cases (so the edge's metadata check refuses them), and size cases are
    // over the body cap.
    let l = limits();
    let mut wrong = Vec::new();
    for c in &cases {
        let parsed = BuildRequest::from_json(&c.body, &l);
        match (c.layer.as_str(), &parsed) {
            ("syntax", Err(e)) if Some(e.field.as_str()) == c.field.as_deref() => {}
            ("syntax", other) => wrong.push(format!("{}: expected a refusal of {:?}, got {other:?}", c.name, c.field)),
            ("upstream", Ok(_)) => {}
            ("upstream", Err(e)) => wrong.push(format!("{}: the parser already refuses it: {e}", c.name)),
            ("size", _) if c.body.len() > MAX_BODY => {}
            ("size", _) => wrong.push(format!("{}: only {} bytes", c.name, c.body.len())),
            (layer, _) => wrong.push(format!("{}: unknown layer {layer}", c.name)),
        }
    }
    assert!(wrong.is_empty(), "corpus cases that do not test what they say:\n{}", wrong.join("\n"));

    let s = stack();
    let b = builder();
    let stats_url = format!("{}/api/v1/stats", s.edge.url);
    let stats_before = get(&stats_url).await.json();
    assert_eq!(stats_before["queue_length"], 0, "the queue is not empty before the corpus runs");

    let url = format!("{}/api/v1/build", s.edge.url);
    let answers: Vec<(usize, Answer)> = stream::iter(cases.iter().enumerate())
        .map(|(i, c)| {
            let url = url.clone();
            async move { (i, post_raw(&url, "application/json", c.body.clone()).await) }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut failures: Vec<String> = answers
        .iter()
        .filter_map(|(i, a)| judge(&cases[*i], a).map(|why| format!("{}: {why}", cases[*i].name)))
        .collect();
    failures.sort();
    assert!(failures.is_empty(), "{} of {} bad requests were not refused properly:\n{}", failures.len(), cases.len(), failures.join("\n"));

    assert_eq!(get(&stats_url).await.json(), stats_before, "a bad request changed the queue");
    assert!(b.lease().await.is_none(), "a bad request was queued");

    // The controls: the corpus' base request and an allow-listed repository
    // are accepted, so the refusals above were for the one thing each case changed.
    let base = json!({"version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000", "packages": ["luci"]});
    let mut with_repo = base.clone();
    with_repo["repositories"] = json!({"extra": format!("{ALLOWED}/packages/aarch64_cortex-a53/extra")});
    for body in [&base, &with_repo] {
        let a = post_json(&url, body).await;
        assert_eq!(a.status, 202, "a valid request was refused: {}", String::from_utf8_lossy(&a.body));
    }
    while let Some(job) = b.lease().await {
        b.complete(&job, Outcome::Failed { detail: "control".into(), stdout: String::new(), stderr: String::new() }).await;
    }
}

#[tokio::test]
async fn hostile_paths_and_methods_are_refused_with_a_4xx() {
    let _serial = serial();
    let s = stack();
    let hash = "a".repeat(64);
    let paths = [
        "/api/v1/build/..%2f..%2fetc%2fpasswd".to_string(),
        format!("/api/v1/build/{}", "A".repeat(64)),
        format!("/api/v1/build/{}", "a".repeat(63)),
        format!("/api/v1/build/{}", "a".repeat(65)),
        format!("/api/v1/build/{hash}%00"),
        format!("/api/v1/build/{hash}/extra"),
        format!("/store/{hash}/..%2fprofiles.json"),
        format!("/store/{hash}/%2e%2e"),
        format!("/store/{hash}/.hidden"),
        format!("/store/{hash}/a%00b"),
        format!("/store/{hash}/profiles.json"),
        "/store/not-a-hash/profiles.json".to_string(),
        "/api/v1/revision/..%2f../x/y".to_string(),
        "/api/v1/revision/24.10.5/mediatek/..".to_string(),
        "/json/v1/releases/..%2f..%2f/targets/x/y/z.json".to_string(),
    ];
    for path in &paths {
        let a = get(&format!("{}{path}", s.edge.url)).await;
        assert!((400..500).contains(&a.status), "{path}: answered {} {}", a.status, String::from_utf8_lossy(&a.body));
        assert!(!a.detail().is_empty(), "{path}");
    }
    for method in ["PUT", "DELETE", "PATCH"] {
        let a = integration::http::request(method, &format!("{}/api/v1/build", s.edge.url), &[], Some(b"{}".to_vec())).await;
        assert_eq!(a.status, 405, "{method} /api/v1/build");
        assert!(!a.detail().is_empty());
    }
}
