//! What a release's package feeds hold, reduced to what the edge needs: the
//! `{name: version}` maps clients read (`targets/{t}/{st}/index.json`,
//! `packages/{arch}-index.json`), and every name a build may ask for
//! (ABI-suffixed names and `Provides` included), so that an unknown name is
//! refused before anything is queued, with the closest real name offered.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::opkg::{relation_names, strip_abi, IndexError, IndexJson};
use crate::validate::quote;

/// The packages of one or more feeds of one architecture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSet {
    /// The package architecture (`aarch64_cortex-a53`), as `.targets.json` names it.
    pub architecture: String,
    /// Name without ABI suffix -> version, as `index.json` shows it.
    pub packages: BTreeMap<String, String>,
    /// Other names a request may use: full names that carry an ABI suffix
    /// (`libubus20250102`) and what packages `Provides` (`wpad`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub aliases: BTreeSet<String>,
}

impl PackageSet {
    pub fn new(architecture: &str) -> Self {
        PackageSet { architecture: architecture.to_string(), ..Default::default() }
    }

    /// Adds the packages of an opkg `Packages` file. Only `Package`,
    /// `Version`, `ABIVersion` and `Provides` are read; a package already
    /// known from an earlier feed keeps its version.
    pub fn add_packages_file(&mut self, text: &str) -> Result<(), IndexError> {
        let mut stanza = Stanza::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                stanza.finish(self);
                continue;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                continue; // continuation of a description or the like
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(IndexError { line: i + 1, message: format!("expected 'Field: value', got {line:?}") });
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "package" => {
                    stanza.finish(self);
                    stanza.name = Some(value.to_string());
                }
                "version" => stanza.version = value.to_string(),
                "abiversion" => stanza.abi = Some(value.to_string()).filter(|s| !s.is_empty()),
                "provides" => stanza.provides = relation_names(value),
                _ => {}
            }
        }
        stanza.finish(self);
        Ok(())
    }

    /// Adds the packages of an `index.json` (names already without ABI suffix).
    pub fn add_index_json(&mut self, index: &IndexJson) {
        for (name, version) in &index.packages {
            self.packages.entry(name.clone()).or_insert_with(|| version.clone());
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.packages.contains_key(name) || self.aliases.contains(name)
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.aliases.is_empty()
    }

    /// Every name a request may use.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.packages.keys().map(String::as_str).chain(self.aliases.iter().map(String::as_str))
    }
}

#[derive(Default)]
struct Stanza {
    name: Option<String>,
    version: String,
    abi: Option<String>,
    provides: Vec<String>,
}

impl Stanza {
    fn finish(&mut self, set: &mut PackageSet) {
        let s = std::mem::take(self);
        let Some(name) = s.name.filter(|n| !n.is_empty()) else { return };
        let short = strip_abi(&name, s.abi.as_deref()).to_string();
        if short != name {
            set.aliases.insert(name.clone());
        }
        set.packages.entry(short).or_insert(s.version);
        set.aliases.extend(s.provides);
    }
}

/// Several sets looked at as one: a release's arch feeds plus its target feed.
pub struct Known<'a> {
    sets: Vec<&'a PackageSet>,
}

impl<'a> Known<'a> {
    pub fn new(sets: impl IntoIterator<Item = &'a PackageSet>) -> Self {
        Known { sets: sets.into_iter().collect() }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.sets.iter().any(|s| s.contains(name))
    }

    /// The version a build would get (the first set that has the package).
    pub fn version(&self, name: &str) -> Option<&'a str> {
        self.sets.iter().find_map(|s| s.packages.get(name).map(String::as_str))
    }

    /// The real name closest to `name`, when one is close enough to be a
    /// plausible typo, or a longer name `name` is the start of
    /// (`wireguard` -> `wireguard-tools`).
    pub fn closest(&self, name: &str) -> Option<&'a str> {
        closest(name, self.sets.iter().flat_map(|s| s.names()))
    }

    /// The requested names that no set knows, each with a suggestion.
    pub fn unknown<'n>(&self, requested: impl IntoIterator<Item = &'n str>) -> Vec<UnknownPackage> {
        let mut seen = BTreeSet::new();
        requested
            .into_iter()
            .filter(|n| !self.contains(n) && seen.insert(n.to_string()))
            .map(|n| UnknownPackage { name: n.to_string(), suggestion: self.closest(n).map(String::from) })
            .collect()
    }
}

/// A requested package no feed of the release has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPackage {
    pub name: String,
    pub suggestion: Option<String>,
}

/// The 422 detail: names every unknown package (up to ten) and what it may
/// have meant.
pub fn unknown_packages_detail(unknown: &[UnknownPackage], version: &str, target: &str) -> String {
    let describe = |u: &UnknownPackage| match &u.suggestion {
        Some(s) => format!("{} (did you mean {}?)", quote(&u.name), quote(s)),
        None => quote(&u.name),
    };
    let shown: Vec<String> = unknown.iter().take(10).map(describe).collect();
    let more = unknown.len().saturating_sub(10);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    let noun = if unknown.len() == 1 { "package" } else { "packages" };
    format!(
        "Unknown {noun} {}{tail}: not in the package feeds of {version} {target}",
        shown.join(", ")
    )
}

/// Levenshtein distance, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// How many edits still count as a typo of a name this long.
fn typo_budget(len: usize) -> usize {
    (len / 4).clamp(1, 3)
}

