//! Upstream layout and release naming: where a version's files live, which
//! branch a version belongs to, how versions sort, and the error texts
//! that name an unknown version, target or profile.

use std::cmp::Ordering;

use asu_protocol::validate::quote;

use crate::ttl::is_snapshot;

/// The folder of a version on the download server.
pub fn release_path(version: &str) -> String {
    if version.eq_ignore_ascii_case("SNAPSHOT") {
        "snapshots".to_string()
    } else {
        format!("releases/{version}")
    }
}

pub fn targets_path(version: &str) -> String {
    format!("{}/.targets.json", release_path(version))
}

pub fn profiles_path(version: &str, target: &str) -> String {
    format!("{}/targets/{target}/profiles.json", release_path(version))
}

pub const VERSIONS_PATH: &str = ".versions.json";

/// `24.10.5` -> `24.10`, `24.10-SNAPSHOT` -> `24.10`, `SNAPSHOT` -> `SNAPSHOT`.
pub use asu_protocol::package_changes::branch_of;

/// Sort key: numbers first; a final release sorts after its release
/// candidates; a branch snapshot sorts after every release of the branch.
fn version_key(version: &str) -> (Vec<u64>, u8, u64) {
    if version.eq_ignore_ascii_case("SNAPSHOT") {
        return (vec![u64::MAX], 3, 0);
    }
    let (base, suffix) = version.split_once('-').unwrap_or((version, ""));
    let mut numbers: Vec<u64> = base.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    let suffix = suffix.to_ascii_lowercase();
    if suffix == "snapshot" {
        // `24.10-SNAPSHOT` is newer than every `24.10.x`.
        numbers.push(u64::MAX);
        (numbers, 2, 0)
    } else if let Some(rc) = suffix.strip_prefix("rc") {
        (numbers, 0, rc.parse().unwrap_or(0))
    } else {
        (numbers, 1, 0)
    }
}

/// Older first.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    version_key(a).cmp(&version_key(b))
}

/// A final release (no `-rc`, not a snapshot).
pub fn is_final_release(version: &str) -> bool {
    !is_snapshot(version) && !version.contains('-')
}

pub fn unknown_version(version: &str) -> String {
    format!("Unknown version {}: the upstream server does not publish it", quote(version))
}

pub fn unknown_target(target: &str, version: &str) -> String {
    format!("Unknown target {} in {version}", quote(target))
}

pub fn unknown_profile(profile: &str, target: &str, version: &str) -> String {
    format!("Unknown profile {} for {target} in {version}", quote(profile))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(targets_path("24.10.5"), "releases/24.10.5/.targets.json");
        assert_eq!(targets_path("SNAPSHOT"), "snapshots/.targets.json");
        assert_eq!(profiles_path("22.03-SNAPSHOT", "x86/64"), "releases/22.03-SNAPSHOT/targets/x86/64/profiles.json");
    }

    #[test]
    fn branches() {
        assert_eq!(branch_of("24.10.5"), "24.10");
        assert_eq!(branch_of("24.10.0-rc7"), "24.10");
        assert_eq!(branch_of("22.03-SNAPSHOT"), "22.03");
        assert_eq!(branch_of("SNAPSHOT"), "SNAPSHOT");
    }

    #[test]
    fn ordering() {
        let mut v = vec!["24.10.0", "24.10-SNAPSHOT", "24.10.0-rc7", "23.05.4", "24.10.0-rc10", "24.10.5", "23.05.10"];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(v, ["23.05.4", "23.05.10", "24.10.0-rc7", "24.10.0-rc10", "24.10.0", "24.10.5", "24.10-SNAPSHOT"]);
        assert!(is_final_release("24.10.5"));
        assert!(!is_final_release("24.10.0-rc1"));
        assert!(!is_final_release("24.10-SNAPSHOT"));
    }

    #[test]
    fn messages_name_the_value() {
        assert_eq!(unknown_profile("x", "mediatek/filogic", "24.10.5"), "Unknown profile 'x' for mediatek/filogic in 24.10.5");
        assert!(unknown_target("foo/bar", "23.05.4").contains("'foo/bar'"));
        assert!(unknown_version("99.01.1").contains("'99.01.1'"));
    }
}
