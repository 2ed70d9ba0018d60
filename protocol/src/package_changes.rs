//! Package changes between release branches: a reviewed, data-driven table
//! (one file per branch, listing what changed on the way into it) that is
//! applied to build requests and published in the overview so that clients
//! can show it.
//!
//! Kinds of change:
//! - `renamed` `source` -> `target`;
//! - `split` `source` into `choices`: the choice the request already names
//!   is kept, else `default` is added;
//! - `conditional` `source` -> `target` only when `when_installed` is also
//!   wanted;
//! - `dropped` `source` is removed (merged elsewhere or gone);
//! - `default_added` `package` became a default: a `diff_packages` request
//!   (the complete list of a router on an older release) keeps it instead of
//!   removing it, unless it names `-package` itself;
//! - `default_removed`, `moved_to_device`: informational; a router's list
//!   still names those packages and they stay.
//!
//! The first four touch a request only when the change is `mandatory` or
//! the release does not have `source` any more: a name that still exists is
//! the user's choice. Each entry may be scoped to `targets` and `profiles`.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use crate::request::BuildRequest;
use crate::validate;

/// The changes on the way into one release branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeTable {
    /// `24.10`, or `SNAPSHOT` for the main branch.
    pub branch: String,
    /// The branch the changes are relative to (informational).
    pub from: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// Upstream revision (the number of `r29087-...`) that made the change.
    pub revision: u32,
    pub mandatory: bool,
    /// `target/subtarget` values this applies to; empty: every target.
    pub targets: Vec<String>,
    /// Profile ids this applies to; empty: every profile.
    pub profiles: Vec<String>,
    /// One sentence for people: what happened and why.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Renamed { source: String, target: String },
    Split { source: String, choices: Vec<String>, default: String },
    Conditional { source: String, target: String, when_installed: String },
    Dropped { source: String },
    DefaultAdded { package: String },
    DefaultRemoved { package: String },
    MovedToDevice { package: String },
}

impl ChangeKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Renamed { .. } => "renamed",
            Self::Split { .. } => "split",
            Self::Conditional { .. } => "conditional",
            Self::Dropped { .. } => "dropped",
            Self::DefaultAdded { .. } => "default_added",
            Self::DefaultRemoved { .. } => "default_removed",
            Self::MovedToDevice { .. } => "moved_to_device",
        }
    }

    /// The package whose presence triggers the change (for the first four kinds).
    pub fn source(&self) -> Option<&str> {
        match self {
            Self::Renamed { source, .. }
            | Self::Split { source, .. }
            | Self::Conditional { source, .. }
            | Self::Dropped { source } => Some(source),
            _ => None,
        }
    }
}

/// Sort key of a branch name: `19.07` < `23.05` < `24.10` < `SNAPSHOT`.
fn branch_key(branch: &str) -> (u8, Vec<u64>) {
    if branch.eq_ignore_ascii_case("SNAPSHOT") {
        return (1, Vec::new());
    }
    (0, branch.split('.').map(|p| p.parse().unwrap_or(0)).collect())
}

pub fn compare_branches(a: &str, b: &str) -> Ordering {
    branch_key(a).cmp(&branch_key(b))
}

/// The branch of a version: `24.10.5` and `24.10-SNAPSHOT` -> `24.10`.
pub fn branch_of(version: &str) -> String {
    if version.eq_ignore_ascii_case("SNAPSHOT") {
        return "SNAPSHOT".into();
    }
    let base = version.split('-').next().unwrap_or(version);
    let mut parts = base.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        _ => base.to_string(),
    }
}

// ---------------------------------------------------------------- parsing

fn get_str(obj: &Map<String, Value>, key: &str, at: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(format!("{at}: '{key}' must be a non-empty string")),
    }
}

fn get_list(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Vec<String>, String> {
    match obj.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(String::from).ok_or_else(|| format!("{at}: '{key}' must list strings")))
            .collect(),
        Some(_) => Err(format!("{at}: '{key}' must be a list of strings")),
    }
}

