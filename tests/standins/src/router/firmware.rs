//! What the router checks in an uploaded image (like
//! /usr/libexec/validate_firmware_image and `sysupgrade --test`), and what
//! it boots into after flashing one.

use asu_protocol::fwtool::{self, FwError, FwMetadata};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// A metadata trailer is present and its CRC is right.
    pub fwtool_signature: bool,
    /// The trailer lists this board and the compat version fits.
    pub fwtool_device_match: bool,
    pub valid: bool,
    pub forceable: bool,
    pub allow_backup: bool,
    /// Lines `sysupgrade --test` prints on stderr.
    pub messages: Vec<String>,
    pub metadata: Option<FwMetadata>,
    pub body_len: usize,
}

impl Validation {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "tests": {
                "fwtool_signature": self.fwtool_signature,
                "fwtool_device_match": self.fwtool_device_match,
            },
            "valid": self.valid,
            "forceable": self.forceable,
            "allow_backup": self.allow_backup,
        })
    }

    /// `{code, stdout, stderr}` of `sysupgrade --test`.
    pub fn test_result(&self) -> serde_json::Value {
        let mut stderr: String = self.messages.iter().map(|m| format!("{m}\n")).collect();
        if !self.valid {
            stderr.push_str("Image check failed.\n");
        }
        serde_json::json!({"code": if self.valid { 0 } else { 1 }, "stdout": "", "stderr": stderr})
    }
}

/// Checks `image` (None: no file at the path) for a router with
/// `board_name` and device compat version `compat`. Without
/// `require_metadata` (x86), a missing trailer or another board is accepted.
pub fn validate(
    image: Option<&[u8]>,
    board_name: &str,
    compat: &str,
    require_metadata: bool,
) -> Validation {
    let mut v = Validation {
        fwtool_signature: false,
        fwtool_device_match: false,
        valid: false,
        forceable: false,
        allow_backup: false,
        messages: Vec::new(),
        metadata: None,
        body_len: 0,
    };
    let Some(image) = image else {
        v.messages.push("Image not found.".into());
        return v;
    };
    v.forceable = true;
    let chunk = match fwtool::locate_metadata(image) {
        Ok(c) => c,
        Err(e) => {
            v.allow_backup = true;
            if require_metadata {
                v.messages.push(e.to_string());
            } else {
                v.fwtool_signature = true;
                v.fwtool_device_match = true;
                v.valid = true;
                v.body_len = image.len();
            }
            return v;
        }
    };
    v.fwtool_signature = true;
    v.body_len = chunk.body_len;
    match fwtool::check_for_board(&chunk.metadata, board_name, compat) {
        Ok(()) => {
            v.fwtool_device_match = true;
            v.valid = true;
            v.allow_backup = true;
        }
        Err(FwError::DeviceNotSupported { .. }) if !require_metadata => {
            v.fwtool_device_match = true;
            v.valid = true;
            v.allow_backup = true;
        }
        Err(FwError::DeviceNotSupported {
            board_name,
            supported,
        }) => {
            v.messages
                .push(format!("Device {board_name} not supported by this image"));
            v.messages
                .push(format!("Supported devices: {}", supported.join(" ")));
            v.allow_backup = true;
        }
        Err(e) => v.messages.push(e.to_string()),
    }
    v.metadata = Some(chunk.metadata);
    v
}

/// The part of a stand-in image body the router boots into.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageBody {
    pub standin_image: u32,
    #[serde(default)]
    pub kernel: String,
    #[serde(default)]
    pub source_date_epoch: u64,
    #[serde(default)]
    pub installed: BTreeMap<String, String>,
    #[serde(default)]
    pub world: Vec<String>,
    #[serde(default)]
    pub world_installed: Option<BTreeMap<String, String>>,
}

impl ImageBody {
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<ImageBody>(body)
            .ok()
            .filter(|b| b.standin_image == 1)
    }

    /// Packages the user chose (`rpc-sys packagelist {"all":false}`).
    pub fn world_packages(&self) -> BTreeMap<String, String> {
        if let Some(w) = &self.world_installed {
            return w.clone();
        }
        self.world
            .iter()
            .filter_map(|n| self.installed.get(n).map(|v| (n.clone(), v.clone())))
            .collect()
    }

    /// `5.15.162-1-abc...` / `6.6.119~abc-r1` -> `5.15.162` / `6.6.119`
    pub fn kernel_release(&self) -> Option<String> {
        let k = self.kernel.split(['-', '~']).next().unwrap_or("");
        (!k.is_empty()).then(|| k.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_for(devices: &[&str]) -> Vec<u8> {
        let mut img = br#"{"standin_image":1,"kernel":"6.6.119~x-r1","installed":{"luci":"1"},"world":["luci"]}"#.to_vec();
        fwtool::append_metadata(
            &mut img,
            &FwMetadata::openwrt(
                devices.iter().map(|s| s.to_string()).collect(),
                "24.10.5",
                "r29087-d9c5716d1d",
                "mediatek/filogic",
                "x",
            ),
        );
        img
    }

    #[test]
    fn good_image() {
        let img = image_for(&["glinet,gl-mt6000"]);
        let v = validate(Some(&img), "glinet,gl-mt6000", "1.0", true);
        assert!(v.valid && v.fwtool_signature && v.fwtool_device_match);
        assert_eq!(v.test_result()["code"], 0);
        let body = ImageBody::parse(&img[..v.body_len]).unwrap();
        assert_eq!(body.kernel_release().as_deref(), Some("6.6.119"));
        assert_eq!(body.world_packages()["luci"], "1");
    }

    #[test]
    fn other_board_is_refused() {
        let img = image_for(&["tplink,archer-c7-v5"]);
        let v = validate(Some(&img), "glinet,gl-mt6000", "1.0", true);
        assert!(!v.valid && v.fwtool_signature && !v.fwtool_device_match && v.forceable);
        let r = v.test_result();
        assert_eq!(r["code"], 1);
        assert!(r["stderr"]
            .as_str()
            .unwrap()
            .contains("Device glinet,gl-mt6000 not supported by this image"));
    }

    #[test]
    fn broken_and_missing() {
        let mut img = image_for(&["glinet,gl-mt6000"]);
        img[3] ^= 1;
        let v = validate(Some(&img), "glinet,gl-mt6000", "1.0", true);
        assert!(!v.valid && !v.fwtool_signature);
        let v = validate(None, "glinet,gl-mt6000", "1.0", true);
        assert!(!v.valid && !v.forceable);
        // x86 does not require metadata: another board name is fine there.
        let img = image_for(&["generic"]);
        assert!(validate(Some(&img), "qemu-standard-pc-q35-ich9-2009", "1.0", false).valid);
        assert!(validate(Some(b"no trailer at all"), "pc", "1.0", false).valid);
    }
}
