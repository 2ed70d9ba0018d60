//! Property tests of parsing, validation and the canonical hash.
//!
//! Bounded so they can run in CI on every push: each property runs
//! `ASU_PROPTEST_CASES` cases (default 2000). The checks below use their
//! own, independent statements of the rules (a hand-written pattern matcher,
//! a normalised model of a request), never the crate's code, so a mistake in
//! the crate cannot hide itself.

use std::collections::{BTreeMap, BTreeSet};

use asu_protocol::canonical::{canonical_encoding, request_hash};
use asu_protocol::request::{BuildRequest, Limits, RepositoriesMode};
use asu_protocol::validate;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Map, Value};

const ALLOWED: &str = "https://downloads.example.org/feeds";

fn cases() -> u32 {
    std::env::var("ASU_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
}

fn config() -> Config {
    // No regression files in the source tree; a failure prints its shrunk input.
    Config { cases: cases(), failure_persistence: None, ..Config::default() }
}

fn limits() -> Limits {
    Limits { repository_allow_list: vec![ALLOWED.to_string()], ..Limits::default() }
}

// ------------------------------------------------------------ independent rules

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// `^-?[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`
fn is_strict_package_entry(s: &str) -> bool {
    let name = s.strip_prefix('-').unwrap_or(s);
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if alnum(c))
        && name.len() <= 128
        && chars.all(|c| alnum(c) || matches!(c, '.' | '_' | '+' | '-'))
}

/// `^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`
fn is_strict_package_name(s: &str) -> bool {
    !s.starts_with('-') && is_strict_package_entry(s)
}

/// `^[A-Za-z0-9][A-Za-z0-9._+,-]{0,127}$`
fn is_strict_profile(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if alnum(c))
        && s.len() <= 128
        && chars.all(|c| alnum(c) || matches!(c, '.' | '_' | '+' | '-' | ','))
}

/// `^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$`, at most 64 bytes.
fn is_strict_target(s: &str) -> bool {
    let word = |w: &str| {
        let mut chars = w.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    let parts: Vec<&str> = s.split('/').collect();
    s.len() <= 64 && parts.len() == 2 && word(parts[0]) && word(parts[1])
}

/// `^[A-Za-z0-9][A-Za-z0-9.-]{0,31}$`
fn is_strict_version(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if alnum(c)) && s.len() <= 32 && chars.all(|c| alnum(c) || c == '.' || c == '-')
}

/// `^[A-Za-z0-9_-]{1,64}$`
fn is_strict_repository_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| alnum(c) || c == '_' || c == '-')
}

/// Characters that mean something to a shell or to make; no name may carry one.
const META: &[char] = &[
    ' ', '\t', '\n', '\r', '\0', '$', '`', ';', '&', '|', '<', '>', '(', ')', '\'', '"', '\\', '*', '?', '[', ']',
    '{', '}', '~', '#', '!', '%', '=', ':', '@', '/',
];

/// What `url_allowed(url, [ALLOWED])` must mean: the URL is ALLOWED itself
/// or ALLOWED followed by `/` and a path of letters, digits and `/ . _ - ~ +`
/// without dot segments (so no escapes, queries, fragments, userinfo, or
/// anything a shell, make or a config line would act on).
fn is_plainly_under_allowed(url: &str) -> bool {
    // Scheme and path exactly, the host in any case.
    let host = "downloads.example.org";
    let Some(rest) = url.strip_prefix("https://") else { return false };
    match rest.get(..host.len()) {
        Some(h) if h.eq_ignore_ascii_case(host) => {}
        _ => return false,
    }
    let Some(rest) = rest[host.len()..].strip_prefix("/feeds") else { return false };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return false;
    }
    rest.chars().all(|c| alnum(c) || matches!(c, '/' | '.' | '_' | '-' | '~' | '+'))
        && !rest.split('/').any(|seg| seg == "." || seg == "..")
}

// ------------------------------------------------------------ strategies

/// Strings made to be awkward: JSON delimiters, escapes, shell and make
/// syntax, control and invisible characters, and a few plain words, so that
/// both near-valid and hostile values come up often.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9]{1,6}",
        2 => "[A-Za-z0-9._+,-]{1,6}",
        1 => Just("-".to_string()),
        1 => Just("/".to_string()),
        1 => Just("..".to_string()),
        1 => Just("\"".to_string()),
        1 => Just("\\".to_string()),
        1 => Just("\",\"".to_string()),
        1 => Just("[]{}".to_string()),
        1 => Just("$(reboot)".to_string()),
        1 => Just("`id`".to_string()),
        1 => Just(";".to_string()),
        1 => Just(" ".to_string()),
        1 => Just("\n".to_string()),
        1 => Just("\0".to_string()),
        1 => Just("%2e".to_string()),
        1 => Just("@".to_string()),
        1 => Just("\u{200b}".to_string()),
        1 => Just("\u{202e}".to_string()),
        1 => Just("\u{430}".to_string()),
        1 => Just("\u{ff0c}".to_string()),
        1 => any::<char>().prop_map(String::from),
    ]
}

