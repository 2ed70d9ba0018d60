//! Upstream metadata (.versions.json, .targets.json, profiles.json) fetched
//! from UPSTREAM_URL and kept in this isolate's memory: found files for
//! METADATA_TTL_SECONDS, missing ones briefly (a release being published
//! shows up soon), failures not at all.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures_util::future::{select, Either};
use serde::de::DeserializeOwned;
use worker::{Date, Delay, Fetch, Url};

use crate::config::Config;

/// Missing files are re-checked after at most this long.
pub const NEGATIVE_TTL_SECONDS: u32 = 10;
/// An upstream that does not answer in this time counts as unreachable.
const FETCH_TIMEOUT_MS: u64 = 15_000;
/// Bound on remembered entries (profiles.json files are up to a few MB parsed).
const MAX_ENTRIES: usize = 256;

/// The upstream server could not be asked (network error, timeout, 5xx,
/// malformed file): answered with 503, never cached.
#[derive(Debug, Clone)]
pub struct Unreachable(pub String);

struct Entry {
    stored_ms: f64,
    expires_ms: f64,
    value: Option<Rc<dyn Any>>,
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
}

fn now_ms() -> f64 {
    Date::now().as_millis() as f64
}

/// A remembered value: `Some(Some(v))` found, `Some(None)` known missing.
pub fn recall<T: 'static>(key: &str) -> Option<Option<Rc<T>>> {
    CACHE.with(|c| {
        let cache = c.borrow();
        let entry = cache.get(key)?;
        if entry.expires_ms < now_ms() {
            return None;
        }
        match &entry.value {
            None => Some(None),
            Some(v) => v.clone().downcast::<T>().ok().map(Some),
        }
    })
}

pub fn remember<T: 'static>(key: &str, value: Option<Rc<T>>, ttl_seconds: u32) {
    if ttl_seconds == 0 {
        return;
    }
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let now = now_ms();
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, e| e.expires_ms >= now);
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        let value = value.map(|v| v as Rc<dyn Any>);
        cache.insert(key.to_string(), Entry { stored_ms: now, expires_ms: now + ttl_seconds as f64 * 1000.0, value });
    });
}

/// Drops the remembered `{UPSTREAM_URL}/{path}` if it is at least
/// `min_age_seconds` old, so the next `get` asks upstream again; true when
/// it was dropped (or not remembered at all).
pub fn forget_if_older(cfg: &Config, path: &str, min_age_seconds: u32) -> bool {
    let url = format!("{}/{}", cfg.upstream_url, path);
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        match cache.get(&url) {
            Some(e) if now_ms() - e.stored_ms < min_age_seconds as f64 * 1000.0 => false,
            _ => {
                cache.remove(&url);
                true
            }
        }
    })
}

enum Failure {
    Network(Unreachable),
    Timeout(Unreachable),
}

async fn fetch_once(url: &Url, path: &str) -> Result<worker::Response, Failure> {
    let fetch = Fetch::Url(url.clone());
    let send = Box::pin(fetch.send());
    let timeout = Box::pin(Delay::from(std::time::Duration::from_millis(FETCH_TIMEOUT_MS)));
    let outcome = match select(send, timeout).await {
        Either::Left((Ok(resp), _)) => Ok(resp),
        Either::Left((Err(e), _)) => {
            Err(Failure::Network(Unreachable(format!("the upstream server could not be reached for {path} ({e})"))))
        }
        Either::Right(_) => Err(Failure::Timeout(Unreachable(format!("the upstream server did not answer for {path} in time")))),
    };
    outcome
}

/// Fetches `{UPSTREAM_URL}/{path}` as text, uncached; `Ok(None)` when
/// upstream says the file does not exist.
pub async fn get_text(cfg: &Config, path: &str) -> Result<Option<String>, Unreachable> {
    let url = format!("{}/{}", cfg.upstream_url, path);
    let parsed = Url::parse(&url).map_err(|e| Unreachable(format!("the upstream URL {url} is invalid ({e})")))?;
    let mut resp = fetch_once(&parsed, path).await;
    if matches!(resp, Err(Failure::Network(_))) {
        // A pooled keep-alive connection the server already closed fails
        // once; a fresh connection usually works.
        resp = fetch_once(&parsed, path).await;
    }
    let mut resp = resp.map_err(|f| match f {
        Failure::Network(e) | Failure::Timeout(e) => e,
    })?;
    match resp.status_code() {
        200 => resp
            .text()
            .await
            .map(Some)
            .map_err(|e| Unreachable(format!("reading {path} from upstream failed ({e})"))),
        404 | 403 | 410 => Ok(None),
        status => Err(Unreachable(format!("the upstream server answered {status} for {path}"))),
    }
}

/// Fetches and parses `{UPSTREAM_URL}/{path}`; `Ok(None)` when upstream
/// says the file does not exist.
pub async fn get<T: DeserializeOwned + 'static>(cfg: &Config, path: &str) -> Result<Option<Rc<T>>, Unreachable> {
    let url = format!("{}/{}", cfg.upstream_url, path);
    if let Some(hit) = recall::<T>(&url) {
        return Ok(hit);
    }
    match get_text(cfg, path).await? {
        Some(text) => {
            let value: T = serde_json::from_str(&text)
                .map_err(|e| Unreachable(format!("the upstream server sent a malformed {path} ({e})")))?;
            let value = Rc::new(value);
            remember(&url, Some(value.clone()), cfg.metadata_ttl_seconds);
            Ok(Some(value))
        }
        None => {
            remember::<T>(&url, None, cfg.metadata_ttl_seconds.min(NEGATIVE_TTL_SECONDS));
            Ok(None)
        }
    }
}
