//! The public API: build submission and status, downloads, stats and the
//! metadata endpoints clients read before they build.

use std::collections::BTreeMap;
use std::rc::Rc;

use asu_protocol::answer::BuildAnswer;
use asu_protocol::canonical::request_hash;
use asu_protocol::request::BuildRequest;
use asu_protocol::upstream::{ProfilesJson, Targets, Versions};
use futures_util::future::join_all;
use serde_json::json;
use worker::{Env, Request, Response, Result};

use asu_protocol::package_changes::{apply, branch_of, tables_up_to, Release};
use asu_protocol::package_index::{unknown_packages_detail, Known};

use crate::body::{read_capped, Body};
use crate::config::Config;
use crate::metadata::{self, Unreachable};
use crate::overview::{self, ServerInfo};
use crate::queue_api::{QueueCall, QueueReply};
use crate::release::{self, profiles_path, targets_path, VERSIONS_PATH};
use crate::request_rules::{client_from_user_agent, incorrect_version, profile_defaults, version_code_differs, version_mismatches};
use crate::store::{self, served_sha256};
use crate::ttl::is_snapshot;
use crate::{changes, http, packages, queue, results};

/// Largest build request body (a 20 KiB first-boot script plus packages fits easily).
pub const MAX_REQUEST_BODY: usize = 256 * 1024;
/// Seconds a client is told to wait when the queue is full.
const RETRY_AFTER_SECONDS: u32 = 60;
/// A remembered profiles.json older than this is fetched again when a
/// request names another revision.
const REFRESH_AFTER_SECONDS: u32 = 30;
pub const UNKNOWN_PACKAGE_HEADER: &str = "X-Unknown-Package";

/// A request that cannot be built, with the status and words to say why.
pub(crate) struct Reject(pub u16, pub String);

impl From<Unreachable> for Reject {
    fn from(e: Unreachable) -> Self {
        Reject(503, format!("Upstream metadata is not available right now: {}", e.0))
    }
}

/// What the checks learnt about the release a request is for.
struct Resolved {
    profiles: Rc<ProfilesJson>,
    /// The target's package architecture.
    arch: String,
}

/// Checks the request against upstream metadata, sets `profile` to the
/// profile id the ImageBuilder knows, and refuses a `version_code` the
/// release does not have.
async fn resolve(cfg: &Config, request: &mut BuildRequest) -> std::result::Result<Resolved, Reject> {
    let version = request.version.clone();
    let target = request.target.clone();
    let targets = metadata::get::<Targets>(cfg, &targets_path(&version)).await?;
    let mut arch = None;
    match &targets {
        Some(t) => match t.get(&target) {
            Some(a) => arch = Some(a.clone()),
            None => return Err(Reject(400, release::unknown_target(&target, &version))),
        },
        None => {
            let versions = metadata::get::<Versions>(cfg, VERSIONS_PATH).await?;
            let listed = versions.map(|v| v.versions_list.contains(&version)).unwrap_or(false);
            if !listed {
                return Err(Reject(400, release::unknown_version(&version)));
            }
        }
    }
    let path = profiles_path(&version, &target);
    let Some(mut profiles) = metadata::get::<ProfilesJson>(cfg, &path).await? else {
        return Err(Reject(400, release::unknown_target(&target, &version)));
    };
    if version_code_differs(&request.version_code, &profiles.version_code)
        && metadata::forget_if_older(cfg, &path, REFRESH_AFTER_SECONDS)
    {
        // The remembered copy may be behind upstream (snapshots move on).
        if let Some(fresh) = metadata::get::<ProfilesJson>(cfg, &path).await? {
            profiles = fresh;
        }
    }
    if version_code_differs(&request.version_code, &profiles.version_code) {
        return Err(Reject(400, incorrect_version(&profiles.version_code, &request.version_code, &version, &target)));
    }
    match profiles.resolve_profile(&request.profile) {
        Some(id) => request.profile = id.to_string(),
        None => return Err(Reject(400, release::unknown_profile(&request.profile, &target, &version))),
    }
    let arch = arch.unwrap_or_else(|| profiles.arch_packages.clone());
    Ok(Resolved { profiles, arch })
}