fn package(obj: &Map<String, Value>, key: &str, at: &str) -> Result<String, String> {
    let name = get_str(obj, key, at)?;
    validate::package_name(key, &name).map_err(|e| format!("{at}: {e}"))?;
    Ok(name)
}

/// Parses one branch file. Every key is checked, so a misspelt field is an
/// error instead of a silently ignored rule.
pub fn parse_table(text: &str) -> Result<ChangeTable, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(top) = value else { return Err("the table must be a JSON object".into()) };
    for key in top.keys() {
        if !matches!(key.as_str(), "branch" | "from" | "comment" | "changes") {
            return Err(format!("unknown top-level key '{key}'"));
        }
    }
    let branch = get_str(&top, "branch", "table")?;
    let from = match top.get("from") {
        None => String::new(),
        Some(_) => get_str(&top, "from", "table")?,
    };
    let Some(Value::Array(items)) = top.get("changes") else {
        return Err("'changes' must be a list".into());
    };
    let mut changes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("changes[{i}]");
        let Value::Object(obj) = item else { return Err(format!("{at}: must be an object")) };
        changes.push(parse_change(obj, &at)?);
    }
    Ok(ChangeTable { branch, from, changes })
}

fn parse_change(obj: &Map<String, Value>, at: &str) -> Result<Change, String> {
    let kind_name = get_str(obj, "kind", at)?;
    let kind_keys: &[&str] = match kind_name.as_str() {
        "renamed" => &["source", "target"],
        "split" => &["source", "choices", "default"],
        "conditional" => &["source", "target", "when_installed"],
        "dropped" => &["source"],
        "default_added" | "default_removed" | "moved_to_device" => &["package"],
        other => return Err(format!("{at}: unknown kind '{other}'")),
    };
    const COMMON: &[&str] = &["kind", "revision", "mandatory", "targets", "profiles", "why"];
    for key in obj.keys() {
        if !COMMON.contains(&key.as_str()) && !kind_keys.contains(&key.as_str()) {
            return Err(format!("{at}: key '{key}' does not belong to a '{kind_name}' change"));
        }
    }
    let kind = match kind_name.as_str() {
        "renamed" => ChangeKind::Renamed { source: package(obj, "source", at)?, target: package(obj, "target", at)? },
        "split" => {
            let choices = get_list(obj, "choices", at)?;
            for c in &choices {
                validate::package_name("choices", c).map_err(|e| format!("{at}: {e}"))?;
            }
            let default = package(obj, "default", at)?;
            if !choices.contains(&default) {
                return Err(format!("{at}: the default '{default}' must be one of the choices"));
            }
            ChangeKind::Split { source: package(obj, "source", at)?, choices, default }
        }
        "conditional" => ChangeKind::Conditional {
            source: package(obj, "source", at)?,
            target: package(obj, "target", at)?,
            when_installed: package(obj, "when_installed", at)?,
        },
        "dropped" => ChangeKind::Dropped { source: package(obj, "source", at)? },
        "default_added" => ChangeKind::DefaultAdded { package: package(obj, "package", at)? },
        "default_removed" => ChangeKind::DefaultRemoved { package: package(obj, "package", at)? },
        _ => ChangeKind::MovedToDevice { package: package(obj, "package", at)? },
    };
    let revision = obj
        .get("revision")
        .and_then(Value::as_u64)
        .filter(|r| *r > 0 && *r <= u32::MAX as u64)
        .ok_or_else(|| format!("{at}: 'revision' must be a positive whole number"))? as u32;
    let mandatory = match obj.get("mandatory") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(format!("{at}: 'mandatory' must be true or false")),
    };
    let targets = get_list(obj, "targets", at)?;
    for t in &targets {
        validate::target("targets", t).map_err(|e| format!("{at}: {e}"))?;
    }
    let profiles = get_list(obj, "profiles", at)?;
    for p in &profiles {
        validate::profile("profiles", p).map_err(|e| format!("{at}: {e}"))?;
    }
    let why = get_str(obj, "why", at)?;
    Ok(Change { kind, revision, mandatory, targets, profiles, why })
}

