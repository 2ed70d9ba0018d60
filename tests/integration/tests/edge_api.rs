//! The edge's public and builder API under the real `wrangler dev` (KV,
//! Durable Object, R2 as workerd emulates them), with the test itself
//! playing the builder so that it decides when each phase happens.

use std::sync::OnceLock;

use asu_protocol::answer::ImagebuilderStatus;
use asu_protocol::builder_api::Outcome;
use asu_protocol::canonical::request_hash;
use asu_protocol::request::{BuildRequest, Limits};
use integration::builder_client::FakeBuilder;
use integration::http::{self, get, head, post_json, post_raw, request};
use integration::stack::{scratch, serial, Edge, Mirror};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Stack {
    edge: Edge,
    _mirror: Mirror,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("edge-api");
        let mirror = Mirror::start(&dir);
        let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
        Stack { edge, _mirror: mirror }
    })
}

fn builder() -> FakeBuilder {
    stack().edge.fake_builder()
}

fn build_url() -> String {
    stack().edge.build_url()
}

/// A valid request for the GL-MT6000 on 24.10.5; `variant` makes it unique.
fn mt6000_request(variant: u32) -> Value {
    json!({
        "version": "24.10.5",
        "target": "mediatek/filogic",
        "profile": "glinet,gl-mt6000",
        "packages": ["luci", "tcpdump"],
        "rootfs_size_mb": variant,
    })
}

/// The hash the edge must give: the normalised request (profile id) hashed.
fn expected_hash(body: &Value) -> String {
    let mut req = BuildRequest::from_json(&serde_json::to_vec(body).unwrap(), &Limits::default()).unwrap();
    req.profile = req.profile.replace(',', "_");
    request_hash(&req)
}

/// Fails whatever an earlier, failed test left in the queue.
async fn drain(b: &FakeBuilder) {
    while let Some(job) = b.lease().await {
        b.complete(&job, Outcome::Failed { detail: "drained".into(), stdout: String::new(), stderr: String::new() }).await;
    }
}

#[tokio::test]
async fn build_goes_queued_started_done_and_is_served_from_the_store() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let body = mt6000_request(101);
    let hash = expected_hash(&body);

    let queued = post_json(&build_url(), &body).await;
    assert_eq!(queued.status, 202, "{}", String::from_utf8_lossy(&queued.body));
    let q = queued.json();
    assert_eq!(q["request_hash"], hash);
    assert_eq!(q["status"], 202);
    assert_eq!(q["detail"], "queued");
    assert_eq!(q["queue_position"], 0);
    assert_eq!(queued.header("x-queue-position").as_deref(), Some("0"));
    assert_eq!(queued.header("x-imagebuilder-status").as_deref(), Some("queued"));
    assert!(queued.header("access-control-allow-origin").is_some());

    let polled = get(&format!("{}/{hash}", build_url())).await;
    assert_eq!(polled.status, 202);
    assert_eq!(polled.header("x-asu-cache"), None, "a queued job is answered by the queue object");
    assert_eq!(polled.json()["detail"], "queued");
    let headers_only = head(&format!("{}/{hash}", build_url())).await;
    assert_eq!(headers_only.status, 202);
    assert!(headers_only.body.is_empty());
    assert_eq!(headers_only.header("x-queue-position").as_deref(), Some("0"));

    let job = b.lease().await.expect("the queued job");
    assert_eq!(job.request_hash, hash);
    assert_eq!(job.request.profile, "glinet_gl-mt6000", "the builder gets the resolved profile id");
    assert_eq!(job.request.packages, vec!["luci", "tcpdump"]);

    let started = get(&format!("{}/{hash}", build_url())).await;
    assert_eq!(started.status, 202);
    assert_eq!(started.json()["detail"], "started");
    assert_eq!(started.json()["imagebuilder_status"], "init");

    let phase = b.phase(&job, ImagebuilderStatus::BuildingImage).await;
    assert!(phase.status < 300, "phase answered {}", phase.status);
    let building = get(&format!("{}/{hash}", build_url())).await;
    assert_eq!(building.json()["imagebuilder_status"], "building_image");
    assert_eq!(building.header("x-imagebuilder-status").as_deref(), Some("building_image"));

    let image: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let name = "openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin";
    let before = get(&format!("{}/store/{hash}/{name}", stack().edge.url)).await;
    let done = b.finish_with_image(&job, name, &image).await;
    assert!(done.status < 300, "complete answered {}: {}", done.status, String::from_utf8_lossy(&done.body));
    assert_eq!(before.status, 404, "an artifact is not visible before its build is done");

    let finished = get(&format!("{}/{hash}", build_url())).await;
    assert_eq!(finished.status, 200);
    assert_eq!(finished.header("x-asu-cache").as_deref(), Some("hit"), "a finished build's poll is one KV read");
    let f = finished.json();
    assert_eq!(f["status"], 200);
    assert_eq!(f["request_hash"], hash);
    assert_eq!(f["bin_dir"], hash);
    let announced = f["images"][0]["sha256"].as_str().unwrap().to_string();
    assert_eq!(announced, hex::encode(Sha256::digest(&image)));

    let file = get(&format!("{}/store/{hash}/{name}", stack().edge.url)).await;
    assert_eq!(file.status, 200);
    assert_eq!(hex::encode(Sha256::digest(&file.body)), announced);
    assert!(file.header("access-control-allow-origin").is_some());

    // A repeat of the finished request is answered at once, with no new job.
    let again = post_json(&build_url(), &body).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-asu-cache").as_deref(), Some("hit"), "a repeated POST is answered from KV");
    assert_eq!(again.json()["images"], f["images"]);
    assert!(b.lease().await.is_none(), "a finished request must not queue again");
}

