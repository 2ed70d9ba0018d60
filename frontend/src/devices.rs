//! The device list of the router-free page: every device of the releases
//! the server knows (each release's `.overview.json`), and the search over
//! vendor, model, variant, profile id and board name. Plain Rust, tested
//! natively; it runs on every keystroke, so matching is on precomputed
//! lower-case text.

use std::collections::BTreeMap;

use asu_protocol::upstream::{Overview, OverviewProfile};
use serde_json::Value;

/// One device, merged over the releases that list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Profile id (`glinet_gl-mt6000`).
    pub id: String,
    /// `target/subtarget`.
    pub target: String,
    /// Its titles for people ("GL.iNet GL-MT6000"); alternative names after the first.
    pub titles: Vec<String>,
    /// The board name the router reports, as derived from the id (`glinet,gl-mt6000`).
    pub board: String,
    /// Releases whose device list has it, newest first.
    pub versions: Vec<String>,
    /// Lower-case titles, id, board and target, for matching.
    text: String,
    /// `text` with only letters and digits, so "glmt6000" finds "GL-MT6000".
    squashed: String,
}

impl Device {
    pub fn title(&self) -> &str {
        self.titles.first().map(String::as_str).unwrap_or(&self.id)
    }
}

/// The board name for a profile id: vendor and model are joined by `,` on
/// the router and by `_` in profile ids (`glinet_gl-mt6000`).
pub fn board_name(id: &str) -> String {
    id.replacen('_', ",", 1)
}

