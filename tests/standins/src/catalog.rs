//! Package indexes for the mirror: the real 22.03 indexes as they are, and
//! generated 23.05.4 / 24.10.5 indexes derived from them, from every name in
//! that release's profiles.json files and from the curated user packages.
//!
//! Everything here is deterministic: same fixtures, same output bytes.

use crate::curated::{self, Def};
use crate::fixtures::{Fixtures, TargetProfiles};
use crate::releases::{Release, VersionStyle};
use asu_protocol::opkg::{self, PackageEntry};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io;

/// Feeds served under `/releases/<v>/packages/<arch>/<feed>/`.
pub const ARCH_FEEDS: &[&str] = &["base", "packages", "luci"];

/// All indexes of one release.
#[derive(Debug, Clone, Default)]
pub struct ReleaseIndexes {
    /// arch -> feed -> entries (sorted by name)
    pub arch_feeds: BTreeMap<String, BTreeMap<String, Vec<PackageEntry>>>,
    /// "target/subtarget" -> entries of `targets/<t>/<st>/packages/Packages`
    pub target_feeds: BTreeMap<String, Vec<PackageEntry>>,
    /// "target/subtarget" -> packages the ImageBuilder carries in its own
    /// `packages/` folder (kernel, libc and the test knobs where the feeds
    /// lack them).
    pub local: BTreeMap<String, Vec<PackageEntry>>,
}

impl ReleaseIndexes {
    /// Every entry an ImageBuilder of `target` can install from.
    pub fn all_for_target(&self, target: &str, arch: &str) -> Vec<&PackageEntry> {
        let mut out: Vec<&PackageEntry> = Vec::new();
        if let Some(t) = self.target_feeds.get(target) {
            out.extend(t);
        }
        if let Some(feeds) = self.arch_feeds.get(arch) {
            for f in feeds.values() {
                out.extend(f);
            }
        }
        if let Some(l) = self.local.get(target) {
            out.extend(l);
        }
        out
    }
}

fn hash_u64(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

fn hex_of(parts: &[&str], len: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())[..len].to_string()
}

/// Vermagic of a target's kernel: from profiles.json where it says, else
/// derived so that it is stable and differs between releases and targets.
pub fn vermagic(release: &Release, target: &TargetProfiles) -> String {
    if let Some(v) = target.linux_kernel_vermagic() {
        return v;
    }
    hex_of(&["vermagic", release.version, &target.target], 32)
}

pub fn kernel_version_string(release: &Release, target: &TargetProfiles) -> String {
    let vm = vermagic(release, target);
    let (kv, kr) = target.linux_kernel_version().unwrap_or((
        release.kernel_version.to_string(),
        release.kernel_release.to_string(),
    ));
    match release.style {
        VersionStyle::Dash => format!("{kv}-{kr}-{vm}"),
        VersionStyle::R => format!("{kv}~{vm}-r{kr}"),
    }
}

fn kmod_version(release: &Release, target: &TargetProfiles) -> String {
    let (kv, kr) = target.linux_kernel_version().unwrap_or((
        release.kernel_version.to_string(),
        release.kernel_release.to_string(),
    ));
    match release.style {
        VersionStyle::Dash => format!("{kv}-{kr}"),
        VersionStyle::R => format!("{kv}-r{kr}"),
    }
}

/// `2022-06-01-2bebf93c` -> (year, "06", "01", "2bebf93c")
fn split_git_date(upstream: &str) -> Option<(u32, &str, &str, &str)> {
    let b = upstream.as_bytes();
    if b.len() < 12 || b[4] != b'-' || b[7] != b'-' || b[10] != b'-' {
        return None;
    }
    let year: u32 = upstream[0..4].parse().ok()?;
    if !upstream[5..7].bytes().all(|c| c.is_ascii_digit())
        || !upstream[8..10].bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some((year, &upstream[5..7], &upstream[8..10], &upstream[11..]))
}

/// A plausible newer version of a 22.03 package version for a later release.
pub fn bump_version(v: &str, release: &Release) -> String {
    let gen = release.generation;
    if gen == 0 {
        return v.to_string();
    }
    let (upstream, rel) = match v.rsplit_once('-') {
        Some((u, r))
            if r.split('.')
                .next()
                .is_some_and(|x| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit())) =>
        {
            (u, r.split('.').next().unwrap().parse::<u32>().unwrap_or(1))
        }
        _ => (v, 0),
    };
    let upstream = match split_git_date(upstream) {
        Some((year, m, d, hash)) => {
            let year = (year + gen).min(2023 + gen);
            match release.style {
                VersionStyle::Dash => format!("{year}-{m}-{d}-{hash}"),
                VersionStyle::R => format!("{year}.{m}.{d}~{hash}"),
            }
        }
        None => upstream.to_string(),
    };
    match release.style {
        VersionStyle::Dash => format!("{upstream}-{}", rel + gen),
        VersionStyle::R => format!("{upstream}-r{}", rel + gen),
    }
}

