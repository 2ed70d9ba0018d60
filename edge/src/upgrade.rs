//! `POST /api/v1/upgrade-check`: the newest release that has the device,
//! which of its packages change version, and which package changes the
//! move between branches brings. 204 when nothing is newer.

use std::collections::BTreeMap;
use std::rc::Rc;

use asu_protocol::package_changes::{apply, branch_of, tables_between, Release};
use asu_protocol::package_index::Known;
use asu_protocol::request::BuildRequest;
use asu_protocol::upgrade_check::{diff, UpgradeCheckRequest};
use asu_protocol::upstream::{ProfilesJson, Targets};
use serde_json::json;
use worker::{Env, Request, Response, Result};

use crate::body::{read_capped, Body};
use crate::config::Config;
use crate::metadata::{self, Unreachable};
use crate::public::{published, Reject, MAX_REQUEST_BODY};
use crate::release::{compare_versions, is_final_release, profiles_path};
use crate::request_rules::profile_defaults;
use crate::ttl::is_snapshot;
use crate::{changes, http, packages};

/// The versions an installed `current` may move to, newest first: newer
/// final releases (a branch snapshot such as `22.03-SNAPSHOT` sorts after
/// every `22.03.x`, so only later branches are newer), plus newer release
/// candidates when `current` is one. Snapshots also move to a newer build
/// of themselves (see [`revision_number`]).
pub fn newer_versions<'a>(published: impl Iterator<Item = &'a String>, current: &str) -> Vec<String> {
    let current_is_rc = !is_snapshot(current) && !is_final_release(current);
    let mut out: Vec<String> = published
        .filter(|v| !is_snapshot(v) && (is_final_release(v) || current_is_rc))
        .filter(|v| compare_versions(v, current) == std::cmp::Ordering::Greater)
        .cloned()
        .collect();
    out.sort_by(|a, b| compare_versions(b, a));
    out
}