/// Applies the package-change tables and checks every wanted name against
/// the release's feeds. Nothing here is queued yet.
async fn check_packages(
    env: &Env,
    cfg: &Config,
    request: &mut BuildRequest,
    resolved: &Resolved,
) -> std::result::Result<(), Rejection> {
    let sets = packages::release_sets(env, cfg, &request.version, &request.target, &resolved.arch, &resolved.profiles)
        .await
        .map_err(|e| Rejection::plain(Reject::from(e)))?;
    let known = sets.as_ref().map(|(a, t)| Known::new([a.as_ref(), t.as_ref()]));
    let known_fn = |name: &str| known.as_ref().is_some_and(|k| k.contains(name));
    let defaults = profile_defaults(&resolved.profiles, &request.profile);
    let release = Release { defaults: &defaults, known: known.as_ref().map(|_| &known_fn as &dyn Fn(&str) -> bool) };
    let tables = tables_up_to(changes::tables(), &branch_of(&request.version));
    for applied in apply(&tables, &release, request) {
        worker::console_log!("package change ({}): {}", applied.branch, applied.effect);
    }
    // Feeds from `repositories` are not looked into, so their packages cannot be checked.
    let (Some(known), true) = (known, request.repositories.is_empty()) else { return Ok(()) };
    let wanted = request
        .packages
        .iter()
        .filter(|p| !p.starts_with('-'))
        .chain(request.packages_versions.keys())
        .map(String::as_str);
    let unknown = known.unknown(wanted);
    if let Some(first) = unknown.first() {
        return Err(Rejection {
            status: 422,
            detail: unknown_packages_detail(&unknown, &request.version, &request.target),
            unknown_package: Some(first.name.clone()),
        });
    }
    // Release feeds do not change, so a version that differs can never build.
    if !is_snapshot(&request.version) {
        if let Some(detail) = version_mismatches(&request.packages_versions, &known) {
            return Err(Rejection::plain(Reject(400, detail)));
        }
    }
    Ok(())
}

/// A refusal before queuing, possibly naming the unknown package (auc reads
/// `X-Unknown-Package` on a 422).
struct Rejection {
    status: u16,
    detail: String,
    unknown_package: Option<String>,
}

impl Rejection {
    fn plain(r: Reject) -> Self {
        Rejection { status: r.0, detail: r.1, unknown_package: None }
    }

    fn respond(self) -> Result<Response> {
        let resp = http::error(self.status, self.detail)?;
        if let Some(name) = self.unknown_package {
            resp.headers().set(UNKNOWN_PACKAGE_HEADER, &name)?;
        }
        Ok(resp)
    }
}

pub async fn submit(mut req: Request, env: &Env, cfg: &Config) -> Result<Response> {
    let user_agent = req.headers().get("User-Agent")?;
    let body = match read_capped(&mut req, MAX_REQUEST_BODY).await? {
        Body::Complete(b) => b,
        Body::TooLarge => {
            return http::error(413, format!("The request body is larger than {} KiB", MAX_REQUEST_BODY / 1024))
        }
    };
    let mut request = match BuildRequest::from_json(&body, &cfg.limits) {
        Ok(r) => r,
        Err(e) => return http::error(400, e.to_string()),
    };
    if request.client.is_none() {
        request.client = client_from_user_agent(user_agent.as_deref());
    }
    let resolved = match resolve(cfg, &mut request).await {
        Ok(r) => r,
        Err(Reject(status, detail)) => return http::error(status, detail),
    };
    if let Err(rejection) = check_packages(env, cfg, &mut request, &resolved).await {
        return rejection.respond();
    }
    let hash = request_hash(&request);
    if let Some(answer) = results::get(env, &hash).await? {
        return from_cache(&answer);
    }
    let call = QueueCall::Enqueue { hash: hash.clone(), request, max_queue_length: cfg.max_queue_length };
    match queue::call(env, &call).await? {
        QueueReply::State { answer } => http::answer(&answer),
        QueueReply::Full { queued } => {
            let resp = http::error_for(
                &hash,
                429,
                format!("The build queue is full ({queued} builds waiting); please try again in a minute"),
            )?;
            resp.headers().set("Retry-After", &RETRY_AFTER_SECONDS.to_string())?;
            Ok(resp)
        }
        other => Err(unexpected(&other)),
    }
}

