//! What the store serves for a finished build: only the files its
//! completion declared and the edge checked, exactly as they were checked.
//! Both tests play the builder's part (FakeBuilder and a raw slow upload)
//! against the real edge under `wrangler dev`.

use std::time::{Duration, Instant};

use asu_protocol::builder_api;
use integration::builder_client::FakeBuilder;
use integration::http::{post_json, Answer};
use integration::stack::{scratch, serial, Edge, EdgeConfig, Mirror};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Stack {
    edge: Edge,
    _mirror: Mirror,
}

fn start(name: &str, tweak: impl FnOnce(&mut EdgeConfig)) -> Stack {
    let dir = scratch(name);
    let mirror = Mirror::start(&dir);
    let mut config = Edge::config(&mirror.url, &dir);
    tweak(&mut config);
    let edge = Edge::start(config, &dir);
    Stack { edge, _mirror: mirror }
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
}

fn mt6000(variant: u32) -> Value {
    json!({"version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet,gl-mt6000", "packages": ["luci"], "rootfs_size_mb": variant})
}

fn hash_of(a: &Answer) -> String {
    a.json()["request_hash"].as_str().unwrap_or_else(|| panic!("no request_hash in {}", body_text(a))).to_string()
}

fn body_text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

fn sysupgrade_sha(done: &Value) -> String {
    done["images"].as_array().unwrap().iter().find(|i| i["type"] == "sysupgrade").unwrap()["sha256"].as_str().unwrap().to_string()
}

async fn wait_until_queued(s: &Stack, hash: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.poll(hash).await.json()["detail"] != "queued" {
        assert!(Instant::now() < deadline, "{hash} did not go back to the queue");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn files_not_declared_at_completion_are_never_served() {
    let _serial = serial();
    let s = start("undeclared", |_| {});
    let b = s.fake_builder();
    let posted = post_json(&s.build_url(), &mt6000(203)).await;
    let hash = hash_of(&posted);
    let job = b.lease().await.expect("the job");
    // Uploaded under the lease but left out of the completion: a builder that
    // changed its mind, or one whose earlier attempt left files behind.
    for (name, bytes) in [("left-over.manifest", &b"stale"[..]), ("sha256sums", b"0000 *evil.bin\n"), ("profiles.json", b"{}")] {
        let (up, _) = b.upload(&job, name, bytes).await;
        assert_eq!(up.status, 200, "{}", body_text(&up));
    }
    let name = "openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin";
    let done = b.finish_with_image(&job, name, b"the image").await;
    assert_eq!(done.status, 200, "{}", body_text(&done));
    assert_eq!(s.store(&hash, name).await.status, 200);
    for undeclared in ["left-over.manifest", "sha256sums", "profiles.json"] {
        let a = s.store(&hash, undeclared).await;
        assert_eq!(a.status, 404, "{undeclared} was served although the completion did not declare it: {}", body_text(&a));
    }
}

/// Sends a PUT whose body arrives in two parts, `pause` apart; returns the status.
async fn slow_put(edge: &str, path: &str, headers: &[(&str, &str)], body: &[u8], first_part: usize, pause: impl std::future::Future<Output = ()>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = edge.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut head = format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..first_part]).await.unwrap();
    stream.flush().await.unwrap();
    pause.await;
    let _ = stream.write_all(&body[first_part..]).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn a_slow_upload_under_a_lapsed_lease_cannot_replace_a_finished_image() {
    let _serial = serial();
    let s = start("slow-upload", |c| c.lease_seconds = 3);
    let old = s.fake_builder();
    let new = s.fake_builder();
    let hash = hash_of(&post_json(&s.build_url(), &mt6000(217)).await);
    let stale = old.lease().await.unwrap();
    let name = "openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin";
    let evil: Vec<u8> = vec![b'E'; 200_000];
    let good: Vec<u8> = vec![b'G'; 150_000];
    let evil_sha = hex::encode(Sha256::digest(&evil));
    let auth = format!("Bearer {}", old.token);
    let headers = [("Authorization", auth.as_str()), (builder_api::LEASE_HEADER, stale.lease.as_str()), (builder_api::SHA256_HEADER, evil_sha.as_str())];

    // While the stale builder's upload is in flight, its lease lapses and
    // another builder finishes the job.
    let finish_meanwhile = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        wait_until_queued(&s, &hash).await;
        let current = new.lease().await.expect("the job is leased again");
        assert_eq!(new.finish_with_image(&current, name, &good).await.status, 200);
    };
    let status = slow_put(&s.edge.url, &builder_api::artifact_path(&hash, name), &headers, &evil, 100_000, finish_meanwhile).await;

    let finished = s.poll(&hash).await;
    assert_eq!(finished.status, 200);
    assert_eq!(sysupgrade_sha(&finished.json()), hex::encode(Sha256::digest(&good)));
    let file = s.store(&hash, name).await;
    assert!(
        file.body == good,
        "the upload of a lapsed lease (answered {status}) replaced the finished image: the store serves {} bytes that do not match the announced sha256",
        file.body.len()
    );
}