/// Version of a package that has no 22.03 ancestor.
fn fresh_version(name: &str, release: &Release) -> String {
    let h = hash_u64(&[name, release.version]);
    let hash7 = hex_of(&[name, release.version], 8);
    let day = 1 + (h % 28) as u32;
    let month = 1 + ((h >> 8) % 12) as u32;
    if name.starts_with("luci") || name.starts_with("liblucihttp") || name.starts_with("rpcd-mod-r")
    {
        // LuCI's own versions: git-<yy>.<day of year>.<seconds>-<hash>
        let doy = 1 + (h >> 16) % 365;
        let secs = (h >> 24) % 86_400;
        return match release.style {
            VersionStyle::Dash => format!("git-24.{doy:03}.{secs:05}-{}", &hash7[..7]),
            VersionStyle::R => format!("25.{doy:03}.{secs:05}~{}", &hash7[..7]),
        };
    }
    let year = 2022 + release.generation;
    let rel = 1 + (h >> 40) % 3;
    if name.ends_with("-firmware") {
        return match release.style {
            VersionStyle::Dash => format!("{year}{month:02}{day:02}-{rel}"),
            VersionStyle::R => format!("{year}{month:02}{day:02}-r{rel}"),
        };
    }
    match release.style {
        VersionStyle::Dash => format!("{year}-{month:02}-{day:02}-{hash7}-{rel}"),
        VersionStyle::R => format!("{year}.{month:02}.{day:02}~{hash7}-r{rel}"),
    }
}

/// Installed size of a package with no real ancestor, by kind.
fn fresh_size(name: &str) -> u64 {
    let h = hash_u64(&["size", name]);
    let (lo, hi) = if name.starts_with("kmod-") && name.ends_with("-firmware") {
        (150_000, 420_000)
    } else if name.starts_with("kmod-") {
        (4_000, 60_000)
    } else if name.ends_with("-firmware") {
        (40_000, 300_000)
    } else if name.starts_with("lib") {
        (8_000, 90_000)
    } else {
        (6_000, 120_000)
    };
    lo + h % (hi - lo)
}

fn fresh_description(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("kmod-") {
        if rest.ends_with("-firmware") {
            format!(
                "Firmware files for the {} kernel driver",
                rest.trim_end_matches("-firmware")
            )
        } else {
            format!("Kernel support for {rest}")
        }
    } else if name.ends_with("-firmware") {
        format!("Firmware blob {name}")
    } else {
        format!("{name} utility")
    }
}

/// Which feed a package belongs to in the generated releases.
fn feed_of(name: &str, seed_feed: Option<&str>, def: Option<&Def>) -> &'static str {
    if let Some(d) = def {
        return if d.feed == "target" { "target" } else { d.feed };
    }
    let target_specific = name.starts_with("kmod-")
        || matches!(
            name,
            "kernel" | "libc" | "libpthread" | "librt" | "base-files" | "fitblk"
        )
        || name.starts_with("libgcc")
        || name.starts_with("grub2")
        || (name.starts_with("mt79") && name.ends_with("-firmware"));
    if target_specific {
        return "target";
    }
    if name.starts_with("luci-") || name.starts_with("liblucihttp") {
        return "luci";
    }
    match seed_feed {
        Some("packages") => "packages",
        _ => "base",
    }
}

fn section_of(name: &str) -> &'static str {
    if name.starts_with("kmod-") || name == "kernel" {
        "kernel"
    } else if name.ends_with("-firmware") {
        "firmware"
    } else if name.starts_with("lib") {
        "libs"
    } else if name.starts_with("luci") {
        "luci"
    } else {
        "utils"
    }
}

/// One package while the pool is built: the entry plus its feed.
#[derive(Debug, Clone)]
struct Pooled {
    entry: PackageEntry,
    feed: &'static str,
}

