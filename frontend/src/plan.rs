//! Which release a router should move to, and the build request for it.
//! Plain Rust: no browser needed, tested natively.

use std::collections::BTreeMap;

use asu_protocol::request::BuildRequest;
use asu_protocol::upstream::Profile;
use serde_json::Value;

use crate::json;
use crate::small;
use crate::rpc::Board;

/// The part of the edge's `/json/v1/overview.json` this app reads. The
/// protocol crate has no type for it; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OverviewView {
    pub latest: Vec<String>,
    pub branches: BTreeMap<String, BranchView>,
    pub server: Option<ServerView>,
    /// Where the release images live (`https://downloads.openwrt.org`).
    pub upstream_url: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BranchView {
    pub name: String,
    pub enabled: bool,
    pub snapshot: bool,
    pub versions: Vec<String>,
    /// `releases/{version}` or `snapshots`: where this branch's JSON lives.
    pub path: String,
    /// `target/subtarget` -> package architecture.
    pub targets: BTreeMap<String, String>,
    /// `[{source, target, revision, mandatory}]`: renames and replacements
    /// for routers moving into this branch.
    pub package_changes: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerView {
    pub version: String,
    pub contact: String,
    /// Whether a first-boot script (`defaults`) may be sent.
    pub allow_defaults: bool,
    pub max_defaults_length: usize,
    pub max_custom_rootfs_size_mb: u32,
}

impl OverviewView {
    /// Reads the overview; missing fields take defaults, wrong types are errors.
    pub fn parse(v: &Value) -> Result<OverviewView, String> {
        let flag = |v: &Value, k: &str, default: bool| v.get(k).and_then(Value::as_bool).unwrap_or(default);
        let number = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        let mut branches = BTreeMap::new();
        match v.get("branches") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (key, b) in m {
                    let mut targets = BTreeMap::new();
                    for (t, arch) in b.get("targets").and_then(Value::as_object).into_iter().flatten() {
                        targets.insert(t.clone(), arch.as_str().unwrap_or("").to_string());
                    }
                    let branch = BranchView {
                        name: json::text(b, "name"),
                        enabled: flag(b, "enabled", true),
                        snapshot: flag(b, "snapshot", false),
                        versions: json::strings(b, "versions").map_err(|e| format!("branch {key}: {e}"))?,
                        path: json::text(b, "path"),
                        targets,
                        package_changes: b.get("package_changes").and_then(Value::as_array).cloned().unwrap_or_default(),
                    };
                    branches.insert(key.clone(), branch);
                }
            }
            Some(_) => return Err("its branches are not an object".into()),
        }
        let server = v.get("server").filter(|s| s.is_object()).map(|s| ServerView {
            version: json::text(s, "version"),
            contact: json::text(s, "contact"),
            allow_defaults: flag(s, "allow_defaults", false),
            max_defaults_length: number(s, "max_defaults_length") as usize,
            max_custom_rootfs_size_mb: number(s, "max_custom_rootfs_size_mb") as u32,
        });
        Ok(OverviewView { latest: json::strings(v, "latest")?, branches, server, upstream_url: json::text(v, "upstream_url") })
    }
}

/// The device list of a release: upstream's `{path}/.overview.json`,
/// served by the edge under `/json/v1/` like the other release metadata.
/// The one place that knows this address.
pub fn devices_url(server: &str, release_path: &str) -> String {
    format!("{server}/json/v1/{release_path}/.overview.json")
}

/// The two package indexes of a release for a target: the target's own
/// (kernel modules and target packages) and the architecture's feeds.
pub fn package_index_urls(server: &str, release_path: &str, target: &str, arch: &str) -> [String; 2] {
    [
        format!("{server}/json/v1/{release_path}/targets/{target}/index.json"),
        format!("{server}/json/v1/{release_path}/packages/{arch}-index.json"),
    ]
}

/// The edge's `{arch}-details.json` (versions, sizes, descriptions).
pub fn package_details_url(server: &str, release_path: &str, arch: &str) -> String {
    format!("{server}/json/v1/{release_path}/packages/{arch}-details.json")
}

