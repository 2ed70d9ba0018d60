//! The worker's settings, read from wrangler vars (strings or numbers) with
//! the documented defaults. Pure: the caller supplies the lookup.

use asu_protocol::request::Limits;

pub const DEFAULT_UPSTREAM_URL: &str = "https://downloads.openwrt.org";
pub const DEFAULT_LEASE_SECONDS: u32 = 60;
pub const DEFAULT_MAX_QUEUE_LENGTH: u32 = 200;
pub const DEFAULT_METADATA_TTL_SECONDS: u32 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Base of the upstream download server, without a trailing slash.
    pub upstream_url: String,
    /// A lease lapses when no phase report arrives within this time.
    pub lease_seconds: u32,
    /// Queued jobs beyond which a new request gets 429.
    pub max_queue_length: u32,
    /// How long upstream metadata is reused; 0 disables the cache.
    pub metadata_ttl_seconds: u32,
    pub limits: Limits,
    /// `None` when unset or empty: then every builder call is refused.
    pub builder_token: Option<String>,
    /// Shown in the overview's `server.contact`.
    pub contact: String,
}

fn number(get: &impl Fn(&str) -> Option<String>, name: &str, default: u64, max: u64) -> Result<u64, String> {
    match get(name).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(format!("{name} must be a whole number from 0 to {max}, not {text:?}")),
        },
    }
}

impl Config {
    /// Reads every setting; an unparsable number is an operator error,
    /// reported instead of silently replaced by the default.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let upstream_url = get("UPSTREAM_URL")
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_UPSTREAM_URL.to_string());
        if !(upstream_url.starts_with("http://") || upstream_url.starts_with("https://")) {
            return Err(format!("UPSTREAM_URL must be an http(s) URL, not {upstream_url:?}"));
        }
        let lease_seconds = number(&get, "LEASE_SECONDS", DEFAULT_LEASE_SECONDS.into(), 86_400)? as u32;
        if lease_seconds == 0 {
            return Err("LEASE_SECONDS must be at least 1".into());
        }
        let max_queue_length = number(&get, "MAX_QUEUE_LENGTH", DEFAULT_MAX_QUEUE_LENGTH.into(), 1_000_000)? as u32;
        let metadata_ttl_seconds =
            number(&get, "METADATA_TTL_SECONDS", DEFAULT_METADATA_TTL_SECONDS.into(), 30 * 86_400)? as u32;
        let defaults = Limits::default();
        let max_defaults_length =
            number(&get, "MAX_DEFAULTS_LENGTH", defaults.max_defaults_length as u64, 10 * 1024 * 1024)? as usize;
        let max_custom_rootfs_size_mb =
            number(&get, "MAX_ROOTFS_SIZE_MB", defaults.max_custom_rootfs_size_mb.into(), 1 << 20)? as u32;
        let repository_allow_list = get("REPOSITORY_ALLOW_LIST")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let builder_token = get("BUILDER_TOKEN").filter(|t| !t.is_empty());
        Ok(Config {
            upstream_url,
            lease_seconds,
            max_queue_length,
            metadata_ttl_seconds,
            limits: Limits { max_defaults_length, max_custom_rootfs_size_mb, repository_allow_list },
            builder_token,
            contact: get("SERVER_CONTACT").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_when_unset() {
        let c = config(&[]).unwrap();
        assert_eq!(c.upstream_url, "https://downloads.openwrt.org");
        assert_eq!((c.lease_seconds, c.max_queue_length, c.metadata_ttl_seconds), (60, 200, 300));
        assert_eq!(c.limits.max_defaults_length, 20480);
        assert_eq!(c.limits.max_custom_rootfs_size_mb, 1024);
        assert!(c.limits.repository_allow_list.is_empty());
        assert_eq!(c.builder_token, None);
    }

    #[test]
    fn reads_every_var() {
        let c = config(&[
            ("UPSTREAM_URL", "http://127.0.0.1:28080/"),
            ("LEASE_SECONDS", "5"),
            ("MAX_QUEUE_LENGTH", "3"),
            ("METADATA_TTL_SECONDS", "0"),
            ("MAX_DEFAULTS_LENGTH", "0"),
            ("MAX_ROOTFS_SIZE_MB", "512"),
            ("REPOSITORY_ALLOW_LIST", " https://a.example/x , ,https://b.example/"),
            ("BUILDER_TOKEN", "s3cret"),
        ])
        .unwrap();
        assert_eq!(c.upstream_url, "http://127.0.0.1:28080");
        assert_eq!((c.lease_seconds, c.max_queue_length, c.metadata_ttl_seconds), (5, 3, 0));
        assert_eq!(c.limits.max_defaults_length, 0);
        assert_eq!(c.limits.max_custom_rootfs_size_mb, 512);
        assert_eq!(c.limits.repository_allow_list, vec!["https://a.example/x", "https://b.example/"]);
        assert_eq!(c.builder_token.as_deref(), Some("s3cret"));
    }

    #[test]
    fn empty_token_means_no_token() {
        assert_eq!(config(&[("BUILDER_TOKEN", "")]).unwrap().builder_token, None);
    }

    #[test]
    fn bad_numbers_are_reported() {
        let err = config(&[("LEASE_SECONDS", "sixty")]).unwrap_err();
        assert!(err.contains("LEASE_SECONDS"), "{err}");
        assert!(config(&[("LEASE_SECONDS", "0")]).is_err());
        assert!(config(&[("MAX_QUEUE_LENGTH", "-1")]).is_err());
        assert!(config(&[("UPSTREAM_URL", "ftp://x")]).is_err());
    }
}
