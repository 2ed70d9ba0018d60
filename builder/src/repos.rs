//! A job's extra package feeds and signing keys, written into the cached
//! ImageBuilder folder for one build and taken out again afterwards, so the
//! next job (builds in one folder are serialised) starts from the release's
//! own files.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use asu_protocol::request::{BuildRequest, RepositoriesMode};
use sha2::{Digest, Sha256};

use crate::log;

/// The ImageBuilder's opkg feed list.
pub const CONF: &str = "repositories.conf";
/// The release's repositories.conf, saved before a job first changes it.
pub const PRISTINE: &str = "repositories.conf.asu-orig";
/// Key files a job added, so that even a crashed builder's leftovers are
/// removed by the next job.
pub const ADDED_KEYS: &str = ".asu-added-keys";
/// The name of the ImageBuilder's own local feed (`src imagebuilder file:packages`).
pub const LOCAL_FEED: &str = "imagebuilder";

/// `src/gz <name> <url>` -> (kind, name, url).
fn feed_line(line: &str) -> Option<(&str, &str, &str)> {
    let mut w = line.split_whitespace();
    let (kind, name, url) = (w.next()?, w.next()?, w.next()?);
    matches!(kind, "src" | "src/gz").then_some((kind, name, url))
}

fn is_local(kind: &str, url: &str) -> bool {
    kind == "src" && url.starts_with("file:")
}

