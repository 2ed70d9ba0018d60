//! Which release a router should move to, and the build request for it.
//! Plain Rust: no browser needed, tested natively.

use std::collections::BTreeMap;

use asu_protocol::request::BuildRequest;
use asu_protocol::upstream::Profile;
use serde::Deserialize;
use serde_json::Value;

use crate::rpc::Board;

/// The part of the edge's `/json/v1/overview.json` this app reads. The
/// protocol crate has no type for it; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct OverviewView {
    #[serde(default)]
    pub latest: Vec<String>,
    #[serde(default)]
    pub branches: BTreeMap<String, BranchView>,
    #[serde(default)]
    pub server: Option<ServerView>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BranchView {
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub snapshot: bool,
    #[serde(default)]
    pub versions: Vec<String>,
    /// `releases/{version}` or `snapshots`: where this branch's JSON lives.
    #[serde(default)]
    pub path: String,
    /// `target/subtarget` -> package architecture.
    #[serde(default)]
    pub targets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct ServerView {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub contact: String,
}

fn yes() -> bool {
    true
}

impl OverviewView {
    /// Branches newest first (by their newest version, then by name).
    pub fn branches_newest_first(&self) -> Vec<(&String, &BranchView)> {
        let mut list: Vec<_> = self.branches.iter().collect();
        let key = |b: &BranchView, name: &str| {
            b.versions.iter().filter_map(|v| version_key(v)).max().or_else(|| version_key(name))
        };
        list.sort_by(|(an, a), (bn, b)| key(b, bn).cmp(&key(a, an)).then(bn.cmp(an)));
        list
    }
}

/// Sort key of an OpenWrt version: `SNAPSHOT` above everything,
/// `24.10-SNAPSHOT` above every 24.10.x release, a release above its
/// release candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionKey([u32; 4]);

pub fn version_key(version: &str) -> Option<VersionKey> {
    const TOP: u32 = u32::MAX;
    let number = |s: &str| s.parse::<u32>().ok();
    if version.eq_ignore_ascii_case("snapshot") {
        return Some(VersionKey([TOP; 4]));
    }
    if let Some(branch) = version.strip_suffix("-SNAPSHOT") {
        let mut parts = branch.split('.');
        let major = number(parts.next()?)?;
        let minor = number(parts.next()?)?;
        return Some(VersionKey([major, minor, TOP, TOP]));
    }
    let (base, pre) = match version.split_once('-') {
        Some((b, p)) => (b, Some(p)),
        None => (version, None),
    };
    let mut parts = base.split('.');
    let major = number(parts.next()?)?;
    let minor = number(parts.next()?)?;
    let patch = match parts.next() {
        Some(p) => number(p)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    // A final release sorts after its candidates; other suffixes (custom
    // builds) sort before the release they are based on.
    let pre_rank = match pre {
        None => TOP - 1,
        Some(p) => p.strip_prefix("rc").and_then(number).unwrap_or(0),
    };
    Some(VersionKey([major, minor, patch, pre_rank]))
}

pub fn is_snapshot(version: &str) -> bool {
    version.to_ascii_uppercase().ends_with("SNAPSHOT")
}

/// The number of an OpenWrt revision (`r29087-d9c5716d1d` -> 29087).
pub fn revision_number(revision: &str) -> Option<u64> {
    let digits: String = revision.strip_prefix('r')?.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// A release worth asking about, with the folder its JSON lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub version: String,
    /// `releases/24.10.5` or `snapshots`.
    pub path: String,
}

impl Candidate {
    /// The device's merged profile: `/json/v1/{path}/targets/{target}/{board}.json`.
    pub fn profile_url(&self, server: &str, target: &str, board_name: &str) -> String {
        format!("{server}/json/v1/{}/targets/{target}/{board_name}.json", self.path)
    }
}

fn branch_path(branch: &BranchView, version: &str) -> String {
    if branch.path.is_empty() {
        if version.eq_ignore_ascii_case("snapshot") {
            "snapshots".to_string()
        } else {
            format!("releases/{version}")
        }
    } else {
        branch.path.replace("{version}", version)
    }
}

/// The releases newer than `current`, newest first. Snapshots count only
/// when the router runs one; then its own snapshot version is a candidate
/// too (a newer build of it, checked by revision later). Branches that list
/// targets without the router's target are skipped.
pub fn upgrade_candidates(overview: &OverviewView, current: &str, target: &str) -> Vec<Candidate> {
    let on_snapshot = is_snapshot(current);
    let current_key = version_key(current);
    let mut found: Vec<(VersionKey, Candidate)> = Vec::new();
    for branch in overview.branches.values() {
        if !branch.enabled || (!branch.targets.is_empty() && !branch.targets.contains_key(target)) {
            continue;
        }
        for version in &branch.versions {
            let Some(key) = version_key(version) else { continue };
            if is_snapshot(version) && !on_snapshot {
                continue;
            }
            let newer = match current_key {
                Some(cur) => key > cur || (on_snapshot && version == current),
                // An unreadable installed version: offer the releases anyway.
                None => true,
            };
            if newer && !found.iter().any(|(_, c)| &c.version == version) {
                found.push((key, Candidate { version: version.clone(), path: branch_path(branch, version) }));
            }
        }
    }
    found.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
    found.into_iter().map(|(_, c)| c).collect()
}

/// A release the device is in, as its profile JSON describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradePlan {
    pub version: String,
    /// `r29087-d9c5716d1d`, empty when the profile does not say.
    pub version_code: String,
    pub title: String,
    pub profile: Profile,
}

impl UpgradePlan {
    /// Reads the merged profile JSON of `version`; `None` when it is not an
    /// object of the expected shape.
    pub fn from_profile_json(version: &str, json: &Value, fallback_title: &str) -> Result<UpgradePlan, String> {
        let profile: Profile =
            serde_json::from_value(json.clone()).map_err(|e| format!("the device description is unreadable ({e})"))?;
        let version_code = profile.extra.get("version_code").and_then(Value::as_str).unwrap_or("").to_string();
        let title = profile
            .titles
            .first()
            .map(|t| t.display())
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| fallback_title.to_string());
        Ok(UpgradePlan { version: version.to_string(), version_code, title, profile })
    }

    /// "OpenWrt 24.10.5 r29087-d9c5716d1d".
    pub fn display(&self) -> String {
        if self.version_code.is_empty() {
            format!("OpenWrt {}", self.version)
        } else {
            format!("OpenWrt {} {}", self.version, self.version_code)
        }
    }

    /// On a snapshot, the same version is only an upgrade if it is a later build.
    pub fn is_upgrade_for(&self, board: &Board) -> bool {
        if self.version != board.release.version {
            return true;
        }
        match (revision_number(&self.version_code), revision_number(&board.release.revision)) {
            (Some(new), Some(old)) => new > old,
            _ => false,
        }
    }
}