// ----------------------------------------------------------- publishing

impl Change {
    fn scoped(&self) -> bool {
        !self.targets.is_empty() || !self.profiles.is_empty()
    }

    /// The overview entry. Old clients (owut, LuCI) read `{source, target,
    /// revision, mandatory}` and apply it to every router that has `source`,
    /// so only unscoped renames, splits and drops carry those keys; every
    /// other entry uses keys old clients do not read (`replaces`, `with`,
    /// `package`) and is ignored by them.
    pub fn published(&self, branch: &str) -> Value {
        let mut e = Map::new();
        let legacy = !self.scoped();
        match &self.kind {
            ChangeKind::Renamed { source, target } if legacy => {
                e.insert("source".into(), json!(source));
                e.insert("target".into(), json!(target));
            }
            ChangeKind::Split { source, choices, default } if legacy => {
                e.insert("source".into(), json!(source));
                e.insert("target".into(), json!(default));
                e.insert("choices".into(), json!(choices));
            }
            ChangeKind::Dropped { source } if legacy => {
                e.insert("source".into(), json!(source));
            }
            ChangeKind::Renamed { source, target } => {
                e.insert("replaces".into(), json!(source));
                e.insert("with".into(), json!(target));
            }
            ChangeKind::Split { source, choices, default } => {
                e.insert("replaces".into(), json!(source));
                e.insert("with".into(), json!(default));
                e.insert("choices".into(), json!(choices));
            }
            ChangeKind::Dropped { source } => {
                e.insert("replaces".into(), json!(source));
            }
            ChangeKind::Conditional { source, target, when_installed } => {
                e.insert("replaces".into(), json!(source));
                e.insert("with".into(), json!(target));
                e.insert("when_installed".into(), json!(when_installed));
            }
            ChangeKind::DefaultAdded { package }
            | ChangeKind::DefaultRemoved { package }
            | ChangeKind::MovedToDevice { package } => {
                e.insert("package".into(), json!(package));
            }
        }
        e.insert("revision".into(), json!(self.revision));
        if self.mandatory {
            e.insert("mandatory".into(), json!(true));
        }
        e.insert("kind".into(), json!(self.kind.name()));
        e.insert("branch".into(), json!(branch));
        if !self.targets.is_empty() {
            e.insert("targets".into(), json!(self.targets));
        }
        if !self.profiles.is_empty() {
            e.insert("profiles".into(), json!(self.profiles));
        }
        e.insert("why".into(), json!(self.why));
        Value::Object(e)
    }
}

/// The tables that apply to a release of `branch`: every table up to and
/// including it, oldest first (a jump over several branches gets them all).
pub fn tables_up_to<'a>(tables: &'a [ChangeTable], branch: &str) -> Vec<&'a ChangeTable> {
    tables_between(tables, None, branch)
}

/// The tables of branches after `from` (exclusive; `None`: from the start)
/// up to `to` (inclusive), oldest first.
pub fn tables_between<'a>(tables: &'a [ChangeTable], from: Option<&str>, to: &str) -> Vec<&'a ChangeTable> {
    let mut out: Vec<&ChangeTable> = tables
        .iter()
        .filter(|t| compare_branches(&t.branch, to) != Ordering::Greater)
        .filter(|t| from.is_none_or(|f| compare_branches(&t.branch, f) == Ordering::Greater))
        .collect();
    out.sort_by(|a, b| compare_branches(&a.branch, &b.branch));
    out
}

/// The overview's `package_changes` of a branch: every entry of the tables up to it.
pub fn published_for(tables: &[ChangeTable], branch: &str) -> Vec<Value> {
    tables_up_to(tables, branch)
        .into_iter()
        .flat_map(|t| t.changes.iter().map(move |c| c.published(&t.branch)))
        .collect()
}

