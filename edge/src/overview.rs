//! `/json/v1/overview.json` and `branches.json`, derived from the upstream
//! `.versions.json` plus the `.targets.json` of each version that is
//! actually published.

use std::collections::{BTreeMap, BTreeSet};

use asu_protocol::package_changes::{published_for, ChangeTable};
use asu_protocol::request::Limits;
use asu_protocol::upstream::{Targets, Versions};
use serde_json::{json, Map, Value};

use crate::release::{branch_of, compare_versions, is_final_release};
use crate::ttl::is_snapshot;

/// Versions worth probing upstream: every listed version, the named
/// stable/oldstable/upcoming ones, each branch's `-SNAPSHOT` and `SNAPSHOT`.
pub fn candidate_versions(versions: &Versions) -> Vec<String> {
    let mut all: BTreeSet<String> = versions.versions_list.iter().cloned().collect();
    for v in [&versions.stable_version, &versions.oldstable_version, &versions.upcoming_version] {
        if !v.is_empty() {
            all.insert(v.clone());
        }
    }
    let branches: BTreeSet<String> = all.iter().filter(|v| !is_snapshot(v)).map(|v| branch_of(v)).collect();
    for b in branches {
        all.insert(format!("{b}-SNAPSHOT"));
    }
    all.insert("SNAPSHOT".into());
    let mut list: Vec<String> = all.into_iter().collect();
    list.sort_by(|a, b| compare_versions(b, a));
    list
}

/// What the overview says about this server.
pub struct ServerInfo<'a> {
    pub version: &'a str,
    pub contact: &'a str,
    pub upstream_url: &'a str,
    pub limits: &'a Limits,
}

/// The branch objects, keyed by branch name. `present` maps each published
/// version to its targets; versions missing from it are left out.
/// `package_changes` lists every change of the tables up to the branch.
pub fn branches(present: &BTreeMap<String, Targets>, tables: &[ChangeTable]) -> BTreeMap<String, Value> {
    let mut grouped: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for version in present.keys() {
        grouped.entry(branch_of(version)).or_default().push(version);
    }
    grouped
        .into_iter()
        .map(|(name, mut versions)| {
            // Newest release first, the branch snapshot last.
            versions.sort_by(|a, b| {
                is_snapshot(a).cmp(&is_snapshot(b)).then_with(|| compare_versions(b, a))
            });
            let newest = versions[0];
            let snapshot = versions.iter().all(|v| is_snapshot(v));
            let (path, path_packages) = if name == "SNAPSHOT" {
                ("snapshots".to_string(), "snapshots/packages".to_string())
            } else {
                ("releases/{version}".to_string(), format!("releases/packages-{name}"))
            };
            let branch = json!({
                "name": name,
                "enabled": true,
                "snapshot": snapshot,
                "versions": versions,
                "targets": present[newest],
                "path": path,
                "path_packages": path_packages,
                "package_changes": published_for(tables, &name),
            });
            (name, branch)
        })
        .collect()
}

/// `latest`: the upstream stable and oldstable versions when published,
/// else the newest final release of the two newest branches.
pub fn latest(versions: &Versions, present: &BTreeMap<String, Targets>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in [&versions.stable_version, &versions.oldstable_version] {
        if !v.is_empty() && present.contains_key(v) && !out.contains(v) {
            out.push(v.clone());
        }
    }
    if out.is_empty() {
        let mut finals: Vec<&String> = present.keys().filter(|v| is_final_release(v)).collect();
        finals.sort_by(|a, b| compare_versions(b, a));
        let mut seen_branches = BTreeSet::new();
        for v in finals {
            if seen_branches.insert(branch_of(v)) {
                out.push(v.clone());
            }
            if out.len() == 2 {
                break;
            }
        }
    }
    out
}

