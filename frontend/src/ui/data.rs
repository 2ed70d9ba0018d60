//! Fetching what the pages show from the build server, with readable
//! errors: the overview, device lists, a device's profile, package indexes.

use std::cell::RefCell;
use std::sync::Arc;

use asu_protocol::upstream::Overview;
use serde_json::Value;

use crate::build_status::http_error_text;
use crate::json;
use crate::packages::PackageIndex;
use crate::devices::parse_overview;
use crate::plan::{devices_url, package_details_url, package_index_urls, OverviewView};
use crate::web::net;

pub const TIMEOUT_MS: u32 = 30_000;

/// GETs a JSON document; `Err((status, text))` with status 0 when there
/// was no answer.
pub async fn get_json(url: &str, what: &str) -> Result<Value, (u16, String)> {
    let answer = net::get(url, TIMEOUT_MS).await.map_err(|e| (0, format!("Could not reach the build server for {what}: {e}")))?;
    if answer.status != 200 {
        return Err((answer.status, http_error_text(answer.status, &answer.body, what)));
    }
    serde_json::from_str(&answer.body)
        .map_err(|e| (200, format!("The build server's {what} is unreadable (at {}).", json::error_place(&e))))
}

pub async fn load_overview(server: &str) -> Result<OverviewView, String> {
    let v = get_json(&format!("{server}/json/v1/overview.json"), "overview.json").await.map_err(|e| e.1)?;
    OverviewView::parse(&v).map_err(|e| format!("The server's overview.json is unusable: {e}."))
}

/// A release's device list, from the edge; from the download server when
/// the edge does not serve it.
pub async fn load_devices(server: &str, upstream: &str, path: &str) -> Result<Overview, String> {
    let what = format!("the device list of {path}");
    let v = match get_json(&devices_url(server, path), &what).await {
        Ok(v) => v,
        Err((404, _)) if !upstream.is_empty() => {
            let url = format!("{}/{path}/.overview.json", upstream.trim_end_matches('/'));
            get_json(&url, &what).await.map_err(|_| format!("The device list of {path} is not available (404)."))?
        }
        Err((0, e)) => return Err(e),
        Err((status, _)) => return Err(format!("The device list of {path} is not available ({status}).")),
    };
    parse_overview(&v).map_err(|e| format!("The device list of {path} is unusable: {e}."))
}

/// The merged profile JSON of a device in a release; `Err((404, ..))`
/// when the release does not have it.
pub async fn load_profile(server: &str, path: &str, target: &str, profile: &str) -> Result<Value, (u16, String)> {
    let url = format!("{server}/json/v1/{path}/targets/{target}/{profile}.json");
    get_json(&url, &format!("the device description in {path}")).await
}

/// A release's packages for a target: the target index and the
/// architecture's feeds. One of the two is enough.
pub async fn load_index(server: &str, path: &str, target: &str, arch: Option<&str>) -> Result<Arc<PackageIndex>, String> {
    load_indexes(server, path, target, arch, PackageIndex::default()).await
}

thread_local! {
    /// `{arch}-details.json` by URL (`None`: the edge has none), so a
    /// release's details are fetched once, not once per device.
    static DETAILS: RefCell<Vec<(String, Option<PackageIndex>)>> = const { RefCell::new(Vec::new()) };
}

/// Megabytes each on real releases: keep only the latest few.
const DETAILS_KEPT: usize = 2;

/// The architecture's packages with sizes and descriptions; `None` when
/// the edge does not serve them (an older edge: 404) or they failed.
async fn arch_details(server: &str, path: &str, arch: &str) -> Option<PackageIndex> {
    let url = package_details_url(server, path, arch);
    if let Some(hit) = DETAILS.with(|d| d.borrow().iter().find(|(u, _)| *u == url).map(|(_, i)| i.clone())) {
        return hit;
    }
    let found = match get_json(&url, "the package details").await {
        Ok(v) => {
            let mut index = PackageIndex::default();
            index.merge_details_json(&v).ok().map(|_| index)
        }
        Err((404, _)) => None,
        Err(_) => return None, // not kept: a later device may find the server again
    };
    DETAILS.with(|d| {
        let mut d = d.borrow_mut();
        if d.len() >= DETAILS_KEPT {
            d.remove(0);
        }
        d.push((url, found.clone()));
    });
    found
}

/// As [`load_index`], with sizes and descriptions where the edge has them
/// (the router-free page); silently the plain index otherwise.
pub async fn load_index_with_details(
    server: &str,
    path: &str,
    target: &str,
    arch: Option<&str>,
) -> Result<Arc<PackageIndex>, String> {
    let details = match arch {
        Some(a) => arch_details(server, path, a).await,
        None => None,
    };
    match details {
        // The arch feeds are in hand: only the target index is still needed.
        Some(index) => load_indexes(server, path, target, None, index).await,
        None => load_index(server, path, target, arch).await,
    }
}

/// Merges the target index, and the arch index when `arch` is given, into `index`.
async fn load_indexes(
    server: &str,
    path: &str,
    target: &str,
    arch: Option<&str>,
    mut index: PackageIndex,
) -> Result<Arc<PackageIndex>, String> {
    let urls = package_index_urls(server, path, target, arch.unwrap_or(""));
    let mut errors = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        if i == 1 && arch.is_none() {
            continue;
        }
        match get_json(url, "the package index").await {
            Ok(v) => {
                if let Err(e) = index.merge_json(&v) {
                    errors.push(e);
                }
            }
            Err((_, e)) => errors.push(e),
        }
    }
    if index.is_empty() {
        return Err(errors.into_iter().next().unwrap_or_else(|| "The package index is empty.".into()));
    }
    Ok(Arc::new(index))
}
