//! opkg-like package resolution for the ImageBuilder stand-in: the wanted
//! list (defaults + device packages + user packages, `-name` removes), then
//! the closure over `Depends`, matched by name or `Provides`, then the
//! `Conflicts` check. Errors read like opkg's "Collected errors".

use asu_protocol::opkg::PackageEntry;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

/// Every package an ImageBuilder can install from, first feed first.
#[derive(Debug, Default, Clone)]
pub struct PackageIndex {
    entries: Vec<PackageEntry>,
    by_name: HashMap<String, usize>,
    providers: HashMap<String, Vec<usize>>,
}

impl PackageIndex {
    pub fn new(entries: impl IntoIterator<Item = PackageEntry>) -> Self {
        let mut idx = PackageIndex::default();
        for e in entries {
            // Like opkg with equal versions, the first feed wins.
            if idx.by_name.contains_key(&e.name) {
                continue;
            }
            let i = idx.entries.len();
            idx.by_name.insert(e.name.clone(), i);
            for p in &e.provides {
                idx.providers.entry(p.clone()).or_default().push(i);
            }
            idx.entries.push(e);
        }
        idx
    }

    pub fn get(&self, name: &str) -> Option<&PackageEntry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }

    pub fn entries(&self) -> &[PackageEntry] {
        &self.entries
    }

    /// The package that satisfies `name`: itself, else a provider (one whose
    /// ABI-less name is `name` first, then the first in feed order).
    fn lookup(&self, name: &str, is_installed: impl Fn(&str) -> bool) -> Option<usize> {
        if let Some(&i) = self.by_name.get(name) {
            return Some(i);
        }
        let provs = self.providers.get(name)?;
        if let Some(&i) = provs.iter().find(|&&i| is_installed(&self.entries[i].name)) {
            return Some(i);
        }
        provs
            .iter()
            .copied()
            .find(|&i| self.entries[i].name_without_abi() == name)
            .or_else(|| provs.first().copied())
    }
}

/// What the wanted list resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Top-level packages (the world file): wanted names minus removals,
    /// in request order.
    pub world: Vec<String>,
    /// Installed package name (with ABI suffix) -> entry.
    pub installed: BTreeMap<String, PackageEntry>,
    /// The installed package that satisfied each world entry, in order
    /// (`nftables` -> `nftables-json`); what opkg marks as user-installed.
    pub top_level: Vec<String>,
}

impl Resolution {
    pub fn installed_size(&self) -> u64 {
        self.installed.values().map(|e| e.installed_size).sum()
    }

    /// `name - version` lines, sorted; names without ABI suffix if `strip_abi`.
    pub fn manifest_lines(&self, strip_abi: bool) -> Vec<String> {
        let mut lines: Vec<(String, &str)> = self
            .installed
            .values()
            .map(|e| {
                let n = if strip_abi {
                    e.name_without_abi().to_string()
                } else {
                    e.name.clone()
                };
                (n, e.version.as_str())
            })
            .collect();
        lines.sort();
        lines
            .into_iter()
            .map(|(n, v)| format!("{n} - {v}"))
            .collect()
    }

    /// ABI-less name -> version of the top-level packages (the world file as
    /// `rpc-sys packagelist {"all":false}` shows it).
    pub fn world_without_abi(&self) -> BTreeMap<String, String> {
        self.top_level
            .iter()
            .filter_map(|n| self.installed.get(n))
            .map(|e| (e.name_without_abi().to_string(), e.version.clone()))
            .collect()
    }