fn awkward_string() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..5).prop_map(|v| v.concat())
}

/// Strings that are often valid names, sometimes just not: the accepting
/// side of every check gets exercised too, lengths around the limits included.
fn near_valid() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9][a-zA-Z0-9._+,-]{0,10}",
        1 => "-[a-z0-9][a-z0-9.+-]{0,6}",
        2 => "[a-z0-9][a-z0-9_-]{0,6}/[a-z0-9][a-z0-9_-]{0,6}",
        1 => "[a-zA-Z0-9/_,.+-]{0,12}",
        1 => "[a-z]{120,135}",
        1 => "[a-z]{29,33}/[a-z]{29,33}",
        2 => awkward_string(),
    ]
}

/// Small alphabets, so that two independently drawn requests are often
/// equal in some fields and differ only in others.
fn small_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("ab".to_string()),
        Just("-a".to_string()),
        Just("a,b".to_string()),
        Just("a_b".to_string()),
        Just("\"".to_string()),
        Just("a\",\"b".to_string()),
        Just("".to_string()),
    ]
}

fn small_request() -> impl Strategy<Value = BuildRequest> {
    let strings = (small_name(), small_name(), small_name(), small_name(), small_name());
    let sets = (
        prop::collection::vec(small_name(), 0..4),
        prop::collection::btree_map(small_name(), small_name(), 0..3),
        prop::collection::btree_map(small_name(), small_name(), 0..2),
        prop::collection::vec(small_name(), 0..3),
    );
    let scalars = (
        any::<bool>(),
        prop::option::of(small_name()),
        prop::option::of(prop_oneof![Just(0u32), Just(1u32), Just(256u32)]),
        prop::option::of(small_name()),
        any::<bool>(),
        prop::option::of(small_name()),
    );
    (strings, sets, scalars).prop_map(
        |((distro, version, version_code, target, profile), (packages, versions, repos, keys), scalars)| {
            let (diff, defaults, rootfs, filesystem, replace, client) = scalars;
            BuildRequest {
                distro,
                version,
                version_code,
                target,
                profile,
                packages,
                packages_versions: versions,
                diff_packages: diff,
                defaults,
                rootfs_size_mb: rootfs,
                filesystem,
                repositories: repos,
                repositories_mode: if replace { RepositoriesMode::Replace } else { RepositoriesMode::Append },
                repository_keys: keys,
                client,
            }
        },
    )
}

/// What the image depends on, written out independently of the crate:
/// sets as sets, the profile as its id, an empty script as none, and the
/// client left out.
#[derive(Debug, PartialEq, Eq)]
struct Model {
    distro: String,
    version: String,
    version_code: String,
    target: String,
    profile_id: String,
    packages: BTreeSet<String>,
    versions: BTreeMap<String, String>,
    diff: bool,
    defaults: Option<String>,
    rootfs: Option<u32>,
    filesystem: Option<String>,
    repositories: BTreeMap<String, String>,
    replace: bool,
    keys: BTreeSet<String>,
}

fn model(r: &BuildRequest) -> Model {
    Model {
        distro: r.distro.clone(),
        version: r.version.clone(),
        version_code: r.version_code.clone(),
        target: r.target.clone(),
        profile_id: r.profile.chars().map(|c| if c == ',' { '_' } else { c }).collect(),
        packages: r.packages.iter().cloned().collect(),
        versions: r.packages_versions.clone(),
        diff: r.diff_packages,
        defaults: r.defaults.clone().filter(|d| !d.is_empty()),
        rootfs: r.rootfs_size_mb,
        filesystem: r.filesystem.clone(),
        repositories: r.repositories.clone(),
        replace: r.repositories_mode == RepositoriesMode::Replace,
        keys: r.repository_keys.iter().cloned().collect(),
    }
}

