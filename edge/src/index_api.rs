//! `/json/v1/{path}/targets/{t}/{st}/index.json` (`{architecture,
//! packages}` of the target feed) and `/json/v1/{path}/packages/{arch}-index.json`
//! (flat `{name: version}` of every arch feed), as owut and auc read them;
//! and `/json/v1/{path}/packages/{arch}-details.json` for the web page.

use asu_protocol::upstream::{ProfilesJson, Targets};
use serde_json::json;
use worker::{Env, Response, Result};

use crate::config::Config;
use crate::http;
use crate::metadata::{self, Unreachable};
use crate::packages;
use crate::public::{json_cached, Reject};
use crate::release::{self, profiles_path, targets_path};
use asu_protocol::validate::quote;

fn unavailable(e: Unreachable) -> Result<Response> {
    http::error(503, Reject::from(e).1)
}

async fn targets_of(cfg: &Config, version: &str) -> std::result::Result<Option<std::rc::Rc<Targets>>, Unreachable> {
    metadata::get::<Targets>(cfg, &targets_path(version)).await
}

pub async fn target_index(env: &Env, cfg: &Config, version: &str, target: &str) -> Result<Response> {
    let targets = match targets_of(cfg, version).await {
        Ok(Some(t)) => t,
        Ok(None) => return http::error(404, release::unknown_version(version)),
        Err(e) => return unavailable(e),
    };
    let Some(arch) = targets.get(target) else {
        return http::error(404, release::unknown_target(target, version));
    };
    // profiles.json names the kernel-module feed; without it the target feed alone is served.
    let profiles = metadata::get::<ProfilesJson>(cfg, &profiles_path(version, target)).await.ok().flatten();
    match packages::target_set(env, cfg, version, target, arch, profiles.as_deref()).await {
        Ok(Some(set)) => json_cached(cfg, &json!({"architecture": set.architecture, "packages": set.packages})),
        Ok(None) => http::error(404, format!("No package index is published for {target} in {version}")),
        Err(e) => unavailable(e),
    }
}

/// Whether `version` has a target of `arch`; `Err` is the answer to give otherwise.
async fn known_arch(cfg: &Config, version: &str, arch: &str) -> std::result::Result<(), Result<Response>> {
    let targets = match targets_of(cfg, version).await {
        Ok(Some(t)) => t,
        Ok(None) => return Err(http::error(404, release::unknown_version(version))),
        Err(e) => return Err(unavailable(e)),
    };
    // Only architectures the release builds for: no probing of arbitrary upstream folders.
    if !targets.values().any(|a| a == arch) {
        return Err(http::error(404, format!("No target of {version} uses the package architecture {}", quote(arch))));
    }
    Ok(())
}

/// `{"packages": {name: {version, size, description}}}` of every arch feed.
pub async fn arch_details(env: &Env, cfg: &Config, version: &str, arch: &str) -> Result<Response> {
    if let Err(answer) = known_arch(cfg, version, arch).await {
        return answer;
    }
    match packages::arch_details(env, cfg, version, arch).await {
        Ok(Some(set)) => json_cached(cfg, &json!({"packages": set.packages})),
        Ok(None) => http::error(404, format!("No package feeds are published for {} in {version}", quote(arch))),
        Err(e) => unavailable(e),
    }
}

pub async fn arch_index(env: &Env, cfg: &Config, version: &str, arch: &str) -> Result<Response> {
    let targets = match targets_of(cfg, version).await {
        Ok(Some(t)) => t,
        Ok(None) => return http::error(404, release::unknown_version(version)),
        Err(e) => return unavailable(e),
    };
    // Only architectures the release builds for: no probing of arbitrary upstream folders.
    if !targets.values().any(|a| a == arch) {
        return http::error(404, format!("No target of {version} uses the package architecture {}", quote(arch)));
    }
    match packages::arch_set(env, cfg, version, arch).await {
        Ok(Some(set)) => json_cached(cfg, &serde_json::to_value(&set.packages)?),
        Ok(None) => http::error(404, format!("No package feeds are published for {} in {version}", quote(arch))),
        Err(e) => unavailable(e),
    }
}