/// The best suggestion for `name` among `candidates`: the same name in
/// lower case, else the nearest within the typo budget (ties: shorter, then
/// alphabetical), else the shortest candidate that starts with `name-`.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let budget = typo_budget(name.chars().count());
    let prefix = format!("{lower}-");
    let mut best: Option<(usize, &str)> = None;
    let mut longer: Option<&str> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        if c == lower {
            return Some(c);
        }
        if c.starts_with(&prefix) && longer.is_none_or(|l| (c.len(), c) < (l.len(), l)) {
            longer = Some(c);
        }
        if c.len().abs_diff(lower.len()) > budget {
            continue;
        }
        let d = edit_distance(&lower, c);
        let better = match best {
            None => true,
            Some((bd, bc)) => (d, c.len(), c) < (bd, bc.len(), bc),
        };
        if d <= budget && better {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c).or(longer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opkg::parse_packages;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/upstream/releases/22.03-SNAPSHOT");

    fn fixture(rel: &str) -> Option<String> {
        std::fs::read_to_string(format!("{FIXTURES}/{rel}")).ok()
    }

    #[test]
    fn agrees_with_the_full_parser_on_real_feeds() {
        for rel in ["packages/x86_64/base/Packages", "targets/ath79/generic/packages/Packages"] {
            let Some(text) = fixture(rel) else {
                eprintln!("fixture {rel} missing, skipping");
                return;
            };
            let mut set = PackageSet::new("x");
            set.add_packages_file(&text).unwrap();
            let entries = parse_packages(&text).unwrap();
            let mut expected = BTreeMap::new();
            let mut aliases = BTreeSet::new();
            for e in &entries {
                expected.entry(e.name_without_abi().to_string()).or_insert(e.version.clone());
                if e.name_without_abi() != e.name {
                    aliases.insert(e.name.clone());
                }
                aliases.extend(e.provides.iter().cloned());
            }
            assert_eq!(set.packages, expected, "{rel}");
            assert_eq!(set.aliases, aliases, "{rel}");
        }
    }

    #[test]
    fn abi_names_and_provides_are_known() {
        let text = "Package: libubus20220601\nVersion: 2022-06-01-2bebf93c-1\nABIVersion: 20220601\n\
                    Description: x\n continued: with a colon\n\n\
                    Package: wpad-basic-mbedtls\nVersion: 2023-1\nProvides: hostapd, wpad (= 1)\n";
        let mut set = PackageSet::new("aarch64_cortex-a53");
        set.add_packages_file(text).unwrap();
        assert_eq!(set.packages["libubus"], "2022-06-01-2bebf93c-1");
        for name in ["libubus", "libubus20220601", "wpad-basic-mbedtls", "wpad", "hostapd"] {
            assert!(set.contains(name), "{name}");
        }
        assert!(!set.contains("continued"));
        assert!(!set.packages.contains_key("wpad"), "a provided name has no version of its own");
    }

    #[test]
    fn earlier_feeds_win() {
        let mut set = PackageSet::new("x");
        set.add_packages_file("Package: a\nVersion: 1\n").unwrap();
        set.add_index_json(&IndexJson { version: 2, architecture: "x".into(), packages: BTreeMap::from([("a".into(), "2".into()), ("b".into(), "3".into())]) });
        assert_eq!(set.packages["a"], "1");
        assert_eq!(set.packages["b"], "3");
    }

    #[test]
    fn broken_lines_are_refused() {
        let mut set = PackageSet::new("x");
        assert!(set.add_packages_file("Package: a\nno colon\n").is_err());
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("tcpdump", "tcpdump"), 0);
        assert_eq!(edit_distance("tcpdum", "tcpdump"), 1);
        assert_eq!(edit_distance("lcui", "luci"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let names = ["tcpdump", "tcpdump-mini", "luci", "luci-ssl", "wireguard-tools", "kmod-wireguard", "owut"];
        let pick = |n: &str| closest(n, names.iter().copied());
        assert_eq!(pick("tcpdum"), Some("tcpdump"));
        assert_eq!(pick("LuCI"), Some("luci"));
        assert_eq!(pick("lucci"), Some("luci"));
        assert_eq!(pick("wireguard"), Some("wireguard-tools"));
        assert_eq!(pick("completely-different"), None);
        assert_eq!(pick("x"), None);
    }

    #[test]
    fn unknown_lists_each_name_once() {
        let mut a = PackageSet::new("x");
        a.add_packages_file("Package: tcpdump\nVersion: 1\n\nPackage: luci\nVersion: 2\n").unwrap();
        let mut b = PackageSet::new("x");
        b.add_packages_file("Package: kmod-usb3\nVersion: 6\n").unwrap();
        let known = Known::new([&a, &b]);
        assert_eq!(known.version("kmod-usb3"), Some("6"));
        let unknown = known.unknown(["luci", "tcpdum", "kmod-usb3", "tcpdum", "zzzzzz"]);
        assert_eq!(
            unknown,
            vec![
                UnknownPackage { name: "tcpdum".into(), suggestion: Some("tcpdump".into()) },
                UnknownPackage { name: "zzzzzz".into(), suggestion: None },
            ]
        );
        let detail = unknown_packages_detail(&unknown, "24.10.5", "mediatek/filogic");
        assert_eq!(
            detail,
            "Unknown packages 'tcpdum' (did you mean 'tcpdump'?), 'zzzzzz': not in the package feeds of 24.10.5 mediatek/filogic"
        );
    }
}