/// A valid request as JSON, for mutation.
fn valid_body() -> Map<String, Value> {
    json!({
        "version": "24.10.5",
        "target": "mediatek/filogic",
        "profile": "glinet,gl-mt6000",
        "packages": ["luci", "-dnsmasq"],
        "packages_versions": {"tcpdump": "4.99.5-r1"},
        "diff_packages": false,
        "defaults": "uci set system.@system[0].hostname=x\n",
        "rootfs_size_mb": 256,
        "filesystem": "squashfs",
        "repositories": {"extra": format!("{ALLOWED}/x")},
        "repositories_mode": "append",
        "repository_keys": ["RWSkey"],
        "client": "luci/24.10",
    })
    .as_object()
    .unwrap()
    .clone()
}

const FIELDS: &[&str] = &[
    "distro", "version", "version_code", "target", "profile", "packages", "packages_versions", "diff_packages",
    "defaults", "rootfs_size_mb", "filesystem", "repositories", "repositories_mode", "repository_keys", "client",
];

/// Any JSON value, biased towards the shapes the fields expect.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop_oneof![Just(0.5f64), Just(-0.0), Just(1e300), Just(256.0), Just(4294967296.0)].prop_map(|f| json!(f)),
        awkward_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(awkward_string(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for `field` that has the field's type and is often valid.
fn typed_value(field: &'static str) -> BoxedStrategy<Value> {
    let name_list = prop::collection::vec(near_valid(), 0..4).prop_map(|v| json!(v));
    match field {
        "distro" => prop_oneof![Just(json!("openwrt")), near_valid().prop_map(Value::String)].boxed(),
        "version_code" => prop_oneof![
            Just(json!("")),
            "r[0-9]{1,11}-[0-9a-f]{1,41}".prop_map(Value::String),
            "r[0-9]{1,3}\\+[0-9]{1,3}-[0-9a-fg]{1,8}".prop_map(Value::String),
        ]
        .boxed(),
        "packages" | "repository_keys" => name_list.boxed(),
        "packages_versions" => prop::collection::btree_map(near_valid(), "[0-9a-z.~:+_-]{0,10}", 0..3)
            .prop_map(|m| json!(m))
            .boxed(),
        "diff_packages" => any::<bool>().prop_map(Value::Bool).boxed(),
        "rootfs_size_mb" => (0u64..1100).prop_map(|n| json!(n)).boxed(),
        "filesystem" => prop_oneof![
            prop::sample::select(&["squashfs", "ext4", "ubifs", "erofs", "jffs2", "btrfs", "", "ntfs"][..])
                .prop_map(|s| json!(s)),
            near_valid().prop_map(Value::String),
        ]
        .boxed(),
        "repositories" => prop::collection::btree_map(
            prop_oneof!["[a-zA-Z0-9_-]{1,8}", near_valid()],
            prop_oneof![
                near_valid().prop_map(|p| format!("{ALLOWED}/{p}")),
                near_valid().prop_map(|p| format!("{ALLOWED}{p}")),
                awkward_string().prop_map(|p| format!("https://{p}downloads.example.org/feeds/x")),
            ],
            0..3,
        )
        .prop_map(|m| json!(m))
        .boxed(),
        "repositories_mode" => prop_oneof![
            prop::sample::select(&["append", "replace", "", "merge"][..]).prop_map(|s| json!(s)),
            near_valid().prop_map(Value::String),
        ]
        .boxed(),
        "defaults" => prop_oneof![awkward_string(), "[ -~\n]{0,40}"].prop_map(Value::String).boxed(),
        _ => near_valid().prop_map(Value::String).boxed(),
    }
}

/// A valid request with one to three fields replaced (mostly by values of
/// the right type, sometimes by any JSON) or removed.
fn mutated_body() -> impl Strategy<Value = Vec<u8>> {
    let edit = prop::sample::select(FIELDS).prop_flat_map(|field| {
        let value = prop_oneof![
            6 => typed_value(field),
            1 => json_value(),
            1 => Just(Value::Null),
        ];
        (Just(field), value, any::<bool>())
    });
    prop::collection::vec(edit, 1..4).prop_map(|edits| {
        let mut body = valid_body();
        for (field, value, remove) in edits {
            if remove && value.is_null() {
                body.remove(field);
            } else {
                body.insert(field.to_string(), value);
            }
        }
        serde_json::to_vec(&Value::Object(body)).unwrap()
    })
}

// ------------------------------------------------------------ properties

/// Every checked property of an accepted request (the edge queues exactly these).
fn check_accepted(r: &BuildRequest, limits: &Limits) -> Result<(), TestCaseError> {
    prop_assert!(is_strict_version(&r.version), "version {:?}", r.version);
    prop_assert!(is_strict_target(&r.target), "target {:?}", r.target);
    prop_assert!(is_strict_profile(&r.profile), "profile {:?}", r.profile);
    prop_assert_eq!(r.distro.as_str(), "openwrt");
    prop_assert!(r.packages.len() <= validate::MAX_PACKAGES);
    for p in &r.packages {
        prop_assert!(is_strict_package_entry(p), "package {:?}", p);
    }
    for (name, version) in &r.packages_versions {
        prop_assert!(is_strict_package_name(name), "versioned package {:?}", name);
        prop_assert!(
            !version.is_empty()
                && version.len() <= 64
                && version.chars().all(|c| alnum(c) || matches!(c, '.' | '_' | '+' | '-' | '~' | ':')),
            "version {:?}",
            version
        );
    }
    for name in [&r.version, &r.target, &r.profile].into_iter().chain(r.packages.iter()) {
        let allowed_meta: &[char] = if name == &r.target { &['/'] } else { &[] };
        prop_assert!(
            !name.chars().any(|c| META.contains(&c) && !allowed_meta.contains(&c)),
            "{:?} carries a shell or make character",
            name
        );
    }
    if let Some(d) = &r.defaults {
        prop_assert!(!d.is_empty() && d.len() <= limits.max_defaults_length && !d.contains('\0'));
    }
    if let Some(size) = r.rootfs_size_mb {
        prop_assert!((1..=limits.max_custom_rootfs_size_mb).contains(&size));
    }
    if let Some(fs) = &r.filesystem {
        prop_assert!(["squashfs", "ext4", "ubifs", "erofs", "jffs2", "btrfs"].contains(&fs.as_str()));
    }
    for (name, url) in &r.repositories {
        prop_assert!(is_strict_repository_name(name), "repository name {:?}", name);
        prop_assert!(is_plainly_under_allowed(url), "repository URL {:?}", url);
    }
    // The queue stores the request as JSON and the builder reads it back:
    // that must give the same request and the same hash.
    let again = BuildRequest::from_json(&serde_json::to_vec(r).unwrap(), limits)
        .map_err(|e| TestCaseError::fail(format!("re-parsing an accepted request failed: {e}")))?;
    prop_assert_eq!(&again, r);
    prop_assert_eq!(request_hash(&again), request_hash(r));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hash_is_stable_under_reordering_and_duplicates(
        r in small_request(),
        extra_packages in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        extra_keys in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        seed in any::<u64>(),
    ) {
        let mut other = r.clone();
        for i in &extra_packages {
            if !r.packages.is_empty() {
                other.packages.push(i.get(&r.packages).clone());
            }
        }
        for i in &extra_keys {
            if !r.repository_keys.is_empty() {
                other.repository_keys.push(i.get(&r.repository_keys).clone());
            }
        }
        // A deterministic shuffle from the seed (rotation plus reversal).
        for list in [&mut other.packages, &mut other.repository_keys] {
            if !list.is_empty() {
                let k = (seed as usize) % list.len();
                list.rotate_left(k);
                if seed & 1 == 1 {
                    list.reverse();
                }
            }
        }
        // Board names and profile ids name the same profile; the client does not matter.
        other.profile = other.profile.replace(',', "_");
        other.client = Some("someone-else/1".into());
        if other.defaults.as_deref() == Some("") {
            other.defaults = None;
        }
        prop_assert_eq!(canonical_encoding(&other), canonical_encoding(&r));
        prop_assert_eq!(request_hash(&other), request_hash(&r));
    }

    #[test]
    fn distinct_requests_never_share_an_encoding(a in small_request(), b in small_request()) {
        let same_image = model(&a) == model(&b);
        let same_encoding = canonical_encoding(&a) == canonical_encoding(&b);
        prop_assert_eq!(same_image, same_encoding, "a={:?}\nb={:?}", a, b);
        prop_assert_eq!(same_image, request_hash(&a) == request_hash(&b));
        let h = request_hash(&a);
        prop_assert!(h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn one_changed_field_changes_the_encoding(a in small_request(), field in 0usize..14, value in small_name()) {
        let mut b = a.clone();
        match field {
            0 => b.distro = value,
            1 => b.version = value,
            2 => b.version_code = value,
            3 => b.target = value,
            4 => b.profile = value,
            5 => b.packages.push(value),
            6 => { b.packages_versions.insert(value.clone(), value); }
            7 => b.diff_packages = !b.diff_packages,
            8 => b.defaults = Some(value),
            9 => b.rootfs_size_mb = Some(b.rootfs_size_mb.map_or(7, |n| n.wrapping_add(1))),
            10 => b.filesystem = Some(value),
            11 => { b.repositories.insert(value.clone(), value); }
            12 => b.repositories_mode = match b.repositories_mode {
                RepositoriesMode::Append => RepositoriesMode::Replace,
                RepositoriesMode::Replace => RepositoriesMode::Append,
            },
            _ => b.repository_keys.push(value),
        }
        prop_assert_eq!(model(&a) == model(&b), canonical_encoding(&a) == canonical_encoding(&b));
    }

    #[test]
    fn from_json_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256), brace in any::<bool>()) {
        let mut body = if brace { b"{\"version\":".to_vec() } else { Vec::new() };
        body.extend_from_slice(&bytes);
        let _ = BuildRequest::from_json(&body, &limits());
    }

    #[test]
    fn from_json_never_panics_on_json(value in json_value(), fields in prop::collection::btree_map(prop::sample::select(FIELDS), json_value(), 0..6)) {
        let l = limits();
        let _ = BuildRequest::from_json(&serde_json::to_vec(&value).unwrap(), &l);
        let object: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if let Ok(r) = BuildRequest::from_json(&serde_json::to_vec(&object).unwrap(), &l) {
            check_accepted(&r, &l)?;
        }
    }

    #[test]
    fn accepted_requests_hold_only_strict_values(body in mutated_body()) {
        let l = limits();
        match BuildRequest::from_json(&body, &l) {
            Ok(r) => check_accepted(&r, &l)?,
            Err(e) => {
                // Refusals name a field and read as one line.
                prop_assert!(e.field == "body" || FIELDS.contains(&e.field.as_str()), "field {:?}", e.field);
                prop_assert!(!e.to_string().contains('\n') && !e.to_string().contains('\0'), "{:?}", e.to_string());
            }
        }
    }

    #[test]
    fn name_validators_are_exactly_the_strict_patterns(s in near_valid()) {
        prop_assert_eq!(validate::package_entry("p", &s).is_ok(), is_strict_package_entry(&s), "{:?}", s);
        prop_assert_eq!(validate::package_name("p", &s).is_ok(), is_strict_package_name(&s), "{:?}", s);
        prop_assert_eq!(validate::profile("p", &s).is_ok(), is_strict_profile(&s), "{:?}", s);
        prop_assert_eq!(validate::target("t", &s).is_ok(), is_strict_target(&s), "{:?}", s);
        prop_assert_eq!(validate::version("v", &s).is_ok(), is_strict_version(&s), "{:?}", s);
        prop_assert_eq!(validate::repository_name("r", &s).is_ok(), is_strict_repository_name(&s), "{:?}", s);
        // Errors quote the value without breaking the line.
        if let Err(e) = validate::package_entry("p", &s) {
            prop_assert!(!e.message.contains('\n') && !e.message.contains('\0'));
        }
    }

    #[test]
    fn allow_list_admits_only_plain_paths_under_the_prefix(suffix in near_valid(), authority in awkward_string()) {
        let allow = vec![ALLOWED.to_string()];
        for url in [
            format!("{ALLOWED}{suffix}"),
            format!("{ALLOWED}/{suffix}"),
            format!("https://{authority}/feeds/{suffix}"),
            format!("https://downloads.example.org{authority}/feeds"),
            format!("{authority}{ALLOWED}/x"),
        ] {
            if validate::url_allowed(&url, &allow) {
                prop_assert!(is_plainly_under_allowed(&url), "{:?} was allowed", url);
            }
        }
    }
}

#[test]
fn the_strict_patterns_are_not_trivial() {
    // The independent rules themselves: accept the real names, refuse the obvious attacks.
    assert!(is_strict_package_entry("luci-i18n-base-zh-cn") && is_strict_package_entry("-dnsmasq"));
    assert!(is_strict_package_entry("libstdcpp6") && is_strict_package_entry("gstreamer1.0"));
    assert!(!is_strict_package_entry("$(reboot)") && !is_strict_package_entry("a b") && !is_strict_package_entry("--x"));
    assert!(is_strict_profile("glinet,gl-mt6000") && !is_strict_profile(",x"));
    assert!(is_strict_target("mediatek/filogic") && !is_strict_target("../etc") && !is_strict_target("a/b/c"));
    assert!(is_strict_version("24.10-SNAPSHOT") && !is_strict_version("-1"));
    assert!(is_plainly_under_allowed(&format!("{ALLOWED}/x/y")) && is_plainly_under_allowed(ALLOWED));
    assert!(!is_plainly_under_allowed(&format!("{ALLOWED}evil")) && !is_plainly_under_allowed(&format!("{ALLOWED}/../x")));
    // And the crate agrees on a legitimate allow-listed URL.
    assert!(validate::url_allowed(&format!("{ALLOWED}/packages/x86_64/base"), &[ALLOWED.to_string()]));
}
