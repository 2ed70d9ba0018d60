//! The builder re-checks every leased job (jobcheck) instead of trusting
//! the edge. The two checks must agree: a request the edge's parser accepts
//! must not be refused by the builder (it would queue, lease and fail).
//! Property test, `ASU_PROPTEST_CASES` cases (default 1000).

use asu_protocol::builder_api::Job;
use asu_protocol::request::{BuildRequest, Limits};
use builder::jobcheck::check_job;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

fn config() -> Config {
    let cases = std::env::var("ASU_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9][a-z0-9._+-]{0,12}",
        1 => "-[a-z0-9][a-z0-9.-]{0,8}",
        1 => "[a-zA-Z0-9._+,/ -]{0,6}",
        1 => "[a-z]{126,130}",
    ]
}

fn request_body() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("24.10.5".to_string()), Just("24.10-SNAPSHOT".to_string()), "[A-Za-z0-9][A-Za-z0-9.-]{0,33}"],
        prop_oneof![Just(String::new()), "r[0-9]{1,10}-[0-9a-f]{1,40}", "r[0-9]{1,4}\\+[0-9]{1,3}-[0-9a-f]{1,12}"],
        prop_oneof![Just("mediatek/filogic".to_string()), "[a-z0-9][a-z0-9_-]{0,8}/[a-z0-9][a-z0-9_-]{0,8}"],
        prop_oneof![Just("glinet,gl-mt6000".to_string()), "[A-Za-z0-9][A-Za-z0-9._+,-]{0,20}"],
        prop_oneof![
            3 => prop::collection::vec(name(), 0..8),
            1 => (1000usize..1030).prop_map(|n| (0..n).map(|i| format!("pkg{i}")).collect()),
        ],
        prop_oneof![
            3 => prop::collection::btree_map(name(), "[0-9a-z.~:+_-]{1,12}", 0..4),
            1 => (1usize..40).prop_map(|n| (0..n).map(|i| (format!("ver{i}"), "1.0-r1".to_string())).collect()),
        ],
        any::<bool>(),
        prop::option::of(prop_oneof!["[ -~\\n]{0,64}", Just("x".repeat(20_480))]),
        prop::option::of(0u32..1100),
        prop::option::of(prop::sample::select(&["squashfs", "ext4", "ubifs", "erofs", "jffs2", "btrfs", "ntfs"][..])),
        prop::option::of("[ -~]{0,20}"),
        (
            prop::collection::btree_map(
                "[A-Za-z0-9_-]{1,12}",
                prop_oneof![
                    "https://feeds\\.example\\.org/openwrt(/[a-z0-9._~+-]{1,8}){0,3}",
                    "https?://[a-z.]{1,12}/[ -~]{0,12}",
                ],
                0..3,
            ),
            prop::sample::select(&["append", "replace"][..]),
            prop::collection::vec("[ -~\\n]{0,40}", 0..3),
        ),
    )
        .prop_map(|(version, version_code, target, profile, packages, versions, diff, defaults, rootfs, fs, client, (repos, mode, keys))| {
            json!({
                "version": version, "version_code": version_code, "target": target, "profile": profile,
                "packages": packages, "packages_versions": versions, "diff_packages": diff,
                "defaults": defaults, "rootfs_size_mb": rootfs, "filesystem": fs, "client": client,
                "repositories": repos, "repositories_mode": mode, "repository_keys": keys,
            })
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_request_the_edge_accepts_is_a_job_the_builder_takes(body in request_body()) {
        let limits = Limits { repository_allow_list: vec!["https://feeds.example.org/openwrt".into()], ..Limits::default() };
        let Ok(request) = BuildRequest::from_json(&serde_json::to_vec(&body).unwrap(), &limits) else {
            return Ok(());
        };
        // The edge hands the builder the request as JSON, with the profile resolved to an id.
        let mut request: BuildRequest = serde_json::from_slice(&serde_json::to_vec(&request).unwrap()).unwrap();
        request.profile = request.profile.replace(',', "_");
        let job = Job {
            request_hash: asu_protocol::canonical::request_hash(&request),
            lease: "0123456789abcdef0123456789abcdef".into(),
            lease_seconds: 60,
            request,
        };
        let verdict = check_job(&job);
        prop_assert!(
            verdict.is_ok(),
            "the edge accepts this request ({} packages, {} versioned) but the builder refuses the job: {:?}",
            job.request.packages.len(),
            job.request.packages_versions.len(),
            verdict
        );
    }
}