/// The repositories.conf for a build. `append` keeps the release's lines;
/// `replace` keeps only the local feed and the non-feed lines (options such
/// as `check_signature`, comments). Either way a release feed of the same
/// name as a requested one gives way to it, and the requested feeds follow.
pub fn render(release: &str, mode: RepositoriesMode, repos: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut has_local = false;
    for line in release.lines() {
        if let Some((kind, name, url)) = feed_line(line) {
            if is_local(kind, url) {
                has_local = true;
            } else if mode == RepositoriesMode::Replace || repos.contains_key(name) {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if !has_local && mode == RepositoriesMode::Replace {
        out.push_str("src imagebuilder file:packages\n");
    }
    for (name, url) in repos {
        out.push_str(&format!("src/gz {name} {url}\n"));
    }
    out
}

/// A key's file name under `keys/`: derived from its text, never taken from it.
pub fn key_file_name(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Writes via a temporary file and a rename, so a crash never leaves half a file.
fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("asu-tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

/// Puts the folder back as the release shipped it: repositories.conf from
/// the pristine copy (made now on first use), added keys removed.
pub fn restore(ib: &Path) -> io::Result<()> {
    let conf = ib.join(CONF);
    let pristine = ib.join(PRISTINE);
    match std::fs::read(&pristine) {
        Ok(text) => write_atomic(&conf, &text)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::read(&conf) {
            Ok(text) => write_atomic(&pristine, &text)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    }
    let record = ib.join(ADDED_KEYS);
    match std::fs::read_to_string(&record) {
        Ok(list) => {
            for name in list.lines() {
                // Only names this module wrote (64 hex digits) are removed.
                if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    match std::fs::remove_file(ib.join("keys").join(name)) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
            }
            std::fs::remove_file(&record)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The job's feeds and keys in place; dropping it (build done, failed, timed
/// out or cancelled) restores the folder.
#[must_use]
pub struct JobFeeds {
    ib: PathBuf,
}

impl Drop for JobFeeds {
    fn drop(&mut self) {
        if let Err(e) = restore(&self.ib) {
            log!("could not restore {}: {e}", self.ib.display());
        }
    }
}

/// Starts every job from the pristine files, then writes this job's
/// repositories.conf and keys (request fields are checked by jobcheck).
pub fn prepare(ib: &Path, req: &BuildRequest) -> io::Result<JobFeeds> {
    restore(ib)?;
    let guard = JobFeeds { ib: ib.to_path_buf() };
    if !req.repositories.is_empty() {
        let release = match std::fs::read_to_string(ib.join(PRISTINE)) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let text = render(&release, req.repositories_mode, &req.repositories);
        write_atomic(&ib.join(CONF), text.as_bytes())?;
    }
    if !req.repository_keys.is_empty() {
        let keys = ib.join("keys");
        std::fs::create_dir_all(&keys)?;
        // A key the release ships already stays; only new files are recorded.
        let mut added: Vec<(String, &str)> = Vec::new();
        for key in &req.repository_keys {
            let name = key_file_name(key);
            if !keys.join(&name).exists() && !added.iter().any(|(n, _)| *n == name) {
                added.push((name, key));
            }
        }
        let list: String = added.iter().map(|(n, _)| format!("{n}\n")).collect();
        write_atomic(&ib.join(ADDED_KEYS), list.as_bytes())?;
        for (name, key) in &added {
            std::fs::write(keys.join(name), key.as_bytes())?;
        }
    }
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "## Place your custom repositories here\n\
        src/gz openwrt_core https://downloads.openwrt.org/releases/24.10.5/targets/mediatek/filogic/packages\n\
        src/gz openwrt_base https://downloads.openwrt.org/releases/24.10.5/packages/aarch64_cortex-a53/base\n\
        \n\
        src imagebuilder file:packages\n\
        option check_signature\n";

    fn repos(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    fn feed_names(conf: &str) -> Vec<String> {
        conf.lines().filter_map(feed_line).map(|(_, n, _)| n.to_string()).collect()
    }

    #[test]
    fn append_keeps_the_release_feeds() {
        let r = repos(&[("myfeed", "https://feeds.example.org/openwrt/myfeed")]);
        let out = render(RELEASE, RepositoriesMode::Append, &r);
        assert_eq!(out, format!("{RELEASE}src/gz myfeed https://feeds.example.org/openwrt/myfeed\n"));
        assert_eq!(feed_names(&out), ["openwrt_core", "openwrt_base", "imagebuilder", "myfeed"]);
    }

    #[test]
    fn a_requested_feed_replaces_the_release_feed_of_that_name() {
        let r = repos(&[("openwrt_base", "https://mirror.example.org/base")]);
        let out = render(RELEASE, RepositoriesMode::Append, &r);
        assert_eq!(out.matches("openwrt_base").count(), 1, "{out}");
        assert!(out.contains("src/gz openwrt_base https://mirror.example.org/base\n"));
        assert!(out.contains("openwrt_core"));
    }

    #[test]
    fn replace_keeps_only_the_local_feed_and_options() {
        let r = repos(&[("b", "https://x.example/b"), ("a", "https://x.example/a")]);
        let out = render(RELEASE, RepositoriesMode::Replace, &r);
        assert_eq!(feed_names(&out), ["imagebuilder", "a", "b"]);
        assert!(out.contains("option check_signature\n"));
        assert!(!out.contains("downloads.openwrt.org"));
        // A release file without the local feed still gets it.
        let out = render("src/gz x https://y/x\n", RepositoriesMode::Replace, &r);
        assert_eq!(out, "src imagebuilder file:packages\nsrc/gz a https://x.example/a\nsrc/gz b https://x.example/b\n");
    }

    fn ib_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONF), RELEASE).unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/d310111a8b43ba4e"), "release key\n").unwrap();
        dir
    }

    fn key_files(ib: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(ib.join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_job_writes_feeds_and_keys_and_dropping_it_restores_the_folder() {
        let dir = ib_folder();
        let ib = dir.path();
        let mut req = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        req.repositories = repos(&[("myfeed", "https://feeds.example.org/openwrt/myfeed")]);
        req.repositories_mode = RepositoriesMode::Replace;
        let key = "untrusted comment: my key\nRWQ$(reboot)/../../x\n";
        req.repository_keys = vec![key.to_string()];

        let feeds = prepare(ib, &req).unwrap();
        let conf = std::fs::read_to_string(ib.join(CONF)).unwrap();
        assert_eq!(feed_names(&conf), ["imagebuilder", "myfeed"]);
        assert_eq!(std::fs::read_to_string(ib.join(PRISTINE)).unwrap(), RELEASE);
        let name = hex::encode(Sha256::digest(key.as_bytes()));
        assert_eq!(std::fs::read_to_string(ib.join("keys").join(&name)).unwrap(), key);
        let mut want = vec!["d310111a8b43ba4e".to_string(), name.clone()];
        want.sort();
        assert_eq!(key_files(ib), want);

        drop(feeds);
        assert_eq!(std::fs::read_to_string(ib.join(CONF)).unwrap(), RELEASE);
        assert_eq!(key_files(ib), ["d310111a8b43ba4e"]);
        assert!(!ib.join(ADDED_KEYS).exists());

        // A builder that died mid-build left its files: the next job, even
        // one without repositories, starts from the release's own.
        let feeds = prepare(ib, &req).unwrap();
        std::mem::forget(feeds);
        assert_ne!(std::fs::read_to_string(ib.join(CONF)).unwrap(), RELEASE);
        let plain = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        let feeds = prepare(ib, &plain).unwrap();
        assert_eq!(std::fs::read_to_string(ib.join(CONF)).unwrap(), RELEASE);
        assert_eq!(key_files(ib), ["d310111a8b43ba4e"]);
        drop(feeds);
        assert_eq!(std::fs::read_to_string(ib.join(CONF)).unwrap(), RELEASE);
    }

    #[test]
    fn a_key_the_release_ships_is_not_removed() {
        let dir = ib_folder();
        let ib = dir.path();
        let shipped = "release key\n";
        let name = key_file_name(shipped);
        std::fs::write(ib.join("keys").join(&name), shipped).unwrap();
        let mut req = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        req.repository_keys = vec![shipped.to_string()];
        drop(prepare(ib, &req).unwrap());
        assert!(ib.join("keys").join(&name).exists());
    }
}
