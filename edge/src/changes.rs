//! The package-change tables (`src/package-changes/<branch>.json`, reviewed
//! like code), compiled into the worker and parsed once per isolate.

use std::sync::OnceLock;

use asu_protocol::package_changes::{parse_table, ChangeTable};

/// `(file name, contents)` of every table.
pub const FILES: &[(&str, &str)] = &[
    ("22.03.json", include_str!("package-changes/22.03.json")),
    ("23.05.json", include_str!("package-changes/23.05.json")),
    ("24.10.json", include_str!("package-changes/24.10.json")),
];

/// Parses every table; an error names the file.
pub fn parse_all() -> Result<Vec<ChangeTable>, String> {
    FILES
        .iter()
        .map(|(name, text)| {
            let table = parse_table(text).map_err(|e| format!("{name}: {e}"))?;
            let expected = name.trim_end_matches(".json");
            if table.branch != expected {
                return Err(format!("{name}: says branch {} but is named for {expected}", table.branch));
            }
            Ok(table)
        })
        .collect()
}

/// The tables; the unit tests make sure they parse, so a failure here is a
/// build that skipped them.
pub fn tables() -> &'static [ChangeTable] {
    static TABLES: OnceLock<Vec<ChangeTable>> = OnceLock::new();
    TABLES.get_or_init(|| parse_all().unwrap_or_else(|e| panic!("package-change tables: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use asu_protocol::package_changes::{apply, published_for, tables_up_to, ChangeKind, Release};
    use asu_protocol::request::BuildRequest;
    use asu_protocol::upstream::ProfilesJson;
    use std::collections::BTreeSet;

    fn profiles(version: &str) -> Option<ProfilesJson> {
        let path = format!(
            "{}/../../shared/fixtures/upstream/releases/{version}/targets/mediatek/filogic/profiles.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    }

    fn defaults(p: &ProfilesJson, profile: &str) -> Vec<String> {
        let mut all: Vec<String> = p.default_packages.clone();
        all.extend(p.profiles[profile].device_packages.iter().filter(|d| !d.starts_with('-')).cloned());
        all
    }

    #[test]
    fn every_table_parses() {
        let tables = parse_all().unwrap();
        assert_eq!(tables.len(), FILES.len());
        for t in &tables {
            assert!(!t.changes.is_empty(), "{} is empty", t.branch);
        }
    }

    #[test]
    fn auc_becomes_owut_from_23_05_to_24_10() {
        let tables = parse_all().unwrap();
        let mut req = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        req.packages = vec!["luci".into(), "auc".into(), "luci-app-opkg".into()];
        let known = |n: &str| !["auc", "luci-app-opkg"].contains(&n);
        let release = Release { defaults: &[], known: Some(&known) };
        let applied = apply(&tables_up_to(&tables, "24.10"), &release, &mut req);
        assert_eq!(req.packages, ["luci", "owut", "luci-app-package-manager"]);
        assert_eq!(applied.len(), 2);
        // A 23.05 build keeps auc: the 24.10 table does not apply to it.
        let mut old = BuildRequest::new("23.05.4", "mediatek/filogic", "glinet_gl-mt6000");
        old.packages = vec!["auc".into()];
        apply(&tables_up_to(&tables, "23.05"), &Release { defaults: &[], known: Some(&|_| true) }, &mut old);
        assert_eq!(old.packages, ["auc"]);
    }

    /// The filogic entries must say what the two real profiles.json files say.
    #[test]
    fn filogic_default_entries_match_the_fixture_profiles() {
        let (Some(old), Some(new)) = (profiles("23.05.4"), profiles("24.10.5")) else {
            eprintln!("fixtures missing, skipping");
            return;
        };
        let old_defaults: BTreeSet<&String> = old.default_packages.iter().collect();
        let new_defaults: BTreeSet<&String> = new.default_packages.iter().collect();
        let added: BTreeSet<String> = new_defaults.difference(&old_defaults).map(|s| s.to_string()).collect();
        let left: BTreeSet<String> = old_defaults.difference(&new_defaults).map(|s| s.to_string()).collect();
        // Left the defaults but every common device that had it lists it as a device package now.
        let moved: BTreeSet<String> = left
            .iter()
            .filter(|p| {
                let boards_with: Vec<_> = new.profiles.iter().filter(|(id, _)| old.profiles.contains_key(*id)).collect();
                boards_with.iter().filter(|(_, prof)| prof.device_packages.contains(p)).count() * 2 > boards_with.len()
            })
            .cloned()
            .collect();

        let tables = parse_all().unwrap();
        let t = tables.iter().find(|t| t.branch == "24.10").unwrap();
        let filogic = |c: &&asu_protocol::package_changes::Change| c.targets == ["mediatek/filogic"];
        let of_kind = |kind: &str| -> BTreeSet<String> {
            t.changes
                .iter()
                .filter(filogic)
                .filter(|c| c.kind.name() == kind)
                .map(|c| match &c.kind {
                    ChangeKind::DefaultAdded { package } | ChangeKind::DefaultRemoved { package } | ChangeKind::MovedToDevice { package } => {
                        package.clone()
                    }
                    _ => unreachable!(),
                })
                .collect()
        };
        assert_eq!(of_kind("default_added"), added);
        assert_eq!(of_kind("moved_to_device"), moved);
        assert_eq!(of_kind("default_removed"), left.difference(&moved).cloned().collect());
    }

    #[test]
    fn a_23_05_router_list_keeps_fitblk_on_24_10() {
        let Some(new) = profiles("24.10.5") else { return };
        let Some(old) = profiles("23.05.4") else { return };
        let tables = parse_all().unwrap();
        // What a 23.05.4 GL-MT6000 sends with diff_packages: its defaults plus luci.
        let mut req = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        req.diff_packages = true;
        req.packages = defaults(&old, "glinet_gl-mt6000");
        req.packages.push("luci".into());
        assert!(!req.packages.contains(&"fitblk".to_string()));
        let d = defaults(&new, "glinet_gl-mt6000");
        let release = Release { defaults: &d, known: Some(&|_| true) };
        apply(&tables_up_to(&tables, "24.10"), &release, &mut req);
        assert!(req.packages.contains(&"fitblk".to_string()));
        let final_list = asu_protocol::upstream::build_packages(&req.packages, true, &new, "glinet_gl-mt6000");
        assert!(!final_list.contains(&"-fitblk".to_string()), "{final_list:?}");
        for kept in ["busybox", "procd", "procd-seccomp", "kmod-mt7915e"] {
            assert!(final_list.contains(&kept.to_string()), "{kept} must stay: {final_list:?}");
        }
    }

    #[test]
    fn the_overview_lists_are_cumulative() {
        let tables = parse_all().unwrap();
        let p2410 = published_for(&tables, "24.10");
        let p2305 = published_for(&tables, "23.05");
        assert!(p2410.iter().any(|e| e["source"] == "auc" && e["target"] == "owut" && e["revision"] == 26792));
        assert!(!p2305.iter().any(|e| e["source"] == "auc"));
        assert!(p2410.len() > p2305.len());
        for e in &p2410 {
            assert!(e["revision"].is_u64(), "{e}");
            if e.get("target").is_some() {
                assert!(e["source"].is_string(), "{e}");
            }
        }
    }
}
