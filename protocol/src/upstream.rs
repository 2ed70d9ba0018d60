//! The upstream release metadata (download server layout) and the lookups
//! every component does on it: which profile a board name means, and what
//! package list a build gets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::canonical::profile_id;

/// `/.versions.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Versions {
    #[serde(default)]
    pub stable_version: String,
    #[serde(default)]
    pub oldstable_version: String,
    #[serde(default)]
    pub upcoming_version: String,
    #[serde(default)]
    pub versions_list: Vec<String>,
}

/// `/releases/{version}/.targets.json`: `target/subtarget` -> package arch.
pub type Targets = BTreeMap<String, String>;

/// `/releases/{version}/.overview.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Overview {
    #[serde(default)]
    pub release: String,
    #[serde(default)]
    pub profiles: Vec<OverviewProfile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewProfile {
    pub id: String,
    pub target: String,
    #[serde(default)]
    pub titles: Vec<Title>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Title {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Some devices have a single free-form title instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Title {
    /// "GL.iNet GL-MT6000 (v2)" style text.
    pub fn display(&self) -> String {
        if let Some(t) = &self.title {
            return t.clone();
        }
        let mut s = [self.vendor.as_deref(), self.model.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(v) = &self.variant {
            s.push_str(&format!(" {v}"));
        }
        s
    }
}

/// One image file of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    pub name: String,
    #[serde(default)]
    pub sha256: String,
    #[serde(default)]
    pub sha256_unsigned: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One device of a target's profiles.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Profile {
    #[serde(default)]
    pub device_packages: Vec<String>,
    #[serde(default)]
    pub image_prefix: String,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub supported_devices: Vec<String>,
    #[serde(default)]
    pub titles: Vec<Title>,
    /// Fields we do not interpret are kept and passed on to clients.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinuxKernel {
    pub version: String,
    #[serde(default)]
    pub release: String,
    #[serde(default)]
    pub vermagic: String,
}

/// `/releases/{version}/targets/{target}/{subtarget}/profiles.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ProfilesJson {
    #[serde(default)]
    pub arch_packages: String,
    #[serde(default)]
    pub default_packages: Vec<String>,
    #[serde(default)]
    pub metadata_version: u32,
    #[serde(default)]
    pub source_date_epoch: u64,
    pub target: String,
    #[serde(default)]
    pub version_code: String,
    #[serde(default)]
    pub version_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_kernel: Option<LinuxKernel>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl ProfilesJson {
    /// Finds the profile a client means: the id itself, the board name with
    /// `,` mapped to `_`, any profile's `supported_devices` entry, and on a
    /// target whose only profile is `generic` (x86/64) any name at all.
    pub fn resolve_profile(&self, requested: &str) -> Option<&str> {
        let id = profile_id(requested);
        if let Some((key, _)) = self.profiles.get_key_value(&id) {
            return Some(key.as_str());
        }
        let by_device = self.profiles.iter().find(|(_, p)| {
            p.supported_devices.iter().any(|d| d == requested || profile_id(d) == id)
        });
        if let Some((key, _)) = by_device {
            return Some(key.as_str());
        }
        match self.profiles.keys().collect::<Vec<_>>().as_slice() {
            [only] if only.as_str() == "generic" => Some(only.as_str()),
            _ => None,
        }
    }

    /// The top-level fields merged with one profile's, plus `id`: what
    /// `/json/v1/.../{profile}.json` and a finished build answer carry.
    pub fn merged_profile(&self, id: &str) -> Option<Map<String, Value>> {
        let profile = self.profiles.get(id)?;
        let mut top = match serde_json::to_value(self).ok()? {
            Value::Object(m) => m,
            _ => return None,
        };
        top.remove("profiles");
        if let Value::Object(p) = serde_json::to_value(profile).ok()? {
            top.extend(p);
        }
        top.insert("id".into(), Value::String(id.to_string()));
        Some(top)
    }
}

/// The `PACKAGES=` list for a build, as the reference server makes it:
/// with `diff_packages` the requested list is the complete wanted set, so
/// every default or device package missing from it is removed (`-name`).
pub fn build_packages(requested: &[String], diff_packages: bool, profiles: &ProfilesJson, profile: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: String| {
        if !out.contains(&name) {
            out.push(name);
        }
    };
    if diff_packages {
        let device = profiles.profiles.get(profile).map(|p| p.device_packages.as_slice()).unwrap_or(&[]);
        let wanted = |name: &str| requested.iter().any(|r| r == name);
        for default in profiles.default_packages.iter().chain(device.iter()) {
            if !default.starts_with('-') && !wanted(default) {
                push(format!("-{default}"));
            }
        }
    }
    for r in requested {
        push(r.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles() -> ProfilesJson {
        serde_json::from_value(serde_json::json!({
            "target": "mediatek/filogic",
            "version_code": "r29087-d9c5716d1d",
            "version_number": "24.10.5",
            "default_packages": ["base-files", "dnsmasq", "fitblk"],
            "profiles": {
                "glinet_gl-mt6000": {
                    "device_packages": ["kmod-usb3", "-wpad-basic-mbedtls"],
                    "supported_devices": ["glinet,gl-mt6000"],
                    "titles": [{"vendor": "GL.iNet", "model": "GL-MT6000"}],
                    "images": [{"name": "a.bin", "type": "sysupgrade", "filesystem": "squashfs", "sha256": "x", "sha256_unsigned": "y"}]
                },
                "xiaomi_redmi-router-ax6000-stock": {
                    "supported_devices": ["xiaomi,redmi-router-ax6000", "xiaomi,redmi-router-ax6000-stock"]
                }
            }
        }))
        .unwrap()
    }

    #[test]
    fn resolves_board_names_and_aliases() {
        let p = profiles();
        assert_eq!(p.resolve_profile("glinet,gl-mt6000"), Some("glinet_gl-mt6000"));
        assert_eq!(p.resolve_profile("glinet_gl-mt6000"), Some("glinet_gl-mt6000"));
        assert_eq!(p.resolve_profile("xiaomi,redmi-router-ax6000"), Some("xiaomi_redmi-router-ax6000-stock"));
        assert_eq!(p.resolve_profile("glinet,gl-mt3000"), None);
    }

    #[test]
    fn generic_only_target_takes_any_name() {
        let mut p = profiles();
        p.profiles = BTreeMap::from([("generic".to_string(), Profile::default())]);
        assert_eq!(p.resolve_profile("qemu-standard-pc-q35-ich9-2009"), Some("generic"));
    }

    #[test]
    fn real_fixture_profiles_parse_and_merge() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/upstream/releases/24.10.5/targets/mediatek/filogic/profiles.json");
        let text = std::fs::read_to_string(path).unwrap();
        let p: ProfilesJson = serde_json::from_str(&text).unwrap();
        let merged = p.merged_profile("glinet_gl-mt6000").unwrap();
        assert_eq!(merged["id"], "glinet_gl-mt6000");
        assert_eq!(merged["version_code"], "r29087-d9c5716d1d");
        assert_eq!(merged["titles"][0]["model"], "GL-MT6000");
        assert_eq!(merged["linux_kernel"]["version"], "6.6.119");
        assert!(merged["default_packages"].as_array().unwrap().iter().any(|v| v == "fitblk"));
    }

    #[test]
    fn diff_packages_removes_missing_defaults() {
        let p = profiles();
        let req = vec!["base-files".to_string(), "luci".to_string()];
        assert_eq!(
            build_packages(&req, true, &p, "glinet_gl-mt6000"),
            vec!["-dnsmasq", "-fitblk", "-kmod-usb3", "base-files", "luci"]
        );
        assert_eq!(build_packages(&req, false, &p, "glinet_gl-mt6000"), vec!["base-files", "luci"]);
    }
}
