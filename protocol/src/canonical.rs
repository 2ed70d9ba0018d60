//! The canonical form of a build request and its hash, the key of every
//! cache and queue entry.
//!
//! The encoding is a JSON array with one slot per image-relevant field in a
//! fixed order. JSON strings are self-delimiting and serde_json escapes them
//! deterministically, so two different requests can never encode to the
//! same bytes (no ambiguous concatenation), and the hash is the full 64-hex
//! sha256 of those bytes. Fields that do not change the image (`client`) are
//! left out; lists whose order does not matter are sorted and de-duplicated.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::request::{BuildRequest, RepositoriesMode};

/// Bumped whenever the encoding changes, so old cache entries are never
/// mistaken for new ones.
pub const ENCODING_TAG: &str = "asu-build-request/1";

/// The profile as the ImageBuilder names it: board names use `,`, profile
/// ids use `_`.
pub fn profile_id(profile: &str) -> String {
    profile.replace(',', "_")
}

/// The canonical bytes of a request.
pub fn canonical_encoding(req: &BuildRequest) -> Vec<u8> {
    let packages: BTreeSet<&str> = req.packages.iter().map(String::as_str).collect();
    let versions: BTreeMap<&str, &str> =
        req.packages_versions.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let repositories: BTreeMap<&str, &str> =
        req.repositories.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let keys: BTreeSet<&str> = req.repository_keys.iter().map(String::as_str).collect();
    let mode = match req.repositories_mode {
        RepositoriesMode::Append => "append",
        RepositoriesMode::Replace => "replace",
    };
    let encoded: Value = json!([
        ENCODING_TAG,
        req.distro,
        req.version,
        req.version_code,
        req.target,
        profile_id(&req.profile),
        packages,
        versions,
        req.diff_packages,
        req.defaults.as_deref().filter(|d| !d.is_empty()),
        req.rootfs_size_mb,
        req.filesystem,
        repositories,
        mode,
        keys,
    ]);
    serde_json::to_vec(&encoded).expect("a JSON value always serialises")
}

/// The request hash: lower-case hex sha256 of the canonical encoding.
pub fn request_hash(req: &BuildRequest) -> String {
    hex::encode(Sha256::digest(canonical_encoding(req)))
}

/// Whether `s` looks like a request hash (64 lower-case hex digits).
pub fn is_request_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BuildRequest {
        let mut r = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet,gl-mt6000");
        r.packages = vec!["luci".into(), "tcpdump".into()];
        r
    }

    #[test]
    fn encoding_is_the_documented_array() {
        let enc = String::from_utf8(canonical_encoding(&base())).unwrap();
        assert_eq!(
            enc,
            r#"["asu-build-request/1","openwrt","24.10.5","","mediatek/filogic","glinet_gl-mt6000",["luci","tcpdump"],{},false,null,null,null,{},"append",[]]"#
        );
    }

    #[test]
    fn hash_vector() {
        // Computed independently: printf '%s' '<the encoding above>' | sha256sum
        assert_eq!(request_hash(&base()), "5cc09887842642c5ff5ee39987e04644c6f154f8b6d4cc5bee1c897ae913277e");
    }

    #[test]
    fn order_duplicates_and_comma_do_not_matter() {
        let mut other = base();
        other.packages = vec!["tcpdump".into(), "luci".into(), "luci".into()];
        other.profile = "glinet_gl-mt6000".into();
        other.client = Some("luci/24.10".into());
        assert_eq!(request_hash(&other), request_hash(&base()));
    }

    #[test]
    fn every_image_field_changes_the_hash() {
        let b = request_hash(&base());
        let changes: Vec<Box<dyn Fn(&mut BuildRequest)>> = vec![
            Box::new(|r| r.distro = "other".into()),
            Box::new(|r| r.version = "24.10.4".into()),
            Box::new(|r| r.version_code = "r1-abc".into()),
            Box::new(|r| r.target = "mediatek/mt7622".into()),
            Box::new(|r| r.profile = "glinet_gl-mt3000".into()),
            Box::new(|r| r.packages.push("wireguard-tools".into())),
            Box::new(|r| r.packages[0] = "-luci".into()),
            Box::new(|r| { r.packages_versions.insert("luci".into(), "1".into()); }),
            Box::new(|r| r.diff_packages = true),
            Box::new(|r| r.defaults = Some("echo hi".into())),
            Box::new(|r| r.rootfs_size_mb = Some(512)),
            Box::new(|r| r.filesystem = Some("ext4".into())),
            Box::new(|r| { r.repositories.insert("x".into(), "https://a/b".into()); }),
            Box::new(|r| r.repositories_mode = RepositoriesMode::Replace),
            Box::new(|r| r.repository_keys.push("key".into())),
        ];
        let mut seen = BTreeSet::new();
        for change in changes {
            let mut r = base();
            change(&mut r);
            let h = request_hash(&r);
            assert_ne!(h, b);
            assert!(seen.insert(h), "two different changes share a hash");
        }
    }

    #[test]
    fn no_ambiguous_concatenation() {
        let mut a = base();
        a.packages = vec!["ab".into()];
        let mut b = base();
        b.packages = vec!["a".into(), "b".into()];
        assert_ne!(request_hash(&a), request_hash(&b));
        let mut c = base();
        c.version = "24.10.5\",\"".into();
        assert_ne!(canonical_encoding(&c), canonical_encoding(&base()));
    }

    #[test]
    fn hash_shape() {
        let h = request_hash(&base());
        assert!(is_request_hash(&h));
        assert!(!is_request_hash(&h[..63]));
        assert!(!is_request_hash(&h.to_uppercase()));
    }
}
