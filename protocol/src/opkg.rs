//! opkg package indexes: the `Packages` file (RFC 822 stanzas separated by
//! blank lines; a line starting with a space continues the previous field)
//! and the `index.json` (version 2) that 24.10 publishes beside it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One stanza of a `Packages` index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageEntry {
    pub name: String,
    pub version: String,
    /// Names only: `ucode (>= 2022-03-22)` becomes `ucode`; of an
    /// alternative group `a | b` the first name is kept.
    pub depends: Vec<String>,
    pub provides: Vec<String>,
    pub conflicts: Vec<String>,
    /// `ABIVersion`: the suffix a library's package name carries
    /// (`libubus20220601` has ABI version `20220601`).
    pub abi_version: Option<String>,
    pub architecture: String,
    pub installed_size: u64,
    pub size: u64,
    pub filename: String,
    pub sha256sum: String,
    /// Continuation lines joined with `\n`, their leading space removed.
    pub description: String,
    /// Every other field (Section, License, Source, CPE-ID, Essential,
    /// Alternatives, ...) in file order, so the writer keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(String, String)>,
}

impl PackageEntry {
    /// The name without its ABI suffix, as `index.json`, `STRIP_ABI=1`
    /// manifests and the router's package list show it.
    pub fn name_without_abi(&self) -> &str {
        strip_abi(&self.name, self.abi_version.as_deref())
    }

    /// An extra field by name (case-insensitive).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// `libubus20220601` with ABI `20220601` -> `libubus`. Names that do not end
/// in their ABI version are returned unchanged.
pub fn strip_abi<'a>(name: &'a str, abi_version: Option<&str>) -> &'a str {
    match abi_version {
        Some(abi) if !abi.is_empty() && name.len() > abi.len() && name.ends_with(abi) => {
            &name[..name.len() - abi.len()]
        }
        _ => name,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexError {
    /// 1-based line number where the problem was found (0 for JSON).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "package index line {}: {}", self.line, self.message)
        } else {
            write!(f, "package index: {}", self.message)
        }
    }
}

impl std::error::Error for IndexError {}

/// Splits a relation field (`Depends`, `Provides`, `Conflicts`) into names.
pub fn relation_names(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter_map(|group| {
            let first = group.split('|').next().unwrap_or("");
            let name = first
                .split(|c: char| c == '(' || c.is_whitespace())
                .find(|s| !s.is_empty())?;
            Some(name.to_string())
        })
        .collect()
}

fn parse_number(value: &str, key: &str, line: usize) -> Result<u64, IndexError> {
    value.trim().parse().map_err(|_| IndexError {
        line,
        message: format!("{key} is not a number: {value:?}"),
    })
}

/// Parses a whole `Packages` file. Stanzas without a `Package` field are
/// refused; unknown fields are kept in `extra`.
pub fn parse_packages(text: &str) -> Result<Vec<PackageEntry>, IndexError> {
    let mut entries = Vec::new();
    // (key, value, line of the key)
    let mut fields: Vec<(String, String, usize)> = Vec::new();
    let mut stanza_line = 0;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.starts_with(' ') || line.starts_with('\t') {
            // A line of a single space continues a field with an empty line
            // (real descriptions have those); elsewhere it is a separator.
            if let Some(last) = fields.last_mut() {
                let cont = &line[1..];
                last.1.push('\n');
                last.1.push_str(if cont == "." { "" } else { cont });
                continue;
            }
            if !line.trim().is_empty() {
                return Err(IndexError {
                    line: line_no,
                    message: "continuation line without a field".into(),
                });
            }
        }
        if line.trim().is_empty() {
            if !fields.is_empty() {
                entries.push(stanza(std::mem::take(&mut fields), stanza_line)?);
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(IndexError {
                line: line_no,
                message: format!("expected 'Field: value', got {line:?}"),
            });
        };
        if fields.is_empty() {
            stanza_line = line_no;
        }
        fields.push((
            key.trim().to_string(),
            value.trim_start().to_string(),
            line_no,
        ));
    }
    if !fields.is_empty() {
        entries.push(stanza(fields, stanza_line)?);
    }
    Ok(entries)
}

