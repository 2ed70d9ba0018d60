//! CORS headers: the LuCI app, the firmware selector and the router page
//! call every endpoint cross-origin. Nothing here uses credentials, so
//! `*` is safe.

pub const ALLOW_ORIGIN: &str = "Access-Control-Allow-Origin";
pub const ALLOW_METHODS: &str = "Access-Control-Allow-Methods";
pub const ALLOW_HEADERS: &str = "Access-Control-Allow-Headers";
pub const MAX_AGE: &str = "Access-Control-Max-Age";
pub const EXPOSE_HEADERS: &str = "Access-Control-Expose-Headers";

pub const METHODS: &str = "GET, HEAD, POST, PUT, OPTIONS";
/// Sent when the preflight names no headers (or names unreadable ones).
pub const DEFAULT_HEADERS: &str = "Content-Type, Accept, Authorization, Cache-Control, Pragma, X-Requested-With";
/// Browsers cache the preflight this long (one day): LuCI preflights every poll.
pub const PREFLIGHT_MAX_AGE: &str = "86400";
/// Headers the browser lets scripts read on real answers.
pub const EXPOSED: &str = "X-Queue-Position, X-Imagebuilder-Status, X-Unknown-Package, X-Asu-Cache, Retry-After, Content-Length, Location";

/// Headers every real answer carries.
pub fn answer_headers() -> [(&'static str, &'static str); 2] {
    [(ALLOW_ORIGIN, "*"), (EXPOSE_HEADERS, EXPOSED)]
}

/// The `Access-Control-Allow-Headers` value: the headers the browser asked
/// for, when they are plain header names, else the default list.
pub fn allow_headers(requested: Option<&str>) -> String {
    match requested.map(str::trim) {
        Some(list)
            if !list.is_empty()
                && list.len() <= 1024
                && list.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ',' | ' ')) =>
        {
            list.to_string()
        }
        _ => DEFAULT_HEADERS.to_string(),
    }
}

/// Headers of the 204 answer to `OPTIONS`.
pub fn preflight_headers(requested_headers: Option<&str>) -> Vec<(&'static str, String)> {
    vec![
        (ALLOW_ORIGIN, "*".to_string()),
        (ALLOW_METHODS, METHODS.to_string()),
        (ALLOW_HEADERS, allow_headers(requested_headers)),
        (MAX_AGE, PREFLIGHT_MAX_AGE.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_has_what_browsers_check() {
        let h = preflight_headers(None);
        let get = |name: &str| h.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("Access-Control-Allow-Origin"), "*");
        for m in ["GET", "HEAD", "POST", "OPTIONS"] {
            assert!(get("Access-Control-Allow-Methods").contains(m), "{m}");
        }
        assert!(get("Access-Control-Allow-Headers").to_ascii_lowercase().contains("content-type"));
        assert_eq!(get("Access-Control-Max-Age"), "86400");
    }

    #[test]
    fn requested_headers_are_echoed_only_when_plain() {
        assert_eq!(allow_headers(Some("content-type,x-custom")), "content-type,x-custom");
        assert_eq!(allow_headers(Some("content-type\r\nSet-Cookie: a")), DEFAULT_HEADERS);
        assert_eq!(allow_headers(Some("")), DEFAULT_HEADERS);
    }

    #[test]
    fn answers_expose_the_queue_headers() {
        let h = answer_headers();
        assert_eq!(h[0], ("Access-Control-Allow-Origin", "*"));
        assert!(h[1].1.contains("X-Queue-Position") && h[1].1.contains("X-Imagebuilder-Status"));
    }
}
