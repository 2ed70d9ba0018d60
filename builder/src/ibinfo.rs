//! What an unpacked ImageBuilder says about itself (`make info`), and the
//! package lists its `make manifest` prints.

use std::collections::BTreeMap;

use asu_protocol::upstream::{Profile, ProfilesJson};
use asu_protocol::validate;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InfoProfile {
    pub id: String,
    pub title: String,
    pub packages: Vec<String>,
    pub supported_devices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IbInfo {
    pub target: String,
    pub arch: String,
    pub revision: String,
    pub default_packages: Vec<String>,
    pub profiles: Vec<InfoProfile>,
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// Parses `make info`. Lines it does not know (make's own chatter) are skipped.
pub fn parse_info(text: &str) -> IbInfo {
    let mut info = IbInfo::default();
    let mut in_profiles = false;
    let mut current: Option<InfoProfile> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if !in_profiles {
            if let Some(v) = line.strip_prefix("Current Target:") {
                info.target = unquote(v);
            } else if let Some(v) = line.strip_prefix("Current Architecture:") {
                info.arch = unquote(v);
            } else if let Some(v) = line.strip_prefix("Current Revision:") {
                info.revision = unquote(v);
            } else if let Some(v) = line.strip_prefix("Default Packages:") {
                info.default_packages = words(v);
            } else if line.starts_with("Available Profiles:") {
                in_profiles = true;
            }
            continue;
        }
        if !indented {
            // `<id>:` opens a profile block; anything else ends the list.
            match line.strip_suffix(':') {
                Some(id) if !id.is_empty() && !id.contains(char::is_whitespace) => {
                    info.profiles.extend(current.take());
                    current = Some(InfoProfile {
                        id: id.to_string(),
                        ..Default::default()
                    });
                }
                _ => {
                    info.profiles.extend(current.take());
                    in_profiles = false;
                }
            }
            continue;
        }
        let Some(p) = current.as_mut() else { continue };
        let body = line.trim();
        if let Some(v) = body.strip_prefix("Packages:") {
            p.packages = words(v);
        } else if let Some(v) = body.strip_prefix("SupportedDevices:") {
            p.supported_devices = words(v);
        } else if body.starts_with("hasImageMetadata:") {
            // not needed
        } else if p.title.is_empty() {
            p.title = body.to_string();
        }
    }
    info.profiles.extend(current);
    info
}

impl IbInfo {
    /// The ImageBuilder's own view in the shape the shared lookups take:
    /// its defaults and device packages are the truth for the build.
    pub fn to_profiles_json(&self) -> ProfilesJson {
        ProfilesJson {
            target: self.target.clone(),
            version_code: self.revision.clone(),
            default_packages: self.default_packages.clone(),
            profiles: self
                .profiles
                .iter()
                .map(|p| {
                    (
                        p.id.clone(),
                        Profile {
                            device_packages: p.packages.clone(),
                            supported_devices: p.supported_devices.clone(),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            ..Default::default()
        }
    }
}

fn looks_like_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-' | '~' | ':'))
}

/// Parses a package list: opkg's `name - version` or apk's `name version`.
/// Lines that are neither (warnings, make chatter) are skipped; apk lines
/// must have a version starting with a digit so that two-word chatter is not
/// mistaken for a package.
pub fn parse_manifest(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (name, version) = match parts.as_slice() {
            [name, "-", version] => (*name, *version),
            [name, version] if version.starts_with(|c: char| c.is_ascii_digit()) => {
                (*name, *version)
            }
            _ => continue,
        };
        if validate::package_name("manifest", name).is_ok() && looks_like_version(version) {
            out.insert(name.to_string(), version.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
make[1]: Entering directory '/builder'
Current Target: \"mediatek/filogic\"
Current Architecture: \"aarch64\"
Current Revision: \"r24012-d8dd03c46f\"
Default Packages: base-files ca-bundle dnsmasq dropbear firewall4 fitblk
Available Profiles:

glinet_gl-mt6000:
    GL.iNet GL-MT6000
    Packages: kmod-usb3 kmod-mt7915e -wpad-basic-mbedtls
    hasImageMetadata: 1
    SupportedDevices: glinet,gl-mt6000
xiaomi_redmi-router-ax6000-stock:
    Xiaomi Redmi Router AX6000 (stock layout)
    Packages: 
    hasImageMetadata: 1
    SupportedDevices: xiaomi,redmi-router-ax6000 xiaomi,redmi-router-ax6000-stock
make[1]: Leaving directory '/builder'
";

    #[test]
    fn parses_make_info() {
        let info = parse_info(INFO);
        assert_eq!(info.target, "mediatek/filogic");
        assert_eq!(info.arch, "aarch64");
        assert_eq!(info.revision, "r24012-d8dd03c46f");
        assert_eq!(
            info.default_packages,
            [
                "base-files",
                "ca-bundle",
                "dnsmasq",
                "dropbear",
                "firewall4",
                "fitblk"
            ]
        );
        assert_eq!(info.profiles.len(), 2);
        let gl = &info.profiles[0];
        assert_eq!(gl.id, "glinet_gl-mt6000");
        assert_eq!(gl.title, "GL.iNet GL-MT6000");
        assert_eq!(
            gl.packages,
            ["kmod-usb3", "kmod-mt7915e", "-wpad-basic-mbedtls"]
        );
        assert_eq!(gl.supported_devices, ["glinet,gl-mt6000"]);
        let xi = &info.profiles[1];
        assert!(xi.packages.is_empty());
        assert_eq!(
            xi.supported_devices,
            [
                "xiaomi,redmi-router-ax6000",
                "xiaomi,redmi-router-ax6000-stock"
            ]
        );
    }

    #[test]
    fn info_feeds_the_shared_lookups() {
        let pj = parse_info(INFO).to_profiles_json();
        assert_eq!(
            pj.resolve_profile("xiaomi,redmi-router-ax6000"),
            Some("xiaomi_redmi-router-ax6000-stock")
        );
        assert_eq!(
            pj.resolve_profile("glinet,gl-mt6000"),
            Some("glinet_gl-mt6000")
        );
        assert_eq!(pj.resolve_profile("nope"), None);
        let req = vec![
            "base-files".to_string(),
            "luci".to_string(),
            "kmod-usb3".to_string(),
        ];
        let pk = asu_protocol::upstream::build_packages(&req, true, &pj, "glinet_gl-mt6000");
        // Every default and device package the list lacks is removed; the
        // device's own removal (-wpad-basic-mbedtls) is not touched.
        assert_eq!(
            pk,
            [
                "-ca-bundle",
                "-dnsmasq",
                "-dropbear",
                "-firewall4",
                "-fitblk",
                "-kmod-mt7915e",
                "base-files",
                "luci",
                "kmod-usb3"
            ]
        );
    }

    #[test]
    fn parses_opkg_and_apk_manifests() {
        let opkg = "base-files - 1562-r24012-d8dd03c46f\nlibubus20230605 - 2023-06-05-f787c97b-1\nkernel - 5.15.167~0a3c8ee8-r1\n";
        let m = parse_manifest(opkg);
        assert_eq!(m.len(), 3);
        assert_eq!(m["base-files"], "1562-r24012-d8dd03c46f");
        assert_eq!(m["kernel"], "5.15.167~0a3c8ee8-r1");

        let apk = "WARNING: opening /x: No such file\nbase-files 1678-r29087\nluci 25.001.12345~abc\nBuilding images...\n";
        let m = parse_manifest(apk);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m["luci"], "25.001.12345~abc");
        assert!(parse_manifest("make[2]: Entering directory '/x'\n\n").is_empty());
    }
}
