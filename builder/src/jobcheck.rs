//! Re-checks a leased job before any of it is used: the edge validated the
//! request already, but the builder does not take that on trust.

use asu_protocol::builder_api::Job;
use asu_protocol::request::BuildRequest;
use asu_protocol::validate::{self, quote};

/// Largest first-boot script taken, whatever the edge allows (bytes).
pub const MAX_DEFAULTS: usize = 1024 * 1024;

/// A request hash: used as a folder name and in URLs.
pub fn is_request_hash(h: &str) -> bool {
    h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_lease(l: &str) -> bool {
    !l.is_empty() && l.len() <= 256 && l.bytes().all(|b| b.is_ascii_graphic())
}

fn is_package_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-' | '~' | ':'))
}

/// `Err(detail)` names the first field that is not acceptable.
pub fn check_job(job: &Job) -> Result<(), String> {
    if !is_request_hash(&job.request_hash) {
        return Err(format!(
            "Error: Invalid job: request hash {} is not 64 hex digits",
            quote(&job.request_hash)
        ));
    }
    if !is_lease(&job.lease) {
        return Err("Error: Invalid job: the lease id is not printable ASCII".to_string());
    }
    check_request(&job.request).map_err(|e| format!("Error: Invalid job: {e}"))
}

pub fn check_request(r: &BuildRequest) -> Result<(), String> {
    let e = |err: validate::FieldError| err.to_string();
    validate::distro("distro", &r.distro).map_err(e)?;
    if r.distro != "openwrt" {
        return Err(format!(
            "distro: {} is not supported by this builder",
            quote(&r.distro)
        ));
    }
    validate::version("version", &r.version).map_err(e)?;
    validate::version_code("version_code", &r.version_code).map_err(e)?;
    validate::target("target", &r.target).map_err(e)?;
    validate::profile("profile", &r.profile).map_err(e)?;
    if r.packages.len() + r.packages_versions.len() > validate::MAX_PACKAGES {
        return Err("packages: too many packages".into());
    }
    for p in &r.packages {
        validate::package_entry("packages", p).map_err(e)?;
    }
    for (name, version) in &r.packages_versions {
        validate::package_name("packages_versions", name).map_err(e)?;
        if !is_package_version(version) {
            return Err(format!(
                "packages_versions: {} is not a package version",
                quote(version)
            ));
        }
    }
    if let Some(d) = &r.defaults {
        validate::defaults("defaults", d, MAX_DEFAULTS).map_err(e)?;
    }
    if let Some(fs) = &r.filesystem {
        validate::filesystem("filesystem", fs).map_err(e)?;
    }
    // The edge applied its allow-list; here each feed must still be a line
    // opkg reads as `src/gz <name> <url>` and nothing more.
    for (name, url) in &r.repositories {
        validate::repository_name("repositories", name).map_err(e)?;
        if name == crate::repos::LOCAL_FEED {
            return Err(format!(
                "repositories: {} is the name of the ImageBuilder's own local feed",
                quote(name)
            ));
        }
        if !is_plain_feed_url(url) {
            return Err(format!(
                "repositories: {} is not a plain http(s) feed URL",
                quote(url)
            ));
        }
    }
    if r.repository_keys.len() > MAX_KEYS {
        return Err(format!("repository_keys: at most {MAX_KEYS} keys are allowed"));
    }
    for key in &r.repository_keys {
        if key.is_empty() || key.len() > 4096 || key.chars().any(|c| c.is_control() && c != '\n') {
            return Err(
                "repository_keys: each key must be 1 to 4096 characters of printable text".into(),
            );
        }
    }
    Ok(())
}

/// Most signing keys one job may add (the edge's limit).
pub const MAX_KEYS: usize = 16;

/// An http(s) URL the protocol's strict URL parser accepts (no userinfo,
/// escapes, whitespace or dot segments): checked against its own origin.
fn is_plain_feed_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    validate::url_allowed(url, &[format!("{scheme}://{authority}")])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(req: BuildRequest) -> Job {
        Job {
            request_hash: "a".repeat(64),
            lease: "lease-1".into(),
            lease_seconds: 60,
            request: req,
        }
    }

    #[test]
    fn good_job_passes() {
        let mut r = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        r.packages = vec!["luci".into(), "-dnsmasq".into()];
        r.packages_versions
            .insert("tcpdump".into(), "4.99.5-r1".into());
        r.defaults = Some("uci set system.@system[0].hostname='x'\n".into());
        assert_eq!(check_job(&job(r)), Ok(()));
    }

    #[test]
    fn allow_listed_feeds_and_keys_pass() {
        let mut r = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        r.repositories.insert(
            "my_feed-1".into(),
            "https://feeds.example.org/openwrt/24.10/my_feed".into(),
        );
        r.repositories.insert("plain".into(), "http://10.0.0.1:8080/feed".into());
        r.repository_keys = vec!["untrusted comment: k\nRWQabc+/=\n".into()];
        assert_eq!(check_job(&job(r)), Ok(()));
    }

    #[test]
    fn hostile_fields_are_refused() {
        let base = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        let mut cases = Vec::new();
        let mut r = base.clone();
        r.packages = vec!["luci $(reboot)".into()];
        cases.push(r);
        let mut r = base.clone();
        r.profile = "x PACKAGES=evil".into();
        cases.push(r);
        let mut r = base.clone();
        r.target = "../../etc".into();
        cases.push(r);
        let mut r = base.clone();
        r.version = "../24.10.5".into();
        cases.push(r);
        let mut r = base.clone();
        r.packages_versions.insert("luci".into(), "1 2".into());
        cases.push(r);
        for (name, url) in [
            ("x y", "https://example.org/x"),
            ("x\nsrc/gz", "https://example.org/x"),
            ("imagebuilder", "https://example.org/x"),
            ("x", "https://example.org/x\nsrc/gz evil https://evil"),
            ("x", "https://example.org/x y"),
            ("x", "https://user@example.org/x"),
            ("x", "https://example.org/../x"),
            ("x", "file:/etc"),
            ("x", "ftp://example.org/x"),
        ] {
            let mut r = base.clone();
            r.repositories.insert(name.into(), url.into());
            cases.push(r);
        }
        let mut r = base.clone();
        r.repository_keys = vec!["key\0".into()];
        cases.push(r);
        let mut r = base.clone();
        r.repository_keys = vec!["k".into(); MAX_KEYS + 1];
        cases.push(r);
        for r in cases {
            assert!(check_job(&job(r.clone())).is_err(), "{r:?}");
        }
        let mut j = job(base.clone());
        j.request_hash = "../etc".into();
        assert!(check_job(&j).is_err());
        let mut j = job(base);
        j.lease = "a\nb".into();
        assert!(check_job(&j).is_err());
    }
}