fn unexpected(reply: &QueueReply) -> worker::Error {
    worker::Error::RustError(format!("unexpected reply from the build queue: {reply:?}"))
}

/// Where an answer came from: the KV result cache, or the queue object.
enum Source {
    Cache,
    Queue,
}

/// An answer read from KV, marked so operators (and tests) can see that
/// the hot path did not reach the Durable Object.
fn from_cache(answer: &BuildAnswer) -> Result<Response> {
    let resp = http::answer(answer)?;
    resp.headers().set(CACHE_HEADER, "hit")?;
    Ok(resp)
}

/// `X-Asu-Cache: hit` on answers served from the KV result cache.
pub const CACHE_HEADER: &str = "X-Asu-Cache";

/// The current answer for a hash: KV first (no queue call on a hit).
async fn current_answer(env: &Env, hash: &str) -> Result<Option<(BuildAnswer, Source)>> {
    if let Some(answer) = results::get(env, hash).await? {
        return Ok(Some((answer, Source::Cache)));
    }
    match queue::call(env, &QueueCall::Status { hash: hash.to_string() }).await? {
        QueueReply::State { answer } => Ok(Some((answer, Source::Queue))),
        QueueReply::NotFound => Ok(None),
        other => Err(unexpected(&other)),
    }
}

pub async fn status(env: &Env, hash: &str) -> Result<Response> {
    match current_answer(env, hash).await? {
        Some((answer, Source::Cache)) => from_cache(&answer),
        Some((answer, Source::Queue)) => http::answer(&answer),
        None => http::error_for(hash, 404, format!("No build with request hash {hash} is known (it may have expired)")),
    }
}

pub async fn stats(env: &Env) -> Result<Response> {
    match queue::call(env, &QueueCall::Stats).await? {
        QueueReply::Stats { queue_length } => http::json(200, &json!({ "queue_length": queue_length })),
        other => Err(unexpected(&other)),
    }
}

pub async fn store_file(env: &Env, hash: &str, name: &str, head: bool) -> Result<Response> {
    let Some(sha256) = current_answer(env, hash).await?.and_then(|(a, _)| served_sha256(&a, name)) else {
        return http::error(404, "No such file (the build is unknown, unfinished or does not have it)");
    };
    let bucket = env.bucket("STORE")?;
    let key = store::object_key(hash, &sha256, name);
    let object = if head { bucket.head(key).await? } else { bucket.get(key).execute().await? };
    let Some(object) = object else {
        return http::error(404, "No such file in the store");
    };
    let headers = worker::Headers::new();
    headers.set("Content-Type", store::content_type(name))?;
    headers.set("Content-Length", &object.size().to_string())?;
    headers.set("ETag", &object.http_etag())?;
    headers.set("Cache-Control", "public, max-age=3600")?;
    let builder = Response::builder().with_headers(headers);
    match object.body() {
        Some(body) if !head => Ok(builder.body(body.response_body()?)),
        _ => Ok(builder.empty()),
    }
}

pub(crate) fn json_cached(cfg: &Config, value: &serde_json::Value) -> Result<Response> {
    let resp = Response::from_json(value)?;
    resp.headers().set("Cache-Control", &format!("public, max-age={}", cfg.metadata_ttl_seconds.min(3600)))?;
    Ok(resp)
}

