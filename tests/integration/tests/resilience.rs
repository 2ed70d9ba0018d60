//! Broken parts, against the real runtimes: a builder killed mid-build, an
//! edge restarted on its persist folder, a hanging ImageBuilder, a full
//! queue, and builder calls that must not change anything. Each test runs
//! its own edge (its own settings and state) and they run one at a time, so
//! the short lease timings are not disturbed by each other.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use asu_protocol::answer::ImagebuilderStatus;
use asu_protocol::builder_api::{self, Outcome};
use integration::builder_client::FakeBuilder;
use integration::http::{get, head, post_json, request, Answer};
use integration::stack::{scratch, serial, Builder, Edge, EdgeConfig, Mirror};
use integration::wait::build_to_end;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Stack {
    dir: PathBuf,
    edge: Edge,
    _mirror: Mirror,
}

fn start(name: &str, tweak: impl FnOnce(&mut EdgeConfig)) -> Stack {
    let dir = scratch(name);
    let mirror = Mirror::start(&dir);
    let mut config = Edge::config(&mirror.url, &dir);
    tweak(&mut config);
    let edge = Edge::start(config, &dir);
    Stack { dir, edge, _mirror: mirror }
}

impl Stack {
    fn fake_builder(&self) -> FakeBuilder {
        self.edge.fake_builder()
    }

    fn build_url(&self) -> String {
        self.edge.build_url()
    }

    async fn poll(&self, hash: &str) -> Answer {
        self.edge.poll(hash).await
    }

    async fn store(&self, hash: &str, name: &str) -> Answer {
        self.edge.store(hash, name).await
    }

    async fn queue_length(&self) -> u64 {
        get(&format!("{}/api/v1/stats", self.edge.url)).await.json()["queue_length"].as_u64().unwrap()
    }

    /// A real builder with its own cache and work folders.
    fn builder(&self, name: &str, timeout_secs: u32) -> Builder {
        self.builder_on(name, name, timeout_secs)
    }

    /// A real builder on the cache and work folders named after `folders`
    /// (a restarted builder uses its predecessor's).
    fn builder_on(&self, name: &str, folders: &str, timeout_secs: u32) -> Builder {
        let mut config = Builder::config(&self.edge, &self.dir);
        config.cache_dir = self.dir.join(format!("{folders}-cache"));
        config.work_dir = self.dir.join(format!("{folders}-work"));
        config.build_timeout_secs = timeout_secs;
        Builder::start(&config, name, &self.dir)
    }
}

/// A valid GL-MT6000 request; `variant` makes it a different build.
fn mt6000(variant: u32, packages: &[&str]) -> Value {
    json!({
        "version": "24.10.5",
        "target": "mediatek/filogic",
        "profile": "glinet,gl-mt6000",
        "packages": packages,
        "rootfs_size_mb": variant,
    })
}

fn hash_of(a: &Answer) -> String {
    a.json()["request_hash"].as_str().unwrap_or_else(|| panic!("no request_hash in {}", String::from_utf8_lossy(&a.body))).to_string()
}

fn body_text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