fn stanza(fields: Vec<(String, String, usize)>, line: usize) -> Result<PackageEntry, IndexError> {
    let mut e = PackageEntry::default();
    let mut have_name = false;
    for (key, value, l) in fields {
        match key.to_ascii_lowercase().as_str() {
            "package" => {
                e.name = value.trim().to_string();
                have_name = !e.name.is_empty();
            }
            "version" => e.version = value.trim().to_string(),
            "depends" => e.depends = relation_names(&value),
            "provides" => e.provides = relation_names(&value),
            "conflicts" => e.conflicts = relation_names(&value),
            "abiversion" => {
                e.abi_version = Some(value.trim().to_string()).filter(|s| !s.is_empty())
            }
            "architecture" => e.architecture = value.trim().to_string(),
            "installed-size" => e.installed_size = parse_number(&value, &key, l)?,
            "size" => e.size = parse_number(&value, &key, l)?,
            "filename" => e.filename = value.trim().to_string(),
            "sha256sum" => e.sha256sum = value.trim().to_string(),
            "description" => e.description = value,
            _ => e.extra.push((key, value)),
        }
    }
    if !have_name {
        return Err(IndexError {
            line,
            message: "stanza has no Package field".into(),
        });
    }
    Ok(e)
}

/// Writes entries as a `Packages` file, in the field order OpenWrt uses.
pub fn write_packages(entries: &[PackageEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        write_stanza(&mut out, e);
        out.push('\n');
    }
    out
}

fn push_field(out: &mut String, key: &str, value: &str) {
    out.push_str(key);
    out.push_str(": ");
    let mut lines = value.split('\n');
    out.push_str(lines.next().unwrap_or(""));
    for l in lines {
        out.push_str("\n ");
        out.push_str(l);
    }
    out.push('\n');
}

fn write_stanza(out: &mut String, e: &PackageEntry) {
    push_field(out, "Package", &e.name);
    push_field(out, "Version", &e.version);
    if !e.depends.is_empty() {
        push_field(out, "Depends", &e.depends.join(", "));
    }
    if !e.provides.is_empty() {
        push_field(out, "Provides", &e.provides.join(", "));
    }
    if !e.conflicts.is_empty() {
        push_field(out, "Conflicts", &e.conflicts.join(", "));
    }
    for (k, v) in &e.extra {
        push_field(out, k, v);
    }
    if let Some(abi) = &e.abi_version {
        push_field(out, "ABIVersion", abi);
    }
    push_field(out, "Architecture", &e.architecture);
    push_field(out, "Installed-Size", &e.installed_size.to_string());
    push_field(out, "Filename", &e.filename);
    push_field(out, "Size", &e.size.to_string());
    push_field(out, "SHA256sum", &e.sha256sum);
    // OpenWrt's indexes carry two spaces after "Description:".
    push_field(out, "Description", &format!(" {}", e.description));
}

/// `index.json` version 2, published beside `Packages` since 24.10.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexJson {
    pub version: u32,
    pub architecture: String,
    /// Name without ABI suffix -> version.
    pub packages: BTreeMap<String, String>,
}

impl IndexJson {
    pub fn from_entries(architecture: &str, entries: &[PackageEntry]) -> Self {
        let packages = entries
            .iter()
            .map(|e| (e.name_without_abi().to_string(), e.version.clone()))
            .collect();
        IndexJson {
            version: 2,
            architecture: architecture.to_string(),
            packages,
        }
    }
}

pub fn parse_index_json(text: &str) -> Result<IndexJson, IndexError> {
    let idx: IndexJson = serde_json::from_str(text).map_err(|e| IndexError {
        line: 0,
        message: e.to_string(),
    })?;
    if idx.version != 2 {
        return Err(IndexError {
            line: 0,
            message: format!("index.json version {} is not 2", idx.version),
        });
    }
    Ok(idx)
}