#[tokio::test]
async fn twenty_identical_posts_make_one_job() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let body = mt6000_request(102);
    let url = build_url();
    let posts = (0..20).map(|_| post_json(&url, &body));
    let answers = futures::future::join_all(posts).await;
    let hash = expected_hash(&body);
    for a in &answers {
        assert_eq!(a.status, 202, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.json()["request_hash"], hash);
    }
    let job = b.lease().await.expect("one job");
    assert_eq!(job.request_hash, hash);
    assert!(b.lease().await.is_none(), "20 identical requests made more than one job");
    b.complete(&job, Outcome::Failed { detail: "done with it".into(), stdout: String::new(), stderr: String::new() }).await;
}

#[tokio::test]
async fn queue_positions_count_the_jobs_ahead() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let first = post_json(&build_url(), &mt6000_request(103)).await.json();
    let second = post_json(&build_url(), &mt6000_request(104)).await.json();
    assert_eq!(first["queue_position"], 0);
    assert_eq!(second["queue_position"], 1);
    let stats = get(&format!("{}/api/v1/stats", stack().edge.url)).await.json();
    assert_eq!(stats["queue_length"], 2);
    let job = b.lease().await.unwrap();
    assert_eq!(job.request_hash, first["request_hash"].as_str().unwrap());
    let now = get(&format!("{}/{}", build_url(), second["request_hash"].as_str().unwrap())).await.json();
    assert_eq!(now["queue_position"], 0, "the second job moved up");
    drain(&b).await;
    b.complete(&job, Outcome::Failed { detail: "x".into(), stdout: String::new(), stderr: String::new() }).await;
}

#[tokio::test]
async fn a_failed_build_answers_500_and_is_cached() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let body = mt6000_request(105);
    let hash = post_json(&build_url(), &body).await.json()["request_hash"].as_str().unwrap().to_string();
    let job = b.lease().await.unwrap();
    let detail = "Impossible package selection: tcpdump";
    let done = b
        .complete(&job, Outcome::Failed { detail: detail.into(), stdout: "make output".into(), stderr: "opkg errors".into() })
        .await;
    assert!(done.status < 300, "{}", done.status);
    let failed = get(&format!("{}/{hash}", build_url())).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.detail(), format!("Error: {detail}"));
    assert_eq!(failed.json()["stderr"], "opkg errors");
    let again = post_json(&build_url(), &body).await;
    assert_eq!(again.status, 500, "a repeat gets the cached failure at once");
    assert!(b.lease().await.is_none());
}