/// Polls until `done(answer)` or the time is up; returns the answer and
/// every (detail, imagebuilder_status) seen on the way.
async fn poll_until(s: &Stack, hash: &str, timeout: Duration, done: impl Fn(&Answer) -> bool) -> (Answer, Vec<(String, String)>) {
    let deadline = Instant::now() + timeout;
    let mut seen: Vec<(String, String)> = Vec::new();
    loop {
        let a = s.poll(hash).await;
        let j = a.json();
        let entry = (j["detail"].as_str().unwrap_or_default().to_string(), j["imagebuilder_status"].as_str().unwrap_or_default().to_string());
        if seen.last() != Some(&entry) {
            seen.push(entry);
        }
        if done(&a) {
            return (a, seen);
        }
        assert!(Instant::now() < deadline, "{hash}: condition not reached within {timeout:?}; seen {seen:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A Done outcome for `job` with one image, as the builder would declare
/// it (without uploading anything).
fn done_with(job: &asu_protocol::builder_api::Job, name: &str, bytes: &[u8]) -> Outcome {
    let sha = hex::encode(Sha256::digest(bytes));
    let result = json!({
        "id": job.request.profile, "titles": [], "manifest": {"base-files": "1"},
        "images": [{"name": name, "type": "sysupgrade", "filesystem": "squashfs", "sha256": sha, "sha256_unsigned": sha}],
        "bin_dir": job.request_hash, "version_number": job.request.version, "version_code": "",
        "target": job.request.target, "supported_devices": [], "image_prefix": "", "default_packages": [],
        "build_at": "0", "build_cmd": ["make", "image"], "request": job.request, "stdout": "", "stderr": "",
    });
    let artifacts = vec![asu_protocol::builder_api::Artifact { name: name.into(), size: bytes.len() as u64, sha256: sha }];
    Outcome::Done { result: result.as_object().unwrap().clone(), artifacts }
}

fn failed(detail: &str) -> Outcome {
    Outcome::Failed { detail: detail.into(), stdout: String::new(), stderr: String::new() }
}

/// Processes whose command line mentions `needle` (e.g. a builder's cache
/// folder, which the ImageBuilder's programs run from): (pid, command line).
fn processes_mentioning(needle: &Path) -> Vec<(u32, String)> {
    let needle = needle.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        // A zombie has an empty cmdline; anything listed here still runs.
        if text.contains(&needle) {
            found.push((pid, text));
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// The sysupgrade image of a finished answer: (name, announced sha256).
fn sysupgrade(done: &Value) -> (String, String) {
    let image = done["images"].as_array().unwrap().iter().find(|i| i["type"] == "sysupgrade").expect("a sysupgrade image");
    (image["name"].as_str().unwrap().to_string(), image["sha256"].as_str().unwrap().to_string())
}

// ------------------------------------------------------------------ (a)

#[tokio::test]
async fn a_builder_killed_mid_build_loses_its_lease_and_another_builder_finishes_the_job() {
    let _serial = serial();
    let s = start("killed-builder", |c| c.lease_seconds = 4);
    let mut first = s.builder("builder-1", 300);
    // standin-slow makes `make image` take 8 s, time enough to kill the builder in it.
    let body = mt6000(201, &["luci", "standin-slow"]);
    let posted = post_json(&s.build_url(), &body).await;
    assert_eq!(posted.status, 202, "{}", body_text(&posted));
    let hash = hash_of(&posted);

    let building = |a: &Answer| a.json()["imagebuilder_status"] == "building_image";
    let (_, before_kill) = poll_until(&s, &hash, Duration::from_secs(180), building).await;
    assert_eq!(s.store(&hash, "profiles.json").await.status, 404, "nothing is served while building");
    first.proc.kill();
    assert!(!first.proc.is_running());
    let killed_at = Instant::now();

    // Without heartbeats the lease lapses and the job is queued again.
    let (requeued, after_kill) = poll_until(&s, &hash, Duration::from_secs(30), |a| a.json()["detail"] == "queued").await;
    assert_eq!(requeued.status, 202);
    assert_eq!(requeued.json()["queue_position"], 0);
    assert!(killed_at.elapsed() >= Duration::from_secs(2), "requeued before the lease could lapse");
    assert_eq!(s.queue_length().await, 1);
    for (detail, _) in &after_kill {
        assert!(detail == "started" || detail == "queued", "a killed build must not finish: {after_kill:?}");
    }
    assert_eq!(s.store(&hash, "profiles.json").await.status, 404);

    let _second = s.builder("builder-2", 300);
    let (done, after_restart) = poll_until(&s, &hash, Duration::from_secs(240), |a| a.status != 202).await;
    assert_eq!(done.status, 200, "{}", body_text(&done));
    let states: Vec<&str> = before_kill.iter().chain(&after_kill).chain(&after_restart).map(|(d, _)| d.as_str()).collect();
    let first_started = states.iter().position(|d| *d == "started").unwrap();
    assert!(states[first_started..].contains(&"queued"), "the client never saw the job go back to the queue: {states:?}");

    // The image is complete: its bytes match the announced sha256 and carry a valid trailer.
    let d = done.json();
    let (name, sha) = sysupgrade(&d);
    let file = s.store(&hash, &name).await;
    assert_eq!(file.status, 200);
    assert_eq!(hex::encode(Sha256::digest(&file.body)), sha, "the served image is not the announced one");
    let meta = asu_protocol::fwtool::read_metadata(&file.body).expect("a complete image with its fwtool trailer");
    assert!(meta.supported_devices.iter().any(|d| d == "glinet,gl-mt6000"));
    assert!(d["manifest"]["standin-slow"].is_string(), "{}", d["manifest"]);
}

#[tokio::test]
async fn a_restarted_builder_ends_the_build_its_killed_predecessor_left_running() {
    let _serial = serial();
    let s = start("builder-restart", |c| c.lease_seconds = 4);
    let mut first = s.builder("builder-1", 300);
    let hash = hash_of(&post_json(&s.build_url(), &mt6000(218, &["luci", "standin-hang"])).await);
    poll_until(&s, &hash, Duration::from_secs(180), |a| a.json()["imagebuilder_status"] == "building_image").await;
    let cache = s.dir.join("builder-1-cache");
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.proc.kill();
    // make runs in its own process group (so a time limit can end all of
    // it), so killing the builder leaves the hanging build running.
    let orphans: Vec<u32> = processes_mentioning(&cache).into_iter().map(|(pid, _)| pid).collect();
    assert!(!orphans.is_empty(), "expected the killed builder's make to be still running");

    // The builder restarted on the same folders ends them before it leases anything.
    let _restarted = s.builder_on("builder-1-restarted", "builder-1", 5);
    let deadline = Instant::now() + Duration::from_secs(5);
    while orphans.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let survivors: Vec<u32> = orphans.iter().copied().filter(|p| alive(*p)).collect();
    assert!(survivors.is_empty(), "processes of the killed builder's build survived its restart: {survivors:?}");

    // The job itself went back to the queue and ends as the time limit says.
    let (end, _) = poll_until(&s, &hash, Duration::from_secs(120), |a| a.status != 202).await;
    assert_eq!(end.status, 500, "{}", body_text(&end));
    assert!(end.detail().contains("timed out after 5 seconds"), "{}", end.detail());
}

// ------------------------------------------------------------------ (b)

#[tokio::test]
async fn artifacts_become_visible_only_after_a_checked_completion() {
    let _serial = serial();
    let s = start("artifacts", |_| {});
    let b = s.fake_builder();
    let posted = post_json(&s.build_url(), &mt6000(202, &["luci"])).await;
    assert_eq!(posted.status, 202, "{}", body_text(&posted));
    let hash = hash_of(&posted);
    let job = b.lease().await.expect("the job");
    assert_eq!(job.request_hash, hash);

    let image_a: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
    let image_b: Vec<u8> = (0..90_000u32).map(|i| (i % 241) as u8).collect();
    let name_a = "openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin";
    let name_b = "openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-factory.bin";

    let (up, art_a) = b.upload(&job, name_a, &image_a).await;
    assert_eq!(up.status, 200, "{}", body_text(&up));
    assert_eq!(s.store(&hash, name_a).await.status, 404, "an uploaded file is visible before completion");

    // An upload whose body is not what its X-Sha256 says is refused.
    let wrong = request(
        "PUT",
        &format!("{}{}", s.edge.url, builder_api::artifact_path(&hash, name_b)),
        &[
            ("authorization", &format!("Bearer {}", b.token)),
            (builder_api::LEASE_HEADER, &job.lease),
            (builder_api::SHA256_HEADER, &hex::encode(Sha256::digest(b"something else"))),
        ],
        Some(image_b.clone()),
    )
    .await;
    assert_eq!(wrong.status / 100, 4, "a body not matching its sha256 was stored: {}", body_text(&wrong));

    let image = |name: &str, sha: &str, kind: &str| {
        json!({"name": name, "type": kind, "filesystem": "squashfs", "sha256": sha, "sha256_unsigned": sha})
    };
    let sha_b = hex::encode(Sha256::digest(&image_b));
    let result = |images: Vec<Value>| {
        json!({
            "id": "glinet_gl-mt6000", "images": images, "titles": [], "manifest": {"base-files": "1"},
            "bin_dir": hash, "version_number": "24.10.5", "version_code": "", "target": "mediatek/filogic",
            "supported_devices": [], "image_prefix": "", "default_packages": [], "build_at": "0",
            "build_cmd": ["make", "image"], "request": job.request, "stdout": "", "stderr": "",
        })
        .as_object()
        .unwrap()
        .clone()
    };
    let both = vec![image(name_a, &art_a.sha256, "sysupgrade"), image(name_b, &sha_b, "factory")];
    let art_b = asu_protocol::builder_api::Artifact { name: name_b.into(), size: image_b.len() as u64, sha256: sha_b.clone() };

    let mut bad_sha = art_a.clone();
    bad_sha.sha256 = hex::encode(Sha256::digest(b"not the image"));
    let mut bad_size = art_a.clone();
    bad_size.size += 1;
    let refused_completions = [
        ("a declared file that was never uploaded", result(both.clone()), vec![art_a.clone(), art_b.clone()]),
        ("a wrong sha256", result(vec![image(name_a, &bad_sha.sha256, "sysupgrade")]), vec![bad_sha]),
        ("a wrong size", result(vec![image(name_a, &art_a.sha256, "sysupgrade")]), vec![bad_size]),
        ("an image that is not a declared artifact", result(both.clone()), vec![art_a.clone()]),
    ];
    for (what, result, artifacts) in refused_completions {
        let a = b.complete(&job, Outcome::Done { result, artifacts }).await;
        assert_eq!(a.status / 100, 4, "a completion with {what} was accepted: {}", body_text(&a));
        assert!(!a.detail().is_empty());
        let now = s.poll(&hash).await;
        assert_eq!(now.status, 202, "after a refused completion ({what}) the build changed: {}", body_text(&now));
        assert_eq!(now.json()["detail"], "started");
        for name in [name_a, name_b, "profiles.json"] {
            assert_eq!(s.store(&hash, name).await.status, 404, "{name} visible after a refused completion ({what})");
        }
    }

    let (up, _) = b.upload(&job, name_b, &image_b).await;
    assert_eq!(up.status, 200, "{}", body_text(&up));
    assert_eq!(s.store(&hash, name_b).await.status, 404);
    let done = b.complete(&job, Outcome::Done { result: result(both), artifacts: vec![art_a.clone(), art_b] }).await;
    assert_eq!(done.status, 200, "{}", body_text(&done));
    let finished = s.poll(&hash).await;
    assert_eq!(finished.status, 200);
    for (name, bytes) in [(name_a, &image_a), (name_b, &image_b)] {
        let file = s.store(&hash, name).await;
        assert_eq!(file.status, 200, "{name}");
        assert_eq!(&file.body, bytes, "{name} is not what was uploaded");
    }
}

// ------------------------------------------------------------------ (c)

#[tokio::test]
async fn an_edge_restart_loses_no_queued_job_and_no_finished_result() {
    let _serial = serial();
    let s = start("edge-restart", |_| {});
    let b = s.fake_builder();
    let finished_body = mt6000(204, &["luci"]);
    let url = s.build_url();
    let finished_hash = hash_of(&post_json(&url, &finished_body).await);
    let job = b.lease().await.unwrap();
    let name = "openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin";
    let image: Vec<u8> = (0..64_000u32).map(|i| (i * 13 % 256) as u8).collect();
    assert_eq!(b.finish_with_image(&job, name, &image).await.status, 200);
    let finished_before = s.poll(&finished_hash).await;
    assert_eq!(finished_before.status, 200);

    let building_hash = hash_of(&post_json(&url, &mt6000(205, &["luci"])).await);
    let queued_body = mt6000(206, &["luci", "tcpdump"]);
    let queued_hash = hash_of(&post_json(&url, &queued_body).await);
    let building = b.lease().await.unwrap();
    assert_eq!(building.request_hash, building_hash);
    assert_eq!(b.phase(&building, ImagebuilderStatus::BuildingImage).await.status, 200);

    let Stack { dir, edge, _mirror } = s;
    let edge = edge.restart(&dir);
    let s = Stack { dir, edge, _mirror };
    let b = s.fake_builder();

    let finished_after = s.poll(&finished_hash).await;
    assert_eq!(finished_after.status, 200, "the finished result was lost: {}", body_text(&finished_after));
    assert_eq!(finished_after.json(), finished_before.json());
    let file = s.store(&finished_hash, name).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, image);
    let again = post_json(&s.build_url(), &finished_body).await;
    assert_eq!(again.status, 200, "a repeat after the restart must come from the cache");

    let b_state = s.poll(&building_hash).await.json();
    assert_eq!((b_state["detail"].as_str(), b_state["imagebuilder_status"].as_str()), (Some("started"), Some("building_image")));
    let q_state = s.poll(&queued_hash).await.json();
    assert_eq!((q_state["detail"].as_str(), q_state["queue_position"].as_u64()), (Some("queued"), Some(0)));
    assert_eq!(s.queue_length().await, 2);
    // The lease handed out before the restart still holds, and the queued job is still there.
    assert_eq!(b.phase(&building, ImagebuilderStatus::SigningImages).await.status, 200);
    let next = b.lease().await.expect("the queued job survived the restart");
    assert_eq!(next.request_hash, queued_hash);
    assert_eq!(next.request.packages, vec!["luci", "tcpdump"]);
    assert!(b.lease().await.is_none(), "the restart duplicated a job");
    assert_eq!(b.finish_with_image(&building, name, b"built across a restart").await.status, 200);
    assert_eq!(s.poll(&building_hash).await.status, 200);
    b.complete(&next, failed("done with it")).await;
}

// ------------------------------------------------------------------ (d)

#[tokio::test]
async fn a_hanging_build_is_stopped_at_its_time_limit_and_the_builder_takes_the_next_job() {
    let _serial = serial();
    let s = start("hanging-build", |_| {});
    let mut builder = s.builder("builder-1", 6);
    let cache = s.dir.join("builder-1-cache");

    // Warm the ImageBuilder cache first, so the time limit meets the hang, not the download.
    let (warm, _) = build_to_end(&s.edge.url, &mt6000(207, &["luci"]), Duration::from_secs(180)).await;
    assert_eq!(warm.status, 200, "{}", body_text(&warm));

    let started = Instant::now();
    let (hung, phases) = build_to_end(&s.edge.url, &mt6000(208, &["luci", "standin-hang"]), Duration::from_secs(120)).await;
    assert_eq!(hung.status, 500, "{}", body_text(&hung));
    let detail = hung.detail();
    assert!(detail.starts_with("Error: ") && detail.contains("timed out after 6 seconds"), "{detail}");
    assert!(phases.iter().any(|(_, p, _)| p == "building_image"), "{phases:?}");
    assert!(started.elapsed() < Duration::from_secs(60), "the time limit did not stop the build");
    assert!(builder.proc.is_running(), "the builder died with the build");
    // The whole process group of the hanging make is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_mentioning(&cache).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(processes_mentioning(&cache), Vec::<(u32, String)>::new(), "processes of the stopped build survived");

    let (next, _) = build_to_end(&s.edge.url, &mt6000(209, &["luci", "tcpdump"]), Duration::from_secs(120)).await;
    assert_eq!(next.status, 200, "the builder did not complete the next job: {}", body_text(&next));
    let (name, sha) = sysupgrade(&next.json());
    let file = s.store(next.json()["bin_dir"].as_str().unwrap(), &name).await;
    assert_eq!(hex::encode(Sha256::digest(&file.body)), sha);
}

// ------------------------------------------------------------------ (e)

#[tokio::test]
async fn a_full_queue_answers_429_while_polls_cached_and_queued_requests_still_work() {
    let _serial = serial();
    let s = start("overload", |c| c.max_queue_length = 2);
    let b = s.fake_builder();
    let url = s.build_url();

    let cached_body = mt6000(210, &["luci"]);
    let cached_hash = hash_of(&post_json(&url, &cached_body).await);
    let job = b.lease().await.unwrap();
    assert_eq!(b.finish_with_image(&job, "openwrt-cached-sysupgrade.bin", b"cached").await.status, 200);

    let first = post_json(&url, &mt6000(211, &["luci"])).await;
    let second = post_json(&url, &mt6000(212, &["luci"])).await;
    assert_eq!((first.status, second.status), (202, 202));
    let (h1, h2) = (hash_of(&first), hash_of(&second));

    let third_body = mt6000(213, &["luci"]);
    let full = post_json(&url, &third_body).await;
    assert_eq!(full.status, 429, "{}", body_text(&full));
    let retry: u64 = full.header("retry-after").expect("a Retry-After header").parse().expect("Retry-After in seconds");
    assert!((1..=3600).contains(&retry), "Retry-After {retry}");
    let detail = full.detail();
    assert!(detail.to_lowercase().contains("queue") && detail.to_lowercase().contains("full"), "{detail}");
    assert!(full.header("access-control-allow-origin").is_some());
    if let Some(h3) = full.json()["request_hash"].as_str() {
        assert_eq!(s.poll(h3).await.status, 404, "the refused request was queued anyway");
    }
    assert_eq!(s.queue_length().await, 2);

    // Existing jobs, identical requests and cached results are unaffected.
    let same = post_json(&url, &mt6000(211, &["luci"])).await;
    assert_eq!(same.status, 202, "an identical request to a queued one: {}", body_text(&same));
    assert_eq!(hash_of(&same), h1);
    for h in [&h1, &h2] {
        let p = s.poll(h).await;
        assert_eq!((p.status, p.json()["detail"].as_str()), (202, Some("queued")));
        let hd = head(&format!("{url}/{h}")).await;
        assert_eq!(hd.status, 202);
        assert!(hd.header("x-queue-position").is_some());
    }
    let cached = post_json(&url, &cached_body).await;
    assert_eq!(cached.status, 200, "a cached result while the queue is full: {}", body_text(&cached));
    assert_eq!(hash_of(&cached), cached_hash);

    // Once a job leaves the queue, new requests are taken again.
    let leased = b.lease().await.unwrap();
    assert_eq!(leased.request_hash, h1);
    let third = post_json(&url, &third_body).await;
    assert_eq!(third.status, 202, "{}", body_text(&third));
    b.complete(&leased, failed("x")).await;
    while let Some(j) = b.lease().await {
        b.complete(&j, failed("x")).await;
    }
}

// ------------------------------------------------------------------ (f)

#[tokio::test]
async fn builder_calls_without_the_token_or_with_another_jobs_lease_change_nothing() {
    let _serial = serial();
    let s = start("builder-auth", |_| {});
    let b = s.fake_builder();
    let ha = hash_of(&post_json(&s.build_url(), &mt6000(214, &["luci"])).await);
    let hb = hash_of(&post_json(&s.build_url(), &mt6000(215, &["luci"])).await);
    let ja = b.lease().await.unwrap();
    let jb = b.lease().await.unwrap();
    assert_eq!((ja.request_hash.as_str(), jb.request_hash.as_str()), (ha.as_str(), hb.as_str()));
    assert_eq!(b.phase(&jb, ImagebuilderStatus::ValidateManifest).await.status, 200);
    let snapshot = |a: &Answer| (a.status, a.json()["detail"].clone(), a.json()["imagebuilder_status"].clone());
    let before_a = snapshot(&s.poll(&ha).await);
    let before_b = snapshot(&s.poll(&hb).await);

    // Without the token (or with a wrong one) every builder call is 401.
    let name = "openwrt-evil-sysupgrade.bin";
    let sha = hex::encode(Sha256::digest(b"evil"));
    let completion = serde_json::to_vec(&json!({"lease": jb.lease, "outcome": "failed", "detail": "x", "stdout": "", "stderr": ""})).unwrap();
    let phase = serde_json::to_vec(&json!({"lease": jb.lease, "imagebuilder_status": "signing_images"})).unwrap();
    for auth in [None, Some("Bearer wrong-token".to_string()), Some(format!("Basic {}", b.token)), Some(format!("Bearer {}x", b.token))] {
        let mut headers: Vec<(&str, &str)> = vec![(builder_api::LEASE_HEADER, &jb.lease), (builder_api::SHA256_HEADER, &sha)];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        let calls = [
            ("POST", builder_api::LEASE_PATH.to_string(), b"{\"builder\":\"thief\"}".to_vec()),
            ("POST", builder_api::phase_path(&hb), phase.clone()),
            ("PUT", builder_api::artifact_path(&hb, name), b"evil".to_vec()),
            ("POST", builder_api::complete_path(&hb), completion.clone()),
        ];
        for (method, path, body) in calls {
            let a = request(method, &format!("{}{path}", s.edge.url), &headers, Some(body)).await;
            assert_eq!(a.status, 401, "{method} {path} with {auth:?}: {}", body_text(&a));
            assert!(!a.detail().is_empty());
            assert!(a.header("www-authenticate").is_some(), "{method} {path}");
        }
    }

    // With the token but job A's lease, job B cannot be touched.
    let mut thief = jb.clone();
    thief.lease = ja.lease.clone();
    let a = b.phase(&thief, ImagebuilderStatus::SigningImages).await;
    assert_eq!(a.status, 403, "{}", body_text(&a));
    let (a, _) = b.upload(&thief, name, b"evil").await;
    assert_eq!(a.status, 403, "{}", body_text(&a));
    let a = b.complete(&thief, failed("stolen")).await;
    assert!(matches!(a.status, 403 | 409), "{}", body_text(&a));
    let a = b.complete(&thief, done_with(&thief, name, b"evil")).await;
    assert!(matches!(a.status, 403 | 409), "{}", body_text(&a));

    assert_eq!(snapshot(&s.poll(&ha).await), before_a, "job A changed");
    assert_eq!(snapshot(&s.poll(&hb).await), before_b, "job B changed");
    assert_eq!(s.store(&hb, name).await.status, 404);
    assert_eq!(s.queue_length().await, 2);
    // The rightful holders still can.
    assert_eq!(b.phase(&jb, ImagebuilderStatus::BuildingImage).await.status, 200);
    b.complete(&ja, failed("x")).await;
    b.complete(&jb, failed("x")).await;
}

#[tokio::test]
async fn a_finished_result_is_never_overwritten_by_another_lease() {
    let _serial = serial();
    let s = start("no-poisoning", |c| c.lease_seconds = 3);
    let old = s.fake_builder();
    let new = s.fake_builder();
    let hash = hash_of(&post_json(&s.build_url(), &mt6000(216, &["luci"])).await);
    let stale = old.lease().await.unwrap();
    let name = "openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin";
    let (up, _) = old.upload(&stale, name, b"first attempt").await;
    assert_eq!(up.status, 200);

    // The first builder goes silent; its lease lapses and another builder takes the job.
    poll_until(&s, &hash, Duration::from_secs(30), |a| a.json()["detail"] == "queued").await;
    let current = new.lease().await.expect("the job is leased again");
    assert_eq!(current.request_hash, hash);
    assert_ne!(current.lease, stale.lease);

    // The stale lease can do nothing any more.
    assert_eq!(old.phase(&stale, ImagebuilderStatus::BuildingImage).await.status, 403);
    assert_eq!(old.upload(&stale, name, b"stale upload").await.0.status, 403);
    let a = old.complete(&stale, done_with(&stale, name, b"first attempt")).await;
    assert_eq!(a.status / 100, 4, "a lapsed lease completed the job: {}", body_text(&a));

    let good: &[u8] = b"the good image";
    assert_eq!(new.finish_with_image(&current, name, good).await.status, 200);
    let finished = s.poll(&hash).await;
    assert_eq!(finished.status, 200);
    let good_sha = hex::encode(Sha256::digest(good));
    assert_eq!(sysupgrade(&finished.json()).1, good_sha);

    // After the finish: a completion under the old lease is refused, and even
    // the finishing lease cannot replace its result by completing again.
    let evil: &[u8] = b"a different image";
    for (who, job) in [("the stale lease", &stale), ("the finishing lease", &current)] {
        let (up, _) = old.upload(job, name, evil).await;
        assert_eq!(up.status / 100, 4, "{who} could upload after the finish: {}", body_text(&up));
        let _ = old.complete(job, done_with(job, name, evil)).await;
        let _ = old.complete(job, failed("overwrite attempt")).await;
        let now = s.poll(&hash).await;
        assert_eq!(now.status, 200, "{who} turned the finished build into {}", body_text(&now));
        assert_eq!(now.json(), finished.json(), "{who} changed the finished answer");
        let file = s.store(&hash, name).await;
        assert_eq!(file.body, good, "{who} changed the served image");
    }
    let a = old.complete(&stale, failed("late")).await;
    assert!(matches!(a.status, 403 | 409), "{}", body_text(&a));
    let again = post_json(&s.build_url(), &mt6000(216, &["luci"])).await;
    assert_eq!((again.status, sysupgrade(&again.json()).1), (200, good_sha));
}