/// The request our app sends: the router's own package choice as the
/// complete wanted set, for its board, filesystem and target.
pub fn build_request(version: &str, board: &Board, packages: &[String]) -> BuildRequest {
    let mut request = BuildRequest::new(version, &board.release.target, &board.board_name);
    let mut packages = packages.to_vec();
    packages.sort();
    packages.dedup();
    request.packages = packages;
    request.diff_packages = true;
    request.filesystem = Some(board.rootfs_type.clone()).filter(|f| !f.is_empty());
    request.client = Some(client_name());
    request
}

pub fn client_name() -> String {
    format!("asu-rs/{}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn overview() -> OverviewView {
        serde_json::from_value(json!({
            "latest": ["24.10.5", "23.05.4"],
            "branches": {
                "23.05": {"name": "23.05", "enabled": true, "snapshot": false, "versions": ["23.05.4", "23.05.3"],
                          "path": "releases/{version}", "targets": {"mediatek/filogic": "aarch64_cortex-a53", "x86/64": "x86_64"}},
                "24.10": {"name": "24.10", "enabled": true, "snapshot": false, "versions": ["24.10.5", "24.10.0-rc7", "24.10-SNAPSHOT"],
                          "path": "releases/{version}", "targets": {"mediatek/filogic": "aarch64_cortex-a53"}},
                "22.03": {"name": "22.03", "enabled": false, "versions": ["22.03.7"], "path": "releases/{version}"},
                "SNAPSHOT": {"name": "SNAPSHOT", "snapshot": true, "versions": ["SNAPSHOT"], "path": "snapshots",
                             "targets": {"mediatek/filogic": "aarch64_cortex-a53", "x86/64": "x86_64"}}
            },
            "server": {"version": "0.1.0", "contact": "ops@example.org"}
        }))
        .unwrap()
    }

    fn board(version: &str, revision: &str, target: &str) -> Board {
        serde_json::from_value(json!({
            "model": "GL.iNet GL-MT6000", "board_name": "glinet,gl-mt6000", "rootfs_type": "squashfs",
            "release": {"distribution": "OpenWrt", "version": version, "revision": revision, "target": target}
        }))
        .unwrap()
    }

    #[test]
    fn versions_order_like_openwrt() {
        let mut v = vec!["SNAPSHOT", "23.05.4", "24.10.0-rc7", "24.10-SNAPSHOT", "24.10.0", "23.05.10", "19.07.10"];
        v.sort_by_key(|s| version_key(s).unwrap());
        assert_eq!(v, ["19.07.10", "23.05.4", "23.05.10", "24.10.0-rc7", "24.10.0", "24.10-SNAPSHOT", "SNAPSHOT"]);
        assert_eq!(version_key("garbage"), None);
        assert_eq!(version_key("1.2.3.4"), None);
        assert!(version_key("24.10.5-custom").unwrap() < version_key("24.10.5").unwrap());
    }

    #[test]
    fn release_router_gets_newer_releases_only() {
        let c = upgrade_candidates(&overview(), "23.05.3", "mediatek/filogic");
        let names: Vec<_> = c.iter().map(|c| c.version.as_str()).collect();
        assert_eq!(names, ["24.10.5", "24.10.0-rc7", "23.05.4"]);
        assert_eq!(c[0].path, "releases/24.10.5");
    }

    #[test]
    fn branches_without_the_target_are_skipped() {
        let names: Vec<_> =
            upgrade_candidates(&overview(), "23.05.3", "x86/64").into_iter().map(|c| c.version).collect();
        assert_eq!(names, ["23.05.4"]);
    }

    #[test]
    fn newest_router_has_no_candidates() {
        assert!(upgrade_candidates(&overview(), "24.10.5", "mediatek/filogic").is_empty());
    }

    #[test]
    fn snapshot_router_sees_snapshots_including_its_own() {
        let c = upgrade_candidates(&overview(), "24.10-SNAPSHOT", "mediatek/filogic");
        let names: Vec<_> = c.iter().map(|c| c.version.as_str()).collect();
        assert_eq!(names, ["SNAPSHOT", "24.10-SNAPSHOT"]);
        assert_eq!(c[0].path, "snapshots");
        assert_eq!(c[1].path, "releases/24.10-SNAPSHOT");
    }

    #[test]
    fn profile_url_keeps_the_comma() {
        let c = Candidate { version: "24.10.5".into(), path: "releases/24.10.5".into() };
        assert_eq!(
            c.profile_url("http://127.0.0.1:8787", "mediatek/filogic", "glinet,gl-mt6000"),
            "http://127.0.0.1:8787/json/v1/releases/24.10.5/targets/mediatek/filogic/glinet,gl-mt6000.json"
        );
    }

    #[test]
    fn plan_reads_title_and_revision() {
        let json = json!({"id": "glinet_gl-mt6000", "target": "mediatek/filogic", "version_code": "r29087-d9c5716d1d",
                          "version_number": "24.10.5", "titles": [{"vendor": "GL.iNet", "model": "GL-MT6000"}],
                          "images": [], "supported_devices": ["glinet,gl-mt6000"]});
        let plan = UpgradePlan::from_profile_json("24.10.5", &json, "fallback").unwrap();
        assert_eq!(plan.title, "GL.iNet GL-MT6000");
        assert_eq!(plan.display(), "OpenWrt 24.10.5 r29087-d9c5716d1d");
        assert!(plan.is_upgrade_for(&board("23.05.4", "r24106-10cc5fcd00", "mediatek/filogic")));
        let untitled = UpgradePlan::from_profile_json("24.10.5", &json!({"titles": []}), "GL.iNet GL-MT6000").unwrap();
        assert_eq!(untitled.title, "GL.iNet GL-MT6000");
        assert!(UpgradePlan::from_profile_json("24.10.5", &json!({"titles": "x"}), "f").is_err());
    }

    #[test]
    fn same_snapshot_needs_a_later_revision() {
        let json = json!({"version_code": "r28000-aaaaaaaaaa"});
        let plan = UpgradePlan::from_profile_json("SNAPSHOT", &json, "x").unwrap();
        assert!(plan.is_upgrade_for(&board("SNAPSHOT", "r27999-bbbbbbbbbb", "x86/64")));
        assert!(!plan.is_upgrade_for(&board("SNAPSHOT", "r28000-aaaaaaaaaa", "x86/64")));
        assert!(!plan.is_upgrade_for(&board("SNAPSHOT", "r28100-cccccccccc", "x86/64")));
    }

    #[test]
    fn build_request_has_the_wire_shape() {
        let b = board("23.05.4", "r24106-10cc5fcd00", "mediatek/filogic");
        let packages = vec!["luci".to_string(), "base-files".to_string(), "luci-app-attendedsysupgrade".to_string()];
        let req = build_request("24.10.5", &b, &packages);
        let wire = serde_json::to_value(&req).unwrap();
        assert_eq!(wire["version"], "24.10.5");
        assert_eq!(wire["target"], "mediatek/filogic");
        assert_eq!(wire["profile"], "glinet,gl-mt6000");
        assert_eq!(wire["packages"], json!(["base-files", "luci", "luci-app-attendedsysupgrade"]));
        assert_eq!(wire["diff_packages"], true);
        assert_eq!(wire["filesystem"], "squashfs");
        assert_eq!(wire["client"], format!("asu-rs/{}", env!("CARGO_PKG_VERSION")));
        // The edge must accept what we send.
        let limits = asu_protocol::request::Limits::default();
        let parsed = BuildRequest::from_json(&serde_json::to_vec(&req).unwrap(), &limits).unwrap();
        assert_eq!(parsed, req);
    }

    #[test]
    fn branches_sort_newest_first() {
        let o = overview();
        let names: Vec<_> = o.branches_newest_first().into_iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["SNAPSHOT", "24.10", "23.05", "22.03"]);
    }

    #[test]
    fn revision_numbers() {
        assert_eq!(revision_number("r29087-d9c5716d1d"), Some(29087));
        assert_eq!(revision_number("unknown"), None);
    }
}
