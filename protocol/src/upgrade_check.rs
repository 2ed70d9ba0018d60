//! `POST /api/v1/upgrade-check`: what an upgrade of a device to the newest
//! release would do to its packages, before anything is built.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::request::Fields;
use crate::validate::{self, quote, FieldError};

/// The question: a device and what it has installed (`name -> version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeCheckRequest {
    pub distro: String,
    pub version: String,
    /// The running revision; lets a snapshot learn of a newer build.
    pub version_code: String,
    pub target: String,
    pub profile: String,
    pub packages: BTreeMap<String, String>,
}

impl UpgradeCheckRequest {
    pub fn from_json(body: &[u8]) -> Result<Self, FieldError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| FieldError::new("body", format!("is not valid JSON ({e})")))?;
        let Value::Object(obj) = value else {
            return Err(FieldError::new("body", "must be a JSON object"));
        };
        let f = Fields(&obj);
        let distro = f.opt_string("distro")?.filter(|d| !d.is_empty()).unwrap_or_else(|| "openwrt".into());
        validate::distro("distro", &distro)?;
        let version = f.req_string("version")?;
        validate::version("version", &version)?;
        let version_code = f.opt_string("version_code")?.unwrap_or_default();
        validate::version_code("version_code", &version_code)?;
        let target = f.req_string("target")?;
        validate::target("target", &target)?;
        let profile = f.req_string("profile")?;
        validate::profile("profile", &profile)?;
        let packages = match obj.get("packages") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(map)) => {
                if map.len() > validate::MAX_PACKAGES {
                    return Err(FieldError::new("packages", "lists too many packages"));
                }
                let mut out = BTreeMap::new();
                for (name, v) in map {
                    validate::package_name("packages", name)?;
                    let Value::String(ver) = v else {
                        return Err(FieldError::new("packages", format!("the version of {} must be a string", quote(name))));
                    };
                    validate::package_version("packages", ver)?;
                    out.insert(name.clone(), ver.clone());
                }
                out
            }
            Some(_) => return Err(FieldError::new("packages", "must map package names to versions")),
        };
        Ok(UpgradeCheckRequest { distro, version, version_code, target, profile, packages })
    }
}

/// One package's versions now and after the upgrade (`None`: not there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionChange {
    pub current: Option<String>,
    pub new: Option<String>,
}

/// The package side of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageDiff {
    /// Packages whose version changes, and packages the upgrade adds.
    pub packages: BTreeMap<String, VersionChange>,
    /// Installed packages the new release does not have and no change replaces.
    pub missing: Vec<String>,
}

/// Packages that come with the kernel and are not in the feeds under that name.
const BUILTIN: &[&str] = &["kernel", "libc", "libgcc", "libpthread", "librt"];

/// Compares what is installed with what the new image will hold.
/// `after` is the package list after the package changes were applied;
/// `version` gives the new release's version of a name (`None` when it has
/// no such package); `known` says whether the release has the name at all
/// (provided names and ABI-suffixed names have no version of their own).
pub fn diff(
    installed: &BTreeMap<String, String>,
    after: &[String],
    version: &dyn Fn(&str) -> Option<String>,
    known: &dyn Fn(&str) -> bool,
) -> PackageDiff {
    let after: BTreeSet<&str> = after.iter().map(String::as_str).filter(|p| !p.starts_with('-')).collect();
    let mut out = PackageDiff::default();
    for (name, current) in installed {
        if !after.contains(name.as_str()) {
            continue; // replaced or dropped: reported as a replacement
        }
        match version(name) {
            Some(new) if new != *current => {
                out.packages.insert(name.clone(), VersionChange { current: Some(current.clone()), new: Some(new) });
            }
            Some(_) => {}
            None if known(name) || BUILTIN.contains(&name.as_str()) => {}
            None => out.missing.push(name.clone()),
        }
    }
    for name in after {
        if !installed.contains_key(name) {
            out.packages.insert(name.to_string(), VersionChange { current: None, new: version(name) });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_fields() {
        let r = UpgradeCheckRequest::from_json(
            br#"{"version":"23.05.4","target":"mediatek/filogic","profile":"glinet,gl-mt6000","packages":{"luci":"git-24.248.02470-eeb141b"}}"#,
        )
        .unwrap();
        assert_eq!(r.distro, "openwrt");
        assert_eq!(r.packages["luci"], "git-24.248.02470-eeb141b");
        for (body, field) in [
            (r#"{"target":"x86/64","profile":"generic"}"#, "version"),
            (r#"{"version":"23.05.4","profile":"generic"}"#, "target"),
            (r#"{"version":"23.05.4","target":"x86/64"}"#, "profile"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","packages":["luci"]}"#, "packages"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","packages":{"lu ci":"1"}}"#, "packages"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","packages":{"luci":1}}"#, "packages"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","version_code":"abc"}"#, "version_code"),
            ("[]", "body"),
        ] {
            assert_eq!(UpgradeCheckRequest::from_json(body.as_bytes()).unwrap_err().field, field, "{body}");
        }
    }

    #[test]
    fn diff_reports_changes_additions_and_missing() {
        let installed: BTreeMap<String, String> = [("luci", "1"), ("tcpdump", "4.99.4-1"), ("auc", "0.3"), ("gone", "1"), ("libc", "1"), ("wpad", "x")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let after: Vec<String> = ["luci", "tcpdump", "owut", "gone", "libc", "wpad", "fitblk"].iter().map(|s| s.to_string()).collect();
        let versions = |n: &str| match n {
            "luci" => Some("2".to_string()),
            "tcpdump" => Some("4.99.4-1".to_string()),
            "owut" => Some("2025.1".to_string()),
            "fitblk" => Some("2024.06.03".to_string()),
            _ => None,
        };
        let known = |n: &str| n == "wpad";
        let d = diff(&installed, &after, &versions, &known);
        assert_eq!(d.packages["luci"], VersionChange { current: Some("1".into()), new: Some("2".into()) });
        assert!(!d.packages.contains_key("tcpdump"), "same version is no change");
        assert!(!d.packages.contains_key("auc"), "a replaced package is not a version change");
        assert_eq!(d.packages["owut"], VersionChange { current: None, new: Some("2025.1".into()) });
        assert_eq!(d.packages["fitblk"].current, None);
        assert_eq!(d.missing, ["gone"]);
    }
}