pub fn write_index_json(index: &IndexJson) -> String {
    let mut s = serde_json::to_string_pretty(index).expect("index serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/upstream/releases/22.03-SNAPSHOT"
    );

    fn fixture(rel: &str) -> Option<String> {
        let path = format!("{FIXTURES}/{rel}");
        match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(_) => {
                eprintln!("fixture {path} not found, skipping");
                None
            }
        }
    }

    /// Counts stanzas and reads a few fields with plain string handling, to
    /// compare against the parser.
    fn naive_fields(text: &str, name: &str) -> Vec<(String, String)> {
        let block = text
            .split("\n\n")
            .find(|b| b.lines().next() == Some(&format!("Package: {name}")))
            .expect("stanza present");
        block
            .lines()
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| {
                l.split_once(": ")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect()
    }

    #[test]
    fn parses_real_base_feed() {
        let Some(text) = fixture("packages/mips_24kc/base/Packages") else {
            return;
        };
        let entries = parse_packages(&text).unwrap();
        let stanzas = text.lines().filter(|l| l.starts_with("Package: ")).count();
        assert_eq!(entries.len(), stanzas);

        let fw4 = entries.iter().find(|e| e.name == "firewall4").unwrap();
        let raw = naive_fields(&text, "firewall4");
        let get = |k: &str| raw.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(fw4.version, get("Version"));
        assert_eq!(fw4.installed_size.to_string(), get("Installed-Size"));
        assert_eq!(fw4.sha256sum, get("SHA256sum"));
        assert_eq!(fw4.depends[0], "ucode", "version constraint stripped");
        assert!(fw4.depends.contains(&"kmod-nft-offload".to_string()));
        assert_eq!(fw4.provides, vec!["uci-firewall"]);
        assert_eq!(fw4.field("Section"), Some("net"));
        assert!(fw4.description.contains('\n'), "continuation line kept");
        assert!(fw4
            .description
            .ends_with("sharing the same configuration format."));

        let ubus = entries
            .iter()
            .find(|e| e.name == "libubus20220601")
            .unwrap();
        assert_eq!(ubus.abi_version.as_deref(), Some("20220601"));
        assert_eq!(ubus.name_without_abi(), "libubus");
        let busybox = entries.iter().find(|e| e.name == "busybox").unwrap();
        assert_eq!(busybox.conflicts, vec!["busybox-selinux"]);
        assert_eq!(busybox.field("Essential"), Some("yes"));
    }

    #[test]
    fn write_then_parse_is_identity() {
        for rel in [
            "packages/x86_64/base/Packages",
            "packages/x86_64/packages/Packages",
            "targets/x86/64/packages/Packages",
            "targets/ath79/generic/packages/Packages",
        ] {
            let Some(text) = fixture(rel) else { return };
            let entries = parse_packages(&text).unwrap();
            let again = parse_packages(&write_packages(&entries)).unwrap();
            assert_eq!(entries, again, "{rel}");
        }
    }

    #[test]
    fn writer_output_matches_real_layout_without_constraints() {
        let Some(text) = fixture("packages/mips_24kc/base/Packages") else {
            return;
        };
        let entries = parse_packages(&text).unwrap();
        let ca = entries.iter().find(|e| e.name == "ca-bundle").unwrap();
        let written = write_packages(std::slice::from_ref(ca));
        let original = text
            .split("\n\n")
            .find(|b| b.starts_with("Package: ca-bundle\n"))
            .unwrap();
        // ca-bundle has no version constraints, so the stanza is reproduced byte for byte.
        assert_eq!(written.trim_end(), original.trim_end());
    }

    #[test]
    fn relation_parsing() {
        assert_eq!(
            relation_names("libc, kernel (=5.10.179-1-e81), a | b,  c (>= 1)"),
            vec!["libc", "kernel", "a", "c"]
        );
        assert!(relation_names("").is_empty());
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(parse_packages(" continuation first\n").is_err());
        assert!(parse_packages("Version: 1\n").is_err());
        assert!(parse_packages("Package: x\nInstalled-Size: many\n").is_err());
        assert!(parse_packages("no colon here\n").is_err());
    }

    #[test]
    fn index_json_round_trip() {
        let text = r#"{"version":2,"architecture":"aarch64_cortex-a53","packages":{"luci":"24.10.5","libubus":"2025.01.02~afa57cce-r1"}}"#;
        let idx = parse_index_json(text).unwrap();
        assert_eq!(idx.architecture, "aarch64_cortex-a53");
        assert_eq!(idx.packages["libubus"], "2025.01.02~afa57cce-r1");
        assert_eq!(parse_index_json(&write_index_json(&idx)).unwrap(), idx);
        assert!(parse_index_json(r#"{"version":1,"architecture":"x","packages":{}}"#).is_err());

        let Some(text) = fixture("packages/x86_64/base/Packages") else {
            return;
        };
        let entries = parse_packages(&text).unwrap();
        let idx = IndexJson::from_entries("x86_64", &entries);
        assert_eq!(
            idx.packages.get("libubus").map(String::as_str),
            Some("2022-06-01-2bebf93c-1")
        );
        assert!(!idx.packages.contains_key("libubus20220601"));
    }
}
