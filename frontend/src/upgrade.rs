//! "What would an upgrade do": the edge's update check
//! (`POST /api/v1/upgrade-check`), reading its answer, and applying the
//! package replacements it names to a package list. Plain Rust, tested
//! natively.
//!
//! The answer is read leniently (several field names per item) because the
//! check is young; see `read_check` for what is understood.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::build_status::http_error_text;
use crate::packages::{PackageIndex, Selection};
use crate::rpc::Board;

/// A package that is renamed, replaced, dropped or added by the upgrade.
/// It applies when `from` is installed; one without `from` (a new default
/// package) always applies. `from == to` changes nothing (e.g. a package
/// that left the default list stays because the router lists it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replacement {
    pub from: String,
    /// `None`: dropped without a successor.
    pub to: Option<String>,
    /// The server marks it as required for the build to work.
    pub mandatory: bool,
    /// The server's words for it (`effect`), if any.
    pub note: String,
    /// Only for these targets, when not empty.
    pub targets: Vec<String>,
}

impl Replacement {
    pub fn describe(&self) -> String {
        if !self.note.is_empty() {
            return self.note.clone();
        }
        match (&self.to, self.from.is_empty()) {
            (Some(to), true) => format!("{to} is added"),
            (Some(to), false) if *to == self.from => format!("{to} stays"),
            (Some(to), false) => format!("{} is replaced by {to}", self.from),
            (None, _) => format!("{} is dropped", self.from),
        }
    }

    fn applies(&self, installed: &[String], target: &str) -> bool {
        (self.targets.is_empty() || self.targets.iter().any(|t| t == target))
            && (self.from.is_empty() || installed.contains(&self.from))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionChange {
    pub name: String,
    pub from: String,
    pub to: String,
}

/// What the update check says an upgrade does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpgradePreview {
    pub version: String,
    pub version_code: String,
    /// The profile id the server matched, when it says.
    pub profile: String,
    pub changes: Vec<VersionChange>,
    pub replacements: Vec<Replacement>,
    /// Installed packages the new release does not have.
    pub missing: Vec<String>,
    /// The server computed this; `false` for the page's own estimate.
    pub from_server: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckAnswer {
    Newer(UpgradePreview),
    /// 204: nothing newer for this device.
    UpToDate,
    /// The server has no update check (404/405/501).
    Missing,
    Refused(String),
}

/// The request body: the router's release, board and packages (name -> version).
pub fn check_body(board: &Board, packages: &BTreeMap<String, String>) -> String {
    json!({
        "distro": "openwrt",
        "version": board.release.version,
        "version_code": board.release.revision,
        "target": board.release.target,
        "profile": board.board_name,
        "packages": packages,
    })
    .to_string()
}

fn text_of<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str)).filter(|s| !s.is_empty())
}

fn name_from<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    text_of(v, keys)
}

const FROM: [&str; 5] = ["from", "current", "installed", "old", "from_version"];
const TO: [&str; 6] = ["to", "new", "available", "version", "to_version", "target"];

