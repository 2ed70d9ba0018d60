//! The router-free page's state as a link: release, device and package
//! selection in the query string, so a link reopens the same view.
//! Parameter names follow the OpenWrt firmware selector (`version`,
//! `target`, `id`) plus `packages` in the build request's form.

/// What a link carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkState {
    pub version: String,
    pub target: String,
    /// Profile id.
    pub id: String,
    /// Package edits, `a,b,-c`.
    pub packages: String,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` and `+` of a query value; broken escapes stay as they are.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a query value; `/`, `,` and the characters of names stay readable.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl LinkState {
    /// Reads `location.search` (with or without the leading `?`).
    pub fn parse(search: &str) -> LinkState {
        let mut state = LinkState::default();
        for pair in search.trim_start_matches('?').split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value);
            match key {
                "version" => state.version = value,
                "target" => state.target = value,
                "id" => state.id = value,
                "packages" => state.packages = value,
                _ => {}
            }
        }
        state
    }

    /// The query string, `?` included; empty values are left out.
    pub fn to_query(&self) -> String {
        let parts: Vec<String> = [
            ("version", &self.version),
            ("target", &self.target),
            ("id", &self.id),
            ("packages", &self.packages),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = LinkState {
            version: "24.10.5".into(),
            target: "mediatek/filogic".into(),
            id: "glinet_gl-mt6000".into(),
            packages: "luci-app-sqm,tcpdump,-ppp".into(),
        };
        let q = s.to_query();
        assert_eq!(q, "?version=24.10.5&target=mediatek/filogic&id=glinet_gl-mt6000&packages=luci-app-sqm,tcpdump,-ppp");
        assert_eq!(LinkState::parse(&q), s);
        assert_eq!(LinkState::default().to_query(), "");
    }

    #[test]
    fn reads_firmware_selector_links() {
        let s = LinkState::parse("?version=23.05.4&target=mediatek%2Ffilogic&id=glinet_gl-mt6000&other=1");
        assert_eq!(s.target, "mediatek/filogic");
        assert_eq!(s.id, "glinet_gl-mt6000");
        assert_eq!(s.packages, "");
    }

    #[test]
    fn escapes() {
        assert_eq!(encode("a b&c=d+é"), "a%20b%26c%3Dd%2B%C3%A9");
        assert_eq!(decode("a%20b%26c%3Dd%2B%C3%A9"), "a b&c=d+é");
        assert_eq!(decode("a+b"), "a b");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        let odd = LinkState { packages: "x&version=evil".into(), ..Default::default() };
        assert_eq!(LinkState::parse(&odd.to_query()), odd);
    }
}
