//! Checks of a build request against the release, before it is queued:
//! who sent it, which revision it wants, and which package versions.

use std::collections::BTreeMap;

use asu_protocol::package_index::Known;
use asu_protocol::upstream::ProfilesJson;
use asu_protocol::validate::quote;

/// Longest `client` we keep (the request parser's limit).
const MAX_CLIENT_LEN: usize = 128;

/// `client` for a request that names none: the User-Agent (auc sends only
/// that), without control characters and cut to the parser's limit.
pub fn client_from_user_agent(user_agent: Option<&str>) -> Option<String> {
    let cleaned: String = user_agent?.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_CLIENT_LEN {
            break;
        }
        out.push(c);
    }
    Some(out)
}

/// The reference server's words for a revision mismatch, then ours.
pub fn incorrect_version(have: &str, requested: &str, version: &str, target: &str) -> String {
    format!(
        "Received incorrect version {have} (requested {requested}): this server builds {version} {target} from {have}; \
         ask again with that version_code or with none"
    )
}

/// Whether `requested` names another revision than the release has.
pub fn version_code_differs(requested: &str, release: &str) -> bool {
    !requested.is_empty() && !release.is_empty() && requested != release
}

/// The profile's default set: `default_packages` plus its device packages
/// (removals like `-wpad-basic-mbedtls` left out).
pub fn profile_defaults(profiles: &ProfilesJson, profile: &str) -> Vec<String> {
    let mut all = profiles.default_packages.clone();
    if let Some(p) = profiles.profiles.get(profile) {
        all.extend(p.device_packages.iter().filter(|d| !d.starts_with('-')).cloned());
    }
    all
}

/// `packages_versions` entries whose version is not the release's.
/// Only names the indexes carry a version for are compared.
pub fn version_mismatches(wanted: &BTreeMap<String, String>, known: &Known) -> Option<String> {
    let wrong: Vec<String> = wanted
        .iter()
        .filter_map(|(name, want)| {
            let have = known.version(name)?;
            (have != want).then(|| format!("{} is {} here, not {}", quote(name), quote(have), quote(want)))
        })
        .collect();
    if wrong.is_empty() {
        return None;
    }
    let shown: Vec<&str> = wrong.iter().take(10).map(String::as_str).collect();
    Some(format!("packages_versions: the release has other versions: {}", shown.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use asu_protocol::package_index::PackageSet;

    #[test]
    fn user_agent_becomes_the_client() {
        assert_eq!(client_from_user_agent(Some("auc (0.3.2-1)")).as_deref(), Some("auc (0.3.2-1)"));
        assert_eq!(client_from_user_agent(Some("  owut/2025.1  ")).as_deref(), Some("owut/2025.1"));
        assert_eq!(client_from_user_agent(Some("a\r\nb")).as_deref(), Some("ab"));
        assert_eq!(client_from_user_agent(Some("   ")), None);
        assert_eq!(client_from_user_agent(None), None);
        let long = "é".repeat(100);
        let cut = client_from_user_agent(Some(&long)).unwrap();
        assert!(cut.len() <= 128 && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn revision_words() {
        let text = incorrect_version("r29087-d9c5716d1d", "r1-abc", "24.10.5", "mediatek/filogic");
        assert!(text.starts_with("Received incorrect version r29087-d9c5716d1d (requested r1-abc)"), "{text}");
        assert!(version_code_differs("r1-abc", "r29087-d9c5716d1d"));
        assert!(!version_code_differs("", "r29087-d9c5716d1d"));
        assert!(!version_code_differs("r29087-d9c5716d1d", "r29087-d9c5716d1d"));
        assert!(!version_code_differs("r1-abc", ""));
    }

    #[test]
    fn versions_are_compared_where_known() {
        let mut set = PackageSet::new("x");
        set.add_packages_file("Package: tcpdump\nVersion: 4.99.5-r1\n\nPackage: wpad-basic-mbedtls\nVersion: 1\nProvides: wpad\n").unwrap();
        let known = Known::new([&set]);
        let ok = BTreeMap::from([("tcpdump".to_string(), "4.99.5-r1".to_string()), ("wpad".to_string(), "9".to_string())]);
        assert_eq!(version_mismatches(&ok, &known), None, "a provided name has no version to compare");
        let bad = BTreeMap::from([("tcpdump".to_string(), "4.99.4-1".to_string())]);
        let detail = version_mismatches(&bad, &known).unwrap();
        assert!(detail.contains("'tcpdump' is '4.99.5-r1' here, not '4.99.4-1'"), "{detail}");
    }
}
