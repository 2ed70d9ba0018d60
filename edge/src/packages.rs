//! A release's package feeds, fetched from upstream and reduced to a
//! [`PackageSet`]: the opkg `Packages` file of each feed (or its
//! `index.json` where only that exists). Summaries are kept in this
//! isolate's memory and in KV, so other isolates reuse them without
//! fetching and parsing the feeds again (real feeds are megabytes).

use std::future::Future;
use std::rc::Rc;

use asu_protocol::opkg::{parse_index_json, IndexError, IndexJson};
use asu_protocol::package_index::PackageSet;
use asu_protocol::upstream::ProfilesJson;
use futures_util::future::join_all;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::Env;

use crate::config::Config;
use asu_protocol::package_details::DetailSet;
use crate::metadata::{self, Unreachable, NEGATIVE_TTL_SECONDS};
use crate::release::release_path;
use crate::results;

/// The feeds of an architecture, in the order opkg lists them.
pub const ARCH_FEEDS: &[&str] = &["base", "packages", "luci", "routing", "telephony"];

/// Bumped when [`PackageSet`]'s stored form changes.
const KV_PREFIX: &str = "pkgset:1:";
/// Bumped when [`DetailSet`]'s stored form changes.
const DETAILS_KV_PREFIX: &str = "pkgdetails:1:";
/// KV refuses expirations under a minute.
const KV_MIN_TTL: u64 = 60;

/// `releases/24.10.5/packages/aarch64_cortex-a53`.
pub fn arch_dir(version: &str, arch: &str) -> String {
    format!("{}/packages/{arch}", release_path(version))
}

/// `releases/24.10.5/targets/mediatek/filogic`.
pub fn target_dir(version: &str, target: &str) -> String {
    format!("{}/targets/{target}", release_path(version))
}

/// The kernel-module feed of a release that publishes its kernel
/// (`kmods/6.6.119-1-<vermagic>`), relative to the target folder.
pub fn kmods_feed(profiles: &ProfilesJson) -> Option<String> {
    let k = profiles.linux_kernel.as_ref()?;
    if k.version.is_empty() || k.release.is_empty() || k.vermagic.is_empty() {
        return None;
    }
    Some(format!("kmods/{}-{}-{}", k.version, k.release, k.vermagic))
}

enum Feed {
    Packages(String),
    Index(String),
}

async fn feed(cfg: &Config, dir: &str) -> Result<Option<Feed>, Unreachable> {
    if let Some(text) = metadata::get_text(cfg, &format!("{dir}/Packages")).await? {
        return Ok(Some(Feed::Packages(text)));
    }
    Ok(metadata::get_text(cfg, &format!("{dir}/index.json")).await?.map(Feed::Index))
}

/// What the feeds of a release are read into: the name set for checks, or
/// the details for the package search.
trait FeedReader: Sized {
    fn add_packages_file(&mut self, text: &str) -> Result<(), IndexError>;
    fn add_index_json(&mut self, index: &IndexJson);
}

impl FeedReader for PackageSet {
    fn add_packages_file(&mut self, text: &str) -> Result<(), IndexError> {
        PackageSet::add_packages_file(self, text)
    }
    fn add_index_json(&mut self, index: &IndexJson) {
        PackageSet::add_index_json(self, index)
    }
}

impl FeedReader for DetailSet {
    fn add_packages_file(&mut self, text: &str) -> Result<(), IndexError> {
        DetailSet::add_packages_file(self, text)
    }
    fn add_index_json(&mut self, index: &IndexJson) {
        DetailSet::add_index_json(self, index)
    }
}

/// Reads every feed folder into `set`; `None` when none of them exists.
async fn read_feeds<S: FeedReader>(cfg: &Config, dirs: Vec<String>, mut set: S) -> Result<Option<S>, Unreachable> {
    let feeds = join_all(dirs.iter().map(|d| feed(cfg, d))).await;
    let mut found = false;
    for (dir, f) in dirs.iter().zip(feeds) {
        match f? {
            Some(Feed::Packages(text)) => {
                set.add_packages_file(&text)
                    .map_err(|e| Unreachable(format!("the upstream server sent a malformed {dir}/Packages ({e})")))?;
                found = true;
            }
            Some(Feed::Index(text)) => {
                let idx = parse_index_json(&text)
                    .map_err(|e| Unreachable(format!("the upstream server sent a malformed {dir}/index.json ({e})")))?;
                set.add_index_json(&idx);
                found = true;
            }
            None => {}
        }
    }
    Ok(found.then_some(set))
}

async fn build_set(cfg: &Config, arch: &str, dirs: Vec<String>) -> Result<Option<PackageSet>, Unreachable> {
    read_feeds(cfg, dirs, PackageSet::new(arch)).await
}

/// Memory, then KV, then `make`; stores what `make` found.
async fn cached(
    env: &Env,
    cfg: &Config,
    dir: &str,
    make: impl Future<Output = Result<Option<PackageSet>, Unreachable>>,
) -> Result<Option<Rc<PackageSet>>, Unreachable> {
    cached_as(env, cfg, KV_PREFIX, dir, make).await
}

