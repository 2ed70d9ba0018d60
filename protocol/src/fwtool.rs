//! OpenWrt fwtool metadata trailer, as appended to sysupgrade images and
//! checked by a router before it flashes one.
//!
//! Layout of one metadata chunk at the end of an image (all integers
//! big-endian):
//!
//! ```text
//! image bytes ...
//! header   8 bytes: u32 version (0), u32 flags (0)
//! JSON     metadata, no terminator
//! trailer 16 bytes: u32 magic 0x46577830 ("FWx0"), u32 crc32,
//!                   u8 chunk type (1 metadata, 0 signature), 3 bytes zero,
//!                   u32 chunk size = 8 + JSON length + 16
//! ```
//!
//! The CRC covers every byte of the file before the trailer (image, header
//! and JSON). The doc leaves the header's contents open; we follow fwtool,
//! whose header holds a version and a flags word, both written as zero.
//! A signature chunk (type 0) may follow the metadata chunk on signed
//! images; `read_metadata` steps over it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// "FWx0" read as a big-endian u32.
pub const FWTOOL_MAGIC: u32 = 0x4657_7830;
pub const HEADER_LEN: usize = 8;
pub const TRAILER_LEN: usize = 16;
pub const CHUNK_METADATA: u8 = 1;
pub const CHUNK_SIGNATURE: u8 = 0;
/// Compat version a router assumes when neither it nor an image names one.
pub const DEFAULT_COMPAT_VERSION: &str = "1.0";

/// The JSON payload of a metadata chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FwMetadata {
    pub metadata_version: String,
    #[serde(default = "default_compat")]
    pub compat_version: String,
    /// Shown by the router when a compat check fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compat_message: Option<String>,
    pub supported_devices: Vec<String>,
    /// Images with a compat version other than 1.0 list devices here; old
    /// routers that only know `supported_devices` then refuse them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_supported_devices: Option<Vec<String>>,
    pub version: FwVersion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FwVersion {
    pub dist: String,
    pub version: String,
    pub revision: String,
    pub target: String,
    pub board: String,
}

impl FwMetadata {
    /// Metadata as OpenWrt's build writes it for a sysupgrade image of an
    /// OpenWrt release: format 1.1, compat version 1.0.
    pub fn openwrt(supported_devices: Vec<String>, version: &str, revision: &str, target: &str, board: &str) -> Self {
        FwMetadata {
            metadata_version: "1.1".into(),
            compat_version: DEFAULT_COMPAT_VERSION.into(),
            compat_message: None,
            supported_devices,
            new_supported_devices: None,
            version: FwVersion {
                dist: "OpenWrt".into(),
                version: version.into(),
                revision: revision.into(),
                target: target.into(),
                board: board.into(),
            },
        }
    }
}

fn default_compat() -> String {
    DEFAULT_COMPAT_VERSION.to_string()
}

/// Why an image's trailer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FwError {
    /// Shorter than one header plus trailer.
    TooShort {
        len: usize,
    },
    BadMagic {
        found: u32,
    },
    /// Chunk size smaller than header+trailer or larger than the file.
    BadSize {
        size: u32,
        file_len: usize,
    },
    BadCrc {
        stored: u32,
        computed: u32,
    },
    /// The chunk is neither metadata nor signature, or only signatures exist.
    NoMetadata {
        chunk_type: u8,
    },
    BadJson(String),
    DeviceNotSupported {
        board_name: String,
        supported: Vec<String>,
    },
    IncompatibleVersion {
        device: String,
        image: String,
        message: Option<String>,
    },
}

