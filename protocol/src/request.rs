//! The build request as clients send it (`POST /api/v1/build`), parsed
//! field by field so that every wrong type or value is reported with the
//! field's name, never as a generic decoding error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validate::{self, quote, FieldError};

/// Server-side limits that the request is checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest first-boot script in bytes; 0 disables `defaults`.
    pub max_defaults_length: usize,
    /// Largest `rootfs_size_mb`.
    pub max_custom_rootfs_size_mb: u32,
    /// URL prefixes that `repositories` may point to.
    pub repository_allow_list: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_defaults_length: 20480, max_custom_rootfs_size_mb: 1024, repository_allow_list: Vec::new() }
    }
}

/// How extra repositories combine with the release's own feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RepositoriesMode {
    #[default]
    Append,
    Replace,
}

/// A build request after syntax validation. Field names and JSON shape are
/// the wire format of the existing clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRequest {
    pub distro: String,
    pub version: String,
    #[serde(default)]
    pub version_code: String,
    pub target: String,
    pub profile: String,
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages_versions: BTreeMap<String, String>,
    #[serde(default)]
    pub diff_packages: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs_size_mb: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repositories: BTreeMap<String, String>,
    #[serde(default)]
    pub repositories_mode: RepositoriesMode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repository_keys: Vec<String>,
    /// Who asked (`luci/24.10`, `owut/...`); does not change the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

impl BuildRequest {
    /// A request with just the required fields; the rest take their defaults.
    pub fn new(version: &str, target: &str, profile: &str) -> Self {
        BuildRequest {
            distro: "openwrt".into(),
            version: version.into(),
            version_code: String::new(),
            target: target.into(),
            profile: profile.into(),
            packages: Vec::new(),
            packages_versions: BTreeMap::new(),
            diff_packages: false,
            defaults: None,
            rootfs_size_mb: None,
            filesystem: None,
            repositories: BTreeMap::new(),
            repositories_mode: RepositoriesMode::Append,
            repository_keys: Vec::new(),
            client: None,
        }
    }

    /// Parses and validates a request body.
    pub fn from_json(body: &[u8], limits: &Limits) -> Result<BuildRequest, FieldError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            FieldError::new("body", format!("is not valid JSON ({e})"))
        })?;
        let Value::Object(obj) = value else {
            return Err(FieldError::new("body", "must be a JSON object"));
        };
        Self::from_object(&obj, limits)
    }

    /// Validates an already decoded JSON object.
    pub fn from_object(obj: &Map<String, Value>, limits: &Limits) -> Result<BuildRequest, FieldError> {
        let f = Fields(obj);
        let distro = f.opt_string("distro")?.unwrap_or_else(|| "openwrt".into());
        validate::distro("distro", &distro)?;
        let version = f.req_string("version")?;
        validate::version("version", &version)?;
        let version_code = f.opt_string("version_code")?.unwrap_or_default();
        validate::version_code("version_code", &version_code)?;
        let target = f.req_string("target")?;
        validate::target("target", &target)?;
        let profile = f.req_string("profile")?;
        validate::profile("profile", &profile)?;

        let packages = f.opt_string_list("packages")?.unwrap_or_default();
        if packages.len() > validate::MAX_PACKAGES {
            return Err(FieldError::new(
                "packages",
                format!("lists {} packages; at most {} are allowed", packages.len(), validate::MAX_PACKAGES),
            ));
        }
        for p in &packages {
            validate::package_entry("packages", p)?;
        }
        let packages_versions = f.opt_string_map("packages_versions")?.unwrap_or_default();
        // One limit for both lists together: it is one package set.
        if packages.len() + packages_versions.len() > validate::MAX_PACKAGES {
            return Err(FieldError::new(
                "packages_versions",
                format!(
                    "lists {} packages ({} more in packages); at most {} are allowed in all",
                    packages_versions.len(),
                    packages.len(),
                    validate::MAX_PACKAGES
                ),
            ));
        }
        for (name, ver) in &packages_versions {
            validate::package_name("packages_versions", name)?;
            validate::package_version("packages_versions", ver)?;
        }

        let diff_packages = f.opt_bool("diff_packages")?.unwrap_or(false);
        let defaults = f.opt_string("defaults")?.filter(|d| !d.is_empty());
        if let Some(d) = &defaults {
            if limits.max_defaults_length == 0 {
                return Err(FieldError::new("defaults", "this server does not accept first-boot scripts"));
            }
            validate::defaults("defaults", d, limits.max_defaults_length)?;
        }
        let max_rootfs = limits.max_custom_rootfs_size_mb;
        let rootfs_size_mb = match f.opt_integer("rootfs_size_mb")? {
            None => None,
            Some(size) if (1..=i128::from(max_rootfs)).contains(&size) => Some(size as u32),
            Some(size) => {
                return Err(FieldError::new(
                    "rootfs_size_mb",
                    format!("{size} is out of range; choose 1 to {max_rootfs} MB"),
                ))
            }
        };
        let filesystem = f.opt_string("filesystem")?.filter(|s| !s.is_empty());
        if let Some(fs) = &filesystem {
            validate::filesystem("filesystem", fs)?;
        }

        let repositories = f.opt_string_map("repositories")?.unwrap_or_default();
        for (name, url) in &repositories {
            validate::repository_name("repositories", name)?;
            if !validate::url_allowed(url, &limits.repository_allow_list) {
                return Err(FieldError::new(
                    "repositories",
                    format!("{} is not on this server's repository allow-list", quote(url)),
                ));
            }
        }
        let repositories_mode = match f.opt_string("repositories_mode")?.as_deref() {
            None | Some("") | Some("append") => RepositoriesMode::Append,
            Some("replace") => RepositoriesMode::Replace,
            Some(other) => {
                return Err(FieldError::new(
                    "repositories_mode",
                    format!("{} must be 'append' or 'replace'", quote(other)),
                ))
            }
        };
        let repository_keys = f.opt_string_list("repository_keys")?.unwrap_or_default();
        if repository_keys.len() > 16 {
            return Err(FieldError::new("repository_keys", "at most 16 keys are allowed"));
        }
        for key in &repository_keys {
            repository_key("repository_keys", key)?;
        }
        let client = f.opt_string("client")?.filter(|c| !c.is_empty());
        if let Some(c) = &client {
            if c.len() > 128 || c.chars().any(|ch| ch.is_control()) {
                return Err(FieldError::new("client", format!("{} is not a client name", quote(c))));
            }
        }

        Ok(BuildRequest {
            distro,
            version,
            version_code,
            target,
            profile,
            packages,
            packages_versions,
            diff_packages,
            defaults,
            rootfs_size_mb,
            filesystem,
            repositories,
            repositories_mode,
            repository_keys,
            client,
        })
    }

    /// The package names the request asks for, removals (`-x`) included,
    /// whichever of `packages` / `packages_versions` the client used.
    pub fn requested_packages(&self) -> Vec<String> {
        let mut all: Vec<String> = self.packages.clone();
        all.extend(self.packages_versions.keys().cloned());
        all
    }
}

