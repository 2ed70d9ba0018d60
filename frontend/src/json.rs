//! Reading fields out of `serde_json::Value` by hand. The app reads many
//! small answers; a derived `Deserialize` per type, driven from a `Value`,
//! would add its own copy of the decoding code to the wasm for each one.

use asu_protocol::upstream::{Image, Title};
use serde_json::Value;

/// A string field, empty when absent or not a string.
pub fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// A required string field.
pub fn need_text(v: &Value, key: &str) -> Result<String, String> {
    v.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| format!("it has no {key}"))
}

/// A list of strings; absent is empty, another type is an error.
pub fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        Some(_) => Err(format!("its {key} is not a list")),
    }
}

fn list<'a>(v: &'a Value, key: &str) -> Result<&'a [Value], String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("its {key} is not a list")),
    }
}

/// `images: [{name, type, filesystem?, sha256, sha256_unsigned}]`.
pub fn images(v: &Value) -> Result<Vec<Image>, String> {
    list(v, "images")?
        .iter()
        .map(|i| {
            Ok(Image {
                filesystem: i.get("filesystem").and_then(Value::as_str).map(str::to_string),
                name: need_text(i, "name").map_err(|_| "an image has no name".to_string())?,
                sha256: text(i, "sha256"),
                sha256_unsigned: text(i, "sha256_unsigned"),
                kind: text(i, "type"),
            })
        })
        .collect()
}

/// `titles: [{vendor, model, variant} | {title}]`.
pub fn titles(v: &Value) -> Result<Vec<Title>, String> {
    let opt = |t: &Value, k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(list(v, "titles")?
        .iter()
        .map(|t| Title { vendor: opt(t, "vendor"), model: opt(t, "model"), variant: opt(t, "variant"), title: opt(t, "title") })
        .collect())
}

/// Where a JSON text is broken, without the decoder's full message (whose
/// formatting code is large).
pub fn error_place(e: &serde_json::Error) -> String {
    format!("line {}, column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields() {
        let v = json!({"a": "x", "n": 1, "l": ["p", 2, "q"], "bad": "s",
            "images": [{"name": "i.bin", "type": "sysupgrade", "filesystem": "squashfs", "sha256": "ab"}],
            "titles": [{"vendor": "V", "model": "M"}, {"title": "Free"}]});
        assert_eq!(text(&v, "a"), "x");
        assert_eq!(text(&v, "n"), "");
        assert!(need_text(&v, "zz").unwrap_err().contains("zz"));
        assert_eq!(strings(&v, "l").unwrap(), ["p", "q"]);
        assert!(strings(&v, "missing").unwrap().is_empty());
        assert!(strings(&v, "bad").is_err());
        let i = images(&v).unwrap();
        assert_eq!((i[0].name.as_str(), i[0].kind.as_str(), i[0].filesystem.as_deref()), ("i.bin", "sysupgrade", Some("squashfs")));
        assert!(images(&json!({"images": [{"type": "x"}]})).is_err());
        let t = titles(&v).unwrap();
        assert_eq!(t[0].display(), "V M");
        assert_eq!(t[1].display(), "Free");
        let e = serde_json::from_str::<Value>("{\n  x").unwrap_err();
        assert_eq!(error_place(&e), "line 2, column 3");
    }
}