// ------------------------------------------------------------- applying

/// What a change did to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub branch: String,
    pub change: Change,
    /// In words: "auc replaced by owut".
    pub effect: String,
}

impl Applied {
    /// The published entry plus `effect`.
    pub fn to_json(&self) -> Value {
        let mut v = self.change.published(&self.branch);
        v["effect"] = json!(self.effect);
        v
    }
}

/// What the change application needs to know about the release.
pub struct Release<'a> {
    /// The profile's defaults: `default_packages` and its `device_packages`
    /// (entries starting with `-` are ignored).
    pub defaults: &'a [String],
    /// Whether the release has a package of this name; `None` when its
    /// indexes are unknown (then every matching change applies).
    pub known: Option<&'a dyn Fn(&str) -> bool>,
}

fn wanted(req: &BuildRequest, name: &str) -> bool {
    req.packages.iter().any(|p| p == name) || req.packages_versions.contains_key(name)
}

fn removed(req: &BuildRequest, name: &str) -> bool {
    req.packages.iter().any(|p| p.strip_prefix('-') == Some(name))
}

/// Takes `name` out of the wanted set; true when it was there.
fn take(req: &mut BuildRequest, name: &str) -> bool {
    let before = req.packages.len() + req.packages_versions.len();
    req.packages.retain(|p| p != name);
    req.packages_versions.remove(name);
    before != req.packages.len() + req.packages_versions.len()
}

fn add(req: &mut BuildRequest, name: &str) {
    if !wanted(req, name) {
        req.packages.push(name.to_string());
    }
}

/// Replaces `-from` by `-to`; true when there was such a removal.
fn rename_removal(req: &mut BuildRequest, from: &str, to: &str) -> bool {
    let Some(i) = req.packages.iter().position(|p| p.strip_prefix('-') == Some(from)) else { return false };
    if removed(req, to) {
        req.packages.remove(i);
    } else {
        req.packages[i] = format!("-{to}");
    }
    true
}

fn in_scope(change: &Change, req: &BuildRequest) -> bool {
    (change.targets.is_empty() || change.targets.contains(&req.target))
        && (change.profiles.is_empty() || change.profiles.contains(&req.profile))
}

/// Applies `tables` (oldest first) to `req`, whose `profile` is already the
/// resolved profile id. Returns what changed, in order.
pub fn apply(tables: &[&ChangeTable], release: &Release, req: &mut BuildRequest) -> Vec<Applied> {
    let mut out = Vec::new();
    for table in tables {
        for change in &table.changes {
            if !in_scope(change, req) {
                continue;
            }
            let source_gone = |s: &str| release.known.is_none_or(|k| !k(s));
            if let Some(source) = change.kind.source() {
                if !change.mandatory && !source_gone(source) {
                    continue;
                }
            }
            if let Some(effect) = apply_one(&change.kind, release, req) {
                out.push(Applied { branch: table.branch.clone(), change: change.clone(), effect });
            }
        }
    }
    out
}