/// A release image on the download server.
pub fn release_image_url(upstream: &str, release_path: &str, target: &str, name: &str) -> String {
    let upstream = if upstream.is_empty() { "https://downloads.openwrt.org" } else { upstream.trim_end_matches('/') };
    format!("{upstream}/{release_path}/targets/{target}/{name}")
}

impl OverviewView {
    /// The enabled branch that lists `version`.
    pub fn branch_of(&self, version: &str) -> Option<&BranchView> {
        self.branches.values().find(|b| b.enabled && b.versions.iter().any(|v| v == version))
    }

    /// `releases/24.10.5` or `snapshots`: where `version`'s JSON lives.
    pub fn release_path(&self, version: &str) -> String {
        match self.branch_of(version) {
            Some(b) => branch_path(b, version),
            None if version.eq_ignore_ascii_case("snapshot") => "snapshots".into(),
            None => format!("releases/{version}"),
        }
    }

    /// The package architecture of `target` in `version`'s branch.
    pub fn arch(&self, version: &str, target: &str) -> Option<String> {
        self.branch_of(version)?.targets.get(target).cloned()
    }

    /// Every version of the enabled branches, newest first.
    pub fn versions_newest_first(&self) -> Vec<String> {
        let mut all: Vec<String> =
            self.branches.values().filter(|b| b.enabled).flat_map(|b| b.versions.iter().cloned()).collect();
        sort_newest_first(&mut all);
        all.dedup();
        all
    }

    /// The newest release (else snapshot) of each enabled branch: whose
    /// device lists together cover the devices the server knows.
    pub fn newest_per_branch(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .branches_newest_first()
            .into_iter()
            .filter(|(_, b)| b.enabled)
            .filter_map(|(_, b)| b.versions.iter().max_by_key(|v| (!is_snapshot(v), version_key(v))).cloned())
            .collect();
        out.dedup();
        out
    }

    /// The release to offer first: the newest stable one (the first of
    /// `latest` the server lists), else the newest final release.
    pub fn default_version(&self) -> Option<String> {
        let listed = |v: &String| self.branch_of(v).is_some();
        self.latest
            .iter()
            .filter(|v| listed(v))
            .max_by_key(|v| version_key(v))
            .cloned()
            .or_else(|| {
                self.versions_newest_first().into_iter().find(|v| !is_snapshot(v) && !v.contains("-rc"))
            })
            .or_else(|| self.versions_newest_first().into_iter().next())
    }

    /// The versions offered for a device found in `found_in` releases: every
    /// version of the branches those releases belong to, newest first.
    /// Without any (device list unknown) every version.
    pub fn versions_for_device(&self, found_in: &[String]) -> Vec<String> {
        let branches: Vec<&BranchView> = found_in.iter().filter_map(|v| self.branch_of(v)).collect();
        if branches.is_empty() {
            return self.versions_newest_first();
        }
        self.versions_newest_first()
            .into_iter()
            .filter(|v| branches.iter().any(|b| b.versions.contains(v)))
            .collect()
    }

    /// The `package_changes` of the branches a router passes when it moves
    /// from `current` to `target` (after the current branch, up to the target's).
    pub fn changes_between(&self, current: &str, target: &str) -> Vec<Value> {
        let branch_key = |v: &str| version_key(&branch_name(v));
        let (from, to) = (branch_key(current), branch_key(target));
        let mut branches: Vec<&BranchView> = self
            .branches
            .values()
            .filter(|b| b.enabled)
            .filter(|b| {
                let k = b.versions.first().map(|v| branch_key(v)).unwrap_or_else(|| version_key(&b.name));
                k > from && k <= to
            })
            .collect();
        small::sort_small(&mut branches, |b| b.versions.first().map(|v| branch_key(v)));
        branches.into_iter().flat_map(|b| b.package_changes.iter().cloned()).collect()
    }

