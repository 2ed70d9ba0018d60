//! Which handler a request goes to, from its method and path alone.
//! Path segments are validated here, so handlers get checked values.

use asu_protocol::builder_api::{is_artifact_name, LEASE_PATH};
use asu_protocol::canonical::is_request_hash;
use asu_protocol::validate;

/// A public (browser and client) endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `OPTIONS` on any path: the CORS preflight.
    Preflight,
    SubmitBuild,
    BuildStatus { hash: String },
    Stats,
    OverviewRedirect,
    Overview,
    Branches,
    /// `/json/v1/{release path}/targets/{t}/{st}/{profile}.json`.
    DeviceProfile { version: String, target: String, profile: String },
    Revision { version: String, target: String },
    /// `/json/v1/{release path}/targets/{t}/{st}/index.json`: the target feed's `{architecture, packages}`.
    TargetIndex { version: String, target: String },
    /// `/json/v1/{release path}/packages/{arch}-index.json`: every arch feed's `{name: version}`.
    ArchIndex { version: String, arch: String },
    /// `/json/v1/{release path}/packages/{arch}-details.json`: `{packages: {name: {version, size, description}}}`.
    ArchDetails { version: String, arch: String },
    /// `/json/v1/{release path}/.overview.json`: upstream's device list of a release.
    DeviceList { version: String },
    /// `POST /api/v1/upgrade-check`.
    UpgradeCheck,
    StoreFile { hash: String, name: String },
    Builder(BuilderCall),
    /// A malformed value in a known route: 400 with this detail.
    BadRequest(String),
    /// A path in the API namespace that names nothing: 404 with this detail.
    NotFound(String),
    MethodNotAllowed { allow: &'static str },
    /// Everything else is the frontend's static files.
    Assets,
}

/// A call of the private builder API (all need the builder token first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuilderCall {
    Lease,
    Phase { hash: String },
    Artifact { hash: String, name: String },
    Complete { hash: String },
    BadRequest(String),
    NotFound,
    MethodNotAllowed { allow: &'static str },
}

const GET: &str = "GET, HEAD, OPTIONS";
const POST: &str = "POST, OPTIONS";
const PUT: &str = "PUT, OPTIONS";

/// Decodes `%XX` escapes of one path segment; `None` for broken escapes,
/// non-UTF-8 results, or an escaped `/`.
pub fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            if b == b'/' {
                return None;
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn is_get(method: &str) -> bool {
    method == "GET" || method == "HEAD"
}

/// A route that only answers GET and HEAD.
fn get_only(method: &str, route: Route) -> Route {
    if is_get(method) {
        route
    } else {
        Route::MethodNotAllowed { allow: GET }
    }
}

fn bad_hash(value: &str) -> String {
    format!("{} is not a request hash (64 lower-case hex digits)", validate::quote(value))
}

/// The `version` part of a `/json/v1/` or revision path: `releases/{v}` or `snapshots`.
fn release_version(parts: &[&str]) -> Option<(String, usize)> {
    match parts {
        ["releases", v, ..] => Some((decode_segment(v)?, 2)),
        ["snapshots", ..] => Some(("SNAPSHOT".to_string(), 1)),
        _ => None,
    }
}

pub fn route(method: &str, path: &str) -> Route {
    if method == "OPTIONS" {
        return Route::Preflight;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "v1", "builder", rest @ ..] => Route::Builder(builder_call(method, rest)),
        ["api", "v1", "build"] => {
            if method == "POST" {
                Route::SubmitBuild
            } else {
                Route::MethodNotAllowed { allow: POST }
            }
        }
        ["api", "v1", "build", hash] => {
            let route = if is_request_hash(hash) {
                Route::BuildStatus { hash: hash.to_string() }
            } else {
                Route::BadRequest(bad_hash(hash))
            };
            get_only(method, route)
        }
        ["api", "v1", "stats"] => get_only(method, Route::Stats),
        ["api", "v1", "upgrade-check"] => {
            if method == "POST" {
                Route::UpgradeCheck
            } else {
                Route::MethodNotAllowed { allow: POST }
            }
        }
        ["api", "v1", "overview"] => get_only(method, Route::OverviewRedirect),
        ["api", "v1", "revision", version, target, subtarget] => {
            let route = match checked_target(version, target, subtarget) {
                Ok((version, target)) => Route::Revision { version, target },
                Err(detail) => Route::BadRequest(detail),
            };
            get_only(method, route)
        }
        ["json", "v1", "overview.json"] => get_only(method, Route::Overview),
        ["json", "v1", "branches.json"] => get_only(method, Route::Branches),
        ["json", "v1", rest @ ..] => get_only(method, json_route(rest)),
        ["store", hash, name] => {
            let name = decode_segment(name).unwrap_or_default();
            let route = if is_request_hash(hash) && is_artifact_name(&name) {
                Route::StoreFile { hash: hash.to_string(), name }
            } else {
                Route::NotFound("No such file".into())
            };
            get_only(method, route)
        }
        ["store", ..] => get_only(method, Route::NotFound("No such file".into())),
        ["api", ..] | ["json", ..] => Route::NotFound(format!("No API endpoint at {}", validate::quote(path))),
        _ => Route::Assets,
    }
}

