//! One test per build-request field: accepted, rejected, its effect on the
//! request hash and on the job the builder receives. The edge runs with
//! server limits set through wrangler vars (an allow-listed feed, a 512 MB
//! rootfs cap, a 64-byte first-boot script cap); a second edge has
//! first-boot scripts switched off.

use std::sync::OnceLock;

use asu_protocol::builder_api::{Job, Outcome};
use asu_protocol::canonical::request_hash;
use asu_protocol::request::RepositoriesMode;
use integration::builder_client::FakeBuilder;
use integration::contract::{drain, mirror_json, mirror_profiles, start_edge_with};
use integration::http::{get, request, Answer};
use integration::stack::{scratch, serial, Edge, Mirror};
use serde_json::{json, Value};

const ALLOWED_FEED: &str = "https://feeds.example.org/openwrt";
const MAX_ROOTFS: u32 = 512;
const MAX_DEFAULTS: usize = 64;

struct Stack {
    edge: Edge,
    no_defaults: OnceLock<Edge>,
    mirror: Mirror,
    dir: std::path::PathBuf,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("request-fields");
        let mirror = Mirror::start(&dir);
        let rootfs = MAX_ROOTFS.to_string();
        let defaults = MAX_DEFAULTS.to_string();
        let edge = start_edge_with(
            Edge::config(&mirror.url, &dir),
            &[("REPOSITORY_ALLOW_LIST", ALLOWED_FEED), ("MAX_ROOTFS_SIZE_MB", &rootfs), ("MAX_DEFAULTS_LENGTH", &defaults)],
            &dir,
        );
        Stack { edge, no_defaults: OnceLock::new(), mirror, dir }
    })
}

/// An edge with `MAX_DEFAULTS_LENGTH=0`, started on first use.
fn no_defaults_edge() -> &'static Edge {
    let s = stack();
    s.no_defaults.get_or_init(|| {
        let dir = s.dir.join("no-defaults");
        std::fs::create_dir_all(&dir).unwrap();
        start_edge_with(Edge::config(&s.mirror.url, &dir), &[("MAX_DEFAULTS_LENGTH", "0")], &dir)
    })
}

fn builder() -> FakeBuilder {
    stack().edge.fake_builder()
}

fn build_url() -> String {
    stack().edge.build_url()
}

/// A valid GL-MT6000 24.10.5 request; `extra` packages keep tests apart.
fn base(extra: &str) -> Value {
    json!({
        "version": "24.10.5",
        "target": "mediatek/filogic",
        "profile": "glinet,gl-mt6000",
        "packages": ["luci", extra],
    })
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

async fn post(url: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    request("POST", url, &h, Some(serde_json::to_vec(body).unwrap())).await
}

fn hash_of(a: &Answer) -> String {
    assert_eq!(a.status, 202, "{}", String::from_utf8_lossy(&a.body));
    a.json()["request_hash"].as_str().unwrap().to_string()
}

/// The queued job, which must be the one `hash` names; the builder gets
/// exactly the request that was hashed.
async fn take_job(b: &FakeBuilder, hash: &str) -> Job {
    let job = b.lease().await.expect("a queued job");
    assert_eq!(job.request_hash, hash);
    assert_eq!(request_hash(&job.request), hash, "the job's request hashes to its hash");
    b.complete(&job, Outcome::Failed { detail: "test done".into(), stdout: String::new(), stderr: String::new() }).await;
    job
}

/// A refusal: the status, a string detail naming `needle`, and no job.
async fn refused(b: &FakeBuilder, a: &Answer, status: u16, needle: &str) {
    assert_eq!(a.status, status, "{}", String::from_utf8_lossy(&a.body));
    let detail = a.detail();
    assert!(detail.contains(needle), "detail {detail:?} does not mention {needle:?}");
    assert!(b.lease().await.is_none(), "a refused request was queued");
}

#[tokio::test]
async fn client_or_user_agent_never_changes_the_hash() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    let body = base("tcpdump");
    let by_agent = hash_of(&post(&build_url(), &body, &[("user-agent", "auc (0.3.2-1)")]).await);
    let named = hash_of(&post(&build_url(), &with(body.clone(), "client", json!("luci/25.1")), &[("user-agent", "Mozilla/5.0")]).await);
    let neither = hash_of(&post(&build_url(), &body, &[]).await);
    assert_eq!(by_agent, named);
    assert_eq!(by_agent, neither);
    let job = take_job(&b, &by_agent).await;
    assert_eq!(job.request.client.as_deref(), Some("auc (0.3.2-1)"), "the first request's User-Agent");
    assert!(b.lease().await.is_none(), "three posts of one image made one job");

    // Neither client nor User-Agent: still served, with no client.
    let alone = hash_of(&post(&build_url(), &base("wireguard-tools"), &[]).await);
    assert_eq!(take_job(&b, &alone).await.request.client, None);
    // An explicit client wins over the User-Agent.
    let explicit = hash_of(&post(&build_url(), &with(base("kmod-usb3"), "client", json!("ofs/4.3.0")), &[("user-agent", "Mozilla/5.0")]).await);
    assert_eq!(take_job(&b, &explicit).await.request.client.as_deref(), Some("ofs/4.3.0"));
    // A bad client is refused, a bad User-Agent is only cleaned.
    let bad = post(&build_url(), &with(base("kmod-usb3"), "client", json!("x\ny")), &[]).await;
    refused(&b, &bad, 400, "client").await;
}

