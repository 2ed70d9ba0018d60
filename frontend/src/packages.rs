//! Package lists: the user's edits of a device's package set, the release's
//! package index and its search, and reading an installed-package list
//! pasted from a router. Plain Rust, tested natively.

use std::collections::BTreeMap;

use serde_json::Value;

/// The packages an image gets without edits: the release's default
/// packages plus the device's, where a device entry `-name` drops a default.
pub fn profile_defaults(default_packages: &[String], device_packages: &[String]) -> Vec<String> {
    let dropped: Vec<&str> = device_packages.iter().filter_map(|p| p.strip_prefix('-')).collect();
    let mut out: Vec<String> = default_packages
        .iter()
        .chain(device_packages.iter())
        .filter(|p| !p.starts_with('-') && !dropped.contains(&p.as_str()))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The user's edits of a base package set (the device's defaults, or on a
/// router its installed packages): names added and base names removed.
/// Both lists stay sorted and disjoint from each other.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

fn insert_sorted(list: &mut Vec<String>, name: &str) {
    if let Err(i) = list.binary_search_by(|p| p.as_str().cmp(name)) {
        list.insert(i, name.to_string());
    }
}

fn remove_from(list: &mut Vec<String>, name: &str) -> bool {
    match list.iter().position(|p| p == name) {
        Some(i) => {
            list.remove(i);
            true
        }
        None => false,
    }
}

impl Selection {
    /// Reads the request form `a,b,-c` (a link's `packages` parameter).
    pub fn parse(list: &str) -> Selection {
        let mut s = Selection::default();
        for entry in list.split([',', ' ', '\n']).map(str::trim).filter(|e| !e.is_empty()) {
            match entry.strip_prefix('-') {
                Some(name) if !name.is_empty() => {
                    remove_from(&mut s.added, name);
                    insert_sorted(&mut s.removed, name);
                }
                Some(_) => {}
                None => {
                    remove_from(&mut s.removed, entry);
                    insert_sorted(&mut s.added, entry);
                }
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// Adds `name`: undoes its removal when it is in `base`, else adds it.
    pub fn add(&mut self, name: &str, base: &[String]) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        if !remove_from(&mut self.removed, name) && !base.iter().any(|b| b == name) {
            insert_sorted(&mut self.added, name);
        }
    }

    /// Removes `name`: drops an added one, or marks a base one as removed.
    pub fn remove(&mut self, name: &str, base: &[String]) {
        if !remove_from(&mut self.added, name) && base.iter().any(|b| b == name) {
            insert_sorted(&mut self.removed, name);
        }
    }

    /// The complete resulting set, sorted.
    pub fn effective(&self, base: &[String]) -> Vec<String> {
        let mut out: Vec<String> =
            base.iter().filter(|p| !self.removed.contains(p)).chain(self.added.iter()).cloned().collect();
        out.sort();
        out.dedup();
        out
    }

    /// The build request's `packages` relative to the defaults: added names
    /// and `-name` for each removed default.
    pub fn request_packages(&self) -> Vec<String> {
        let mut out = self.added.clone();
        out.extend(self.removed.iter().map(|p| format!("-{p}")));
        out
    }

    /// The request form, for a link: `a,b,-c`.
    pub fn to_param(&self) -> String {
        self.request_packages().join(",")
    }
}

/// A release's packages (name -> version), from the edge's index endpoints.
/// The plain indexes carry names and versions only; the edge's
/// `{arch}-details.json` adds sizes and descriptions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageIndex {
    packages: BTreeMap<String, String>,
    details: BTreeMap<String, PackageDetail>,
}

/// What `{arch}-details.json` says of a package beyond its version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageDetail {
    /// Installed size in bytes, when the feed gives it.
    pub size: Option<u64>,
    pub description: String,
}

/// `214 kB` (binary multiples, as opkg's sizes are usually read).
pub fn human_size(bytes: u64) -> String {
    const K: u64 = 1024;
    if bytes < K {
        format!("{bytes} B")
    } else if bytes < K * K {
        format!("{} kB", (bytes + K / 2) / K)
    } else {
        format!("{:.1} MB", bytes as f64 / (K * K) as f64)
    }
}

impl PackageIndex {
    /// Adds one index: `{"architecture": .., "packages": {name: version}}`
    /// (target index) or a flat `{name: version}` (feed index). Gives how
    /// many names it added.
    pub fn merge_json(&mut self, json: &Value) -> Result<usize, String> {
        let map = match json.get("packages") {
            Some(Value::Object(m)) => m,
            _ => json.as_object().ok_or("the package index is not a JSON object")?,
        };
        let before = self.packages.len();
        for (name, version) in map {
            if let Some(v) = version.as_str() {
                self.packages.insert(name.clone(), v.to_string());
            }
        }
        Ok(self.packages.len() - before)
    }

    /// Adds `{"packages": {name: {"version", "size", "description"}}}`
    /// (`{arch}-details.json`). Gives how many names it added.
    pub fn merge_details_json(&mut self, json: &Value) -> Result<usize, String> {
        let map = json
            .get("packages")
            .and_then(Value::as_object)
            .ok_or("the package details have no \"packages\" object")?;
        let before = self.packages.len();
        for (name, d) in map {
            let Some(version) = d.get("version").and_then(Value::as_str) else { continue };
            self.packages.insert(name.clone(), version.to_string());
            let detail = PackageDetail {
                size: d.get("size").and_then(Value::as_u64),
                description: d.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
            };
            self.details.insert(name.clone(), detail);
        }
        Ok(self.packages.len() - before)
    }

    pub fn detail(&self, name: &str) -> Option<&PackageDetail> {
        self.details.get(name)
    }

    pub fn has_details(&self) -> bool {
        !self.details.is_empty()
    }

    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    pub fn version(&self, name: &str) -> Option<&str> {
        self.packages.get(name).map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.packages.contains_key(name)
    }

    /// Names containing `query` (case-insensitive): those starting with it
    /// first, then by name; at most `limit`. Also the number of all matches.
    pub fn search(&self, query: &str, limit: usize) -> (Vec<(&str, &str)>, usize) {
        let q = query.trim().to_ascii_lowercase();
        if q.is_empty() {
            return (Vec::new(), 0);
        }
        let exact = query.trim();
        let mut total = 0;
        let hits = self
            .packages
            .iter()
            .filter_map(|(n, v)| {
                let lower = n.to_ascii_lowercase();
                lower.contains(&q).then(|| (!lower.starts_with(&q), n.as_str(), v.as_str()))
            })
            .inspect(|_| total += 1);
        // Exact name first, then prefixes, then the rest; by name within each.
        let best = crate::small::smallest(hits, limit, |x: &(bool, &str, &str)| {
            let (not_prefix, name, _) = *x;
            (name != exact, not_prefix, name)
        });
        (best.into_iter().map(|(_, n, v)| (n, v)).collect(), total)
    }
}

/// Splits `name-1.2.3-r4` (apk) into name and version; `None` without the
/// `-rN` release suffix.
fn split_apk(token: &str) -> Option<(String, String)> {
    let (rest, release) = token.rsplit_once("-r")?;
    if release.is_empty() || !release.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((name.to_string(), format!("{version}-r{release}")))
}

/// The `packages` object of a packagelist answer in any wrapping: the
/// ubus CLI output, a JSON-RPC answer, or a plain name -> version object.
fn find_packages(value: &Value, depth: u8) -> Option<&serde_json::Map<String, Value>> {
    match value {
        Value::Object(m) => {
            if let Some(found) = m.get("packages").and_then(|p| find_packages(p, depth + 1)) {
                return Some(found);
            }
            if let Some(found) = m.get("result").and_then(|p| find_packages(p, depth + 1)) {
                return Some(found);
            }
            (!m.is_empty() && m.values().all(Value::is_string)).then_some(m)
        }
        Value::Array(items) if depth < 4 => items.iter().find_map(|i| find_packages(i, depth + 1)),
        _ => None,
    }
}

/// Reads an installed-package list as pasted: `apk list --installed`,
/// `opkg list-installed`, the `rpc-sys packagelist` JSON, or one name per
/// line. Versions are empty when the format has none.
pub fn parse_installed(text: &str) -> Result<BTreeMap<String, String>, String> {
    let text = text.trim();
    let mut out = BTreeMap::new();
    if text.is_empty() {
        return Ok(out);
    }
    if text.starts_with('{') || text.starts_with('[') {
        let value: Value =
            serde_json::from_str(text).map_err(|e| {
            format!("The package list looks like JSON but is not valid (at {}).", crate::json::error_place(&e))
        })?;
        let map = find_packages(&value, 0).ok_or("The JSON has no packages object (name: version).")?;
        for (name, version) in map {
            out.insert(name.clone(), version.as_str().unwrap_or("").to_string());
        }
        return Ok(out);
    }
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("WARNING") {
            continue;
        }
        let (name, version) = if let Some((name, rest)) = line.split_once(" - ") {
            // opkg: `name - version` (`opkg list` adds ` - description`).
            (name.trim().to_string(), rest.split(" - ").next().unwrap_or("").trim().to_string())
        } else {
            let mut tokens = line.split_whitespace();
            let token = tokens.next().unwrap_or("");
            match split_apk(token) {
                Some(pair) => pair,
                // A bare name is a line of its own; anything else is not a list we know.
                None if tokens.next().is_none() => (token.to_string(), String::new()),
                None => (String::new(), String::new()),
            }
        };
        if asu_protocol::validate::package_name("packages", &name).is_err() {
            return Err(format!("Line {} of the package list is not a package: {}", n + 1, crate::rpc::shorten(line, 60)));
        }
        out.insert(name, version);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_honour_device_removals() {
        let d = profile_defaults(&names(&["base-files", "dnsmasq", "wpad-basic-mbedtls"]), &names(&["kmod-usb3", "-wpad-basic-mbedtls", "wpad-mbedtls"]));
        assert_eq!(d, ["base-files", "dnsmasq", "kmod-usb3", "wpad-mbedtls"]);
    }

    #[test]
    fn adding_and_removing() {
        let base = names(&["base-files", "dnsmasq", "ppp"]);
        let mut s = Selection::default();
        s.add("tcpdump", &base);
        s.add("luci", &base);
        // Adding a default changes nothing; removing a default records `-name`.
        s.add("dnsmasq", &base);
        s.remove("ppp", &base);
        assert_eq!(s.request_packages(), ["luci", "tcpdump", "-ppp"]);
        assert_eq!(s.effective(&base), ["base-files", "dnsmasq", "luci", "tcpdump"]);
        // Removing an added name forgets it; adding a removed default undoes the removal.
        s.remove("tcpdump", &base);
        s.add("ppp", &base);
        assert_eq!(s.request_packages(), ["luci"]);
        assert_eq!(s.effective(&base), ["base-files", "dnsmasq", "luci", "ppp"]);
        // Removing something that is neither added nor in the base is a no-op.
        s.remove("nothing", &base);
        s.add("  ", &base);
        assert_eq!(s, Selection { added: names(&["luci"]), removed: vec![] });
    }

    #[test]
    fn link_form_round_trips() {
        let s = Selection::parse("tcpdump, luci,-ppp,,-");
        assert_eq!(s.added, ["luci", "tcpdump"]);
        assert_eq!(s.removed, ["ppp"]);
        assert_eq!(s.to_param(), "luci,tcpdump,-ppp");
        assert_eq!(Selection::parse(&s.to_param()), s);
        // The last word about a name wins.
        assert_eq!(Selection::parse("a,-a").request_packages(), ["-a"]);
        assert!(Selection::parse("").is_empty());
    }

    #[test]
    fn details_merge_and_sizes_read_well() {
        let mut index = PackageIndex::default();
        index.merge_json(&json!({"architecture": "a", "packages": {"kmod-usb3": "6.6"}})).unwrap();
        assert!(!index.has_details());
        let details = json!({"packages": {
            "tcpdump": {"version": "4.99.5-r1", "size": 219136, "description": "Network monitoring tool"},
            "jq": {"version": "1.7", "size": null, "description": ""},
            "broken": {"size": 3}
        }});
        assert_eq!(index.merge_details_json(&details).unwrap(), 2);
        assert!(index.has_details());
        assert_eq!(index.version("tcpdump"), Some("4.99.5-r1"));
        let t = index.detail("tcpdump").unwrap();
        assert_eq!((t.size, t.description.as_str()), (Some(219136), "Network monitoring tool"));
        assert_eq!(index.detail("jq").unwrap().size, None);
        assert!(index.detail("kmod-usb3").is_none() && !index.contains("broken"));
        assert!(index.merge_details_json(&json!({"tcpdump": "1"})).is_err());
        // 219136 / 1024 = 214.0
        assert_eq!(human_size(219136), "214 kB");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "2 kB");
        assert_eq!(human_size(3 * 1024 * 1024 + 512 * 1024), "3.5 MB");
    }

    #[test]
    fn index_merges_both_shapes_and_searches() {
        let mut index = PackageIndex::default();
        let target = json!({"architecture": "aarch64_cortex-a53", "packages": {"kmod-usb3": "6.6.119-r1", "fitblk": "1"}});
        assert_eq!(index.merge_json(&target).unwrap(), 2);
        let feed = json!({"luci": "25.1", "luci-app-sqm": "1.2", "tcpdump": "4.99", "libpcap": "1.10", "sqm-scripts": "1.6"});
        assert_eq!(index.merge_json(&feed).unwrap(), 5);
        assert_eq!(index.len(), 7);
        assert_eq!(index.version("tcpdump"), Some("4.99"));
        let (hits, total) = index.search("sqm", 10);
        assert_eq!(total, 2);
        assert_eq!(hits, [("sqm-scripts", "1.6"), ("luci-app-sqm", "1.2")]);
        let (hits, total) = index.search("LUCI", 1);
        assert_eq!((hits, total), (vec![("luci", "25.1")], 2));
        assert!(index.merge_json(&json!(["x"])).is_err());
        assert!(index.search(" ", 5).0.is_empty());
    }

    #[test]
    fn installed_lists_in_every_format() {
        let apk = "busybox-1.37.0-r4 aarch64_cortex-a53 {busybox} (GPL-2.0-only) [installed]\n\
                   kmod-usb3-6.6.119-r1 aarch64_cortex-a53 {linux} (GPL-2.0-only) [installed]\n\
                   libubox20240329-2024.03.29~eb9bcb64-r1 aarch64_cortex-a53 {libubox} (ISC) [installed]\n";
        let p = parse_installed(apk).unwrap();
        assert_eq!(p["busybox"], "1.37.0-r4");
        assert_eq!(p["kmod-usb3"], "6.6.119-r1");
        assert_eq!(p["libubox20240329"], "2024.03.29~eb9bcb64-r1");
        let opkg = "base-files - 1555-r24012-d8dd03c46f\nluci - git-24.248.02470-eeb141b\n";
        let p = parse_installed(opkg).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p["luci"], "git-24.248.02470-eeb141b");
        let cli = r#"{ "packages": { "luci": "git-1", "tcpdump": "4.99.4-1" } }"#;
        assert_eq!(parse_installed(cli).unwrap()["tcpdump"], "4.99.4-1");
        let rpc = r#"{"jsonrpc":"2.0","id":1,"result":[0,{"packages":{"auc":"0.3.2-1"}}]}"#;
        assert_eq!(parse_installed(rpc).unwrap()["auc"], "0.3.2-1");
        assert_eq!(parse_installed(r#"{"dropbear":"2022.82-6"}"#).unwrap()["dropbear"], "2022.82-6");
        let plain = "luci\ntcpdump\n\n";
        assert_eq!(parse_installed(plain).unwrap().into_iter().collect::<Vec<_>>(), [("luci".into(), "".into()), ("tcpdump".into(), "".into())]);
        assert!(parse_installed("{not json").unwrap_err().contains("not valid"));
        assert!(parse_installed(r#"{"a": 1}"#).is_err());
        assert!(parse_installed("rm -rf /; echo").unwrap_err().contains("Line 1"));
        assert!(parse_installed("  ").unwrap().is_empty());
    }
}