    /// Branches newest first (by their newest version, then by name).
    pub fn branches_newest_first(&self) -> Vec<(&String, &BranchView)> {
        let mut list: Vec<_> = self.branches.iter().collect();
        let key = |b: &BranchView, name: &str| {
            b.versions.iter().filter_map(|v| version_key(v)).max().or_else(|| version_key(name))
        };
        small::sort_small(&mut list, |(n, b)| (std::cmp::Reverse(key(b, n)), std::cmp::Reverse(n.as_str())));
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

/// `24.10.5` -> `24.10`; `24.10-SNAPSHOT` -> `24.10`; `SNAPSHOT` stays.
pub fn branch_name(version: &str) -> String {
    if version.eq_ignore_ascii_case("snapshot") {
        return "SNAPSHOT".into();
    }
    let base = version.trim_end_matches("-SNAPSHOT");
    base.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// Sorts versions newest first (one shared sort keeps the wasm small).
pub fn sort_newest_first(versions: &mut [String]) {
    small::sort_small(versions, |v| std::cmp::Reverse(version_key(v)));
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
    small::sort_small(&mut found, |(key, _)| std::cmp::Reverse(*key));
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
        let unreadable = |e: String| format!("the device description is unreadable ({e})");
        let Value::Object(extra) = json else { return Err(unreadable("not an object".into())) };
        let profile = Profile {
            device_packages: json::strings(json, "device_packages").map_err(unreadable)?,
            image_prefix: json::text(json, "image_prefix"),
            images: json::images(json).map_err(unreadable)?,
            supported_devices: json::strings(json, "supported_devices").map_err(unreadable)?,
            titles: json::titles(json).map_err(unreadable)?,
            // Everything, for the fields this type does not name.
            extra: extra.clone(),
        };
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

/// A device in one release, as the device page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRelease {
    pub version: String,
    /// The profile id the server matched (`glinet_gl-mt6000`).
    pub id: String,
    pub title: String,
    pub version_code: String,
    /// Linux version, when the profiles.json says (24.10 and later).
    pub kernel: Option<String>,
    /// Package architecture (`aarch64_cortex-a53`), when it says.
    pub arch: Option<String>,
    pub images: Vec<asu_protocol::upstream::Image>,
    pub default_packages: Vec<String>,
    pub device_packages: Vec<String>,
}

impl DeviceRelease {
    pub fn from_profile_json(version: &str, json: &Value, fallback_id: &str) -> Result<DeviceRelease, String> {
        let plan = UpgradePlan::from_profile_json(version, json, fallback_id)?;
        let extra = &plan.profile.extra;
        let text = |k: &str| extra.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let default_packages = extra
            .get("default_packages")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let kernel = extra.get("linux_kernel").and_then(|k| k.get("version")).and_then(Value::as_str).map(str::to_string);
        Ok(DeviceRelease {
            version: version.to_string(),
            id: text("id").unwrap_or_else(|| fallback_id.to_string()),
            title: plan.title,
            version_code: plan.version_code,
            kernel,
            arch: text("arch_packages"),
            images: plan.profile.images,
            default_packages,
            device_packages: plan.profile.device_packages,
        })
    }

    /// The packages the image has without edits.
    pub fn defaults(&self) -> Vec<String> {
        crate::packages::profile_defaults(&self.default_packages, &self.device_packages)
    }
}

/// The router-free page's build: a device's defaults with the user's
/// edits (`packages` in the `a, -b` form), a first-boot script and a
/// root filesystem size.
pub fn custom_build_request(
    version: &str,
    target: &str,
    profile: &str,
    packages: Vec<String>,
    defaults: Option<String>,
    rootfs_size_mb: Option<u32>,
) -> BuildRequest {
    let mut request = BuildRequest::new(version, target, profile);
    request.packages = packages;
    request.defaults = defaults.filter(|d| !d.trim().is_empty());
    request.rootfs_size_mb = rootfs_size_mb;
    request.client = Some(client_name());
    request
}

/// Reads a root filesystem size typed by the user: empty is the
/// release's default; else whole MB from 1 to `max` (0: no known maximum).
pub fn parse_rootfs_size(text: &str, max: u32) -> Result<Option<u32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(n) if n > 0 && (max == 0 || n <= max) => Ok(Some(n)),
        _ if max > 0 => Err(format!("Give a whole number of MB from 1 to {max}, or leave it empty.")),
        _ => Err("Give a whole number of MB, or leave it empty.".into()),
    }
}

pub fn client_name() -> String {
    format!("asu-rs/{}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn overview() -> OverviewView {
        OverviewView::parse(&json!({
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
            "server": {"version": "0.1.0", "contact": "ops@example.org", "allow_defaults": true,
                       "max_defaults_length": 20480, "max_custom_rootfs_size_mb": 1024}
        }))
        .unwrap()
    }

    #[test]
    fn overview_fields() {
        let o = overview();
        assert_eq!(o.latest, ["24.10.5", "23.05.4"]);
        assert!(!o.branches["22.03"].enabled);
        assert!(o.branches["SNAPSHOT"].snapshot);
        assert_eq!(o.branches["23.05"].targets["x86/64"], "x86_64");
        let s = o.server.unwrap();
        assert_eq!((s.allow_defaults, s.max_defaults_length, s.max_custom_rootfs_size_mb), (true, 20480, 1024));
        assert!(OverviewView::parse(&json!({"branches": []})).is_err());
        assert!(OverviewView::parse(&json!({"latest": "x"})).is_err());
        assert_eq!(OverviewView::parse(&json!({})).unwrap(), OverviewView::default());
    }

    fn board(version: &str, revision: &str, target: &str) -> Board {
        Board::parse(&json!({
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
    fn releases_for_the_router_free_page() {
        let o = overview();
        assert_eq!(o.release_path("24.10.5"), "releases/24.10.5");
        assert_eq!(o.release_path("SNAPSHOT"), "snapshots");
        assert_eq!(o.arch("23.05.4", "x86/64").as_deref(), Some("x86_64"));
        assert_eq!(o.arch("24.10.5", "x86/64"), None);
        // 22.03 is disabled, so it is not offered.
        assert_eq!(
            o.versions_newest_first(),
            ["SNAPSHOT", "24.10-SNAPSHOT", "24.10.5", "24.10.0-rc7", "23.05.4", "23.05.3"]
        );
        // A branch's newest release, not its snapshot, stands for it.
        assert_eq!(o.newest_per_branch(), ["SNAPSHOT", "24.10.5", "23.05.4"]);
        assert_eq!(o.default_version().as_deref(), Some("24.10.5"));
        let mut no_latest = o.clone();
        no_latest.latest.clear();
        assert_eq!(no_latest.default_version().as_deref(), Some("24.10.5"));
        assert_eq!(o.versions_for_device(&["23.05.4".into()]), ["23.05.4", "23.05.3"]);
        assert_eq!(o.versions_for_device(&[]).len(), 6);
    }

    #[test]
    fn addresses() {
        assert_eq!(devices_url("http://e", "releases/23.05.4"), "http://e/json/v1/releases/23.05.4/.overview.json");
        assert_eq!(
            package_index_urls("http://e", "releases/24.10.5", "mediatek/filogic", "aarch64_cortex-a53"),
            [
                "http://e/json/v1/releases/24.10.5/targets/mediatek/filogic/index.json",
                "http://e/json/v1/releases/24.10.5/packages/aarch64_cortex-a53-index.json"
            ]
        );
        assert_eq!(
            package_details_url("http://e", "releases/24.10.5", "x86_64"),
            "http://e/json/v1/releases/24.10.5/packages/x86_64-details.json"
        );
        assert_eq!(
            release_image_url("", "releases/24.10.5", "x86/64", "a.img.gz"),
            "https://downloads.openwrt.org/releases/24.10.5/targets/x86/64/a.img.gz"
        );
        assert_eq!(release_image_url("http://m/", "snapshots", "x86/64", "b"), "http://m/snapshots/targets/x86/64/b");
    }

    #[test]
    fn package_changes_of_the_branches_passed() {
        let mut o = overview();
        o.branches.get_mut("24.10").unwrap().package_changes = vec![json!({"source": "auc", "target": "owut"})];
        o.branches.get_mut("23.05").unwrap().package_changes = vec![json!({"source": "old", "target": "new"})];
        assert_eq!(o.changes_between("23.05.4", "24.10.5"), [json!({"source": "auc", "target": "owut"})]);
        assert_eq!(o.changes_between("22.03.5", "24.10.5").len(), 2);
        assert!(o.changes_between("24.10.0", "24.10.5").is_empty());
        assert_eq!(branch_name("24.10.5"), "24.10");
        assert_eq!(branch_name("24.10-SNAPSHOT"), "24.10");
        assert_eq!(branch_name("snapshot"), "SNAPSHOT");
    }

    #[test]
    fn device_release_from_the_real_24_10_5_profile() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/upstream/releases/24.10.5/targets/mediatek/filogic/profiles.json");
        let profiles: asu_protocol::upstream::ProfilesJson = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let merged = Value::Object(profiles.merged_profile("glinet_gl-mt6000").unwrap());
        let d = DeviceRelease::from_profile_json("24.10.5", &merged, "x").unwrap();
        assert_eq!(d.id, "glinet_gl-mt6000");
        assert_eq!(d.title, "GL.iNet GL-MT6000");
        assert_eq!(d.kernel.as_deref(), Some(profiles.linux_kernel.as_ref().unwrap().version.as_str()));
        assert_eq!(d.arch.as_deref(), Some(profiles.arch_packages.as_str()));
        assert_eq!(d.version_code, profiles.version_code);
        let p = &profiles.profiles["glinet_gl-mt6000"];
        assert_eq!(d.images.len(), p.images.len());
        let defaults = d.defaults();
        assert!(defaults.contains(&"fitblk".to_string()));
        for dev in &p.device_packages {
            match dev.strip_prefix('-') {
                Some(dropped) => assert!(!defaults.contains(&dropped.to_string()), "{dropped}"),
                None => assert!(defaults.contains(dev), "{dev}"),
            }
        }
        // 23.05 profiles have no kernel block.
        let old = DeviceRelease::from_profile_json("23.05.4", &json!({"id": "generic", "titles": []}), "generic").unwrap();
        assert_eq!(old.kernel, None);
        assert_eq!(old.title, "generic");
    }

    #[test]
    fn custom_build_request_is_accepted_by_the_edge_parser() {
        let req = custom_build_request(
            "24.10.5",
            "mediatek/filogic",
            "glinet_gl-mt6000",
            vec!["tcpdump".into(), "-ppp".into()],
            Some("uci set system.@system[0].hostname=x\n".into()),
            Some(256),
        );
        let wire = serde_json::to_value(&req).unwrap();
        assert_eq!(wire["packages"], json!(["tcpdump", "-ppp"]));
        assert_eq!(wire["diff_packages"], false);
        assert_eq!(wire["rootfs_size_mb"], 256);
        assert_eq!(wire["profile"], "glinet_gl-mt6000");
        let parsed = BuildRequest::from_json(&serde_json::to_vec(&req).unwrap(), &asu_protocol::request::Limits::default()).unwrap();
        assert_eq!(parsed, req);
        // A blank script is no script.
        let blank = custom_build_request("24.10.5", "x86/64", "generic", vec![], Some("  \n".into()), None);
        assert_eq!(blank.defaults, None);
    }

    #[test]
    fn rootfs_sizes() {
        assert_eq!(parse_rootfs_size(" ", 1024), Ok(None));
        assert_eq!(parse_rootfs_size("256", 1024), Ok(Some(256)));
        assert_eq!(parse_rootfs_size("1024", 1024), Ok(Some(1024)));
        assert!(parse_rootfs_size("1025", 1024).unwrap_err().contains("1 to 1024"));
        assert!(parse_rootfs_size("0", 0).is_err());
        assert!(parse_rootfs_size("12.5", 0).is_err());
        assert_eq!(parse_rootfs_size("5000", 0), Ok(Some(5000)));
    }

    #[test]
    fn revision_numbers() {
        assert_eq!(revision_number("r29087-d9c5716d1d"), Some(29087));
        assert_eq!(revision_number("unknown"), None);
    }
}