/// `r29087-d9c5716d1d` -> 29087.
pub fn revision_number(version_code: &str) -> Option<u64> {
    let digits: String = version_code.strip_prefix('r')?.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The device in `version`: its profiles.json and resolved profile id.
async fn device(
    cfg: &Config,
    present: &BTreeMap<String, Targets>,
    version: &str,
    target: &str,
    profile: &str,
) -> std::result::Result<Option<(Rc<ProfilesJson>, String)>, Unreachable> {
    if !present.get(version).is_some_and(|t| t.contains_key(target)) {
        return Ok(None);
    }
    let Some(profiles) = metadata::get::<ProfilesJson>(cfg, &profiles_path(version, target)).await? else {
        return Ok(None);
    };
    let id = profiles.resolve_profile(profile).map(String::from);
    Ok(id.map(|id| (profiles, id)))
}

fn unknown_device(q: &UpgradeCheckRequest) -> Result<Response> {
    http::error(
        400,
        format!("Unknown device: no published release has profile '{}' of {} (asked about {})", q.profile, q.target, q.version),
    )
}

pub async fn check(mut req: Request, env: &Env, cfg: &Config) -> Result<Response> {
    let body = match read_capped(&mut req, MAX_REQUEST_BODY).await? {
        Body::Complete(b) => b,
        Body::TooLarge => return http::error(413, format!("The request body is larger than {} KiB", MAX_REQUEST_BODY / 1024)),
    };
    let q = match UpgradeCheckRequest::from_json(&body) {
        Ok(q) => q,
        Err(e) => return http::error(400, e.to_string()),
    };
    match answer(env, cfg, &q).await {
        Ok(resp) => resp,
        Err(e) => http::error(503, Reject::from(e).1),
    }
}

async fn answer(env: &Env, cfg: &Config, q: &UpgradeCheckRequest) -> std::result::Result<Result<Response>, Unreachable> {
    let (_, present) = published(cfg).await?;
    let current = device(cfg, &present, &q.version, &q.target, &q.profile).await?;
    if present.contains_key(&q.version) && current.is_none() {
        return Ok(unknown_device(q));
    }
    let mut found = None;
    for v in newer_versions(present.keys(), &q.version) {
        if let Some(d) = device(cfg, &present, &v, &q.target, &q.profile).await? {
            found = Some((v, d));
            break;
        }
    }
    if found.is_none() && is_snapshot(&q.version) {
        // A snapshot is newer when its build has a higher revision number.
        if let Some((profiles, id)) = &current {
            let newer = match (revision_number(&profiles.version_code), revision_number(&q.version_code)) {
                (Some(have), Some(running)) => have > running,
                _ => false,
            };
            if newer {
                found = Some((q.version.clone(), (profiles.clone(), id.clone())));
            }
        }
    }
    let Some((version, (profiles, profile))) = found else {
        return Ok(if current.is_some() { Response::empty().map(|r| r.with_status(204)) } else { unknown_device(q) });
    };
    let arch = present[&version][&q.target].clone();
    let sets = packages::release_sets(env, cfg, &version, &q.target, &arch, &profiles).await?;
    let known = sets.as_ref().map(|(a, t)| Known::new([a.as_ref(), t.as_ref()]));
    let known_fn = |n: &str| known.as_ref().is_some_and(|k| k.contains(n));
    let version_fn = |n: &str| known.as_ref().and_then(|k| k.version(n)).map(String::from);

    // The router's whole list, as a diff_packages build request would send it.
    let mut build = BuildRequest::new(&version, &q.target, &profile);
    build.distro = q.distro.clone();
    build.diff_packages = true;
    build.packages = q.packages.keys().cloned().collect();
    let defaults = profile_defaults(&profiles, &profile);
    let release = Release { defaults: &defaults, known: known.as_ref().map(|_| &known_fn as &dyn Fn(&str) -> bool) };
    let (from_branch, to_branch) = (branch_of(&q.version), branch_of(&version));
    let tables = tables_between(changes::tables(), Some(&from_branch), &to_branch);
    let applied = apply(&tables, &release, &mut build);
    let d = diff(&q.packages, &build.packages, &version_fn, &known_fn);
    let titles = profiles.profiles.get(&profile).and_then(|p| serde_json::to_value(&p.titles).ok());

    let value = json!({
        "version": version,
        "version_code": profiles.version_code,
        "branch": to_branch,
        "target": q.target,
        "profile": profile,
        "titles": titles.unwrap_or(json!([])),
        "from": {"version": q.version, "version_code": q.version_code, "branch": from_branch},
        "packages": d.packages,
        "replacements": applied.iter().map(|a| a.to_json()).collect::<Vec<_>>(),
        "missing": d.missing,
        "package_indexes": known.is_some(),
    });
    Ok(http::json(200, &value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finals_move_to_newer_finals_only() {
        let published = names(&["23.05.4", "24.10.5", "24.10.0-rc7", "24.10-SNAPSHOT", "22.03.7", "SNAPSHOT"]);
        assert_eq!(newer_versions(published.iter(), "23.05.4"), ["24.10.5"]);
        assert_eq!(newer_versions(published.iter(), "22.03.5"), ["24.10.5", "23.05.4", "22.03.7"]);
        assert!(newer_versions(published.iter(), "24.10.5").is_empty());
        assert_eq!(newer_versions(published.iter(), "24.10.0-rc1"), ["24.10.5", "24.10.0-rc7"]);
        assert!(newer_versions(published.iter(), "24.10-SNAPSHOT").is_empty());
        assert_eq!(newer_versions(published.iter(), "22.03-SNAPSHOT"), ["24.10.5", "23.05.4"]);
        assert!(newer_versions(published.iter(), "SNAPSHOT").is_empty());
    }

    #[test]
    fn revision_numbers() {
        assert_eq!(revision_number("r29087-d9c5716d1d"), Some(29087));
        assert_eq!(revision_number("r11215+4-bba6646b5cba"), Some(11215));
        assert_eq!(revision_number(""), None);
        assert_eq!(revision_number("x1"), None);
    }
}