fn apply_one(kind: &ChangeKind, release: &Release, req: &mut BuildRequest) -> Option<String> {
    match kind {
        ChangeKind::Renamed { source, target } => {
            if take(req, source) {
                add(req, target);
                Some(format!("{source} replaced by {target}"))
            } else if rename_removal(req, source, target) {
                Some(format!("the removal of {source} now removes {target}"))
            } else {
                None
            }
        }
        ChangeKind::Split { source, choices, default } => {
            if !take(req, source) {
                return None;
            }
            match choices.iter().find(|c| wanted(req, c)) {
                Some(kept) => Some(format!("{source} split up; the request already has {kept}")),
                None => {
                    add(req, default);
                    Some(format!("{source} split up; {default} chosen"))
                }
            }
        }
        ChangeKind::Conditional { source, target, when_installed } => {
            if wanted(req, source) && wanted(req, when_installed) {
                take(req, source);
                add(req, target);
                Some(format!("{source} replaced by {target} because {when_installed} is installed"))
            } else {
                None
            }
        }
        ChangeKind::Dropped { source } => {
            let had = take(req, source);
            let had_removal = {
                let before = req.packages.len();
                req.packages.retain(|p| p.strip_prefix('-') != Some(source.as_str()));
                before != req.packages.len()
            };
            (had || had_removal).then(|| format!("{source} left out: it no longer exists"))
        }
        ChangeKind::DefaultAdded { package } => {
            let is_default = release.defaults.iter().any(|d| d == package);
            if req.diff_packages && is_default && !wanted(req, package) && !removed(req, package) {
                add(req, package);
                Some(format!("{package} included: it is a default package of this release"))
            } else {
                None
            }
        }
        ChangeKind::DefaultRemoved { .. } | ChangeKind::MovedToDevice { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(branch: &str, changes: &str) -> ChangeTable {
        parse_table(&format!(r#"{{"branch":"{branch}","from":"x","changes":{changes}}}"#)).unwrap()
    }

    fn req(packages: &[&str]) -> BuildRequest {
        let mut r = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        r.packages = packages.iter().map(|s| s.to_string()).collect();
        r
    }

    fn run(t: &ChangeTable, known: &[&str], defaults: &[&str], r: &mut BuildRequest) -> Vec<Applied> {
        let defaults: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
        let known_fn = |n: &str| known.contains(&n);
        let release = Release { defaults: &defaults, known: Some(&known_fn) };
        apply(&[t], &release, r)
    }

    const AUC: &str = r#"[{"kind":"renamed","source":"auc","target":"owut","revision":26792,"why":"auc was retired"}]"#;

    #[test]
    fn renamed_replaces_a_package_that_is_gone() {
        let t = table("24.10", AUC);
        let mut r = req(&["luci", "auc", "tcpdump"]);
        let applied = run(&t, &["luci", "owut", "tcpdump"], &[], &mut r);
        assert_eq!(r.packages, ["luci", "tcpdump", "owut"]);
        assert_eq!(applied.len(), 1);
        assert_eq!(applied[0].effect, "auc replaced by owut");
        assert_eq!(applied[0].branch, "24.10");
    }

    #[test]
    fn renamed_keeps_a_package_that_still_exists_unless_mandatory() {
        let t = table("24.10", AUC);
        let mut r = req(&["auc"]);
        assert!(run(&t, &["auc", "owut"], &[], &mut r).is_empty());
        assert_eq!(r.packages, ["auc"]);
        let t = table("24.10", &AUC.replace("26792,", "26792,\"mandatory\":true,"));
        run(&t, &["auc", "owut"], &[], &mut r);
        assert_eq!(r.packages, ["owut"]);
    }

    #[test]
    fn renamed_moves_versions_and_removals() {
        let t = table("24.10", AUC);
        let mut r = req(&[]);
        r.packages_versions.insert("auc".into(), "0.3.2-1".into());
        r.packages_versions.insert("luci".into(), "1".into());
        run(&t, &[], &[], &mut r);
        assert!(!r.packages_versions.contains_key("auc"), "the old version cannot be the new package's");
        assert_eq!(r.packages, ["owut"]);
        let mut r = req(&["-auc"]);
        run(&t, &[], &[], &mut r);
        assert_eq!(r.packages, ["-owut"]);
        let mut r = req(&["owut", "auc"]);
        run(&t, &[], &[], &mut r);
        assert_eq!(r.packages, ["owut"], "no duplicate");
    }

    #[test]
    fn split_keeps_the_named_choice_or_takes_the_default() {
        let t = table(
            "22.03",
            r#"[{"kind":"split","source":"iptables","choices":["iptables-nft","iptables-zz-legacy"],"default":"iptables-nft","revision":18000,"why":"x"}]"#,
        );
        let mut r = req(&["iptables"]);
        let a = run(&t, &[], &[], &mut r);
        assert_eq!(r.packages, ["iptables-nft"]);
        assert_eq!(a[0].effect, "iptables split up; iptables-nft chosen");
        let mut r = req(&["iptables", "iptables-zz-legacy"]);
        run(&t, &[], &[], &mut r);
        assert_eq!(r.packages, ["iptables-zz-legacy"]);
    }

    #[test]
    fn conditional_needs_the_other_package() {
        let t = table(
            "22.03",
            r#"[{"kind":"conditional","source":"kmod-ipt-offload","target":"kmod-nft-offload","when_installed":"firewall4","revision":18611,"why":"x"}]"#,
        );
        let mut without = req(&["kmod-ipt-offload", "firewall"]);
        assert!(run(&t, &[], &[], &mut without).is_empty());
        assert_eq!(without.packages, ["kmod-ipt-offload", "firewall"]);
        let mut with = req(&["kmod-ipt-offload", "firewall4"]);
        run(&t, &[], &[], &mut with);
        assert_eq!(with.packages, ["firewall4", "kmod-nft-offload"]);
    }

    #[test]
    fn conditional_sees_earlier_changes() {
        let t = table(
            "22.03",
            r#"[{"kind":"renamed","source":"firewall","target":"firewall4","revision":18611,"why":"x"},
                {"kind":"conditional","source":"kmod-ipt-offload","target":"kmod-nft-offload","when_installed":"firewall4","revision":18611,"why":"x"}]"#,
        );
        let mut r = req(&["firewall", "kmod-ipt-offload"]);
        let a = run(&t, &[], &[], &mut r);
        assert_eq!(r.packages, ["firewall4", "kmod-nft-offload"]);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn dropped_removes_names_and_removals() {
        let t = table("24.10", r#"[{"kind":"dropped","source":"luci-app-diag-core","revision":25984,"why":"x"}]"#);
        let mut r = req(&["luci", "luci-app-diag-core"]);
        run(&t, &["luci"], &[], &mut r);
        assert_eq!(r.packages, ["luci"]);
        let mut r = req(&["-luci-app-diag-core"]);
        run(&t, &[], &[], &mut r);
        assert!(r.packages.is_empty());
    }

    #[test]
    fn default_added_keeps_a_new_default_in_diff_requests() {
        let t = table(
            "24.10",
            r#"[{"kind":"default_added","package":"fitblk","targets":["mediatek/filogic"],"revision":27990,"why":"x"}]"#,
        );
        let defaults = ["base-files", "fitblk"];
        let mut diff = req(&["base-files", "luci"]);
        diff.diff_packages = true;
        let a = run(&t, &[], &defaults, &mut diff);
        assert_eq!(diff.packages, ["base-files", "luci", "fitblk"]);
        assert_eq!(a[0].effect, "fitblk included: it is a default package of this release");

        let mut explicit = req(&["-fitblk"]);
        explicit.diff_packages = true;
        assert!(run(&t, &[], &defaults, &mut explicit).is_empty(), "an explicit removal wins");
        let mut plain = req(&["luci"]);
        assert!(run(&t, &[], &defaults, &mut plain).is_empty(), "without diff_packages defaults stay anyway");
        let mut other_target = req(&["luci"]);
        other_target.diff_packages = true;
        other_target.target = "x86/64".into();
        assert!(run(&t, &[], &defaults, &mut other_target).is_empty());
        let mut not_default = req(&["luci"]);
        not_default.diff_packages = true;
        assert!(run(&t, &[], &["base-files"], &mut not_default).is_empty(), "only a real default is kept");
    }

    #[test]
    fn informational_kinds_change_nothing() {
        let t = table(
            "24.10",
            r#"[{"kind":"default_removed","package":"busybox","revision":27990,"why":"x"},
                {"kind":"moved_to_device","package":"kmod-mt7915e","revision":27990,"why":"x"}]"#,
        );
        let mut r = req(&["busybox", "kmod-mt7915e"]);
        r.diff_packages = true;
        assert!(run(&t, &[], &[], &mut r).is_empty());
        assert_eq!(r.packages, ["busybox", "kmod-mt7915e"]);
    }

    #[test]
    fn profile_scope() {
        let t = table(
            "24.10",
            r#"[{"kind":"renamed","source":"a","target":"b","profiles":["other_device"],"revision":1,"why":"x"}]"#,
        );
        let mut r = req(&["a"]);
        assert!(run(&t, &[], &[], &mut r).is_empty());
    }

    #[test]
    fn unknown_indexes_apply_every_matching_change() {
        let t = table("24.10", AUC);
        let mut r = req(&["auc"]);
        let release = Release { defaults: &[], known: None };
        apply(&[&t], &release, &mut r);
        assert_eq!(r.packages, ["owut"]);
    }

    #[test]
    fn branch_selection() {
        let tables = vec![table("24.10", "[]"), table("22.03", "[]"), table("23.05", "[]")];
        let names = |v: Vec<&ChangeTable>| v.into_iter().map(|t| t.branch.clone()).collect::<Vec<_>>();
        assert_eq!(names(tables_up_to(&tables, "23.05")), ["22.03", "23.05"]);
        assert_eq!(names(tables_up_to(&tables, "SNAPSHOT")), ["22.03", "23.05", "24.10"]);
        assert_eq!(names(tables_between(&tables, Some("23.05"), "24.10")), ["24.10"]);
        assert!(tables_between(&tables, Some("24.10"), "24.10").is_empty());
        assert_eq!(branch_of("24.10.5"), "24.10");
        assert_eq!(branch_of("23.05-SNAPSHOT"), "23.05");
        assert_eq!(branch_of("SNAPSHOT"), "SNAPSHOT");
    }

    #[test]
    fn published_shapes() {
        let t = table(
            "24.10",
            r#"[{"kind":"renamed","source":"auc","target":"owut","revision":26792,"mandatory":true,"why":"w"},
                {"kind":"renamed","source":"a","target":"b","targets":["x86/64"],"revision":2,"why":"w"},
                {"kind":"default_added","package":"fitblk","targets":["mediatek/filogic"],"revision":3,"why":"w"}]"#,
        );
        let p = published_for(std::slice::from_ref(&t), "24.10");
        assert_eq!(
            p[0],
            json!({"source":"auc","target":"owut","revision":26792,"mandatory":true,"kind":"renamed","branch":"24.10","why":"w"})
        );
        assert!(p[1].get("source").is_none(), "a scoped rename must not look global to old clients");
        assert_eq!(p[1]["replaces"], "a");
        assert!(p[2].get("source").is_none());
        assert_eq!(p[2]["package"], "fitblk");
        assert!(published_for(std::slice::from_ref(&t), "23.05").is_empty());
    }

    #[test]
    fn bad_tables_are_refused() {
        let bad = [
            r#"{"branch":"24.10","changes":[{"kind":"renamed","source":"auc","revision":1,"why":"x"}]}"#,
            r#"{"branch":"24.10","changes":[{"kind":"renamed","source":"auc","target":"owut","revison":1,"why":"x"}]}"#,
            r#"{"branch":"24.10","changes":[{"kind":"moved","package":"a","revision":1,"why":"x"}]}"#,
            r#"{"branch":"24.10","changes":[{"kind":"dropped","source":"a b","revision":1,"why":"x"}]}"#,
            r#"{"branch":"24.10","changes":[{"kind":"split","source":"a","choices":["b"],"default":"c","revision":1,"why":"x"}]}"#,
            r#"{"branch":"24.10","changes":[{"kind":"dropped","source":"a","revision":1}]}"#,
            r#"{"branch":"24.10","changes":[{"kind":"dropped","source":"a","revision":1,"why":"x","targets":["x86"]}]}"#,
            r#"{"branch":"24.10","changez":[]}"#,
        ];
        for text in bad {
            assert!(parse_table(text).is_err(), "{text}");
        }
    }
}