#[tokio::test]
async fn repositories_must_be_on_the_allow_list() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    let overview = get(&format!("{}/json/v1/overview.json", stack().edge.url)).await.json();
    assert_eq!(overview["server"]["repository_allow_list"], json!([ALLOWED_FEED]));

    let url = format!("{ALLOWED_FEED}/24.10/extra");
    // A package only that feed has passes: extra feeds are not looked into.
    let body = json!({
        "version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet_gl-mt6000",
        "packages": ["luci", "only-in-the-extra-feed"],
        "repositories": {"extra": url},
        "repository_keys": ["RWRNAX5vHtXWFmt+n5di7XX8rTu0w+c8X7Ihv4oCyD6tzsUwmH0A6kO0"],
    });
    let append = hash_of(&post(&build_url(), &body, &[]).await);
    let job = take_job(&b, &append).await;
    assert_eq!(job.request.repositories.get("extra"), Some(&url));
    assert_eq!(job.request.repository_keys.len(), 1);
    assert_eq!(job.request.repositories_mode, RepositoriesMode::Append);
    let replace = hash_of(&post(&build_url(), &with(body.clone(), "repositories_mode", json!("replace")), &[]).await);
    assert_ne!(replace, append);
    assert_eq!(take_job(&b, &replace).await.request.repositories_mode, RepositoriesMode::Replace);
    let no_keys = hash_of(&post(&build_url(), &with(body.clone(), "repository_keys", json!([])), &[]).await);
    assert_ne!(no_keys, append);
    take_job(&b, &no_keys).await;

    for bad in [
        "https://evil.example.org/openwrt",
        "https://feeds.example.org.evil.example/openwrt",
        "https://feeds.example.org/openwrtx",
        "https://feeds.example.org/openwrt/../../x",
        "http://feeds.example.org/openwrt",
    ] {
        let a = post(&build_url(), &with(body.clone(), "repositories", json!({"extra": bad})), &[]).await;
        refused(&b, &a, 400, "allow-list").await;
    }
    let a = post(&build_url(), &with(body.clone(), "repositories_mode", json!("merge")), &[]).await;
    refused(&b, &a, 400, "repositories_mode").await;
}