async fn cached_as<T: Serialize + DeserializeOwned + 'static>(
    env: &Env,
    cfg: &Config,
    prefix: &str,
    dir: &str,
    make: impl Future<Output = Result<Option<T>, Unreachable>>,
) -> Result<Option<Rc<T>>, Unreachable> {
    let key = format!("{prefix}{}/{dir}", cfg.upstream_url);
    if let Some(hit) = metadata::recall::<T>(&key) {
        return Ok(hit);
    }
    let caching = cfg.metadata_ttl_seconds > 0;
    if caching {
        if let Some(set) = results::get_json::<T>(env, &key).await {
            let set = Rc::new(set);
            metadata::remember(&key, Some(set.clone()), cfg.metadata_ttl_seconds);
            return Ok(Some(set));
        }
    }
    match make.await? {
        Some(set) => {
            if caching {
                let ttl = (cfg.metadata_ttl_seconds as u64).max(KV_MIN_TTL);
                if let Err(e) = results::put_json(env, &key, &set, ttl).await {
                    worker::console_warn!("keeping {key} in KV failed: {e}");
                }
            }
            let set = Rc::new(set);
            metadata::remember(&key, Some(set.clone()), cfg.metadata_ttl_seconds);
            Ok(Some(set))
        }
        None => {
            metadata::remember::<T>(&key, None, cfg.metadata_ttl_seconds.min(NEGATIVE_TTL_SECONDS));
            Ok(None)
        }
    }
}

/// Every arch feed of `version` for `arch`, merged.
pub async fn arch_set(env: &Env, cfg: &Config, version: &str, arch: &str) -> Result<Option<Rc<PackageSet>>, Unreachable> {
    let dir = arch_dir(version, arch);
    let dirs = ARCH_FEEDS.iter().map(|f| format!("{dir}/{f}")).collect();
    cached(env, cfg, &dir, build_set(cfg, arch, dirs)).await
}

/// Every arch feed of `version` for `arch`, with sizes and descriptions.
pub async fn arch_details(env: &Env, cfg: &Config, version: &str, arch: &str) -> Result<Option<Rc<DetailSet>>, Unreachable> {
    let dir = arch_dir(version, arch);
    let dirs: Vec<String> = ARCH_FEEDS.iter().map(|f| format!("{dir}/{f}")).collect();
    let make = read_feeds(cfg, dirs, DetailSet::default());
    cached_as(env, cfg, DETAILS_KV_PREFIX, &dir, make).await
}

/// The target feed of `version` (`targets/{t}/{st}/packages`) plus its
/// kernel-module feed when the release publishes one.
pub async fn target_set(
    env: &Env,
    cfg: &Config,
    version: &str,
    target: &str,
    arch: &str,
    profiles: Option<&ProfilesJson>,
) -> Result<Option<Rc<PackageSet>>, Unreachable> {
    let dir = target_dir(version, target);
    let mut dirs = vec![format!("{dir}/packages")];
    if let Some(kmods) = profiles.and_then(kmods_feed) {
        dirs.push(format!("{dir}/{kmods}"));
    }
    cached(env, cfg, &dir, build_set(cfg, arch, dirs)).await
}

/// Both sets a build of `target` draws from; `None` unless both exist
/// (a partial picture would refuse real packages).
pub async fn release_sets(
    env: &Env,
    cfg: &Config,
    version: &str,
    target: &str,
    arch: &str,
    profiles: &ProfilesJson,
) -> Result<Option<(Rc<PackageSet>, Rc<PackageSet>)>, Unreachable> {
    let (a, t) = futures_util::join!(arch_set(env, cfg, version, arch), target_set(env, cfg, version, target, arch, Some(profiles)));
    Ok(match (a?, t?) {
        (Some(a), Some(t)) => Some((a, t)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_paths() {
        assert_eq!(arch_dir("24.10.5", "aarch64_cortex-a53"), "releases/24.10.5/packages/aarch64_cortex-a53");
        assert_eq!(arch_dir("SNAPSHOT", "x86_64"), "snapshots/packages/x86_64");
        assert_eq!(target_dir("23.05.4", "mediatek/filogic"), "releases/23.05.4/targets/mediatek/filogic");
    }

    #[test]
    fn kmods_feed_from_the_kernel_fields() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/upstream/releases/24.10.5/targets/mediatek/filogic/profiles.json"
        ));
        let Ok(text) = text else { return };
        let p: ProfilesJson = serde_json::from_str(&text).unwrap();
        let k = p.linux_kernel.clone().unwrap();
        assert_eq!(kmods_feed(&p), Some(format!("kmods/{}-{}-{}", k.version, k.release, k.vermagic)));
        let mut older = p;
        older.linux_kernel = None;
        assert_eq!(kmods_feed(&older), None);
    }
}
