//! Generates a tree laid out like downloads.openwrt.org from the fixtures:
//! the fixture files themselves, `.versions.json`, `.targets.json`, package
//! indexes for the releases that lack them, ImageBuilder archives and the
//! `sha256sums` that list them.

use crate::archive;
use crate::catalog::{self, ReleaseIndexes};
use crate::fixtures::{Fixtures, TargetProfiles};
use crate::releases::{self, Release};
use asu_protocol::opkg::{self, IndexJson};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Folder under the output root for cache stamps; the server hides it.
pub const CACHE_DIR: &str = ".standin-cache";

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub fixtures: PathBuf,
    pub imagebuilder_bin: PathBuf,
    pub out: PathBuf,
}

#[derive(Debug, Default, Clone)]
pub struct GenerateReport {
    /// Archive paths (relative to out) that were built this time.
    pub built: Vec<String>,
    /// Archive paths that were already up to date.
    pub cached: Vec<String>,
}

/// Writes `data` to `path` unless it already holds exactly that (keeps
/// mtimes stable for files that did not change).
fn write_if_changed(path: &Path, data: &[u8]) -> io::Result<()> {
    if fs::read(path).map(|old| old == data).unwrap_or(false) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    // Written beside and renamed over, so that a reader (a mirror serving
    // while it regenerates, a concurrent test) never sees a half-written
    // file. The fixtures are read-only; a copy made earlier may be too,
    // which a rename does not mind.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&tmp, data)?;
    fs::rename(&tmp, path)
}

fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// The stand-in binary as packed: stripped of symbols when `strip` is
/// available (archives stay small), cached by the input's hash.
fn packed_binary(bin: &Path, cache: &Path) -> io::Result<Vec<u8>> {
    let original =
        fs::read(bin).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", bin.display())))?;
    let sha = hex::encode(Sha256::digest(&original));
    let cached = cache.join(format!("imagebuilder-standin-{}.stripped", &sha[..16]));
    if let Ok(b) = fs::read(&cached) {
        return Ok(b);
    }
    fs::create_dir_all(cache)?;
    let tmp = cache.join("imagebuilder-standin.strip-tmp");
    let stripped = Command::new("strip")
        .arg("--strip-all")
        .arg("-o")
        .arg(&tmp)
        .arg(bin)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let bytes = if stripped { fs::read(&tmp)? } else { original };
    let _ = fs::remove_file(&tmp);
    fs::write(&cached, &bytes)?;
    Ok(bytes)
}

/// Releases present in the fixtures that we know how to serve.
pub fn known_releases(fx: &Fixtures) -> io::Result<Vec<&'static Release>> {
    let present = fx.releases()?;
    Ok(releases::RELEASES
        .iter()
        .filter(|r| present.iter().any(|p| p == r.version))
        .collect())
}

/// Indexes of a release: generated or read from the fixtures.
pub fn release_indexes(
    fx: &Fixtures,
    release: &Release,
    targets: &[TargetProfiles],
) -> io::Result<ReleaseIndexes> {
    if release.generated_indexes {
        catalog::generate_release(fx, release, targets)
    } else {
        catalog::load_fixture_release(fx, release, targets)
    }
}

/// `.versions.json` for the releases present: the newest release is
/// stable, the newest of an older branch oldstable; snapshot branches are
/// not listed (the real file never lists them).
pub fn versions_json(releases: &[&Release]) -> serde_json::Value {
    let mut list: Vec<&str> = releases
        .iter()
        .filter(|r| !r.snapshot)
        .map(|r| r.version)
        .collect();
    list.sort_by_key(|v| std::cmp::Reverse(version_key(v)));
    let stable = list.first().copied().unwrap_or("");
    let branch = |v: &str| {
        v.rsplit_once('.')
            .map(|(b, _)| b.to_string())
            .unwrap_or_default()
    };
    let oldstable = list
        .iter()
        .find(|v| branch(v) != branch(stable))
        .copied()
        .unwrap_or("");
    serde_json::json!({
        "stable_version": stable,
        "oldstable_version": oldstable,
        "upcoming_version": "",
        "versions_list": list,
    })
}

fn version_key(v: &str) -> Vec<u32> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn pretty(v: &impl serde::Serialize) -> Vec<u8> {
    let mut s = serde_json::to_vec_pretty(v).expect("json serialises");
    s.push(b'\n');
    s
}