impl fmt::Display for FwError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FwError::TooShort { len } => {
                write!(
                    f,
                    "Image metadata not present: file of {len} bytes is too short"
                )
            }
            FwError::BadMagic { found } => {
                write!(
                    f,
                    "Image metadata not present: trailer magic is 0x{found:08x}, not FWx0"
                )
            }
            FwError::BadSize { size, file_len } => write!(
                f,
                "Invalid image metadata: chunk size {size} does not fit a file of {file_len} bytes"
            ),
            FwError::BadCrc { stored, computed } => write!(
                f,
                "Image checksum mismatch: trailer says 0x{stored:08x}, data gives 0x{computed:08x}"
            ),
            FwError::NoMetadata { chunk_type } => {
                write!(
                    f,
                    "Image metadata not present: found chunk type {chunk_type} instead"
                )
            }
            FwError::BadJson(e) => write!(f, "Invalid image metadata JSON: {e}"),
            FwError::DeviceNotSupported {
                board_name,
                supported,
            } => write!(
                f,
                "Device {board_name} not supported by this image. Supported devices: {}",
                supported.join(" ")
            ),
            FwError::IncompatibleVersion {
                device,
                image,
                message,
            } => {
                write!(
                    f,
                    "The device is supported, but this image is incompatible for sysupgrade \
                     based on the image version ({device}->{image})."
                )?;
                if let Some(m) = message {
                    write!(f, " {m}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for FwError {}

/// CRC32 as fwtool computes it: reflected polynomial 0xEDB88320, initial
/// value !0 and, unlike zlib, no final inversion.
pub fn crc32_fwtool(data: &[u8]) -> u32 {
    crc32_update(!0, data)
}

fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    crc
}

/// Appends a metadata chunk (header, JSON, trailer) to `image`.
pub fn append_metadata(image: &mut Vec<u8>, metadata: &FwMetadata) {
    let json = serde_json::to_vec(metadata).expect("metadata serialises");
    image.extend_from_slice(&0u32.to_be_bytes()); // header: version
    image.extend_from_slice(&0u32.to_be_bytes()); // header: flags
    image.extend_from_slice(&json);
    let crc = crc32_fwtool(image);
    let size = (HEADER_LEN + json.len() + TRAILER_LEN) as u32;
    image.extend_from_slice(&FWTOOL_MAGIC.to_be_bytes());
    image.extend_from_slice(&crc.to_be_bytes());
    image.extend_from_slice(&[CHUNK_METADATA, 0, 0, 0]);
    image.extend_from_slice(&size.to_be_bytes());
}

/// Where the metadata chunk sits in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataChunk {
    /// Length of the image body, i.e. offset of the chunk's header.
    pub body_len: usize,
    pub metadata: FwMetadata,
}

/// Reads and checks the metadata chunk at the end of `image` (stepping over
/// trailing signature chunks).
pub fn read_metadata(image: &[u8]) -> Result<FwMetadata, FwError> {
    locate_metadata(image).map(|c| c.metadata)
}

/// Like `read_metadata`, also telling where the image body ends.
pub fn locate_metadata(image: &[u8]) -> Result<MetadataChunk, FwError> {
    let mut end = image.len();
    loop {
        let (chunk_type, start) = check_chunk(&image[..end], image.len())?;
        match chunk_type {
            CHUNK_METADATA => {
                let json = &image[start + HEADER_LEN..end - TRAILER_LEN];
                let metadata: FwMetadata =
                    serde_json::from_slice(json).map_err(|e| FwError::BadJson(e.to_string()))?;
                return Ok(MetadataChunk {
                    body_len: start,
                    metadata,
                });
            }
            CHUNK_SIGNATURE => end = start,
            other => return Err(FwError::NoMetadata { chunk_type: other }),
        }
    }
}

/// Checks the chunk ending at the end of `data`; returns its type and the
/// offset of its header.
fn check_chunk(data: &[u8], file_len: usize) -> Result<(u8, usize), FwError> {
    if data.len() < HEADER_LEN + TRAILER_LEN {
        return Err(FwError::TooShort { len: data.len() });
    }
    let t = &data[data.len() - TRAILER_LEN..];
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let magic = be(&t[0..4]);
    if magic != FWTOOL_MAGIC {
        return Err(FwError::BadMagic { found: magic });
    }
    let stored = be(&t[4..8]);
    let chunk_type = t[8];
    let size = be(&t[12..16]);
    if (size as usize) < HEADER_LEN + TRAILER_LEN || size as usize > data.len() {
        return Err(FwError::BadSize { size, file_len });
    }
    let computed = crc32_fwtool(&data[..data.len() - TRAILER_LEN]);
    if computed != stored {
        return Err(FwError::BadCrc { stored, computed });
    }
    Ok((chunk_type, data.len() - size as usize))
}

/// The check a router's sysupgrade makes before flashing: its board name
/// must be listed, and the compat major version must match its own.
pub fn check_for_board(
    meta: &FwMetadata,
    board_name: &str,
    own_compat: &str,
) -> Result<(), FwError> {
    let own_compat = if own_compat.is_empty() {
        DEFAULT_COMPAT_VERSION
    } else {
        own_compat
    };
    let image_compat = if meta.compat_version.is_empty() {
        DEFAULT_COMPAT_VERSION
    } else {
        &meta.compat_version
    };
    // Like fwtool.sh: images with compat != 1.0 name their devices in
    // new_supported_devices.
    let list = if image_compat != DEFAULT_COMPAT_VERSION {
        meta.new_supported_devices
            .as_ref()
            .unwrap_or(&meta.supported_devices)
    } else {
        &meta.supported_devices
    };
    if !list.iter().any(|d| d == board_name) {
        return Err(FwError::DeviceNotSupported {
            board_name: board_name.to_string(),
            supported: list.clone(),
        });
    }
    let major = |v: &str| v.split('.').next().unwrap_or("").to_string();
    if major(own_compat) != major(image_compat) {
        return Err(FwError::IncompatibleVersion {
            device: own_compat.to_string(),
            image: image_compat.to_string(),
            message: meta.compat_message.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FwMetadata {
        FwMetadata::openwrt(vec!["glinet,gl-mt6000".into()], "24.10.5", "r29087-d9c5716d1d", "mediatek/filogic", "glinet_gl-mt6000")
    }

    #[test]
    fn crc_vectors_computed_with_zlib() {
        // python3: zlib.crc32(b"123456789") ^ 0xffffffff == 0x340bc6d9
        assert_eq!(crc32_fwtool(b"123456789"), 0x340b_c6d9);
        // python3: zlib.crc32(b"OpenWrt fwtool") ^ 0xffffffff == 0xc71cfe5c
        assert_eq!(crc32_fwtool(b"OpenWrt fwtool"), 0xc71c_fe5c);
        assert_eq!(crc32_fwtool(b""), 0xffff_ffff);
    }

    #[test]
    fn round_trip() {
        let body = b"kernel and rootfs".to_vec();
        let mut image = body.clone();
        append_metadata(&mut image, &sample());
        let chunk = locate_metadata(&image).unwrap();
        assert_eq!(chunk.metadata, sample());
        assert_eq!(chunk.body_len, body.len());
        // Trailer fields, read independently of the parser.
        let t = &image[image.len() - 16..];
        assert_eq!(&t[0..4], b"FWx0");
        assert_eq!(t[8], 1);
        let size = u32::from_be_bytes([t[12], t[13], t[14], t[15]]) as usize;
        assert_eq!(size, image.len() - body.len());
        assert_eq!(&image[body.len()..body.len() + 8], &[0u8; 8]);
    }

    #[test]
    fn flipped_byte_fails_crc() {
        let mut image = b"body".to_vec();
        append_metadata(&mut image, &sample());
        image[1] ^= 0x40;
        assert!(matches!(read_metadata(&image), Err(FwError::BadCrc { .. })));
    }

    #[test]
    fn plain_file_has_no_metadata() {
        let image = vec![0u8; 100];
        assert!(matches!(
            read_metadata(&image),
            Err(FwError::BadMagic { .. })
        ));
        assert!(matches!(
            read_metadata(b"short"),
            Err(FwError::TooShort { .. })
        ));
    }

    #[test]
    fn signature_chunk_is_skipped() {
        let mut image = b"body".to_vec();
        append_metadata(&mut image, &sample());
        let body_and_meta = image.len();
        // A signature chunk written the same way, type 0.
        let sig = b"untrusted comment: signed";
        image.extend_from_slice(&[0u8; 8]);
        image.extend_from_slice(sig);
        let crc = crc32_fwtool(&image);
        image.extend_from_slice(&FWTOOL_MAGIC.to_be_bytes());
        image.extend_from_slice(&crc.to_be_bytes());
        image.extend_from_slice(&[0, 0, 0, 0]);
        image.extend_from_slice(&((8 + sig.len() + 16) as u32).to_be_bytes());
        let chunk = locate_metadata(&image).unwrap();
        assert_eq!(chunk.body_len, 4);
        assert!(body_and_meta > 4);
    }

    #[test]
    fn upstream_fixture_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/upstream/fwtool-metadata-example.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("fixture {path} not found, skipping");
            return;
        };
        let meta: FwMetadata = serde_json::from_str(&text).unwrap();
        assert_eq!(meta.metadata_version, "1.0");
        assert_eq!(
            meta.compat_version, "1.0",
            "absent compat_version defaults to 1.0"
        );
        assert_eq!(
            meta.supported_devices,
            vec!["tplink,archer-c7-v5", "archer-c7-v5"]
        );
        assert_eq!(meta.version.target, "ath79/generic");
        assert_eq!(meta.version.board, "tplink_archer-c7-v5");
        check_for_board(&meta, "tplink,archer-c7-v5", "1.0").unwrap();
    }

    #[test]
    fn router_checks() {
        let meta = sample();
        assert!(check_for_board(&meta, "glinet,gl-mt6000", "1.0").is_ok());
        assert!(check_for_board(&meta, "glinet,gl-mt6000", "").is_ok());
        assert!(check_for_board(&meta, "glinet,gl-mt6000", "1.1").is_ok());
        let e = check_for_board(&meta, "tplink,archer-c7-v5", "1.0").unwrap_err();
        assert!(
            e.to_string()
                .contains("Device tplink,archer-c7-v5 not supported"),
            "{e}"
        );
        let e = check_for_board(&meta, "glinet,gl-mt6000", "2.0").unwrap_err();
        assert!(matches!(e, FwError::IncompatibleVersion { .. }));
        let mut newer = sample();
        newer.compat_version = "2.0".into();
        newer.new_supported_devices = Some(vec!["glinet,gl-mt6000".into()]);
        assert!(check_for_board(&newer, "glinet,gl-mt6000", "1.0").is_err());
        assert!(check_for_board(&newer, "glinet,gl-mt6000", "2.0").is_ok());
    }
}