/// Checks `version`, `target`, `subtarget` path segments.
fn checked_target(version: &str, target: &str, subtarget: &str) -> Result<(String, String), String> {
    let version = decode_segment(version).ok_or("the version in the path is not readable")?;
    validate::version("version", &version).map_err(|e| e.to_string())?;
    let target = format!(
        "{}/{}",
        decode_segment(target).ok_or("the target in the path is not readable")?,
        decode_segment(subtarget).ok_or("the subtarget in the path is not readable")?
    );
    validate::target("target", &target).map_err(|e| e.to_string())?;
    Ok((version, target))
}

/// A package architecture (`aarch64_cortex-a53`, `x86_64`, `mips_24kc`).
pub fn is_arch(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn json_route(rest: &[&str]) -> Route {
    let not_found = || Route::NotFound("No such metadata file".into());
    let Some((version, skip)) = release_version(rest) else {
        return not_found();
    };
    let version_segment = if version == "SNAPSHOT" { "SNAPSHOT" } else { rest[1] };
    match &rest[skip..] {
        [".overview.json"] => match decode_segment(version_segment) {
            Some(version) if validate::version("version", &version).is_ok() => Route::DeviceList { version },
            _ => Route::BadRequest("the version in the path is not readable".into()),
        },
        ["targets", target, subtarget, file] => {
            let Some(profile) = decode_segment(file).and_then(|f| f.strip_suffix(".json").map(String::from)) else {
                return not_found();
            };
            match checked_target(version_segment, target, subtarget) {
                Ok((version, target)) if profile == "index" => Route::TargetIndex { version, target },
                Ok((version, target)) => match validate::profile("profile", &profile) {
                    Ok(()) => Route::DeviceProfile { version, target, profile },
                    Err(e) => Route::BadRequest(e.to_string()),
                },
                Err(detail) => Route::BadRequest(detail),
            }
        }
        ["packages", file] => {
            let file = decode_segment(file);
            let (arch, details) = match file.as_deref() {
                Some(f) if f.ends_with("-index.json") => (f[..f.len() - "-index.json".len()].to_string(), false),
                Some(f) if f.ends_with("-details.json") => (f[..f.len() - "-details.json".len()].to_string(), true),
                _ => return not_found(),
            };
            if !is_arch(&arch) {
                return Route::BadRequest(format!("{} is not a package architecture", validate::quote(&arch)));
            }
            let Some(version) = decode_segment(version_segment) else {
                return Route::BadRequest("the version in the path is not readable".into());
            };
            match validate::version("version", &version) {
                Ok(()) if details => Route::ArchDetails { version, arch },
                Ok(()) => Route::ArchIndex { version, arch },
                Err(e) => Route::BadRequest(e.to_string()),
            }
        }
        _ => not_found(),
    }
}

fn builder_call(method: &str, rest: &[&str]) -> BuilderCall {
    let only = |wanted: &str, allow: &'static str, call: BuilderCall| {
        if method == wanted {
            call
        } else {
            BuilderCall::MethodNotAllowed { allow }
        }
    };
    let lease_tail = LEASE_PATH.rsplit('/').next().unwrap_or("lease");
    match rest {
        [tail] if *tail == lease_tail => only("POST", POST, BuilderCall::Lease),
        ["jobs", hash, action @ ..] => {
            if !is_request_hash(hash) {
                return BuilderCall::BadRequest(bad_hash(hash));
            }
            let hash = hash.to_string();
            match action {
                ["phase"] => only("POST", POST, BuilderCall::Phase { hash }),
                ["complete"] => only("POST", POST, BuilderCall::Complete { hash }),
                ["artifacts", name] => match decode_segment(name).filter(|n| is_artifact_name(n)) {
                    Some(name) => only("PUT", PUT, BuilderCall::Artifact { hash, name }),
                    None => BuilderCall::BadRequest(format!(
                        "{} is not an artifact name (letters, digits, '.', '_', '-', '+'; no leading dot)",
                        validate::quote(name)
                    )),
                },
                _ => BuilderCall::NotFound,
            }
        }
        _ => BuilderCall::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asu_protocol::builder_api::{artifact_path, complete_path, phase_path};

    const H: &str = "5cc09887842642c5ff5ee39987e04644c6f154f8b6d4cc5bee1c897ae913277e";

    #[test]
    fn public_routes() {
        assert_eq!(route("POST", "/api/v1/build"), Route::SubmitBuild);
        assert_eq!(route("GET", &format!("/api/v1/build/{H}")), Route::BuildStatus { hash: H.into() });
        assert_eq!(route("HEAD", &format!("/api/v1/build/{H}")), Route::BuildStatus { hash: H.into() });
        assert_eq!(route("GET", "/api/v1/stats"), Route::Stats);
        assert_eq!(route("HEAD", "/api/v1/overview"), Route::OverviewRedirect);
        assert_eq!(route("GET", "/json/v1/overview.json"), Route::Overview);
        assert_eq!(route("GET", "/json/v1/branches.json"), Route::Branches);
        assert_eq!(
            route("GET", "/api/v1/revision/24.10.5/mediatek/filogic"),
            Route::Revision { version: "24.10.5".into(), target: "mediatek/filogic".into() }
        );
        assert_eq!(
            route("GET", "/json/v1/releases/24.10.5/targets/mediatek/filogic/glinet_gl-mt6000.json"),
            Route::DeviceProfile {
                version: "24.10.5".into(),
                target: "mediatek/filogic".into(),
                profile: "glinet_gl-mt6000".into()
            }
        );
        assert_eq!(
            route("GET", "/json/v1/snapshots/targets/x86/64/generic.json"),
            Route::DeviceProfile { version: "SNAPSHOT".into(), target: "x86/64".into(), profile: "generic".into() }
        );
        assert_eq!(
            route("GET", "/json/v1/releases/24.10.5/targets/mediatek/filogic/index.json"),
            Route::TargetIndex { version: "24.10.5".into(), target: "mediatek/filogic".into() }
        );
        assert_eq!(
            route("GET", "/json/v1/releases/24.10.5/packages/aarch64_cortex-a53-index.json"),
            Route::ArchIndex { version: "24.10.5".into(), arch: "aarch64_cortex-a53".into() }
        );
        assert_eq!(
            route("GET", "/json/v1/releases/24.10.5/packages/aarch64_cortex-a53-details.json"),
            Route::ArchDetails { version: "24.10.5".into(), arch: "aarch64_cortex-a53".into() }
        );
        assert_eq!(
            route("HEAD", "/json/v1/snapshots/packages/x86_64-index.json"),
            Route::ArchIndex { version: "SNAPSHOT".into(), arch: "x86_64".into() }
        );
        assert_eq!(route("POST", "/api/v1/upgrade-check"), Route::UpgradeCheck);
        assert_eq!(
            route("GET", &format!("/store/{H}/openwrt-x86-64-generic-ext4-combined.img.gz")),
            Route::StoreFile { hash: H.into(), name: "openwrt-x86-64-generic-ext4-combined.img.gz".into() }
        );
    }

    #[test]
    fn preflight_everywhere() {
        for path in ["/api/v1/build", "/store/x/y", "/", "/api/v1/builder/lease"] {
            assert_eq!(route("OPTIONS", path), Route::Preflight, "{path}");
        }
    }

    #[test]
    fn malformed_values_are_400_or_404() {
        assert!(matches!(route("GET", "/api/v1/build/abc"), Route::BadRequest(_)));
        assert!(matches!(route("GET", &format!("/api/v1/build/{}", H.to_uppercase())), Route::BadRequest(_)));
        assert!(matches!(route("GET", "/api/v1/revision/24.10.5/media;tek/filogic"), Route::BadRequest(_)));
        assert!(matches!(route("GET", "/store/abc/file.bin"), Route::NotFound(_)));
        assert!(matches!(route("GET", &format!("/store/{H}/..")), Route::NotFound(_)));
        assert!(matches!(route("GET", &format!("/store/{H}/a%2Fb")), Route::NotFound(_)));
        assert!(matches!(route("GET", &format!("/store/{H}/a/b")), Route::NotFound(_)));
        assert!(matches!(route("GET", "/api/v1/nothing"), Route::NotFound(_)));
        assert!(matches!(route("GET", "/json/v1/releases/24.10.5/packages/AArch64-index.json"), Route::BadRequest(_)));
        assert!(matches!(route("GET", "/json/v1/releases/24.10.5/packages/aarch64_cortex-a53.json"), Route::NotFound(_)));
        assert!(matches!(route("GET", "/json/v1/releases/24.10.5/packages/x/y-index.json"), Route::NotFound(_)));
    }

    #[test]
    fn wrong_methods() {
        assert_eq!(route("GET", "/api/v1/build"), Route::MethodNotAllowed { allow: POST });
        assert_eq!(route("POST", &format!("/api/v1/build/{H}")), Route::MethodNotAllowed { allow: GET });
        assert_eq!(route("DELETE", "/api/v1/stats"), Route::MethodNotAllowed { allow: GET });
        assert_eq!(route("GET", "/api/v1/upgrade-check"), Route::MethodNotAllowed { allow: POST });
        assert_eq!(
            route("POST", "/json/v1/releases/24.10.5/packages/x86_64-index.json"),
            Route::MethodNotAllowed { allow: GET }
        );
        assert_eq!(route("GET", LEASE_PATH), Route::Builder(BuilderCall::MethodNotAllowed { allow: POST }));
    }

    #[test]
    fn builder_routes_from_the_protocol_paths() {
        assert_eq!(route("POST", LEASE_PATH), Route::Builder(BuilderCall::Lease));
        assert_eq!(route("POST", &phase_path(H)), Route::Builder(BuilderCall::Phase { hash: H.into() }));
        assert_eq!(route("POST", &complete_path(H)), Route::Builder(BuilderCall::Complete { hash: H.into() }));
        assert_eq!(
            route("PUT", &artifact_path(H, "profiles.json")),
            Route::Builder(BuilderCall::Artifact { hash: H.into(), name: "profiles.json".into() })
        );
        assert!(matches!(route("PUT", &artifact_path(H, ".hidden")), Route::Builder(BuilderCall::BadRequest(_))));
        assert!(matches!(route("POST", &phase_path("nothex")), Route::Builder(BuilderCall::BadRequest(_))));
        assert_eq!(route("POST", "/api/v1/builder/other"), Route::Builder(BuilderCall::NotFound));
    }

    #[test]
    fn everything_else_is_assets() {
        for path in ["/", "/index.html", "/app/frontend.js", "/app/frontend_bg.wasm", "/apiary"] {
            assert_eq!(route("GET", path), Route::Assets, "{path}");
        }
    }

    #[test]
    fn segment_decoding() {
        assert_eq!(decode_segment("glinet%2Cgl-mt6000").as_deref(), Some("glinet,gl-mt6000"));
        assert_eq!(decode_segment("plain").as_deref(), Some("plain"));
        assert_eq!(decode_segment("a%2fb"), None);
        assert_eq!(decode_segment("bad%zz"), None);
        assert_eq!(decode_segment("cut%2"), None);
        assert_eq!(decode_segment("%ff"), None);
    }
}