#[tokio::test]
async fn builder_calls_need_the_token_and_the_lease() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let lease_url = format!("{}{}", stack().edge.url, asu_protocol::builder_api::LEASE_PATH);
    post_json(&build_url(), &mt6000_request(106)).await;
    for auth in [None, Some("Bearer wrong"), Some("Bearer "), Some("Basic x")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
        let a = request("POST", &lease_url, &headers, Some(b"{\"builder\":\"x\"}".to_vec())).await;
        assert_eq!(a.status, 401, "lease with {auth:?}");
        assert!(!a.detail().is_empty());
    }
    let job = b.lease().await.expect("the job is still there after the refused leases");
    let thief = FakeBuilder { edge: b.edge.clone(), token: "wrong".into() };
    assert_eq!(thief.phase(&job, ImagebuilderStatus::BuildingImage).await.status, 401);
    let mut stolen = job.clone();
    stolen.lease = "not-the-lease".into();
    assert_eq!(b.phase(&stolen, ImagebuilderStatus::BuildingImage).await.status, 403);
    let (up, _) = b.upload(&stolen, "x.bin", b"evil").await;
    assert_eq!(up.status, 403);
    let poll = get(&format!("{}/{}", build_url(), job.request_hash)).await.json();
    assert_eq!(poll["imagebuilder_status"], "init", "refused calls changed nothing");
    b.complete(&job, Outcome::Failed { detail: "x".into(), stdout: String::new(), stderr: String::new() }).await;
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_string_detail_and_queues_nothing() {
    let _serial = serial();
    let b = builder();
    drain(&b).await;
    let ok = mt6000_request(107);
    let with = |k: &str, v: Value| {
        let mut o = ok.clone();
        o[k] = v;
        serde_json::to_vec(&o).unwrap()
    };
    let without = |k: &str| {
        let mut o = ok.clone();
        o.as_object_mut().unwrap().remove(k);
        serde_json::to_vec(&o).unwrap()
    };
    let pkgs = |p: &str| with("packages", json!(["luci", p]));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed JSON", b"{\"version\":".to_vec()),
        ("not an object", b"[1,2]".to_vec()),
        ("empty body", Vec::new()),
        ("version a number", with("version", json!(24.10))),
        ("packages a string", with("packages", json!("luci"))),
        ("packages of numbers", with("packages", json!([1, 2]))),
        ("diff_packages a string", with("diff_packages", json!("true"))),
        ("rootfs_size_mb negative", with("rootfs_size_mb", json!(-5))),
        ("missing version", without("version")),
        ("missing target", without("target")),
        ("missing profile", without("profile")),
        ("unknown version", with("version", json!("99.99.0"))),
        ("unknown target", with("target", json!("mediatek/nosuch"))),
        ("unknown profile", with("profile", json!("vendor,nosuch-device"))),
        ("space in package", pkgs("tcp dump")),
        ("quote in package", pkgs("luci'")),
        ("double quote in package", pkgs("lu\"ci")),
        ("semicolon in package", pkgs("luci;reboot")),
        ("command substitution", pkgs("$(reboot)")),
        ("backticks", pkgs("`reboot`")),
        ("newline in package", pkgs("luci\nreboot")),
        ("long package", pkgs(&"a".repeat(129))),
        ("path in profile", with("profile", json!("../../etc/passwd"))),
        ("semicolon in profile", with("profile", json!("glinet;reboot"))),
        ("path in target", with("target", json!("../x"))),
    ];
    let stats_before = get(&format!("{}/api/v1/stats", stack().edge.url)).await.json();
    for (what, body) in cases {
        let a = post_raw(&build_url(), "application/json", body).await;
        assert!((400..500).contains(&a.status), "{what}: answered {} {}", a.status, String::from_utf8_lossy(&a.body));
        let detail = a.detail();
        assert!(a.header("access-control-allow-origin").is_some(), "{what}: no CORS header");
        if what.starts_with("unknown ") {
            assert_eq!(a.status, 400, "{what}");
            let value = match what {
                "unknown version" => "99.99.0",
                "unknown target" => "mediatek/nosuch",
                _ => "nosuch-device",
            };
            assert!(detail.contains(value), "{what}: detail {detail:?} does not name {value}");
        }
    }
    assert_eq!(get(&format!("{}/api/v1/stats", stack().edge.url)).await.json(), stats_before);
    assert!(b.lease().await.is_none(), "a bad request was queued");
    let unknown = get(&format!("{}/{}", build_url(), "0".repeat(64))).await;
    assert_eq!(unknown.status, 404);
    assert!(!unknown.detail().is_empty());
    assert_eq!(get(&format!("{}/not-a-hash", build_url())).await.status / 100, 4);
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let s = stack();
    for path in ["/api/v1/build", "/api/v1/build/0000", "/store/x/y", "/api/v1/stats", "/json/v1/overview.json"] {
        let a = http::request(
            "OPTIONS",
            &format!("{}{path}", s.edge.url),
            &[
                ("origin", "http://192.0.2.1"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            None,
        )
        .await;
        assert!(a.status / 100 == 2, "{path}: preflight answered {}", a.status);
        assert!(a.header("access-control-allow-origin").is_some(), "{path}");
        assert!(a.header("access-control-allow-methods").unwrap_or_default().contains("POST"), "{path}");
        assert!(a.header("access-control-allow-headers").unwrap_or_default().to_lowercase().contains("content-type"), "{path}");
        assert!(a.header("access-control-max-age").is_some(), "{path}");
    }
}

#[tokio::test]
async fn device_lists_of_releases_are_served_with_cors() {
    let s = stack();
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(integration::stack::shared_dir().join("fixtures/upstream/releases/23.05.4/.overview.json")).unwrap(),
    )
    .unwrap();
    let a = get(&format!("{}/json/v1/releases/23.05.4/.overview.json", s.edge.url)).await;
    assert_eq!(a.status, 200);
    assert!(a.header("access-control-allow-origin").is_some());
    let served = a.json();
    assert_eq!(served["release"], "23.05.4");
    assert_eq!(served["profiles"].as_array().unwrap().len(), fixture["profiles"].as_array().unwrap().len());
    assert_eq!(served["profiles"][0], fixture["profiles"][0]);
    let revision = get(&format!("{}/api/v1/revision/99.1.0/mediatek/filogic", s.edge.url)).await;
    assert_eq!(revision.status, 404);
    assert!(revision.detail().contains("'99.1.0'"), "the unknown release is named: {}", revision.detail());
    let revision = get(&format!("{}/api/v1/revision/24.10.5/mediatek/nosuch", s.edge.url)).await;
    assert!(revision.detail().contains("'mediatek/nosuch'"), "the unknown target is named: {}", revision.detail());
    let missing = get(&format!("{}/json/v1/releases/99.1.0/.overview.json", s.edge.url)).await;
    assert_eq!(missing.status, 404);
    assert!(!missing.detail().is_empty());
}
