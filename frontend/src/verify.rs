//! Checks on the downloaded image before it goes to the router: the
//! checksum the server published and the fwtool trailer's device list.

use asu_protocol::fwtool::{self, FwMetadata};
use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The image must hash to `expected_sha256` and its metadata trailer must
/// name `board_name`. The compat version check is left to the router,
/// which knows its own (`validate_firmware_image`).
pub fn check_image(bytes: &[u8], expected_sha256: &str, board_name: &str) -> Result<FwMetadata, String> {
    if expected_sha256.is_empty() {
        return Err("The build server gave no sha256 for this image, so it cannot be checked.".into());
    }
    let actual = sha256_hex(bytes);
    if !actual.eq_ignore_ascii_case(expected_sha256) {
        return Err(format!(
            "The downloaded image is damaged: its sha256 is {actual}, the build server says {}.",
            expected_sha256.to_ascii_lowercase()
        ));
    }
    let meta = fwtool::read_metadata(bytes).map_err(|e| format!("The image cannot be flashed: {e}"))?;
    // Passing the image's own compat version checks the device list only,
    // choosing the list the way the router's fwtool does.
    fwtool::check_for_board(&meta, board_name, &meta.compat_version).map_err(|e| format!("The image is wrong for this router: {e}"))?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use asu_protocol::fwtool::{append_metadata, FwVersion};

    fn meta(devices: &[&str]) -> FwMetadata {
        FwMetadata {
            metadata_version: "1.1".into(),
            compat_version: "1.0".into(),
            compat_message: None,
            supported_devices: devices.iter().map(|d| d.to_string()).collect(),
            new_supported_devices: None,
            version: FwVersion {
                dist: "OpenWrt".into(),
                version: "24.10.5".into(),
                revision: "r29087-d9c5716d1d".into(),
                target: "mediatek/filogic".into(),
                board: "glinet_gl-mt6000".into(),
            },
        }
    }

    #[test]
    fn sha256_known_vector() {
        // FIPS 180-2 example "abc".
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn good_image_passes() {
        let mut image = b"kernel+rootfs".to_vec();
        append_metadata(&mut image, &meta(&["glinet,gl-mt6000"]));
        let sum = sha256_hex(&image);
        let m = check_image(&image, &sum.to_uppercase(), "glinet,gl-mt6000").unwrap();
        assert_eq!(m.version.version, "24.10.5");
    }

    #[test]
    fn wrong_checksum_device_or_trailer_fail() {
        let mut image = b"kernel+rootfs".to_vec();
        append_metadata(&mut image, &meta(&["glinet,gl-mt3000"]));
        let sum = sha256_hex(&image);
        let e = check_image(&image, &sum, "glinet,gl-mt6000").unwrap_err();
        assert!(e.contains("Device glinet,gl-mt6000 not supported"), "{e}");
        let e = check_image(&image, &"0".repeat(64), "glinet,gl-mt3000").unwrap_err();
        assert!(e.contains("damaged"), "{e}");
        let e = check_image(&image, "", "glinet,gl-mt3000").unwrap_err();
        assert!(e.contains("no sha256"), "{e}");
        let plain = vec![7u8; 64];
        let e = check_image(&plain, &sha256_hex(&plain), "glinet,gl-mt6000").unwrap_err();
        assert!(e.contains("metadata not present"), "{e}");
    }
}
