//! The builder binary against a fake edge and a fake download server (both
//! tiny_http on 127.0.0.1:380xx) with a small ImageBuilder look-alike
//! (tests/fake-ib), packed and served like a real one.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asu_protocol::answer::{BuildResult, ImagebuilderStatus};
use asu_protocol::builder_api::{Completion, Job, LeaseRequest, Outcome, PhaseReport, LEASE_PATH};
use asu_protocol::request::BuildRequest;
use sha2::{Digest, Sha256};

const TOKEN: &str = "test-token";
const UPSTREAM_PORT: u16 = 38101;
const EDGE_PORT: u16 = 38102;
const REVISION_1: &str = "r29087-d9c5716d1d";
const REVISION_2: &str = "r29100-0123456789";
const IB_NAME: &str = "openwrt-imagebuilder-24.10.5-mediatek-filogic.Linux-x86_64";

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A zstd tar of tests/fake-ib with the given revision, in one top folder.
fn imagebuilder_archive(revision: &str) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-ib");
    let mut tar = tar::Builder::new(Vec::new());
    for name in ["Makefile", "fakeib.py"] {
        tar.append_path_with_name(src.join(name), format!("{IB_NAME}/{name}"))
            .unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_size(revision.len() as u64 + 1);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(
        &mut h,
        format!("{IB_NAME}/revision"),
        format!("{revision}\n").as_bytes(),
    )
    .unwrap();
    let raw = tar.into_inner().unwrap();
    zstd::encode_all(&raw[..], 3).unwrap()
}

// ---------------------------------------------------------------- upstream

#[derive(Default)]
struct Upstream {
    files: HashMap<String, Vec<u8>>,
    archive_gets: usize,
}

fn serve_upstream(state: Arc<Mutex<Upstream>>) {
    let server = tiny_http::Server::http(("127.0.0.1", UPSTREAM_PORT)).unwrap();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let url = req.url().to_string();
            let body = {
                let mut s = state.lock().unwrap();
                if url.ends_with(".tar.zst") {
                    s.archive_gets += 1;
                }
                s.files.get(&url).cloned()
            };
            let _ = match body {
                Some(b) => req.respond(tiny_http::Response::from_data(b)),
                None => req.respond(tiny_http::Response::empty(404)),
            };
        }
    });
}

fn publish(state: &Arc<Mutex<Upstream>>, revision: &str) {
    let archive = imagebuilder_archive(revision);
    let dir = "/releases/24.10.5/targets/mediatek/filogic";
    let sums = format!(
        "{} *openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin\n{} *{IB_NAME}.tar.zst\n",
        "0".repeat(64),
        sha_hex(&archive)
    );
    let mut s = state.lock().unwrap();
    s.files
        .insert(format!("{dir}/sha256sums"), sums.into_bytes());
    s.files.insert(format!("{dir}/{IB_NAME}.tar.zst"), archive);
}

// -------------------------------------------------------------------- edge

#[derive(Default)]
struct Edge {
    queue: VecDeque<Job>,
    leases: HashMap<String, String>,
    /// Jobs whose lease the edge takes back at their first building_image report.
    revoke_at_build: Vec<String>,
    revoked: Vec<String>,
    phases: Vec<(String, ImagebuilderStatus)>,
    artifacts: HashMap<(String, String), Vec<u8>>,
    bad_uploads: Vec<String>,
    completions: Vec<(String, Completion)>,
    unauthorised: usize,
}

fn respond_json(req: tiny_http::Request, status: u16, body: &str) {
    let header = tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap();
    let _ = req.respond(
        tiny_http::Response::from_string(body)
            .with_status_code(status)
            .with_header(header),
    );
}

