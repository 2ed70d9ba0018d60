//! The edge worker: the public image-on-demand API that existing clients
//! speak, the private builder API, and the frontend's static files.
//!
//! Pure modules (routing, CORS, token check, expiry, overview, store rules,
//! queue messages, package-change tables, request rules) have native unit
//! tests; the rest talks to the Workers runtime (KV `RESULTS`, Durable
//! Object `BUILD_QUEUE`, R2 `STORE`, assets `ASSETS`).

pub mod auth;
pub mod changes;
pub mod config;
pub mod cors;
pub mod overview;
pub mod queue_api;
pub mod release;
pub mod request_rules;
pub mod route;
pub mod store;
pub mod ttl;
pub mod upgrade;

mod body;
mod builder;
mod durable;
mod http;
mod index_api;
mod metadata;
mod packages;
mod public;
mod queue;
mod results;

pub use durable::BuildQueue;

use worker::{event, wasm_bindgen::JsValue, Context, Env, Request, Response, Result};

use crate::config::Config;
use crate::route::{route, BuilderCall, Route};

/// A var as a string; wrangler passes `[vars]` numbers as JS numbers.
fn env_value(env: &Env, name: &str) -> Option<String> {
    let value = worker::js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(name)).ok()?;
    if let Some(s) = value.as_string() {
        Some(s)
    } else {
        value.as_f64().map(|n| format!("{n}"))
    }
}

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let response = match handle(req, &env).await {
        Ok(resp) => resp,
        Err(e) => {
            worker::console_error!("internal error: {e}");
            http::error(500, format!("Internal error: {e}"))?
        }
    };
    http::with_cors(response)
}

async fn handle(req: Request, env: &Env) -> Result<Response> {
    let method = req.method().to_string();
    let path = req.path();
    let route = route(&method, &path);
    match &route {
        Route::Preflight => return http::preflight(&req),
        Route::Assets => return env.assets("ASSETS")?.fetch_request(req).await,
        _ => {}
    }
    let cfg = match Config::from_lookup(|name| env_value(env, name)) {
        Ok(c) => c,
        Err(e) => return http::error(500, format!("The server is misconfigured: {e}")),
    };
    let head = method == "HEAD";
    let resp = match route {
        Route::SubmitBuild => public::submit(req, env, &cfg).await?,
        Route::BuildStatus { hash } => public::status(env, &hash).await?,
        Route::Stats => public::stats(env).await?,
        Route::OverviewRedirect => public::overview_redirect(&req)?,
        Route::Overview => public::overview(&cfg).await?,
        Route::Branches => public::branches(&cfg).await?,
        Route::DeviceProfile { version, target, profile } => public::device_profile(&cfg, &version, &target, &profile).await?,
        Route::Revision { version, target } => public::revision(&cfg, &version, &target).await?,
        Route::DeviceList { version } => public::device_list(&cfg, &version).await?,
        Route::TargetIndex { version, target } => index_api::target_index(env, &cfg, &version, &target).await?,
        Route::ArchIndex { version, arch } => index_api::arch_index(env, &cfg, &version, &arch).await?,
        Route::ArchDetails { version, arch } => index_api::arch_details(env, &cfg, &version, &arch).await?,
        Route::UpgradeCheck => upgrade::check(req, env, &cfg).await?,
        Route::StoreFile { hash, name } => public::store_file(env, &hash, &name, head).await?,
        Route::Builder(call) => return builder_call(req, env, &cfg, call).await,
        Route::BadRequest(detail) => http::error(400, detail)?,
        Route::NotFound(detail) => http::error(404, detail)?,
        Route::MethodNotAllowed { allow } => http::method_not_allowed(allow)?,
        Route::Preflight | Route::Assets => unreachable!("answered above"),
    };
    Ok(if head { http::headers_only(resp) } else { resp })
}

async fn builder_call(req: Request, env: &Env, cfg: &Config, call: BuilderCall) -> Result<Response> {
    let authorization = req.headers().get("Authorization")?;
    if !auth::bearer_ok(authorization.as_deref(), cfg.builder_token.as_deref()) {
        let resp = http::error(401, "The builder API needs Authorization: Bearer <builder token>")?;
        resp.headers().set("WWW-Authenticate", "Bearer")?;
        return Ok(resp);
    }
    match call {
        BuilderCall::Lease => builder::lease(req, env, cfg).await,
        BuilderCall::Phase { hash } => builder::phase(req, env, cfg, &hash).await,
        BuilderCall::Artifact { hash, name } => builder::artifact(req, env, cfg, &hash, &name).await,
        BuilderCall::Complete { hash } => builder::complete(req, env, cfg, &hash).await,
        BuilderCall::BadRequest(detail) => http::error(400, detail),
        BuilderCall::NotFound => http::error(404, "No such builder endpoint"),
        BuilderCall::MethodNotAllowed { allow } => http::method_not_allowed(allow),
    }
}