/// Seed entries from the 22.03 indexes, by name, with the feed they came
/// from (`base`, `packages` or `target`).
fn load_seeds(fx: &Fixtures) -> io::Result<BTreeMap<String, (PackageEntry, &'static str)>> {
    let mut seeds = BTreeMap::new();
    let sources: &[(&str, &'static str)] = &[
        (
            "releases/22.03-SNAPSHOT/packages/x86_64/base/Packages",
            "base",
        ),
        (
            "releases/22.03-SNAPSHOT/packages/x86_64/packages/Packages",
            "packages",
        ),
        (
            "releases/22.03-SNAPSHOT/targets/x86/64/packages/Packages",
            "target",
        ),
        (
            "releases/22.03-SNAPSHOT/packages/mips_24kc/base/Packages",
            "base",
        ),
        (
            "releases/22.03-SNAPSHOT/targets/ath79/generic/packages/Packages",
            "target",
        ),
    ];
    for (rel, feed) in sources {
        let text = fx.read_string(rel)?;
        let entries = opkg::parse_packages(&text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{rel}: {e}")))?;
        for e in entries {
            seeds.entry(e.name.clone()).or_insert((e, *feed));
        }
    }
    Ok(seeds)
}

fn finish_entry(e: &mut PackageEntry, arch: &str, release: &Release) {
    if e.architecture != "all" {
        e.architecture = arch.to_string();
    }
    e.filename = format!("{}_{}_{}.ipk", e.name, e.version, e.architecture);
    e.size = e.installed_size * 97 / 100 + 1_100;
    e.sha256sum = hex_of(&["ipk", release.version, &e.filename], 64);
}

/// Applies the release's ABI version to a library: `libubus20220601` ->
/// `libubus20230605`. Returns the old name when it changed.
fn apply_abi(e: &mut PackageEntry, release: &Release) -> Option<String> {
    let base = e.name_without_abi().to_string();
    let new_abi = release.abi_for(&base)?;
    let old = e.name.clone();
    e.name = format!("{base}{new_abi}");
    e.abi_version = Some(new_abi.to_string());
    if !e.provides.contains(&base) {
        e.provides.insert(0, base);
    }
    (old != e.name).then_some(old)
}

/// Generates the indexes of a release whose indexes are not in the fixtures.
pub fn generate_release(
    fx: &Fixtures,
    release: &Release,
    targets: &[TargetProfiles],
) -> io::Result<ReleaseIndexes> {
    let seeds = load_seeds(fx)?;
    let mut out = ReleaseIndexes::default();
    let mut by_arch: BTreeMap<&str, Vec<&TargetProfiles>> = BTreeMap::new();
    for t in targets {
        by_arch.entry(t.arch_packages.as_str()).or_default().push(t);
    }
    for (arch, arch_targets) in by_arch {
        let is_x86 = arch.starts_with("x86");
        // The first target of the arch decides kernel versions; targets of
        // one arch in one release share a kernel here.
        let kt = arch_targets[0];
        let mut pool: BTreeMap<String, Pooled> = BTreeMap::new();
        let mut renamed: BTreeMap<String, String> = BTreeMap::new();

        for (name, (seed, seed_feed)) in &seeds {
            if !is_x86
                && (name.starts_with("grub2")
                    || name.ends_with("-firmware") && !name.starts_with("kmod-"))
            {
                continue;
            }
            let mut e = seed.clone();
            let base = e.name_without_abi().to_string();
            if let Some(old) = apply_abi(&mut e, release) {
                renamed.insert(old, e.name.clone());
            }
            e.version = if name.starts_with("kmod-") {
                kmod_version(release, kt)
            } else if let Some(v) = release.known_version(&base) {
                v.to_string()
            } else if name == "base-files" {
                let n: u32 = seed
                    .version
                    .split('-')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1500);
                format!("{}-{}", n + 52 * release.generation, kt.version_code)
            } else {
                bump_version(&seed.version, release)
            };
            e.installed_size = seed.installed_size * (100 + 3 * release.generation as u64) / 100;
            // 24.10 dropped busybox and procd from the default list; base-files
            // pulls them in instead.
            if release.modern && name == "base-files" {
                for d in ["busybox", "procd"] {
                    if !e.depends.iter().any(|x| x == d) {
                        e.depends.push(d.to_string());
                    }
                }
            }
            e.extra.retain(|(k, _)| k != "Status");
            let feed = feed_of(name, Some(seed_feed), None);
            pool.insert(e.name.clone(), Pooled { entry: e, feed });
        }

        for def in curated::defs_for(release.modern) {
            let mut e = PackageEntry {
                name: def.name.to_string(),
                depends: def.depends.iter().map(|s| s.to_string()).collect(),
                provides: def
                    .provides
                    .iter()
                    .filter(|p| **p != def.name)
                    .map(|s| s.to_string())
                    .collect(),
                conflicts: def.conflicts.iter().map(|s| s.to_string()).collect(),
                architecture: if def.arch_all {
                    "all".into()
                } else {
                    arch.into()
                },
                installed_size: def.size,
                description: def.description.to_string(),
                extra: vec![("Section".into(), def.section.into())],
                ..Default::default()
            };
            if let Some(abi) = release.abi_for(def.name) {
                e.abi_version = Some(abi.to_string());
                e.name = format!("{}{abi}", def.name);
                e.provides.insert(0, def.name.to_string());
            }
            e.version = if def.name.starts_with("kmod-") {
                kmod_version(release, kt)
            } else {
                release
                    .known_version(def.name)
                    .map(str::to_string)
                    .unwrap_or_else(|| fresh_version(def.name, release))
            };
            // A curated package replaces a seed of the same (base) name.
            let base = def.name;
            pool.retain(|_, p| p.entry.name_without_abi() != base);
            pool.insert(
                e.name.clone(),
                Pooled {
                    entry: e,
                    feed: feed_of(def.name, None, Some(def)),
                },
            );
        }

        // Toolchain and kernel, target feed.
        let kernel = PackageEntry {
            name: "kernel".into(),
            version: kernel_version_string(release, kt),
            architecture: arch.into(),
            installed_size: 0,
            description: "Virtual kernel package".into(),
            extra: vec![("Section".into(), "sys".into())],
            ..Default::default()
        };
        pool.insert(
            "kernel".into(),
            Pooled {
                entry: kernel,
                feed: "target",
            },
        );
        let libc_version = release
            .known_version("libc")
            .unwrap_or("1.2.4-4")
            .to_string();
        let libc = PackageEntry {
            name: "libc".into(),
            version: libc_version,
            architecture: arch.into(),
            installed_size: 372_000,
            description: "C Standard Library".into(),
            extra: vec![
                ("Section".into(), "libs".into()),
                ("Essential".into(), "yes".into()),
            ],
            ..Default::default()
        };
        pool.insert(
            "libc".into(),
            Pooled {
                entry: libc,
                feed: "target",
            },
        );

        // Rename dependencies on libraries whose ABI changed.
        for p in pool.values_mut() {
            for d in p.entry.depends.iter_mut() {
                if let Some(n) = renamed.get(d.as_str()) {
                    *d = n.clone();
                }
            }
        }

        // Every default and device package name of every profile.
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for t in &arch_targets {
            wanted.extend(t.default_packages.iter().cloned());
            for p in t.profiles.values() {
                wanted.extend(
                    p.device_packages
                        .iter()
                        .map(|n| n.trim_start_matches('-').to_string()),
                );
            }
        }
        wanted.extend(curated::USER_PACKAGES.iter().map(|s| s.to_string()));
        add_missing(&mut pool, wanted, release, arch, kt);

        // Close over dependencies until nothing is missing.
        loop {
            let missing: BTreeSet<String> = pool
                .values()
                .flat_map(|p| p.entry.depends.iter().cloned())
                .filter(|d| !satisfied(&pool, d))
                .collect();
            if missing.is_empty() {
                break;
            }
            add_missing(&mut pool, missing, release, arch, kt);
        }

        // Dependencies by ABI-less name point at the real (suffixed) name,
        // as opkg indexes write them.
        let abi_names: BTreeMap<String, String> = pool
            .values()
            .filter(|p| p.entry.abi_version.is_some())
            .map(|p| (p.entry.name_without_abi().to_string(), p.entry.name.clone()))
            .collect();
        let names: BTreeSet<String> = pool.keys().cloned().collect();
        for p in pool.values_mut() {
            for d in p.entry.depends.iter_mut() {
                if !names.contains(d.as_str()) {
                    if let Some(full) = abi_names.get(d.as_str()) {
                        *d = full.clone();
                    }
                }
            }
            let mut seen = BTreeSet::new();
            p.entry.depends.retain(|d| seen.insert(d.clone()));
        }

        let mut feeds: BTreeMap<String, Vec<PackageEntry>> = ARCH_FEEDS
            .iter()
            .map(|f| (f.to_string(), Vec::new()))
            .collect();
        let mut target_feed = Vec::new();
        for (_, mut p) in pool {
            finish_entry(&mut p.entry, arch, release);
            if p.feed == "target" {
                target_feed.push(p.entry);
            } else {
                feeds.get_mut(p.feed).expect("known feed").push(p.entry);
            }
        }
        out.arch_feeds.insert(arch.to_string(), feeds);
        for t in arch_targets {
            out.target_feeds
                .insert(t.target.clone(), target_feed.clone());
            out.local.insert(t.target.clone(), Vec::new());
        }
    }
    Ok(out)
}

fn satisfied(pool: &BTreeMap<String, Pooled>, name: &str) -> bool {
    pool.contains_key(name)
        || pool
            .values()
            .any(|p| p.entry.provides.iter().any(|x| x == name))
}

fn add_missing(
    pool: &mut BTreeMap<String, Pooled>,
    names: BTreeSet<String>,
    release: &Release,
    arch: &str,
    kt: &TargetProfiles,
) {
    for name in names {
        if name.is_empty() || satisfied(pool, &name) {
            continue;
        }
        let kmod = name.starts_with("kmod-");
        let firmware = name.ends_with("-firmware");
        let depends = if kmod {
            vec!["kernel".to_string()]
        } else if firmware {
            vec![]
        } else {
            vec!["libc".to_string()]
        };
        let e = PackageEntry {
            name: name.clone(),
            version: if kmod {
                kmod_version(release, kt)
            } else {
                fresh_version(&name, release)
            },
            depends,
            architecture: if firmware && !kmod {
                "all".into()
            } else {
                arch.into()
            },
            installed_size: fresh_size(&name),
            description: fresh_description(&name),
            extra: vec![("Section".into(), section_of(&name).into())],
            ..Default::default()
        };
        let feed = feed_of(&name, None, None);
        pool.insert(name, Pooled { entry: e, feed });
    }
}

/// The real indexes of a fixture release (22.03-SNAPSHOT), plus what its
/// ImageBuilder carries locally: kernel and libc (absent from these feeds,
/// as in a real ImageBuilder) and the test knobs.
pub fn load_fixture_release(
    fx: &Fixtures,
    release: &Release,
    targets: &[TargetProfiles],
) -> io::Result<ReleaseIndexes> {
    let mut out = ReleaseIndexes::default();
    let v = release.version;
    for t in targets {
        let arch = &t.arch_packages;
        let mut feeds = BTreeMap::new();
        for feed in ARCH_FEEDS {
            let rel = format!("releases/{v}/packages/{arch}/{feed}/Packages");
            if fx.exists(&rel) {
                let text = fx.read_string(&rel)?;
                let entries = opkg::parse_packages(&text).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("{rel}: {e}"))
                })?;
                feeds.insert(feed.to_string(), entries);
            }
        }
        out.arch_feeds.insert(arch.clone(), feeds);
        let rel = format!("releases/{v}/targets/{}/packages/Packages", t.target);
        let text = fx.read_string(&rel)?;
        let entries = opkg::parse_packages(&text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{rel}: {e}")))?;
        // kmods depend on `kernel (=<version>)`; that constraint names the kernel.
        let kernel_version = text
            .split("kernel (=")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .map(str::to_string)
            .unwrap_or_else(|| kernel_version_string(release, t));
        out.target_feeds.insert(t.target.clone(), entries);
        let mut local = vec![
            PackageEntry {
                name: "kernel".into(),
                version: kernel_version,
                architecture: arch.clone(),
                description: "Virtual kernel package".into(),
                extra: vec![("Section".into(), "sys".into())],
                ..Default::default()
            },
            PackageEntry {
                name: "libc".into(),
                version: "1.2.3-4".into(),
                architecture: arch.clone(),
                installed_size: 360_000,
                description: "C Standard Library".into(),
                extra: vec![
                    ("Section".into(), "libs".into()),
                    ("Essential".into(), "yes".into()),
                ],
                ..Default::default()
            },
        ];
        for knob in [curated::HANG_PACKAGE, curated::SLOW_PACKAGE] {
            let def = curated::DEFS
                .iter()
                .find(|d| d.name == knob)
                .expect("knob def");
            local.push(PackageEntry {
                name: def.name.into(),
                version: "1-1".into(),
                architecture: "all".into(),
                installed_size: def.size,
                description: def.description.into(),
                extra: vec![("Section".into(), def.section.into())],
                ..Default::default()
            });
        }
        for e in &mut local {
            finish_entry(e, arch, release);
        }
        out.local.insert(t.target.clone(), local);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::releases::find;

    #[test]
    fn version_bumps_differ_by_release() {
        let r23 = find("23.05.4").unwrap();
        let r24 = find("24.10.5").unwrap();
        assert_eq!(
            bump_version("2022-06-01-2bebf93c-1", r23),
            "2023-06-01-2bebf93c-2"
        );
        assert_eq!(
            bump_version("2022-06-01-2bebf93c-1", r24),
            "2024.06.01~2bebf93c-r3"
        );
        assert_eq!(bump_version("1.46.5-2", r23), "1.46.5-3");
        assert_eq!(bump_version("1.46.5-2", r24), "1.46.5-r4");
        assert_eq!(bump_version("26", r23), "26-1");
        assert_eq!(bump_version("1.0.2-2.1", r23), "1.0.2-3");
    }
}