pub fn overview(versions: &Versions, present: &BTreeMap<String, Targets>, server: &ServerInfo, tables: &[ChangeTable]) -> Value {
    let branches: Map<String, Value> = branches(present, tables).into_iter().collect();
    json!({
        "latest": latest(versions, present),
        "branches": branches,
        "upstream_url": server.upstream_url,
        "server": {
            "version": server.version,
            "contact": server.contact,
            "allow_defaults": server.limits.max_defaults_length > 0,
            "repository_allow_list": server.limits.repository_allow_list,
            "max_custom_rootfs_size_mb": server.limits.max_custom_rootfs_size_mb,
            "max_defaults_length": server.limits.max_defaults_length,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(pairs: &[(&str, &str)]) -> Targets {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn present() -> BTreeMap<String, Targets> {
        BTreeMap::from([
            ("23.05.4".to_string(), targets(&[("x86/64", "x86_64"), ("mediatek/filogic", "aarch64_cortex-a53")])),
            ("24.10.5".to_string(), targets(&[("mediatek/filogic", "aarch64_cortex-a53")])),
            ("24.10.0-rc1".to_string(), targets(&[("x86/64", "x86_64")])),
            ("22.03-SNAPSHOT".to_string(), targets(&[("x86/64", "x86_64"), ("ath79/generic", "mips_24kc")])),
        ])
    }

    #[test]
    fn candidates_include_branch_snapshots() {
        let v = Versions { stable_version: "23.05.4".into(), versions_list: vec!["23.05.4".into(), "19.07.10".into()], ..Default::default() };
        let c = candidate_versions(&v);
        assert_eq!(c, ["SNAPSHOT", "23.05-SNAPSHOT", "23.05.4", "19.07-SNAPSHOT", "19.07.10"]);
    }

    fn tables() -> Vec<ChangeTable> {
        let t = r#"{"branch":"24.10","changes":[{"kind":"renamed","source":"auc","target":"owut","revision":26792,"why":"w"}]}"#;
        vec![asu_protocol::package_changes::parse_table(t).unwrap()]
    }

    #[test]
    fn branch_objects() {
        let b = branches(&present(), &tables());
        assert_eq!(b.keys().collect::<Vec<_>>(), ["22.03", "23.05", "24.10"]);
        let b2410 = &b["24.10"];
        assert_eq!(b2410["versions"], json!(["24.10.5", "24.10.0-rc1"]));
        assert_eq!(b2410["targets"], json!({"mediatek/filogic": "aarch64_cortex-a53"}));
        assert_eq!(b2410["path"], "releases/{version}");
        assert_eq!(b2410["path_packages"], "releases/packages-24.10");
        assert_eq!(
            b2410["package_changes"],
            json!([{"source":"auc","target":"owut","revision":26792,"kind":"renamed","branch":"24.10","why":"w"}])
        );
        assert_eq!(b["23.05"]["package_changes"], json!([]), "a 24.10 change is not listed for 23.05");
        assert_eq!(b2410["enabled"], true);
        assert_eq!(b2410["snapshot"], false);
        assert_eq!(b["22.03"]["snapshot"], true);
        assert_eq!(b["22.03"]["targets"]["ath79/generic"], "mips_24kc");
    }

    #[test]
    fn latest_prefers_upstream_names() {
        let v = Versions { stable_version: "24.10.5".into(), oldstable_version: "23.05.4".into(), ..Default::default() };
        assert_eq!(latest(&v, &present()), ["24.10.5", "23.05.4"]);
        // Named versions that are not published fall back to the newest finals.
        let v = Versions { stable_version: "25.12.0".into(), ..Default::default() };
        assert_eq!(latest(&v, &present()), ["24.10.5", "23.05.4"]);
    }

    #[test]
    fn server_block() {
        let limits = Limits { max_defaults_length: 0, max_custom_rootfs_size_mb: 512, repository_allow_list: vec!["https://a/".into()] };
        let o = overview(
            &Versions::default(),
            &present(),
            &ServerInfo { version: "0.1.0", contact: "ops@example", upstream_url: "http://up", limits: &limits },
            &[],
        );
        assert_eq!(o["upstream_url"], "http://up");
        assert_eq!(
            o["server"],
            json!({"version":"0.1.0","contact":"ops@example","allow_defaults":false,
                   "repository_allow_list":["https://a/"],"max_custom_rootfs_size_mb":512,"max_defaults_length":0})
        );
        assert!(o["branches"].as_object().unwrap().contains_key("23.05"));
    }
}
