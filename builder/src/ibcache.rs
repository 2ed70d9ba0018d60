//! Downloads, verifies and caches unpacked ImageBuilders, one folder per
//! version/target/subtarget, re-fetched when upstream's sha256sums names a
//! different archive (snapshots change daily).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedMutexGuard;

use crate::log;
use crate::unpack::{self, Compression};

/// Written into each unpacked ImageBuilder: `<sha256> <archive name>`.
pub const MARKER: &str = ".asu-imagebuilder";

/// Which ImageBuilder a build needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IbKey {
    pub version: String,
    pub target: String,
    pub subtarget: String,
}

impl IbKey {
    /// From already validated `version` and `target/subtarget`.
    pub fn new(version: &str, target: &str) -> Option<IbKey> {
        let (t, s) = target.split_once('/')?;
        Some(IbKey {
            version: version.into(),
            target: t.into(),
            subtarget: s.into(),
        })
    }

    /// The folder on the download server (`SNAPSHOT` lives apart from releases;
    /// `24.10-SNAPSHOT` is under releases/).
    pub fn upstream_dir(&self, upstream: &str) -> String {
        let base = upstream.trim_end_matches('/');
        let release = if self.version == "SNAPSHOT" {
            "snapshots".to_string()
        } else {
            format!("releases/{}", self.version)
        };
        format!(
            "{base}/{release}/targets/{}/{}",
            self.target, self.subtarget
        )
    }

    pub fn sha256sums_url(&self, upstream: &str) -> String {
        format!("{}/sha256sums", self.upstream_dir(upstream))
    }

    fn describe(&self) -> String {
        format!("{} {}/{}", self.version, self.target, self.subtarget)
    }
}

/// An archive listed in sha256sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub sha256: String,
    pub name: String,
}

fn is_imagebuilder_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("openwrt-imagebuilder-") else {
        return false;
    };
    let ok_suffix =
        rest.ends_with(".Linux-x86_64.tar.xz") || rest.ends_with(".Linux-x86_64.tar.zst");
    ok_suffix
        && asu_protocol::builder_api::is_artifact_name(name)
        && rest.len() > ".Linux-x86_64.tar.xz".len()
}

/// Finds the ImageBuilder in a sha256sums file (`<hex> *<name>` or
/// `<hex>  <name>`). A zstd archive wins over xz: it unpacks faster.
pub fn select_imagebuilder(sha256sums: &str) -> Option<Listed> {
    let mut found: Vec<Listed> = Vec::new();
    for line in sha256sums.lines() {
        let Some((hex, rest)) = line.trim_end().split_once(char::is_whitespace) else {
            continue;
        };
        let name = rest.trim_start().trim_start_matches('*');
        if hex.len() == 64
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && is_imagebuilder_name(name)
        {
            found.push(Listed {
                sha256: hex.to_ascii_lowercase(),
                name: name.to_string(),
            });
        }
    }
    found
        .iter()
        .find(|l| l.name.ends_with(".zst"))
        .or(found.first())
        .cloned()
}

pub struct IbCache {
    root: PathBuf,
    upstream: String,
    http: reqwest::Client,
    locks: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    counter: AtomicU64,
}

/// Holds one ImageBuilder folder for a job: downloads and builds in that
/// folder are serialised by it.
pub struct IbLease {
    pub dir: PathBuf,
    _guard: OwnedMutexGuard<()>,
}