/// A signing key: a usignature public key or PEM text, no control characters but newlines.
fn repository_key(field: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty() || value.len() > 4096 || value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(field, "each key must be 1 to 4096 characters of printable text"));
    }
    Ok(())
}

/// Typed access to a request object with errors that name the field.
pub(crate) struct Fields<'a>(pub(crate) &'a Map<String, Value>);

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Fields<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn wrong(name: &str, expected: &str, got: &Value) -> FieldError {
        FieldError::new(name, format!("must be {expected}, not {}", type_name(got)))
    }

    pub(crate) fn req_string(&self, name: &str) -> Result<String, FieldError> {
        self.opt_string(name)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| FieldError::new(name, "is required"))
    }

    pub(crate) fn opt_string(&self, name: &str) -> Result<Option<String>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Self::wrong(name, "a string", other)),
        }
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Self::wrong(name, "true or false", other)),
        }
    }

    /// A whole number of any size (range checks are the caller's, so
    /// that `-1` and `10^12` get the same "out of range" answer as `0`).
    fn opt_integer(&self, name: &str) -> Result<Option<i128>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (Some(v), _) => Ok(Some(v.into())),
                (None, Some(v)) => Ok(Some(v.into())),
                _ => Err(FieldError::new(name, format!("{n} is not a whole number of megabytes"))),
            },
            Some(other) => Err(Self::wrong(name, "a whole number", other)),
        }
    }

    fn opt_string_list(&self, name: &str) -> Result<Option<Vec<String>>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(FieldError::new(
                        name,
                        format!("must be a list of strings, but one entry is {}", type_name(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(Self::wrong(name, "a list of strings", other)),
        }
    }

    fn opt_string_map(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(FieldError::new(
                        name,
                        format!("must map names to strings, but {} maps to {}", quote(k), type_name(other)),
                    )),
                })
                .collect::<Result<BTreeMap<_, _>, _>>()
                .map(Some),
            Some(other) => Err(Self::wrong(name, "an object of name: string", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<BuildRequest, FieldError> {
        BuildRequest::from_json(body.as_bytes(), &Limits::default())
    }

    #[test]
    fn minimal_request_takes_defaults() {
        let r = parse(r#"{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000"}"#).unwrap();
        assert_eq!(r, BuildRequest::new("24.10.5", "mediatek/filogic", "glinet,gl-mt6000"));
    }

    #[test]
    fn full_luci_request() {
        let r = parse(
            r#"{"profile":"glinet,gl-mt6000","target":"mediatek/filogic","version":"24.10.5",
                "packages":["luci","-dnsmasq"],"diff_packages":true,"client":"luci/24.10",
                "filesystem":"squashfs","rootfs_size_mb":null,"defaults":"","version_code":"r29087-d9c5716d1d",
                "unknown_field":{"ignored":true}}"#,
        )
        .unwrap();
        assert_eq!(r.packages, vec!["luci", "-dnsmasq"]);
        assert!(r.diff_packages);
        assert_eq!(r.filesystem.as_deref(), Some("squashfs"));
        assert_eq!(r.defaults, None);
        assert_eq!(r.client.as_deref(), Some("luci/24.10"));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("{", "body"),
            ("[]", "body"),
            (r#"{"target":"x86/64","profile":"generic"}"#, "version"),
            (r#"{"version":5,"target":"x86/64","profile":"generic"}"#, "version"),
            (r#"{"version":"23.05.4","profile":"generic"}"#, "target"),
            (r#"{"version":"23.05.4","target":"x86/64"}"#, "profile"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","packages":"luci"}"#, "packages"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","packages":[1]}"#, "packages"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","packages":["a b"]}"#, "packages"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","diff_packages":"yes"}"#, "diff_packages"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","rootfs_size_mb":-1}"#, "rootfs_size_mb"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","rootfs_size_mb":1.5}"#, "rootfs_size_mb"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","rootfs_size_mb":100000}"#, "rootfs_size_mb"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","filesystem":"ntfs"}"#, "filesystem"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","repositories":{"x":"https://evil"}}"#, "repositories"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","repositories_mode":"merge"}"#, "repositories_mode"),
            (r#"{"version":"23.05.4","target":"x86/64","profile":"generic","packages_versions":{"a":"1 2"}}"#, "packages_versions"),
        ];
        for (body, field) in cases {
            let err = parse(body).unwrap_err();
            assert_eq!(err.field, field, "{body}: {err}");
        }
    }

    #[test]
    fn the_package_limit_counts_both_lists() {
        let names = |prefix: &str, n: usize| (0..n).map(|i| format!("\"{prefix}{i}\"")).collect::<Vec<_>>();
        let body = |p: usize, v: usize| {
            let versions: Vec<String> = names("v", v).into_iter().map(|k| format!("{k}:\"1\"")).collect();
            format!(
                r#"{{"version":"23.05.4","target":"x86/64","profile":"generic","packages":[{}],"packages_versions":{{{}}}}}"#,
                names("p", p).join(","),
                versions.join(",")
            )
        };
        assert!(parse(&body(1000, 24)).is_ok());
        assert_eq!(parse(&body(1000, 25)).unwrap_err().field, "packages_versions");
        assert_eq!(parse(&body(1025, 0)).unwrap_err().field, "packages");
    }

    #[test]
    fn rootfs_size_out_of_range_says_so() {
        for size in ["0", "-1", "1000000000000", "1025"] {
            let body = format!(r#"{{"version":"23.05.4","target":"x86/64","profile":"generic","rootfs_size_mb":{size}}}"#);
            let err = parse(&body).unwrap_err().to_string();
            assert_eq!(err, format!("rootfs_size_mb: {size} is out of range; choose 1 to 1024 MB"));
        }
        let err = parse(r#"{"version":"23.05.4","target":"x86/64","profile":"generic","rootfs_size_mb":2.5}"#).unwrap_err();
        assert!(err.message.contains("whole number"), "{err}");
    }

    #[test]
    fn defaults_can_be_disabled() {
        let limits = Limits { max_defaults_length: 0, ..Limits::default() };
        let body = r#"{"version":"23.05.4","target":"x86/64","profile":"generic","defaults":"echo hi"}"#;
        assert_eq!(BuildRequest::from_json(body.as_bytes(), &limits).unwrap_err().field, "defaults");
    }

    #[test]
    fn round_trips_through_serde() {
        let r = parse(
            r#"{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet_gl-mt6000",
                "packages_versions":{"luci":"25.1"},"defaults":"echo hi","rootfs_size_mb":256}"#,
        )
        .unwrap();
        let json = serde_json::to_vec(&r).unwrap();
        assert_eq!(BuildRequest::from_json(&json, &Limits::default()).unwrap(), r);
    }
}