fn read_changes(v: &Value) -> Vec<VersionChange> {
    let mut out = Vec::new();
    let mut push = |name: &str, from: &str, to: &str| {
        if !name.is_empty() && from != to {
            out.push(VersionChange { name: name.into(), from: from.into(), to: to.into() });
        }
    };
    match v {
        Value::Object(m) => {
            for (name, change) in m {
                match change {
                    Value::String(to) => push(name, "", to),
                    Value::Array(pair) => push(
                        name,
                        pair.first().and_then(Value::as_str).unwrap_or(""),
                        pair.get(1).and_then(Value::as_str).unwrap_or(""),
                    ),
                    other => push(name, text_of(other, &FROM).unwrap_or(""), text_of(other, &TO).unwrap_or("")),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Some(name) = name_from(item, &["name", "package"]) {
                    push(name, text_of(item, &FROM).unwrap_or(""), text_of(item, &TO).unwrap_or(""));
                }
            }
        }
        _ => {}
    }
    out
}

/// Reads `[{kind, source, target, package, targets, mandatory, effect}]`
/// (the edge's `package_changes` and update check) or a map from -> to.
fn read_replacements(v: &Value) -> Vec<Replacement> {
    let mut out = Vec::new();
    match v {
        Value::Object(m) => {
            for (from, to) in m {
                out.push(Replacement { from: from.clone(), to: to.as_str().map(str::to_string), ..Default::default() });
            }
        }
        Value::Array(items) => {
            for item in items {
                let mut r = Replacement {
                    from: name_from(item, &["source", "from", "old"]).unwrap_or("").to_string(),
                    to: name_from(item, &["target", "to", "new", "replacement"]).map(str::to_string),
                    mandatory: item.get("mandatory").and_then(Value::as_bool).unwrap_or(false),
                    note: text_of(item, &["effect"]).unwrap_or("").to_string(),
                    targets: crate::json::strings(item, "targets").unwrap_or_default(),
                };
                // `{kind, package}`: added as a default, or (left the
                // defaults, moved to the device's list) kept as it is.
                if let Some(p) = name_from(item, &["package"]) {
                    if r.from.is_empty() && r.to.is_none() {
                        r.to = Some(p.to_string());
                        if text_of(item, &["kind"]) != Some("default_added") {
                            r.from = p.to_string();
                        }
                    }
                }
                if !r.from.is_empty() || r.to.is_some() {
                    out.push(r);
                }
            }
        }
        _ => {}
    }
    out
}

/// Reads the update check's answer. Understood on 200: the newest release
/// in `version` (also `newest`, `latest`, `target_version`,
/// `version_number`; or an object with `version`/`version_code`),
/// `version_code`, `profile`, version changes in `package_versions` /
/// `changes` / `packages` (name -> {from, to}, name -> [from, to] or a list
/// of {name, from, to}), and replacements in `replacements` /
/// `package_changes` (a list of {source, target, mandatory} or a map).
pub fn read_check(status: u16, body: &str) -> CheckAnswer {
    match status {
        204 => return CheckAnswer::UpToDate,
        404 | 405 | 501 => return CheckAnswer::Missing,
        200 => {}
        s => return CheckAnswer::Refused(http_error_text(s, body, "the update check")),
    }
    let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(body) else {
        return CheckAnswer::Refused("The build server's update check answer is not a JSON object.".into());
    };
    let mut preview = UpgradePreview { from_server: true, ..Default::default() };
    for key in ["newest", "latest", "target_version", "version_number", "version"] {
        match v.get(key) {
            Some(Value::String(s)) if !s.is_empty() => preview.version = s.clone(),
            Some(o @ Value::Object(_)) => {
                preview.version = text_of(o, &["version", "version_number"]).unwrap_or("").to_string();
                preview.version_code = text_of(o, &["version_code", "revision"]).unwrap_or("").to_string();
            }
            _ => continue,
        }
        if !preview.version.is_empty() {
            break;
        }
    }
    if preview.version.is_empty() {
        return CheckAnswer::Refused("The build server's update check names no release.".into());
    }
    if preview.version_code.is_empty() {
        preview.version_code = text_of(&v, &["version_code", "revision"]).unwrap_or("").to_string();
    }
    preview.profile = text_of(&v, &["profile", "id"]).unwrap_or("").to_string();
    if let Some(c) = ["package_versions", "changes", "version_changes", "upgrades", "packages"].iter().find_map(|k| v.get(*k)) {
        preview.changes = read_changes(c);
    }
    if let Some(r) = ["replacements", "package_changes", "replaced"].iter().find_map(|k| v.get(*k)) {
        preview.replacements = read_replacements(r);
    }
    preview.missing = crate::json::strings(&v, "missing").unwrap_or_default();
    CheckAnswer::Newer(preview)
}

/// The replacements of the overview's `package_changes` that apply to a
/// router with `installed` packages on `target`, as the server applies
/// them to a build: additions, and changes of an installed package marked
/// mandatory (a package that still exists is otherwise the user's choice;
/// the page cannot tell which ones are gone).
pub fn branch_replacements(package_changes: &[Value], installed: &[String], target: &str) -> Vec<Replacement> {
    let mut out: Vec<Replacement> = Vec::new();
    // Branches may repeat earlier branches' entries.
    for r in read_replacements(&Value::Array(package_changes.to_vec())) {
        let server_applies = r.from.is_empty() || r.mandatory;
        if server_applies && r.applies(installed, target) && r.to.as_ref() != Some(&r.from) && !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// `packages` after the upgrade's replacements: each installed `from` gives
/// way to its `to`; additions without `from` join.
pub fn apply_replacements(packages: &[String], replacements: &[Replacement]) -> Vec<String> {
    let mut out: Vec<String> = packages.to_vec();
    for r in replacements {
        if !r.from.is_empty() && !out.contains(&r.from) {
            continue;
        }
        out.retain(|p| *p != r.from);
        if let Some(to) = r.to.as_ref().filter(|t| !t.is_empty()) {
            out.push(to.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Version changes between installed versions and the new release's index.
pub fn version_changes(installed: &BTreeMap<String, String>, index: &PackageIndex) -> Vec<VersionChange> {
    installed
        .iter()
        .filter_map(|(name, from)| {
            let to = index.version(name)?;
            (!from.is_empty() && from != to).then(|| VersionChange { name: name.clone(), from: from.clone(), to: to.into() })
        })
        .collect()
}

/// Reads pasted `ubus call system board` output (also wrapped in a
/// JSON-RPC answer or a `[0, {...}]` result).
pub fn parse_board(text: &str) -> Result<Board, String> {
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| {
            format!(
                "The board description is not JSON (at {}). Paste the output of: ubus call system board",
                crate::json::error_place(&e)
            )
        })?;
    fn find(v: &Value, depth: u8) -> Option<&Value> {
        if v.get("board_name").is_some() {
            return Some(v);
        }
        if depth > 3 {
            return None;
        }
        match v {
            Value::Array(items) => items.iter().find_map(|i| find(i, depth + 1)),
            Value::Object(m) => m.get("result").and_then(|r| find(r, depth + 1)),
            _ => None,
        }
    }
    let board = find(&value, 0).ok_or("The pasted JSON has no board_name: paste the output of ubus call system board.")?;
    Board::parse(board).map_err(|e| format!("The board description lacks a field: {e}"))
}

/// The package edits that rebuild a router's packages on another release:
/// its packages after the replacements, minus the new defaults; names the
/// release's index does not have are left out (and returned). Like the
/// router page's complete-set request, a default the router does not have
/// (and no replacement brings) is removed, so both pages build the same image.
pub fn offered_selection(
    installed: &[String],
    preview: &UpgradePreview,
    defaults: &[String],
    index: Option<&PackageIndex>,
) -> (Selection, Vec<String>) {
    let mut selection = Selection::default();
    let mut left_out = Vec::new();
    let wanted = apply_replacements(installed, &preview.replacements);
    if !installed.is_empty() {
        for default in defaults.iter().filter(|d| !wanted.contains(d)) {
            selection.remove(default, defaults);
        }
    }
    for name in wanted {
        if defaults.contains(&name) {
            continue;
        }
        let unknown = index.is_some_and(|i| !i.is_empty() && !i.contains(&name));
        if unknown || preview.missing.contains(&name) {
            left_out.push(name);
        } else {
            selection.add(&name, defaults);
        }
    }
    (selection, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> Board {
        Board::parse(&json!({
            "model": "GL.iNet GL-MT6000", "board_name": "glinet,gl-mt6000", "rootfs_type": "squashfs",
            "release": {"distribution": "OpenWrt", "version": "23.05.4", "revision": "r24012-d8dd03c46f", "target": "mediatek/filogic"}
        }))
        .unwrap()
    }

    #[test]
    fn request_shape() {
        let packages = BTreeMap::from([("auc".to_string(), "0.3.2-1".to_string())]);
        let body: Value = serde_json::from_str(&check_body(&board(), &packages)).unwrap();
        assert_eq!(
            body,
            json!({"distro": "openwrt", "version": "23.05.4", "version_code": "r24012-d8dd03c46f",
                   "target": "mediatek/filogic", "profile": "glinet,gl-mt6000", "packages": {"auc": "0.3.2-1"}})
        );
    }

    #[test]
    fn reads_a_list_shaped_answer() {
        let body = json!({
            "version": "24.10.5", "version_code": "r29087-d9c5716d1d", "profile": "glinet_gl-mt6000",
            "changes": [{"name": "luci", "from": "git-24.1", "to": "git-25.1"}, {"name": "same", "from": "1", "to": "1"}],
            "replacements": [{"source": "auc", "target": "owut"}, {"source": "", "target": "fitblk", "mandatory": true},
                             {"source": "procd-seccomp", "target": null}]
        });
        let CheckAnswer::Newer(p) = read_check(200, &body.to_string()) else { panic!() };
        assert_eq!(p.version, "24.10.5");
        assert_eq!(p.version_code, "r29087-d9c5716d1d");
        assert_eq!(p.profile, "glinet_gl-mt6000");
        assert_eq!(p.changes, [VersionChange { name: "luci".into(), from: "git-24.1".into(), to: "git-25.1".into() }]);
        assert_eq!(p.replacements.len(), 3);
        assert_eq!(p.replacements[0].describe(), "auc is replaced by owut");
        assert_eq!(p.replacements[1].describe(), "fitblk is added");
        assert_eq!(p.replacements[2].describe(), "procd-seccomp is dropped");
        assert!(p.from_server);
    }

    #[test]
    fn reads_the_edge_answer() {
        // The shape the edge's update check answers with.
        let body = json!({
            "version": "24.10.5", "version_code": "r29087-d9c5716d1d", "profile": "glinet_gl-mt6000",
            "from": {"version": "23.05.4"}, "missing": ["notapackage"],
            "packages": {"fitblk": {"current": null, "new": "2024.06.03~75a7818b-r3"},
                         "tcpdump": {"current": "4.99.4-1", "new": "4.99.5-r1"}},
            "replacements": [
                {"kind": "renamed", "source": "auc", "target": "owut", "mandatory": true, "effect": "auc replaced by owut"},
                {"kind": "default_added", "package": "fitblk", "targets": ["mediatek/filogic"],
                 "effect": "fitblk included: it is a default package of this release"}
            ]
        });
        let CheckAnswer::Newer(p) = read_check(200, &body.to_string()) else { panic!() };
        assert_eq!(p.missing, ["notapackage"]);
        assert_eq!(p.changes[0], VersionChange { name: "fitblk".into(), from: "".into(), to: "2024.06.03~75a7818b-r3".into() });
        assert_eq!(p.replacements[0].describe(), "auc replaced by owut");
        assert_eq!((p.replacements[1].from.as_str(), p.replacements[1].to.as_deref()), ("", Some("fitblk")));
        let installed: Vec<String> = ["auc", "tcpdump", "notapackage"].iter().map(|s| s.to_string()).collect();
        assert_eq!(apply_replacements(&installed, &p.replacements), ["fitblk", "notapackage", "owut", "tcpdump"]);
        let (s, left_out) = offered_selection(&installed, &p, &["fitblk".to_string()], None);
        assert_eq!(s.request_packages(), ["owut", "tcpdump"]);
        assert_eq!(left_out, ["notapackage"]);
    }

    #[test]
    fn reads_a_map_shaped_answer() {
        let body = json!({
            "newest": {"version": "24.10.5", "version_code": "r1-a"},
            "package_versions": {"luci": {"current": "1", "new": "2"}, "tcpdump": ["4.99.4-1", "4.99.5-1"]},
            "package_changes": {"auc": "owut"}
        });
        let CheckAnswer::Newer(p) = read_check(200, &body.to_string()) else { panic!() };
        assert_eq!((p.version.as_str(), p.version_code.as_str()), ("24.10.5", "r1-a"));
        assert_eq!(p.changes.len(), 2);
        assert_eq!(p.changes[1], VersionChange { name: "tcpdump".into(), from: "4.99.4-1".into(), to: "4.99.5-1".into() });
        assert_eq!(p.replacements, [Replacement { from: "auc".into(), to: Some("owut".into()), ..Default::default() }]);
    }

    #[test]
    fn statuses() {
        assert_eq!(read_check(204, ""), CheckAnswer::UpToDate);
        assert_eq!(read_check(404, r#"{"detail":"No API endpoint at \"/api/v1/upgrade-check\""}"#), CheckAnswer::Missing);
        assert_eq!(
            read_check(400, r#"{"detail":"unknown device glinet,x"}"#),
            CheckAnswer::Refused("The build server answered 400 to the update check: unknown device glinet,x".into())
        );
        assert!(matches!(read_check(200, "[]"), CheckAnswer::Refused(_)));
        assert!(matches!(read_check(200, r#"{"changes": []}"#), CheckAnswer::Refused(_)));
    }

    #[test]
    fn replacements_apply_to_a_package_list() {
        let installed: Vec<String> = ["auc", "luci", "procd-seccomp"].iter().map(|s| s.to_string()).collect();
        let r = |from: &str, to: Option<&str>, mandatory: bool| Replacement {
            from: from.into(),
            to: to.map(str::to_string),
            mandatory,
            ..Default::default()
        };
        let reps = vec![
            r("auc", Some("owut"), false),
            r("", Some("fitblk"), true),
            r("procd-seccomp", None, false),
            // Not installed: no effect, mandatory or not.
            r("opkg", Some("apk-mbedtls"), false),
            r("luci-app-opkg", Some("luci-app-package-manager"), true),
            // Kept as it is.
            r("luci", Some("luci"), false),
        ];
        assert_eq!(apply_replacements(&installed, &reps), ["fitblk", "luci", "owut"]);
    }

    #[test]
    fn overview_changes_filtered_by_installed_and_target() {
        // Entries in the shape of the edge's overview `package_changes`.
        let changes = vec![
            json!({"kind": "renamed", "source": "auc", "target": "owut", "mandatory": true, "revision": 26792}),
            json!({"kind": "renamed", "source": "luci-app-opkg", "target": "luci-app-package-manager", "mandatory": true}),
            json!({"kind": "dropped", "source": "luci-app-diag-core", "mandatory": true}),
            json!({"kind": "default_added", "package": "fitblk", "targets": ["mediatek/filogic"]}),
            json!({"kind": "default_removed", "package": "busybox", "targets": ["mediatek/filogic"]}),
            json!({"kind": "moved_to_device", "package": "kmod-mt7915e", "targets": ["mediatek/filogic"]}),
        ];
        let mut changes = changes;
        // Not mandatory: the old name may still exist, so it stays the user's choice.
        changes.push(json!({"kind": "renamed", "source": "firewall", "target": "firewall4"}));
        let installed: Vec<String> =
            ["auc", "busybox", "firewall", "kmod-mt7915e", "luci"].iter().map(|s| s.to_string()).collect();
        let r = branch_replacements(&changes, &installed, "mediatek/filogic");
        assert_eq!(r.iter().map(Replacement::describe).collect::<Vec<_>>(), ["auc is replaced by owut", "fitblk is added"]);
        // Another target does not get filogic's new default package.
        let r = branch_replacements(&changes, &installed, "x86/64");
        assert_eq!(r.iter().map(Replacement::describe).collect::<Vec<_>>(), ["auc is replaced by owut"]);
        assert_eq!(
            apply_replacements(&installed, &branch_replacements(&changes, &installed, "mediatek/filogic")),
            ["busybox", "firewall", "fitblk", "kmod-mt7915e", "luci", "owut"]
        );
    }

    #[test]
    fn version_changes_against_an_index() {
        let installed = BTreeMap::from([
            ("luci".to_string(), "1".to_string()),
            ("tcpdump".to_string(), "4.99".to_string()),
            ("gone".to_string(), "1".to_string()),
            ("unversioned".to_string(), "".to_string()),
        ]);
        let mut index = PackageIndex::default();
        index.merge_json(&json!({"luci": "2", "tcpdump": "4.99", "unversioned": "3"})).unwrap();
        let c = version_changes(&installed, &index);
        assert_eq!(c, [VersionChange { name: "luci".into(), from: "1".into(), to: "2".into() }]);
    }

    #[test]
    fn pasted_boards() {
        let bare = r#"{"kernel":"5.15.162","hostname":"OpenWrt","model":"GL.iNet GL-MT6000","board_name":"glinet,gl-mt6000",
            "rootfs_type":"squashfs","release":{"distribution":"OpenWrt","version":"23.05.4","revision":"r24012-d8dd03c46f",
            "target":"mediatek/filogic","description":"OpenWrt 23.05.4 r24012-d8dd03c46f"}}"#;
        let b = parse_board(bare).unwrap();
        assert_eq!((b.board_name.as_str(), b.release.version.as_str()), ("glinet,gl-mt6000", "23.05.4"));
        let wrapped = format!(r#"{{"jsonrpc":"2.0","id":1,"result":[0,{bare}]}}"#);
        assert_eq!(parse_board(&wrapped).unwrap(), b);
        assert!(parse_board("model: x").unwrap_err().contains("not JSON"));
        assert!(parse_board(r#"{"model":"x"}"#).unwrap_err().contains("no board_name"));
        assert!(parse_board(r#"{"board_name":"x"}"#).unwrap_err().contains("lacks"));
    }

    #[test]
    fn offered_build_keeps_what_the_release_has() {
        let installed: Vec<String> = ["auc", "base-files", "luci", "tcpdump", "oldthing"].iter().map(|s| s.to_string()).collect();
        let preview = UpgradePreview {
            replacements: vec![Replacement { from: "auc".into(), to: Some("owut".into()), ..Default::default() }],
            ..Default::default()
        };
        let defaults: Vec<String> = vec!["base-files".into(), "fitblk".into()];
        let mut index = PackageIndex::default();
        index.merge_json(&json!({"owut": "1", "luci": "2", "tcpdump": "3", "base-files": "4"})).unwrap();
        let (s, left_out) = offered_selection(&installed, &preview, &defaults, Some(&index));
        // fitblk is a default this router lacks and no replacement adds: removed, as a complete set would.
        assert_eq!(s.request_packages(), ["luci", "owut", "tcpdump", "-fitblk"]);
        assert_eq!(left_out, ["oldthing"]);
        // Without an index nothing can be checked, so everything stays.
        let (s, left_out) = offered_selection(&installed, &preview, &defaults, None);
        assert_eq!(s.request_packages(), ["luci", "oldthing", "owut", "tcpdump", "-fitblk"]);
        // A board pasted without a package list keeps every default.
        let (s, _) = offered_selection(&[], &preview, &defaults, None);
        assert!(s.request_packages().is_empty());
        assert!(left_out.is_empty());
    }
}