/// Generates (or refreshes) the whole tree.
pub fn generate(opts: &GenerateOptions) -> io::Result<GenerateReport> {
    let fx = Fixtures::new(&opts.fixtures);
    let out = &opts.out;
    let cache = out.join(CACHE_DIR);
    fs::create_dir_all(out)?;
    // Fixture sha256sums get the archive line added below; copying them
    // first would briefly publish a version without it.
    let mut fixture_sums = Vec::new();
    for rel in fx.all_files()? {
        if Path::new(&rel)
            .file_name()
            .is_some_and(|n| n == "sha256sums")
        {
            fixture_sums.push(rel);
            continue;
        }
        let data = fs::read(fx.root.join(&rel))?;
        write_if_changed(&out.join(&rel), &data)?;
    }
    let binary = packed_binary(&opts.imagebuilder_bin, &cache)?;
    let releases = known_releases(&fx)?;
    write_if_changed(
        &out.join(".versions.json"),
        &pretty(&versions_json(&releases)),
    )?;

    // (dest, top folder, files, mtime, ext, sha256sums path, archive name)
    struct Job {
        dest: PathBuf,
        top: String,
        files: Vec<archive::ArchiveFile>,
        mtime: u64,
        ext: &'static str,
        sums: PathBuf,
        name: String,
        rel: String,
    }
    let mut jobs = Vec::new();
    for release in &releases {
        let v = release.version;
        let rdir = out.join("releases").join(v);
        let targets = fx.targets(v)?;
        let idx = release_indexes(&fx, release, &targets)?;

        let targets_json: BTreeMap<&str, &str> = targets
            .iter()
            .map(|t| (t.target.as_str(), t.arch_packages.as_str()))
            .collect();
        write_if_changed(&rdir.join(".targets.json"), &pretty(&targets_json))?;
        if !fx.exists(&format!("releases/{v}/.overview.json")) {
            write_if_changed(
                &rdir.join(".overview.json"),
                &pretty(&overview(v, &targets)),
            )?;
        }
        if release.generated_indexes {
            for (arch, feeds) in &idx.arch_feeds {
                for (feed, entries) in feeds {
                    let dir = rdir.join("packages").join(arch).join(feed);
                    write_feed(&dir, arch, entries, release.modern)?;
                }
            }
            for t in &targets {
                let dir = rdir.join("targets").join(&t.target).join("packages");
                write_feed(
                    &dir,
                    &t.arch_packages,
                    &idx.target_feeds[&t.target],
                    release.modern,
                )?;
            }
        }
        for t in &targets {
            let pj = fx.read_string(&format!("releases/{v}/targets/{}/profiles.json", t.target))?;
            let files = archive::archive_files(release, t, &pj, &idx, &binary);
            let name = archive::archive_name(release, &t.target);
            let tdir = rdir.join("targets").join(&t.target);
            jobs.push(Job {
                dest: tdir.join(&name),
                top: archive::top_folder(release, &t.target),
                files,
                mtime: t.source_date_epoch(),
                ext: release.archive_ext,
                sums: tdir.join("sha256sums"),
                rel: format!("releases/{v}/targets/{}/{name}", t.target),
                name,
            });
        }
    }

    // Compress on all cores; each archive is independent.
    let results: Vec<io::Result<bool>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|j| {
                s.spawn(|| {
                    archive::ensure_archive(&j.dest, &cache, j.ext, &j.top, &j.files, j.mtime)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("archive thread panicked")))
            })
            .collect()
    });
    let mut report = GenerateReport::default();
    for (job, res) in jobs.iter().zip(results) {
        if res? {
            report.built.push(job.rel.clone());
        } else {
            report.cached.push(job.rel.clone());
        }
        // Keep the real lines of a fixture sha256sums; add ours.
        let fixture_rel = job
            .sums
            .strip_prefix(out)
            .expect("under out")
            .to_string_lossy()
            .into_owned();
        let mut lines: Vec<String> = if fx.exists(&fixture_rel) {
            fx.read_string(&fixture_rel)?
                .lines()
                .map(str::to_string)
                .collect()
        } else {
            let pj = job.sums.with_file_name("profiles.json");
            vec![format!("{} *profiles.json", sha256_file(&pj)?)]
        };
        let suffix = format!(" *{}", job.name);
        lines.retain(|l| !l.ends_with(&suffix));
        lines.push(format!("{}{suffix}", sha256_file(&job.dest)?));
        write_if_changed(&job.sums, (lines.join("\n") + "\n").as_bytes())?;
    }
    for rel in fixture_sums {
        if !jobs.iter().any(|j| j.sums == out.join(&rel)) {
            write_if_changed(&out.join(&rel), &fs::read(fx.root.join(&rel))?)?;
        }
    }
    Ok(report)
}

fn write_feed(
    dir: &Path,
    arch: &str,
    entries: &[opkg::PackageEntry],
    with_index_json: bool,
) -> io::Result<()> {
    write_if_changed(
        &dir.join("Packages"),
        opkg::write_packages(entries).as_bytes(),
    )?;
    if with_index_json {
        let idx = IndexJson::from_entries(arch, entries);
        write_if_changed(
            &dir.join("index.json"),
            opkg::write_index_json(&idx).as_bytes(),
        )?;
    }
    Ok(())
}

/// `.overview.json` for a release whose fixtures lack one.
fn overview(version: &str, targets: &[TargetProfiles]) -> serde_json::Value {
    let profiles: Vec<serde_json::Value> = targets
        .iter()
        .flat_map(|t| {
            t.profiles.iter().map(move |(id, p)| serde_json::json!({"id": id, "target": t.target, "titles": p.titles}))
        })
        .collect();
    serde_json::json!({"release": version, "profiles": profiles})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_file_lists_releases_not_snapshots() {
        let rs: Vec<&Release> = releases::RELEASES.iter().collect();
        let v = versions_json(&rs);
        assert_eq!(v["stable_version"], "24.10.5");
        assert_eq!(v["oldstable_version"], "23.05.4");
        assert_eq!(
            v["versions_list"],
            serde_json::json!(["24.10.5", "23.05.4"])
        );
    }
}