impl IbCache {
    pub fn new(root: PathBuf, upstream: String) -> std::io::Result<IbCache> {
        std::fs::create_dir_all(&root)?;
        // Leftovers of an interrupted download or swap.
        for leftover in [".tmp", ".trash"] {
            let p = root.join(leftover);
            if p.exists() {
                let _ = std::fs::remove_dir_all(&p);
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("asu-builder/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(IbCache {
            root,
            upstream,
            http,
            locks: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
        })
    }

    pub fn dir_for(&self, key: &IbKey) -> PathBuf {
        self.root
            .join(&key.version)
            .join(&key.target)
            .join(&key.subtarget)
    }

    fn scratch(&self, what: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.root
            .join(".tmp")
            .join(format!("{what}-{}-{n}", std::process::id()))
    }

    /// Waits for the key's folder, then makes sure it holds the ImageBuilder
    /// that upstream currently lists. Errors are `detail` texts.
    pub async fn acquire(&self, key: &IbKey) -> Result<IbLease, String> {
        let dir = self.dir_for(key);
        let lock = {
            let mut map = self.locks.lock().expect("lock map");
            map.entry(dir.clone()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        self.refresh(key, &dir).await?;
        Ok(IbLease { dir, _guard: guard })
    }

    async fn refresh(&self, key: &IbKey, dir: &Path) -> Result<(), String> {
        let cached = std::fs::read_to_string(dir.join(MARKER)).ok();
        let url = key.sha256sums_url(&self.upstream);
        let listed = match self.fetch_text(&url).await {
            Ok(Some(text)) => select_imagebuilder(&text).ok_or_else(|| {
                format!(
                    "Error: Upstream lists no ImageBuilder for {} in {url}",
                    key.describe()
                )
            })?,
            Ok(None) => {
                return Err(format!(
                    "Error: No ImageBuilder is published for {} (not found: {url})",
                    key.describe()
                ))
            }
            Err(e) if cached.is_some() => {
                log!(
                    "upstream unreachable ({e}); using the cached ImageBuilder for {}",
                    key.describe()
                );
                return Ok(());
            }
            Err(e) => {
                return Err(format!(
                    "Error: Could not reach the download server for {}: {e}",
                    key.describe()
                ))
            }
        };
        let want = format!("{} {}", listed.sha256, listed.name);
        if cached.as_deref().map(str::trim) == Some(want.as_str()) {
            return Ok(());
        }
        log!("fetching {} for {}", listed.name, key.describe());
        self.install(key, dir, &listed, &want).await
    }

    /// 200 -> Some(text), 404 -> None, anything else -> Err.
    async fn fetch_text(&self, url: &str) -> Result<Option<String>, String> {
        let resp = self
            .http
            .get(url)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match resp.status().as_u16() {
            200 => resp.text().await.map(Some).map_err(|e| e.to_string()),
            404 => Ok(None),
            s => Err(format!("HTTP {s}")),
        }
    }

    async fn install(
        &self,
        key: &IbKey,
        dir: &Path,
        listed: &Listed,
        marker: &str,
    ) -> Result<(), String> {
        let compression = Compression::from_name(&listed.name)
            .ok_or("Error: Unknown ImageBuilder archive type")?;
        let archive = self.scratch("archive");
        let unpacked = self.scratch("unpack");
        let result = async {
            let url = format!("{}/{}", key.upstream_dir(&self.upstream), listed.name);
            let mut last = String::new();
            let mut ok = false;
            for attempt in 1..=3u32 {
                match self.download(&url, &archive).await {
                    Ok(sha) if sha == listed.sha256 => {
                        ok = true;
                        break;
                    }
                    Ok(sha) => {
                        last = format!("sha256 {sha} does not match sha256sums ({})", listed.sha256)
                    }
                    Err(e) => last = e,
                }
                log!("download of {url} failed (attempt {attempt}): {last}");
                tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
            }
            if !ok {
                return Err(format!(
                    "Error: Could not download the ImageBuilder {}: {last}",
                    listed.name
                ));
            }
            let (a, u, m, d) = (
                archive.clone(),
                unpacked.clone(),
                marker.to_string(),
                dir.to_path_buf(),
            );
            let trash = self.scratch("old");
            tokio::task::spawn_blocking(move || {
                unpack_and_swap(&a, compression, &u, &m, &d, &trash)
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map_err(|e| {
                format!(
                    "Error: Could not unpack the ImageBuilder {}: {e}",
                    listed.name
                )
            })
        }
        .await;
        let _ = tokio::fs::remove_file(&archive).await;
        let _ = tokio::fs::remove_dir_all(&unpacked).await;
        result
    }

    /// Streams `url` into `to`; returns the sha256 of what was written.
    async fn download(&self, url: &str, to: &Path) -> Result<String, String> {
        if let Some(parent) = to.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut resp = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status().as_u16()));
        }
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(|e| e.to_string())?;
        let mut hasher = Sha256::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(|e| e.to_string())?;
        }
        file.flush().await.map_err(|e| e.to_string())?;
        file.sync_all().await.map_err(|e| e.to_string())?;
        Ok(hex::encode(hasher.finalize()))
    }
}

/// Unpacks into a scratch folder, then moves it into place with a rename so
/// that a half-unpacked ImageBuilder is never used.
fn unpack_and_swap(
    archive: &Path,
    compression: Compression,
    scratch: &Path,
    marker: &str,
    dir: &Path,
    trash: &Path,
) -> std::io::Result<()> {
    std::fs::create_dir_all(scratch)?;
    unpack::unpack_file(archive, compression, scratch)?;
    // Archives hold one top folder (openwrt-imagebuilder-...); use its content.
    let entries: Vec<_> = std::fs::read_dir(scratch)?.collect::<Result<_, _>>()?;
    let top = match entries.as_slice() {
        [only] if only.file_type()?.is_dir() => only.path(),
        _ => scratch.to_path_buf(),
    };
    std::fs::write(top.join(MARKER), format!("{marker}\n"))?;
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if dir.exists() {
        std::fs::rename(dir, trash)?;
    }
    std::fs::rename(&top, dir)?;
    let _ = std::fs::remove_dir_all(trash);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_by_version_kind() {
        let up = "https://downloads.openwrt.org/";
        let k = IbKey::new("24.10.5", "mediatek/filogic").unwrap();
        assert_eq!(
            k.sha256sums_url(up),
            "https://downloads.openwrt.org/releases/24.10.5/targets/mediatek/filogic/sha256sums"
        );
        let k = IbKey::new("SNAPSHOT", "x86/64").unwrap();
        assert_eq!(
            k.sha256sums_url(up),
            "https://downloads.openwrt.org/snapshots/targets/x86/64/sha256sums"
        );
        let k = IbKey::new("24.10-SNAPSHOT", "x86/64").unwrap();
        assert_eq!(
            k.sha256sums_url(up),
            "https://downloads.openwrt.org/releases/24.10-SNAPSHOT/targets/x86/64/sha256sums"
        );
    }

    #[test]
    fn picks_the_imagebuilder_line() {
        let a = "a".repeat(64);
        let b = "B".repeat(64);
        let c = "c".repeat(64);
        let text = format!(
            "{a} *openwrt-24.10.5-mediatek-filogic-glinet_gl-mt6000-squashfs-sysupgrade.bin\n\
             {c} *openwrt-sdk-24.10.5-mediatek-filogic_gcc-13.3.0_musl.Linux-x86_64.tar.zst\n\
             {b} *openwrt-imagebuilder-24.10.5-mediatek-filogic.Linux-x86_64.tar.zst\n\
             {a} *openwrt-toolchain-24.10.5-mediatek-filogic_gcc-13.3.0_musl.Linux-x86_64.tar.zst\n"
        );
        let l = select_imagebuilder(&text).unwrap();
        assert_eq!(
            l.name,
            "openwrt-imagebuilder-24.10.5-mediatek-filogic.Linux-x86_64.tar.zst"
        );
        assert_eq!(l.sha256, "b".repeat(64));

        // Text-mode lines (two spaces) and xz archives of older releases.
        let text = format!("{a}  openwrt-imagebuilder-23.05.4-x86-64.Linux-x86_64.tar.xz\n");
        assert_eq!(
            select_imagebuilder(&text).unwrap().name,
            "openwrt-imagebuilder-23.05.4-x86-64.Linux-x86_64.tar.xz"
        );

        // Short hashes, paths and other suffixes are not taken.
        for bad in [
            "abc *openwrt-imagebuilder-23.05.4-x86-64.Linux-x86_64.tar.xz".to_string(),
            format!("{a} *../openwrt-imagebuilder-23.05.4-x86-64.Linux-x86_64.tar.xz"),
            format!("{a} *openwrt-imagebuilder-23.05.4-x86-64.Linux-x86_64.tar.gz"),
            format!("{a} *openwrt-imagebuilder-.Linux-x86_64.tar.xz"),
        ] {
            assert_eq!(select_imagebuilder(&bad), None, "{bad}");
        }
    }

    #[test]
    fn real_sha256sums_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/upstream/releases/24.10.5/targets/mediatek/filogic/sha256sums"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        // The fixture lists images and buildinfo files but no ImageBuilder.
        assert_eq!(select_imagebuilder(&text), None);
        let ib = format!(
            "{} *openwrt-imagebuilder-24.10.5-mediatek-filogic.Linux-x86_64.tar.zst\n",
            "d".repeat(64)
        );
        let l = select_imagebuilder(&format!("{text}{ib}")).unwrap();
        assert_eq!(format!("{} *{}\n", l.sha256, l.name), ib);
    }
}