/// Every published version and its targets, probed in parallel.
pub(crate) async fn published(cfg: &Config) -> std::result::Result<(Rc<Versions>, BTreeMap<String, Targets>), Unreachable> {
    let versions = metadata::get::<Versions>(cfg, VERSIONS_PATH).await?.unwrap_or_default();
    let candidates = overview::candidate_versions(&versions);
    let paths: Vec<String> = candidates.iter().map(|v| targets_path(v)).collect();
    let found = join_all(paths.iter().map(|p| metadata::get::<Targets>(cfg, p))).await;
    let mut present = BTreeMap::new();
    for (version, targets) in candidates.into_iter().zip(found) {
        if let Some(t) = targets? {
            present.insert(version, (*t).clone());
        }
    }
    Ok((versions, present))
}

async fn overview_value(cfg: &Config) -> std::result::Result<Rc<serde_json::Value>, Unreachable> {
    let key = format!("overview:{}", cfg.upstream_url);
    if let Some(Some(v)) = metadata::recall::<serde_json::Value>(&key) {
        return Ok(v);
    }
    let (versions, present) = published(cfg).await?;
    let server = ServerInfo {
        version: env!("CARGO_PKG_VERSION"),
        contact: &cfg.contact,
        upstream_url: &cfg.upstream_url,
        limits: &cfg.limits,
    };
    let value = Rc::new(overview::overview(&versions, &present, &server, changes::tables()));
    metadata::remember(&key, Some(value.clone()), cfg.metadata_ttl_seconds);
    Ok(value)
}

pub async fn overview(cfg: &Config) -> Result<Response> {
    match overview_value(cfg).await {
        Ok(v) => json_cached(cfg, &v),
        Err(e) => http::error(503, Reject::from(e).1),
    }
}

pub async fn branches(cfg: &Config) -> Result<Response> {
    match overview_value(cfg).await {
        Ok(v) => {
            let list: Vec<serde_json::Value> =
                v["branches"].as_object().map(|m| m.values().cloned().collect()).unwrap_or_default();
            json_cached(cfg, &serde_json::Value::Array(list))
        }
        Err(e) => http::error(503, Reject::from(e).1),
    }
}

pub fn overview_redirect(req: &Request) -> Result<Response> {
    let url = req.url()?.join("/json/v1/overview.json")?;
    let resp = Response::redirect_with_status(url, 301)?;
    Ok(resp)
}

pub async fn device_profile(cfg: &Config, version: &str, target: &str, profile: &str) -> Result<Response> {
    let profiles = match metadata::get::<ProfilesJson>(cfg, &profiles_path(version, target)).await {
        Ok(Some(p)) => p,
        Ok(None) => return http::error(404, release::unknown_target(target, version)),
        Err(e) => return http::error(503, Reject::from(e).1),
    };
    match profiles.resolve_profile(profile).and_then(|id| profiles.merged_profile(id)) {
        Some(merged) => json_cached(cfg, &serde_json::Value::Object(merged)),
        None => http::error(404, release::unknown_profile(profile, target, version)),
    }
}

/// A release's device list (upstream `.overview.json`), for the router-free
/// device search: browsers cannot read the download server cross-origin.
pub async fn device_list(cfg: &Config, version: &str) -> Result<Response> {
    let path = format!("{}/.overview.json", release::release_path(version));
    match metadata::get::<serde_json::Value>(cfg, &path).await {
        Ok(Some(o)) => json_cached(cfg, &o),
        Ok(None) => http::error(404, format!("No device list is published for {}", asu_protocol::validate::quote(version))),
        Err(e) => http::error(503, Reject::from(e).1),
    }
}

pub async fn revision(cfg: &Config, version: &str, target: &str) -> Result<Response> {
    match metadata::get::<ProfilesJson>(cfg, &profiles_path(version, target)).await {
        Ok(Some(p)) => json_cached(cfg, &json!({ "revision": p.version_code })),
        Ok(None) => {
            // Name what is really unknown: the release, or the target in it.
            let release_known = matches!(
                metadata::get::<asu_protocol::upstream::Targets>(cfg, &targets_path(version)).await,
                Ok(Some(_))
            );
            let detail =
                if release_known { release::unknown_target(target, version) } else { release::unknown_version(version) };
            http::error(404, detail)
        }
        Err(e) => http::error(503, Reject::from(e).1),
    }
}
