//! `packages/{arch}-details.json`: per package its version, installed size
//! and the first line of its description, for the router-free page's
//! package search. A separate reduction from [`PackageSet`], so the
//! `{name: version}` indexes owut and auc read keep their shape.
//!
//! [`PackageSet`]: crate::package_index::PackageSet

use std::collections::BTreeMap;

use crate::opkg::{strip_abi, IndexError, IndexJson};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageDetails {
    pub version: String,
    /// `Installed-Size` in bytes; `None` where the feed does not say (index.json feeds).
    pub size: Option<u64>,
    /// The first non-empty line of `Description`.
    pub description: String,
}

/// Name without ABI suffix -> details; the first feed to name a package wins,
/// as in the `{name: version}` index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailSet {
    pub packages: BTreeMap<String, PackageDetails>,
}

#[derive(Default)]
struct Stanza {
    name: Option<String>,
    abi: Option<String>,
    details: PackageDetails,
    /// Inside `Description`, still looking for its first non-empty line.
    in_description: bool,
}

impl Stanza {
    fn finish(&mut self, set: &mut DetailSet) {
        let s = std::mem::take(self);
        let Some(name) = s.name.filter(|n| !n.is_empty()) else { return };
        let short = strip_abi(&name, s.abi.as_deref()).to_string();
        set.packages.entry(short).or_insert(s.details);
    }
}

impl DetailSet {
    /// Adds the packages of an opkg `Packages` file. A size that is not a
    /// number is shown as unknown rather than refusing the feed.
    pub fn add_packages_file(&mut self, text: &str) -> Result<(), IndexError> {
        let mut stanza = Stanza::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                stanza.finish(self);
                continue;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                let cont = line.trim();
                if stanza.in_description && !cont.is_empty() && cont != "." {
                    stanza.details.description = cont.to_string();
                    stanza.in_description = false;
                }
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(IndexError { line: i + 1, message: format!("expected 'Field: value', got {line:?}") });
            };
            let value = value.trim();
            stanza.in_description = false;
            match key.trim().to_ascii_lowercase().as_str() {
                "package" => {
                    stanza.finish(self);
                    stanza.name = Some(value.to_string());
                }
                "version" => stanza.details.version = value.to_string(),
                "abiversion" => stanza.abi = Some(value.to_string()).filter(|s| !s.is_empty()),
                "installed-size" => stanza.details.size = value.parse().ok(),
                "description" => {
                    stanza.details.description = value.to_string();
                    stanza.in_description = value.is_empty();
                }
                _ => {}
            }
        }
        stanza.finish(self);
        Ok(())
    }

    /// Adds the packages of an `index.json`, which has versions only.
    pub fn add_index_json(&mut self, index: &IndexJson) {
        for (name, version) in &index.packages {
            self.packages
                .entry(name.clone())
                .or_insert_with(|| PackageDetails { version: version.clone(), ..Default::default() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opkg::parse_packages;

    const FEED: &str = "Package: tcpdump\nVersion: 4.99.5-r1\nDepends: libc, libpcap1\nInstalled-Size: 219136\nDescription: Network monitoring and data acquisition tool\n more text\n\nPackage: libubus20250102\nVersion: 2025.01.02~afa57cce-r1\nABIVersion: 20250102\nInstalled-Size: nope\nDescription:\n .\n  OpenWrt RPC client library\nSection: libs\n\n";

    #[test]
    fn reduces_a_packages_file() {
        let mut set = DetailSet::default();
        set.add_packages_file(FEED).unwrap();
        assert_eq!(
            set.packages["tcpdump"],
            PackageDetails {
                version: "4.99.5-r1".into(),
                size: Some(219136),
                description: "Network monitoring and data acquisition tool".into()
            }
        );
        let lib = &set.packages["libubus"];
        assert_eq!((lib.size, lib.description.as_str()), (None, "OpenWrt RPC client library"));
        assert_eq!(set.packages.len(), 2);
        // An earlier feed keeps its entry; index.json feeds add versions only.
        set.add_packages_file("Package: tcpdump\nVersion: 9\n").unwrap();
        set.add_index_json(&IndexJson { version: 2, architecture: "x".into(), packages: [("jq".to_string(), "1.7".to_string())].into() });
        assert_eq!(set.packages["tcpdump"].version, "4.99.5-r1");
        assert_eq!(set.packages["jq"], PackageDetails { version: "1.7".into(), size: None, description: String::new() });
        assert!(set.add_packages_file("garbage\n").is_err());
    }

    #[test]
    fn agrees_with_the_full_parser_on_a_real_feed() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/upstream/releases/22.03-SNAPSHOT/packages/x86_64/packages/Packages"
        );
        let Ok(text) = std::fs::read_to_string(path) else { return };
        let mut set = DetailSet::default();
        set.add_packages_file(&text).unwrap();
        let entries = parse_packages(&text).unwrap();
        assert!(!entries.is_empty());
        for e in &entries {
            let d = &set.packages[e.name_without_abi()];
            if d.version != e.version {
                continue; // a duplicate name within the feed: the first one wins
            }
            let first = e.description.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            assert_eq!((d.size, d.description.as_str()), (Some(e.installed_size), first), "{}", e.name);
        }
    }
}