fn header(req: &tiny_http::Request, name: &str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

fn serve_edge(port: u16, state: Arc<Mutex<Edge>>) {
    let server = tiny_http::Server::http(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let mut body = Vec::new();
            let _ = req.as_reader().read_to_end(&mut body);
            let url = req.url().to_string();
            let mut s = state.lock().unwrap();
            if header(&req, "Authorization").as_deref() != Some(&format!("Bearer {TOKEN}")) {
                s.unauthorised += 1;
                drop(s);
                respond_json(req, 401, r#"{"detail":"bad token"}"#);
                continue;
            }
            if url == LEASE_PATH {
                let lease_req: LeaseRequest = serde_json::from_slice(&body).unwrap();
                assert!(
                    lease_req.builder.starts_with("e2e-builder/"),
                    "{}",
                    lease_req.builder
                );
                match s.queue.pop_front() {
                    Some(job) => {
                        s.leases.insert(job.request_hash.clone(), job.lease.clone());
                        drop(s);
                        respond_json(req, 200, &serde_json::to_string(&job).unwrap());
                    }
                    None => {
                        drop(s);
                        let _ = req.respond(tiny_http::Response::empty(204));
                    }
                }
                continue;
            }
            let rest = url.strip_prefix("/api/v1/builder/jobs/").unwrap_or("");
            let (hash, action) = rest.split_once('/').unwrap_or(("", ""));
            let hash = hash.to_string();
            let lease = s.leases.get(&hash).cloned();
            if action == "phase" {
                let p: PhaseReport = serde_json::from_slice(&body).unwrap();
                let revoke = s.revoke_at_build.contains(&hash)
                    && p.imagebuilder_status == ImagebuilderStatus::BuildingImage;
                if revoke && s.leases.remove(&hash).is_some() {
                    s.revoked.push(hash.clone());
                }
                if Some(&p.lease) != lease.as_ref() {
                    drop(s);
                    respond_json(req, 409, r#"{"detail":"lease lost"}"#);
                    continue;
                }
                s.phases.push((hash, p.imagebuilder_status));
                drop(s);
                let _ = req.respond(tiny_http::Response::empty(204));
            } else if let Some(name) = action.strip_prefix("artifacts/") {
                let ok_lease = header(&req, "X-Lease") == lease;
                let ok_sha = header(&req, "X-Sha256").as_deref() == Some(sha_hex(&body).as_str());
                let ok_len = header(&req, "Content-Length").and_then(|v| v.parse::<usize>().ok())
                    == Some(body.len());
                if !(ok_lease && ok_sha && ok_len) {
                    s.bad_uploads.push(format!(
                        "{name}: lease {ok_lease} sha {ok_sha} len {ok_len}"
                    ));
                }
                if !ok_lease {
                    drop(s);
                    respond_json(req, 409, r#"{"detail":"lease lost"}"#);
                    continue;
                }
                s.artifacts.insert((hash, name.to_string()), body);
                drop(s);
                let _ = req.respond(tiny_http::Response::empty(204));
            } else if action == "complete" {
                let c: Completion = serde_json::from_slice(&body).unwrap();
                if Some(&c.lease) != lease.as_ref() {
                    drop(s);
                    respond_json(req, 409, r#"{"detail":"lease lost"}"#);
                    continue;
                }
                s.completions.push((hash, c));
                drop(s);
                let _ = req.respond(tiny_http::Response::empty(204));
            } else {
                drop(s);
                let _ = req.respond(tiny_http::Response::empty(404));
            }
        }
    });
}

fn job(n: u8, req: BuildRequest) -> Job {
    Job {
        request_hash: format!("{:064x}", n),
        lease: format!("lease-{n}"),
        lease_seconds: 30,
        request: req,
    }
}

fn request(profile: &str, packages: &[&str]) -> BuildRequest {
    let mut r = BuildRequest::new("24.10.5", "mediatek/filogic", profile);
    r.packages = packages.iter().map(|s| s.to_string()).collect();
    r
}

struct Builder(Child);

impl Drop for Builder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_builder(edge_port: u16, upstream: &str, cache: &Path, work: &Path) -> Builder {
    let mut child = Command::new(env!("CARGO_BIN_EXE_builder"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("EDGE_URL", format!("http://127.0.0.1:{edge_port}"))
        .env("BUILDER_TOKEN", TOKEN)
        .env("UPSTREAM_URL", upstream)
        .env("CACHE_DIR", cache)
        .env("WORK_DIR", work)
        .env("BUILD_TIMEOUT_SECS", "3")
        .env("POLL_INTERVAL_MS", "100")
        .env("HEARTBEAT_SECS", "1")
        .env("BUILDER_NAME", "e2e-builder")
        .env("BUILDER_JOBS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "builder ready\n");
    Builder(child)
}

fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn completion(edge: &Arc<Mutex<Edge>>, hash: &str, secs: u64) -> Outcome {
    wait_for(&format!("completion of {hash}"), secs, || {
        edge.lock()
            .unwrap()
            .completions
            .iter()
            .find(|(h, _)| h == hash)
            .map(|(_, c)| c.outcome.clone())
    })
}

fn failure_detail(edge: &Arc<Mutex<Edge>>, hash: &str) -> String {
    match completion(edge, hash, 60) {
        Outcome::Failed { detail, .. } => detail,
        Outcome::Done { .. } => panic!("{hash} should have failed"),
    }
}

#[test]
fn builds_against_fake_edge_and_upstream() {
    let upstream = Arc::new(Mutex::new(Upstream::default()));
    publish(&upstream, REVISION_1);
    serve_upstream(upstream.clone());
    let tmp = tempfile::tempdir().unwrap();
    let (cache, work) = (tmp.path().join("cache"), tmp.path().join("work"));

    // The builder starts before the edge exists: it must keep retrying.
    let builder = start_builder(
        EDGE_PORT,
        &format!("http://127.0.0.1:{UPSTREAM_PORT}"),
        &cache,
        &work,
    );
    std::thread::sleep(Duration::from_millis(1500));
    let edge = Arc::new(Mutex::new(Edge::default()));

    let mut ok = request("glinet,gl-mt6000", &["luci", "-dnsmasq"]);
    ok.defaults = Some("uci set system.@system[0].hostname='$(reboot)'\n".into());
    ok.filesystem = Some("squashfs".into());
    ok.version_code = REVISION_1.into();
    let ok_job = job(1, ok.clone());
    let ok_hash = ok_job.request_hash.clone();
    // Two jobs for the same ImageBuilder start together: one download.
    let twin = job(11, request("glinet_gl-mt6000", &[]));
    edge.lock().unwrap().queue.extend([ok_job, twin.clone()]);
    serve_edge(EDGE_PORT, edge.clone());

    // 1. A good build.
    let Outcome::Done { result, artifacts } = completion(&edge, &ok_hash, 60) else {
        panic!("job 1 failed")
    };
    let result: BuildResult = serde_json::from_value(serde_json::Value::Object(result)).unwrap();
    assert_eq!(result.id, "glinet_gl-mt6000");
    assert_eq!(result.bin_dir, ok_hash);
    assert_eq!(result.version_code, REVISION_1);
    assert_eq!(result.request, ok);
    assert_eq!(result.titles[0].model.as_deref(), Some("GL-MT6000"));
    assert_eq!(result.profile["linux_kernel"]["version"], "6.6.119");
    assert_eq!(result.profile["arch_packages"], "aarch64_cortex-a53");
    // An ISO 8601 UTC time of this build: `YYYY-MM-DDTHH:MM:SSZ`, this year or later.
    assert_eq!(result.build_at.len(), 20, "{}", result.build_at);
    assert!(result.build_at.ends_with('Z') && result.build_at.as_bytes()[10] == b'T', "{}", result.build_at);
    assert!(result.build_at[..4].parse::<u32>().unwrap() >= 2026, "{}", result.build_at);
    // defaults + device packages + requested, minus dnsmasq and the device's own removal
    let expected: BTreeMap<String, String> = [
        ("base-files", format!("1678-{REVISION_1}")),
        ("busybox", "1.36.1-r2".into()),
        ("dropbear", "2024.86-r1".into()),
        ("firewall4", "2024.12.18-r1".into()),
        ("kmod-usb3", "6.6.119-r1".into()),
        ("luci", "25.1-r1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(result.manifest, expected);
    let packages_arg: Vec<&String> = result
        .build_cmd
        .iter()
        .filter(|a| a.starts_with("PACKAGES="))
        .collect();
    assert_eq!(packages_arg.len(), 1);
    assert!(packages_arg[0].contains("luci") && packages_arg[0].contains("-dnsmasq"));
    assert_eq!(&result.build_cmd[..2], ["make", "image"]);

    {
        let e = edge.lock().unwrap();
        assert!(e.bad_uploads.is_empty(), "{:?}", e.bad_uploads);
        let phases: Vec<ImagebuilderStatus> = e
            .phases
            .iter()
            .filter(|(h, _)| *h == ok_hash)
            .map(|(_, p)| *p)
            .collect();
        let mut seen = phases.clone();
        seen.dedup();
        assert_eq!(seen, ImagebuilderStatus::ALL.to_vec(), "phases in order");
        assert_eq!(result.images.len(), 2);
        for image in &result.images {
            let bytes = e
                .artifacts
                .get(&(ok_hash.clone(), image.name.clone()))
                .expect("image uploaded");
            assert_eq!(sha_hex(bytes), image.sha256);
            assert!(image.name.contains(&format!(
                "-{}-",
                &sha_hex(
                    expected
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .as_bytes()
                )[..12]
            )));
        }
        let sysupgrade = result
            .images
            .iter()
            .find(|i| i.kind == "sysupgrade")
            .unwrap();
        let text =
            String::from_utf8(e.artifacts[&(ok_hash.clone(), sysupgrade.name.clone())].clone())
                .unwrap();
        assert!(
            text.ends_with(&format!("defaults={}", ok.defaults.as_deref().unwrap())),
            "{text}"
        );
        let names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
        for must in [
            "profiles.json",
            "sha256sums",
            &format!("{}.manifest", result.image_prefix),
        ] {
            assert!(names.contains(&must), "{must} missing from {names:?}");
        }
        for a in &artifacts {
            let bytes = &e.artifacts[&(ok_hash.clone(), a.name.clone())];
            assert_eq!(
                (a.size, a.sha256.as_str()),
                (bytes.len() as u64, sha_hex(bytes).as_str())
            );
        }
        assert_eq!(e.unauthorised, 0);
    }
    assert!(!work.join(&ok_hash).exists(), "job folder removed");
    assert!(matches!(
        completion(&edge, &twin.request_hash, 60),
        Outcome::Done { .. }
    ));
    assert_eq!(upstream.lock().unwrap().archive_gets, 1);

    // 2. Failures, queued together (two run at a time).
    let mut wrong_rev = request("glinet_gl-mt6000", &[]);
    wrong_rev.version_code = "r1-abcdef".into();
    let mut versions = request("glinet_gl-mt6000", &[]);
    versions
        .packages_versions
        .insert("tcpdump".into(), "4.99.4-r1".into());
    let failing = vec![
        (job(2, wrong_rev), format!("Error: Received incorrect version {REVISION_1} (requested r1-abcdef)")),
        (job(3, request("glinet_gl-mt6000", &["nosuchpkg"])), "Error: Impossible package selection: nosuchpkg".to_string()),
        (job(4, request("tiny_device", &[])), "Error: Selected packages exceed device storage".to_string()),
        (job(5, versions), "Error: Impossible package selection: tcpdump is 4.99.5-r1 in this release, not 4.99.4-r1".to_string()),
        (job(6, request("slow_device", &[])), "Error: Build timed out after 3 seconds".to_string()),
        (job(7, request("nonexistent_device", &[])), "Error: Unknown profile nonexistent_device".to_string()),
    ];
    {
        let mut e = edge.lock().unwrap();
        for (j, _) in &failing {
            e.queue.push_back(j.clone());
        }
    }
    for (j, detail) in &failing {
        assert_eq!(&failure_detail(&edge, &j.request_hash), detail);
    }
    // The 3 s build that timed out was heartbeat about once a second.
    let slow = &failing[4].0.request_hash;
    let beats = edge
        .lock()
        .unwrap()
        .phases
        .iter()
        .filter(|(h, p)| h == slow && *p == ImagebuilderStatus::BuildingImage)
        .count();
    assert!(beats >= 2, "{beats} building_image reports");
    let Outcome::Failed { stderr, .. } = completion(&edge, &failing[1].0.request_hash, 1) else {
        unreachable!()
    };
    assert!(
        stderr.contains("Cannot install package nosuchpkg"),
        "{stderr}"
    );
    // One download served every build so far.
    assert_eq!(upstream.lock().unwrap().archive_gets, 1);

    // 3. The edge takes a lease back mid-build: the builder stops that job
    // (the slow build would run 120 s) and goes on with the next.
    let lost = job(8, request("slow_device", &[]));
    let after = job(9, request("glinet_gl-mt6000", &[]));
    {
        let mut e = edge.lock().unwrap();
        e.revoke_at_build.push(lost.request_hash.clone());
        e.queue.push_back(lost.clone());
    }
    wait_for("revoked lease", 30, || {
        edge.lock()
            .unwrap()
            .revoked
            .contains(&lost.request_hash)
            .then_some(())
    });
    edge.lock().unwrap().queue.push_back(after.clone());
    assert!(matches!(
        completion(&edge, &after.request_hash, 30),
        Outcome::Done { .. }
    ));
    std::thread::sleep(Duration::from_secs(1));
    assert!(!edge
        .lock()
        .unwrap()
        .completions
        .iter()
        .any(|(h, _)| *h == lost.request_hash));
    // The abandoned build's processes are gone too.
    let cache_str = cache.display().to_string();
    let leftovers: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&cache_str))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // 4. Upstream publishes a new ImageBuilder: the next build fetches it.
    publish(&upstream, REVISION_2);
    let mut fresh = request("glinet_gl-mt6000", &[]);
    fresh.version_code = REVISION_2.into();
    let fresh = job(10, fresh);
    edge.lock().unwrap().queue.push_back(fresh.clone());
    let Outcome::Done { result, .. } = completion(&edge, &fresh.request_hash, 60) else {
        panic!("job 10 failed")
    };
    assert_eq!(result["version_code"], REVISION_2);
    assert_eq!(upstream.lock().unwrap().archive_gets, 2);
    let marker =
        std::fs::read_to_string(cache.join("24.10.5/mediatek/filogic/.asu-imagebuilder")).unwrap();
    assert!(
        marker.contains(&sha_hex(&imagebuilder_archive(REVISION_2))),
        "{marker}"
    );

    // 5. SIGTERM stops it promptly and cleanly.
    let mut builder = builder;
    unsafe { libc::kill(builder.0.id() as i32, libc::SIGTERM) };
    let status = wait_for("builder exit", 10, || builder.0.try_wait().unwrap());
    assert!(status.success(), "{status:?}");
}

/// The same path against the project's stand-in mirror, when one runs:
///   upstream-mirror serve --fixtures .../shared/fixtures/upstream --out DIR --listen 127.0.0.1:38201
///   BUILDER_TEST_UPSTREAM=http://127.0.0.1:38201 cargo test -p builder --test e2e -- --ignored
#[test]
#[ignore]
fn builds_from_the_standin_mirror() {
    let Ok(upstream) = std::env::var("BUILDER_TEST_UPSTREAM") else {
        eprintln!("BUILDER_TEST_UPSTREAM is not set; nothing to do");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let edge = Arc::new(Mutex::new(Edge::default()));
    serve_edge(38103, edge.clone());
    let _builder = start_builder(
        38103,
        &upstream,
        &tmp.path().join("cache"),
        &tmp.path().join("work"),
    );

    let mut filogic = request("glinet,gl-mt6000", &["luci", "tcpdump", "-dnsmasq"]);
    filogic.defaults = Some("echo first boot\n".into());
    let mut x86 = BuildRequest::new("23.05.4", "x86/64", "generic");
    x86.filesystem = Some("ext4".into());
    let good = [job(21, filogic), job(22, x86)];
    let bad = job(23, request("glinet_gl-mt6000", &["nosuchpkg"]));
    edge.lock()
        .unwrap()
        .queue
        .extend(good.iter().cloned().chain([bad.clone()]));

    for j in &good {
        let outcome = completion(&edge, &j.request_hash, 300);
        let Outcome::Done { result, artifacts } = outcome else {
            panic!("{}: {outcome:?}", j.request_hash)
        };
        let result: BuildResult =
            serde_json::from_value(serde_json::Value::Object(result)).unwrap();
        assert!(!result.images.is_empty());
        let e = edge.lock().unwrap();
        for a in &artifacts {
            let bytes = &e.artifacts[&(j.request_hash.clone(), a.name.clone())];
            assert_eq!(sha_hex(bytes), a.sha256);
        }
        for i in &result.images {
            assert!(
                artifacts
                    .iter()
                    .any(|a| a.name == i.name && a.sha256 == i.sha256),
                "{}",
                i.name
            );
        }
        for p in &j.request.packages {
            match p.strip_prefix('-') {
                Some(removed) => assert!(!result.manifest.contains_key(removed), "{removed}"),
                None => assert!(result.manifest.contains_key(p), "{p}"),
            }
        }
        eprintln!(
            "{}: {} images, {} packages",
            result.id,
            result.images.len(),
            result.manifest.len()
        );
    }
    let detail = failure_detail(&edge, &bad.request_hash);
    assert!(
        detail.starts_with("Error: Impossible package selection: ") && detail.contains("nosuchpkg"),
        "{detail}"
    );

    // The stand-in's knobs: a package that makes `make image` hang (the
    // builder's limit is 3 s here) and a 4 MB device that cannot take LuCI.
    let hang = job(24, request("glinet_gl-mt6000", &["standin-hang"]));
    let mut tiny = BuildRequest::new("23.05.4", "ath79/tiny", "engenius_eap350-v1");
    tiny.packages = ["luci", "tcpdump", "wireguard-tools"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let tiny = job(25, tiny);
    edge.lock()
        .unwrap()
        .queue
        .extend([hang.clone(), tiny.clone()]);
    assert_eq!(
        failure_detail(&edge, &hang.request_hash),
        "Error: Build timed out after 3 seconds"
    );
    assert_eq!(
        failure_detail(&edge, &tiny.request_hash),
        "Error: Selected packages exceed device storage"
    );
}