fn squash(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Reads a release's `.overview.json` (`{release, profiles: [{id, target, titles}]}`).
pub fn parse_overview(v: &Value) -> Result<Overview, String> {
    let profiles = v.get("profiles").and_then(Value::as_array).ok_or("it has no profiles list")?;
    let mut out = Vec::with_capacity(profiles.len());
    for p in profiles {
        let (id, target) = (crate::json::text(p, "id"), crate::json::text(p, "target"));
        if id.is_empty() || target.is_empty() {
            continue;
        }
        out.push(OverviewProfile { id, target, titles: crate::json::titles(p)? });
    }
    Ok(Overview { release: crate::json::text(v, "release"), profiles: out })
}

#[derive(Debug, Clone, Default)]
pub struct DeviceIndex {
    devices: Vec<Device>,
    /// `target/id` -> position in `devices`.
    by_key: BTreeMap<String, usize>,
    /// Releases added so far.
    pub releases: Vec<String>,
}

/// How well a device matches; lower is better.
fn rank(device: &Device, query: &str, words: &[String]) -> Option<u8> {
    let squashed_words: Vec<String> = words.iter().map(|w| squash(w)).collect();
    let all_match = words.iter().zip(&squashed_words).all(|(w, sw)| {
        device.text.contains(w.as_str()) || (!sw.is_empty() && device.squashed.contains(sw.as_str()))
    });
    if !all_match {
        return None;
    }
    let id_like = query.replace(',', "_");
    if device.id == id_like || device.board == query {
        return Some(0);
    }
    let title = device.titles.first().map(|t| t.to_ascii_lowercase()).unwrap_or_default();
    if title.starts_with(query) || device.id.starts_with(&id_like) {
        return Some(1);
    }
    // A word that starts a word of the device text ranks above one inside a word.
    let starts_word = |w: &String| {
        device.text.match_indices(w.as_str()).any(|(i, _)| {
            i == 0 || !device.text.as_bytes()[i - 1].is_ascii_alphanumeric()
        })
    };
    if words.iter().all(starts_word) {
        return Some(2);
    }
    Some(3)
}

impl DeviceIndex {
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Adds the devices of one release's `.overview.json`.
    pub fn add_release(&mut self, version: &str, overview: &Overview) {
        if !self.releases.iter().any(|r| r == version) {
            self.releases.push(version.to_string());
        }
        for p in &overview.profiles {
            let key = format!("{}/{}", p.target, p.id);
            if let Some(&i) = self.by_key.get(&key) {
                let d = &mut self.devices[i];
                if !d.versions.iter().any(|v| v == version) {
                    d.versions.push(version.to_string());
                    crate::plan::sort_newest_first(&mut d.versions);
                }
                continue;
            }
            let mut titles: Vec<String> =
                p.titles.iter().map(|t| t.display()).filter(|t| !t.trim().is_empty()).collect();
            titles.dedup();
            let board = board_name(&p.id);
            let text = format!("{} {} {} {}", titles.join(" "), p.id, board, p.target).to_ascii_lowercase();
            let squashed = squash(&text);
            self.by_key.insert(key, self.devices.len());
            self.devices.push(Device {
                id: p.id.clone(),
                target: p.target.clone(),
                titles,
                board,
                versions: vec![version.to_string()],
                text,
                squashed,
            });
        }
    }

    pub fn find(&self, target: &str, id: &str) -> Option<&Device> {
        self.by_key.get(&format!("{target}/{id}")).map(|&i| &self.devices[i])
    }

    /// The device a router's board name means (`glinet,gl-mt6000` or the id).
    pub fn find_board(&self, target: &str, board: &str) -> Option<&Device> {
        self.find(target, &board.replace(',', "_"))
            .or_else(|| self.devices.iter().find(|d| d.target == target && d.board == board))
    }

    /// The devices matching every word of `query`, best first, at most
    /// `limit`; also the number of all matches.
    pub fn search(&self, query: &str, limit: usize) -> (Vec<&Device>, usize) {
        let query = query.trim().to_ascii_lowercase();
        if query.is_empty() {
            return (Vec::new(), 0);
        }
        let words: Vec<String> = query.split_whitespace().map(str::to_string).collect();
        let mut total = 0;
        let hits = self.devices.iter().filter_map(|d| rank(d, &query, &words).map(|r| (r, d))).inspect(|_| total += 1);
        let best = crate::small::smallest(hits, limit, |x: &(u8, &Device)| {
            let (r, d) = *x;
            (r, d.title(), d.id.as_str())
        });
        (best.into_iter().map(|(_, d)| d).collect(), total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn overview(value: serde_json::Value) -> Overview {
        parse_overview(&value).unwrap()
    }

    fn small() -> DeviceIndex {
        let mut index = DeviceIndex::default();
        index.add_release(
            "23.05.4",
            &overview(json!({"release": "23.05.4", "profiles": [
                {"id": "glinet_gl-mt6000", "target": "mediatek/filogic", "titles": [{"vendor": "GL.iNet", "model": "GL-MT6000"}]},
                {"id": "glinet_gl-mt3000", "target": "mediatek/filogic", "titles": [{"vendor": "GL.iNet", "model": "GL-MT3000"}]},
                {"id": "tplink_archer-c7-v5", "target": "ath79/generic",
                 "titles": [{"vendor": "TP-Link", "model": "Archer C7", "variant": "v5"}]},
                {"id": "generic", "target": "x86/64", "titles": [{"title": "Generic x86/64"}]},
                {"id": "xiaomi_mi-router-ax3000t", "target": "mediatek/filogic",
                 "titles": [{"vendor": "Xiaomi", "model": "Mi Router AX3000T"}, {"vendor": "Xiaomi", "model": "AX3000T"}]}
            ]})),
        );
        index.add_release(
            "24.10.5",
            &overview(json!({"release": "24.10.5", "profiles": [
                {"id": "glinet_gl-mt6000", "target": "mediatek/filogic", "titles": [{"vendor": "GL.iNet", "model": "GL-MT6000"}]}
            ]})),
        );
        index
    }

    fn ids(found: &[&Device]) -> Vec<String> {
        found.iter().map(|d| d.id.clone()).collect()
    }

    #[test]
    fn finds_by_any_part() {
        let index = small();
        assert_eq!(ids(&index.search("mt6000", 10).0), ["glinet_gl-mt6000"]);
        assert_eq!(ids(&index.search("MT6000", 10).0), ["glinet_gl-mt6000"]);
        // Board name with its comma, and the profile id.
        assert_eq!(ids(&index.search("glinet,gl-mt6000", 10).0), ["glinet_gl-mt6000"]);
        assert_eq!(ids(&index.search("glinet_gl-mt3000", 10).0), ["glinet_gl-mt3000"]);
        // Vendor alone, variant, punctuation left out, several words in any order.
        assert_eq!(ids(&index.search("gl.inet", 10).0), ["glinet_gl-mt3000", "glinet_gl-mt6000"]);
        assert_eq!(ids(&index.search("c7 v5", 10).0), ["tplink_archer-c7-v5"]);
        assert_eq!(ids(&index.search("v5 archer", 10).0), ["tplink_archer-c7-v5"]);
        assert_eq!(ids(&index.search("tplink archerc7", 10).0), ["tplink_archer-c7-v5"]);
        // A free-form title and an alternative title.
        assert_eq!(ids(&index.search("generic x86", 10).0), ["generic"]);
        assert_eq!(ids(&index.search("ax3000t", 10).0), ["xiaomi_mi-router-ax3000t"]);
        // Target names match too.
        assert_eq!(index.search("filogic", 10).1, 3);
        assert!(index.search("nothing-like-this", 10).0.is_empty());
        assert!(index.search("   ", 10).0.is_empty());
    }

    #[test]
    fn exact_and_prefix_matches_come_first() {
        let index = small();
        // "gl-mt" is inside both GL.iNet models; an exact board name wins.
        let (found, total) = index.search("glinet,gl-mt3000", 10);
        assert_eq!((ids(&found), total), (vec!["glinet_gl-mt3000".to_string()], 1));
        // "x" starts the Xiaomi title and the word "x86" of the generic one,
        // and is inside "ax3000t": the title start ranks first; the limit cuts the rest.
        let (found, total) = index.search("x", 1);
        assert_eq!(ids(&found), ["xiaomi_mi-router-ax3000t"]);
        assert_eq!(total, 2);
        let (found, _) = index.search("x", 10);
        assert_eq!(ids(&found), ["xiaomi_mi-router-ax3000t", "generic"]);
    }

    #[test]
    fn releases_merge_per_device() {
        let index = small();
        assert_eq!(index.len(), 5);
        assert_eq!(index.releases, ["23.05.4", "24.10.5"]);
        let d = index.find("mediatek/filogic", "glinet_gl-mt6000").unwrap();
        assert_eq!(d.versions, ["24.10.5", "23.05.4"]);
        assert_eq!(d.board, "glinet,gl-mt6000");
        assert_eq!(d.title(), "GL.iNet GL-MT6000");
        assert_eq!(index.find("mediatek/filogic", "glinet_gl-mt3000").unwrap().versions, ["23.05.4"]);
        assert_eq!(index.find_board("mediatek/filogic", "glinet,gl-mt6000").unwrap().id, "glinet_gl-mt6000");
        assert!(index.find_board("ath79/generic", "glinet,gl-mt6000").is_none());
        assert_eq!(board_name("generic"), "generic");
        assert_eq!(board_name("tplink_archer-c7-v5"), "tplink,archer-c7-v5");
    }

    #[test]
    fn real_overview_of_23_05_4() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/upstream/releases/23.05.4/.overview.json");
        let text = std::fs::read_to_string(path).unwrap();
        let parsed = parse_overview(&serde_json::from_str(&text).unwrap()).unwrap();
        // The hand-written reader agrees with the protocol crate's derived one.
        let derived: Overview = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, derived);
        let mut index = DeviceIndex::default();
        index.add_release("23.05.4", &parsed);
        // Every (target, id) pair of the file, counted independently of the index.
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut pairs: Vec<String> = raw["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}/{}", p["target"].as_str().unwrap(), p["id"].as_str().unwrap()))
            .collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(index.len(), pairs.len());
        let (found, _) = index.search("mt6000", 5);
        assert_eq!(found[0].id, "glinet_gl-mt6000");
        assert_eq!(found[0].target, "mediatek/filogic");
        // The count of devices whose raw JSON mentions the vendor matches the search.
        let netgear = raw["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["titles"].to_string().to_ascii_lowercase().contains("netgear") || p["id"].as_str().unwrap().contains("netgear"))
            .count();
        assert_eq!(index.search("netgear", 5000).1, netgear);
    }
}