#[tokio::test]
async fn packages_versions_are_checked_like_packages() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    // Upstream's own index.json files say which versions 24.10.5 has.
    let indexed = |name: &str| {
        ["base", "packages", "luci"]
            .iter()
            .map(|feed| mirror_json(&format!("releases/24.10.5/packages/aarch64_cortex-a53/{feed}/index.json"))["packages"][name].clone())
            .find(|v| v.is_string())
            .unwrap_or_else(|| panic!("{name} is in no 24.10.5 feed"))
    };
    let (luci_base, tcpdump) = (indexed("luci-base"), indexed("tcpdump"));
    let pv = json!({"luci-base": luci_base, "tcpdump": tcpdump});
    let body = json!({"version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet_gl-mt6000", "packages_versions": pv});
    let h = hash_of(&post(&build_url(), &body, &[]).await);
    let job = take_job(&b, &h).await;
    assert_eq!(serde_json::to_value(&job.request.packages_versions).unwrap(), pv);

    // The same names as a plain list are another request.
    let listed = json!({"version": "24.10.5", "target": "mediatek/filogic", "profile": "glinet_gl-mt6000", "packages": ["luci-base", "tcpdump"]});
    let hl = hash_of(&post(&build_url(), &listed, &[]).await);
    assert_ne!(hl, h);
    take_job(&b, &hl).await;

    let mut unknown = body.clone();
    unknown["packages_versions"]["tcpdmp"] = json!("4.99.5-r1");
    let a = post(&build_url(), &unknown, &[]).await;
    assert_eq!(a.header("x-unknown-package").as_deref(), Some("tcpdmp"));
    refused(&b, &a, 422, "did you mean 'tcpdump'").await;

    let mut wrong = body.clone();
    wrong["packages_versions"]["tcpdump"] = json!("4.99.4-1");
    let a = post(&build_url(), &wrong, &[]).await;
    refused(&b, &a, 400, &format!("'tcpdump' is '{}' here, not '4.99.4-1'", tcpdump.as_str().unwrap())).await;

    let mut malformed = body.clone();
    malformed["packages_versions"]["tcpdump"] = json!("4.99 ; reboot");
    refused(&b, &post(&build_url(), &malformed, &[]).await, 400, "packages_versions").await;
}

#[tokio::test]
async fn version_code_must_be_the_release_revision() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    let code = mirror_profiles("24.10.5", "mediatek/filogic").version_code;
    let body = base("kmod-mt7915e");
    let right = hash_of(&post(&build_url(), &with(body.clone(), "version_code", json!(code)), &[]).await);
    assert_eq!(take_job(&b, &right).await.request.version_code, code);
    let any = hash_of(&post(&build_url(), &with(body.clone(), "version_code", json!("")), &[]).await);
    assert_ne!(any, right, "the revision is part of the request");
    take_job(&b, &any).await;

    let stats_before = get(&format!("{}/api/v1/stats", stack().edge.url)).await.json();
    let a = post(&build_url(), &with(body.clone(), "version_code", json!("r28000-0123456789")), &[]).await;
    refused(&b, &a, 400, &format!("Received incorrect version {code} (requested r28000-0123456789)")).await;
    assert_eq!(get(&format!("{}/api/v1/stats", stack().edge.url)).await.json(), stats_before);
    refused(&b, &post(&build_url(), &with(body, "version_code", json!("24012")), &[]).await, 400, "version_code").await;
}

#[tokio::test]
async fn rootfs_size_is_bounded_by_the_server() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    let overview = get(&format!("{}/json/v1/overview.json", stack().edge.url)).await.json();
    assert_eq!(overview["server"]["max_custom_rootfs_size_mb"], MAX_ROOTFS);
    let body = base("kmod-nft-offload");
    let small = hash_of(&post(&build_url(), &with(body.clone(), "rootfs_size_mb", json!(256)), &[]).await);
    assert_eq!(take_job(&b, &small).await.request.rootfs_size_mb, Some(256));
    let max = hash_of(&post(&build_url(), &with(body.clone(), "rootfs_size_mb", json!(MAX_ROOTFS)), &[]).await);
    assert_ne!(max, small);
    assert_eq!(take_job(&b, &max).await.request.rootfs_size_mb, Some(MAX_ROOTFS));
    let none = hash_of(&post(&build_url(), &with(body.clone(), "rootfs_size_mb", Value::Null), &[]).await);
    assert_eq!(take_job(&b, &none).await.request.rootfs_size_mb, None);
    for bad in [json!(MAX_ROOTFS + 1), json!(0), json!(-1), json!("256"), json!(1.5)] {
        refused(&b, &post(&build_url(), &with(body.clone(), "rootfs_size_mb", bad), &[]).await, 400, "rootfs_size_mb").await;
    }
    let a = post(&build_url(), &with(body, "rootfs_size_mb", json!(MAX_ROOTFS + 1)), &[]).await;
    assert!(a.detail().contains(&MAX_ROOTFS.to_string()), "the limit is named: {}", a.detail());
}

