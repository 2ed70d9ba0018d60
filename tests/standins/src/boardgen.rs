//! Builds a virtual router's board file from the generated indexes: the
//! packages an image of that release, profile and package list would hold.

use crate::fixtures::Fixtures;
use crate::imagebuilder::title_of;
use crate::mirror;
use crate::releases;
use crate::resolve::{self, PackageIndex};
use crate::router::{BoardFile, Packages};
use std::io;

#[derive(Debug, Clone)]
pub struct BoardSpec {
    pub release: String,
    pub target: String,
    pub profile: String,
    pub user_packages: Vec<String>,
    /// CPU description `system board` shows.
    pub system: String,
    pub rootfs_type: String,
    pub efi: bool,
    /// Overrides the board name (default: the profile's first supported
    /// device; x86 routers report a DMI name instead).
    pub board_name: Option<String>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

pub fn board_file(fx: &Fixtures, spec: &BoardSpec) -> io::Result<BoardFile> {
    let release = releases::find(&spec.release)
        .ok_or_else(|| invalid(format!("unknown release {}", spec.release)))?;
    let targets = fx.targets(&spec.release)?;
    let t = targets
        .iter()
        .find(|t| t.target == spec.target)
        .ok_or_else(|| invalid(format!("no target {} in {}", spec.target, spec.release)))?;
    let prof = t
        .profiles
        .get(&spec.profile)
        .ok_or_else(|| invalid(format!("no profile {}", spec.profile)))?;
    let idx = mirror::release_indexes(fx, release, &targets)?;
    let index = PackageIndex::new(
        idx.all_for_target(&t.target, &t.arch_packages)
            .into_iter()
            .cloned(),
    );
    let parts = t
        .default_packages
        .iter()
        .chain(prof.device_packages.iter())
        .chain(spec.user_packages.iter())
        .map(String::as_str);
    let world = resolve::wanted_list(parts);
    let r = resolve::resolve(&index, &world).map_err(|e| invalid(e.to_string()))?;
    let kernel = r
        .installed
        .get("kernel")
        .map(|k| k.version.split(['-', '~']).next().unwrap_or("").to_string())
        .unwrap_or_default();
    let board_name = spec
        .board_name
        .clone()
        .or_else(|| prof.supported_devices.first().cloned())
        .unwrap_or_else(|| spec.profile.replacen('_', ",", 1));
    let model = title_of(prof.titles.first());
    let description = format!("OpenWrt {} {}", t.version_number, t.version_code);
    Ok(BoardFile {
        board: serde_json::json!({
            "kernel": kernel,
            "hostname": "OpenWrt",
            "system": spec.system,
            "model": model,
            "board_name": board_name,
            "rootfs_type": spec.rootfs_type,
            "release": {
                "distribution": "OpenWrt",
                "version": t.version_number,
                "revision": t.version_code,
                "target": t.target,
                "description": description,
                "builddate": t.source_date_epoch().to_string(),
            },
        }),
        compat_version: "1.0".into(),
        efi: spec.efi,
        // Targets whose profiles name no devices (x86) do not check them.
        require_image_metadata: !prof.supported_devices.is_empty(),
        packages: Packages {
            world: r.world_without_abi(),
            all: r.installed_without_abi(),
        },
        flashed_image: None,
    })
}

/// The GL.iNet GL-MT6000 on 23.05.4 that tests and the demo upgrade.
pub fn gl_mt6000_spec() -> BoardSpec {
    BoardSpec {
        release: "23.05.4".into(),
        target: "mediatek/filogic".into(),
        profile: "glinet_gl-mt6000".into(),
        user_packages: [
            "luci",
            "luci-app-attendedsysupgrade",
            "tcpdump",
            "wireguard-tools",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        system: "ARMv8 Processor rev 4".into(),
        rootfs_type: "squashfs".into(),
        efi: false,
        board_name: None,
    }
}
