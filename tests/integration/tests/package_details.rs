//! `packages/{arch}-details.json`: versions, installed sizes and first
//! description lines of the arch feeds, against upstream's own `Packages`
//! files read here with the protocol crate's full parser.

use asu_protocol::opkg::{parse_packages, PackageEntry};
use integration::contract::mirror_arch_feeds;
use integration::http::get;
use integration::stack::{mirror_root, scratch, Edge, Mirror};
use serde_json::{json, Value};

/// The first stanza naming `name` (ABI suffix removed) across the feeds, in feed order.
fn upstream_entry(version: &str, arch: &str, name: &str) -> PackageEntry {
    let feeds = mirror_arch_feeds(version, arch);
    assert!(!feeds.is_empty(), "the mirror has no {arch} feeds for {version}");
    feeds
        .iter()
        .flat_map(|dir| parse_packages(&std::fs::read_to_string(mirror_root().join(dir).join("Packages")).unwrap()).unwrap())
        .find(|e| e.name_without_abi() == name)
        .unwrap_or_else(|| panic!("{name} is in no {arch} feed of {version}"))
}

#[tokio::test]
async fn details_carry_what_the_packages_files_say() {
    let dir = scratch("package-details");
    let mirror = Mirror::start(&dir);
    let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
    let base = format!("{}/json/v1/releases/24.10.5/packages", edge.url);

    let a = get(&format!("{base}/aarch64_cortex-a53-details.json")).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.header("cache-control").unwrap_or_default().contains("max-age"));
    let details = a.json();

    let want = upstream_entry("24.10.5", "aarch64_cortex-a53", "tcpdump");
    let first_line = want.description.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    assert!(!first_line.is_empty() && want.installed_size > 0, "the fixture's tcpdump lacks a description or size");
    assert_eq!(
        details["packages"]["tcpdump"],
        json!({"version": want.version, "size": want.installed_size, "description": first_line})
    );

    // Same names and versions as the plain index, whose shape is unchanged.
    let index = get(&format!("{base}/aarch64_cortex-a53-index.json")).await.json();
    let versions: serde_json::Map<String, Value> = details["packages"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, d)| (name.clone(), d["version"].clone()))
        .collect();
    assert_eq!(index, Value::Object(versions));

    let unknown = get(&format!("{base}/no_such_arch-details.json")).await;
    assert_eq!(unknown.status, 404);
    assert!(!unknown.detail().is_empty());
}