    /// ABI-less name -> version, as clients see installed packages.
    pub fn installed_without_abi(&self) -> BTreeMap<String, String> {
        self.installed
            .values()
            .map(|e| (e.name_without_abi().to_string(), e.version.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// Each entry: a top-level package that cannot be installed, and why.
    Collected(Vec<Failure>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Unknown {
        package: String,
    },
    Unsatisfied {
        package: String,
        missing: Vec<String>,
    },
    Conflict {
        package: String,
        with: Vec<String>,
    },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ResolveError::Collected(fails) = self;
        writeln!(f, "Collected errors:")?;
        for fail in fails {
            match fail {
                Failure::Unknown { package } => {
                    writeln!(f, " * opkg_install_cmd: Cannot install package {package}.")?;
                }
                Failure::Unsatisfied { package, missing } => {
                    writeln!(f, " * satisfy_dependencies_for: Cannot satisfy the following dependencies for {package}:")?;
                    for m in missing {
                        writeln!(f, " * \t{m}")?;
                    }
                    writeln!(f, " * opkg_install_cmd: Cannot install package {package}.")?;
                }
                Failure::Conflict { package, with } => {
                    writeln!(
                        f,
                        " * check_conflicts_for: The following packages conflict with {package}:"
                    )?;
                    for w in with {
                        writeln!(f, " * \t{w}")?;
                    }
                    writeln!(f, " * opkg_install_cmd: Cannot install package {package}.")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for ResolveError {}

/// The wanted list as the real ImageBuilder computes it: every `-name`
/// anywhere removes `name` from the whole list.
pub fn wanted_list<'a>(parts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let all: Vec<&str> = parts.into_iter().filter(|s| !s.is_empty()).collect();
    let removed: BTreeSet<&str> = all.iter().filter_map(|s| s.strip_prefix('-')).collect();
    let mut seen = BTreeSet::new();
    all.into_iter()
        .filter(|s| !s.starts_with('-') && !removed.contains(s))
        .filter(|s| seen.insert(*s))
        .map(str::to_string)
        .collect()
}

/// Resolves `world` against `index`.
pub fn resolve(index: &PackageIndex, world: &[String]) -> Result<Resolution, ResolveError> {
    let mut installed: BTreeMap<String, usize> = BTreeMap::new();
    let mut top_level: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    for top in world {
        let Some(first) = index.lookup(top, |n| installed.contains_key(n)) else {
            failures.push(Failure::Unknown {
                package: top.clone(),
            });
            continue;
        };
        // Closure of this top-level package, added only if it is complete.
        let mut added: BTreeMap<String, usize> = BTreeMap::new();
        let mut missing = Vec::new();
        let mut queue = VecDeque::from([first]);
        while let Some(i) = queue.pop_front() {
            let e = &index.entries[i];
            if installed.contains_key(&e.name) || added.insert(e.name.clone(), i).is_some() {
                continue;
            }
            for dep in &e.depends {
                if satisfied_by(index, dep, &installed) || satisfied_by(index, dep, &added) {
                    continue;
                }
                match index.lookup(dep, |n| installed.contains_key(n) || added.contains_key(n)) {
                    Some(j) => queue.push_back(j),
                    None => {
                        if !missing.contains(dep) {
                            missing.push(dep.clone());
                        }
                    }
                }
            }
        }
        if missing.is_empty() {
            let chosen = &index.entries[first].name;
            if !top_level.contains(chosen) {
                top_level.push(chosen.clone());
            }
            installed.extend(added);
        } else {
            failures.push(Failure::Unsatisfied {
                package: top.clone(),
                missing,
            });
        }
    }
    if failures.is_empty() {
        // Conflicts: by name or by what the other package provides.
        for (name, &i) in &installed {
            let e = &index.entries[i];
            let with: Vec<String> = e
                .conflicts
                .iter()
                .filter(|c| *c != name)
                .filter(|c| {
                    installed.contains_key(*c)
                        || installed
                            .values()
                            .any(|&j| j != i && index.entries[j].provides.iter().any(|p| p == *c))
                })
                .cloned()
                .collect();
            if !with.is_empty() {
                failures.push(Failure::Conflict {
                    package: name.clone(),
                    with,
                });
            }
        }
    }
    if !failures.is_empty() {
        return Err(ResolveError::Collected(failures));
    }
    Ok(Resolution {
        world: world.to_vec(),
        top_level,
        installed: installed
            .into_iter()
            .map(|(n, i)| (n, index.entries[i].clone()))
            .collect(),
    })
}

fn satisfied_by(index: &PackageIndex, dep: &str, set: &BTreeMap<String, usize>) -> bool {
    set.contains_key(dep)
        || set
            .values()
            .any(|&i| index.entries[i].provides.iter().any(|p| p == dep))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, deps: &[&str], provides: &[&str], conflicts: &[&str]) -> PackageEntry {
        PackageEntry {
            name: name.into(),
            version: "1".into(),
            depends: deps.iter().map(|s| s.to_string()).collect(),
            provides: provides.iter().map(|s| s.to_string()).collect(),
            conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
            installed_size: 10,
            ..Default::default()
        }
    }

    fn index() -> PackageIndex {
        let mut ubus = pkg("libubus20230605", &["libc"], &["libubus"], &[]);
        ubus.abi_version = Some("20230605".into());
        PackageIndex::new([
            pkg("libc", &[], &[], &[]),
            ubus,
            pkg("rpcd", &["libc", "libubus20230605"], &[], &[]),
            pkg("luci-base", &["rpcd", "lua"], &[], &[]),
            pkg("lua", &["libc"], &[], &[]),
            pkg("luci", &["luci-base"], &[], &[]),
            pkg("broken", &["libc", "nowhere"], &[], &[]),
            pkg("wpad-basic", &["libc"], &["wpad"], &["wpad-full"]),
            pkg("wpad-full", &["libc"], &["wpad"], &["wpad-basic"]),
            pkg("needs-wpad", &["wpad"], &[], &[]),
        ])
    }

    fn names(r: &Resolution) -> Vec<&str> {
        r.installed.keys().map(String::as_str).collect()
    }

    #[test]
    fn removals_apply_everywhere() {
        let w = wanted_list(["base", "ppp", "luci", "-ppp", "luci", "", "-absent"]);
        assert_eq!(w, vec!["base", "luci"]);
    }

    #[test]
    fn closure_over_depends_and_provides() {
        let r = resolve(&index(), &["luci".into(), "libubus".into()]).unwrap();
        assert_eq!(
            names(&r),
            vec![
                "libc",
                "libubus20230605",
                "lua",
                "luci",
                "luci-base",
                "rpcd"
            ]
        );
        assert_eq!(r.world, vec!["luci", "libubus"]);
        assert_eq!(r.installed_size(), 60);
        assert!(r.manifest_lines(true).contains(&"libubus - 1".to_string()));
        assert!(r
            .manifest_lines(false)
            .contains(&"libubus20230605 - 1".to_string()));
    }

    #[test]
    fn provider_already_installed_is_used() {
        let r = resolve(&index(), &["wpad-full".into(), "needs-wpad".into()]).unwrap();
        assert!(r.installed.contains_key("wpad-full"));
        assert!(!r.installed.contains_key("wpad-basic"));
    }

    #[test]
    fn unknown_and_unsatisfiable_are_reported_like_opkg() {
        let e = resolve(&index(), &["luci".into(), "nope".into(), "broken".into()]).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("Collected errors:\n"));
        assert!(text.contains(" * opkg_install_cmd: Cannot install package nope.\n"));
        assert!(text.contains(" * satisfy_dependencies_for: Cannot satisfy the following dependencies for broken:\n * \tnowhere\n"));
        assert!(text.contains(" * opkg_install_cmd: Cannot install package broken.\n"));
    }

    #[test]
    fn conflicts_are_refused() {
        let e = resolve(&index(), &["wpad-basic".into(), "wpad-full".into()]).unwrap_err();
        assert!(e
            .to_string()
            .contains("check_conflicts_for: The following packages conflict with wpad-basic:"));
    }
}