#[tokio::test]
async fn defaults_are_capped_and_can_be_switched_off() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    let overview = get(&format!("{}/json/v1/overview.json", stack().edge.url)).await.json();
    assert_eq!(overview["server"]["allow_defaults"], true);
    assert_eq!(overview["server"]["max_defaults_length"], MAX_DEFAULTS);

    let body = base("luci-app-firewall");
    let (prefix, suffix) = ("uci set system.@system[0].hostname='", "'\n");
    let script = format!("{prefix}{}{suffix}", "h".repeat(MAX_DEFAULTS - prefix.len() - suffix.len()));
    assert_eq!(script.len(), MAX_DEFAULTS);
    let with_script = hash_of(&post(&build_url(), &with(body.clone(), "defaults", json!(script)), &[]).await);
    assert_eq!(take_job(&b, &with_script).await.request.defaults.as_deref(), Some(script.as_str()));
    let empty = hash_of(&post(&build_url(), &with(body.clone(), "defaults", json!("")), &[]).await);
    assert_ne!(empty, with_script);
    assert_eq!(take_job(&b, &empty).await.request.defaults, None, "an empty script is no script");
    let too_long = format!("{script}#");
    refused(&b, &post(&build_url(), &with(body.clone(), "defaults", json!(too_long)), &[]).await, 400, &MAX_DEFAULTS.to_string()).await;
    refused(&b, &post(&build_url(), &with(body.clone(), "defaults", json!(5)), &[]).await, 400, "defaults").await;

    let off = no_defaults_edge();
    let o = get(&format!("{}/json/v1/overview.json", off.url)).await.json();
    assert_eq!(o["server"]["allow_defaults"], false);
    assert_eq!(o["server"]["max_defaults_length"], 0);
    let off_b = FakeBuilder { edge: off.url.clone(), token: off.config.builder_token.clone() };
    let url = format!("{}/api/v1/build", off.url);
    refused(&off_b, &post(&url, &with(body.clone(), "defaults", json!("echo hi")), &[]).await, 400, "does not accept").await;
    // The firmware selector always sends the (often empty) box.
    let ok = hash_of(&post(&url, &with(body, "defaults", json!("")), &[]).await);
    let job = off_b.lease().await.unwrap();
    assert_eq!(job.request_hash, ok);
    assert_eq!(job.request.defaults, None);
}

#[tokio::test]
async fn filesystem_and_diff_packages() {
    let _s = serial();
    let b = builder();
    drain(&b).await;
    let body = base("tcpdump");
    let ext4 = hash_of(&post(&build_url(), &with(body.clone(), "filesystem", json!("ext4")), &[]).await);
    assert_eq!(take_job(&b, &ext4).await.request.filesystem.as_deref(), Some("ext4"));
    refused(&b, &post(&build_url(), &with(body.clone(), "filesystem", json!("ntfs")), &[]).await, 400, "filesystem").await;

    // diff_packages: the list is the whole wanted set; a new default the list
    // lacks (fitblk on 24.10 filogic) is added instead of being removed.
    let diff_body = with(with(body.clone(), "diff_packages", json!(true)), "filesystem", json!("squashfs"));
    let diff = hash_of(&post(&build_url(), &diff_body, &[]).await);
    let job = take_job(&b, &diff).await;
    assert!(job.request.diff_packages);
    assert_eq!(job.request.packages, ["luci", "tcpdump", "fitblk"]);
    let plain = hash_of(&post(&build_url(), &with(body, "filesystem", json!("squashfs")), &[]).await);
    assert_ne!(plain, diff);
    let job = take_job(&b, &plain).await;
    assert!(!job.request.diff_packages);
    assert_eq!(job.request.packages, ["luci", "tcpdump"], "without diff_packages the defaults stay anyway");
    refused(&b, &post(&build_url(), &with(base("luci-ssl"), "diff_packages", json!("yes")), &[]).await, 400, "diff_packages").await;
}
