//! Packs a stand-in ImageBuilder: a real GNU Makefile, the stand-in binary,
//! the target's profiles.json, bundled package indexes, repositories.conf
//! and `.config`, under the top folder a real ImageBuilder archive has.
//! Archives are byte-for-byte reproducible (sorted entries, fixed mtime,
//! owner root) and cached by a hash of their inputs.

use crate::catalog::ReleaseIndexes;
use crate::fixtures::{ImageInfo, TargetProfiles};
use crate::imagebuilder::{StandinProfile, StandinTarget, BIN_PATH, DATA_DIR};
use crate::releases::{self, Release};
use asu_protocol::opkg::{self, PackageEntry};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Where production ImageBuilders point their feeds.
pub const UPSTREAM_BASE: &str = "https://downloads.openwrt.org";
pub const MAKEFILE: &str = include_str!("../assets/imagebuilder.mk");
/// Bump when the archive layout changes, so cached archives are rebuilt.
const LAYOUT_VERSION: &str = "standin-archive-1";

/// One file in the archive, path relative to the top folder.
#[derive(Debug, Clone)]
pub struct ArchiveFile {
    pub path: String,
    pub mode: u32,
    pub data: Vec<u8>,
}

/// `openwrt-imagebuilder-23.05.4-mediatek-filogic.Linux-x86_64`
pub fn top_folder(release: &Release, target: &str) -> String {
    let (t, st) = target.split_once('/').unwrap_or((target, ""));
    format!(
        "openwrt-imagebuilder-{}-{t}-{st}.Linux-x86_64",
        release.version.to_ascii_lowercase()
    )
}

pub fn archive_name(release: &Release, target: &str) -> String {
    format!("{}.{}", top_folder(release, target), release.archive_ext)
}

/// Flash sizes the stand-in enforces: ath79/tiny devices have 4 MiB of
/// flash (the defaults fit, a LuCI build does not), everything else is
/// generous. Image sizes are notional: kernel size plus the installed
/// sizes of the packages, compressed for squashfs (see StandinTarget).
pub fn standin_target(target: &TargetProfiles) -> StandinTarget {
    let tiny = target.target == "ath79/tiny";
    let kernel_size = match target.target.split('/').next().unwrap_or("") {
        "ath79" => 1_450_000,
        "x86" => 6_500_000,
        _ => 5_200_000,
    };
    let image_limit = match target.target.as_str() {
        "ath79/tiny" => 3_866_624,     // 3776k, like the real 4 MiB devices
        "ath79/generic" => 16_121_856, // 15744k
        _ => 128 * 1024 * 1024,
    };
    let profiles = target
        .profiles
        .iter()
        .map(|(id, p)| {
            let mut images = p.images.clone();
            // Upstream lists only the initramfs kernel for the tiny devices
            // because their sysupgrade image did not fit; the stand-in still
            // tries to build one, so a too-big build is visible.
            let has_sysupgrade = images.iter().any(|i| i.kind == "sysupgrade");
            if tiny && !has_sysupgrade {
                images.push(ImageInfo {
                    filesystem: Some("squashfs".into()),
                    name: format!("{}-squashfs-sysupgrade.bin", p.image_prefix),
                    kind: "sysupgrade".into(),
                });
            }
            (
                id.clone(),
                StandinProfile {
                    image_limit,
                    images,
                },
            )
        })
        .collect();
    StandinTarget {
        cpu_arch: releases::cpu_arch(&target.arch_packages).to_string(),
        kernel_size,
        rootfs_partsize_mb: 104,
        compressed_rootfs_percent: 55,
        profiles,
    }
}

fn dot_config(release: &Release, target: &TargetProfiles) -> String {
    let (t, st) = target.target_parts();
    let mut s = String::new();
    s.push_str(&format!("CONFIG_TARGET_{t}=y\nCONFIG_TARGET_{t}_{st}=y\n"));
    if target.profiles.len() > 1 {
        s.push_str("CONFIG_TARGET_MULTI_PROFILE=y\nCONFIG_TARGET_PER_DEVICE_ROOTFS=y\n");
    }
    for id in target.profiles.keys() {
        s.push_str(&format!("CONFIG_TARGET_DEVICE_{t}_{st}_DEVICE_{id}=y\n"));
    }
    s.push_str(&format!(
        "CONFIG_TARGET_BOARD=\"{t}\"\nCONFIG_TARGET_SUBTARGET=\"{st}\"\n"
    ));
    s.push_str(&format!(
        "CONFIG_TARGET_ARCH_PACKAGES=\"{}\"\n",
        target.arch_packages
    ));
    s.push_str(&format!(
        "CONFIG_ARCH=\"{}\"\n",
        releases::cpu_arch(&target.arch_packages)
    ));
    s.push_str(&format!(
        "CONFIG_VERSION_DIST=\"OpenWrt\"\nCONFIG_VERSION_NUMBER=\"{}\"\n",
        release.version
    ));
    s.push_str(&format!(
        "CONFIG_VERSION_CODE=\"{}\"\n",
        target.version_code
    ));
    s.push_str("CONFIG_TARGET_ROOTFS_SQUASHFS=y\nCONFIG_TARGET_ROOTFS_PARTSIZE=104\n");
    if t == "x86" {
        s.push_str(
            "CONFIG_TARGET_ROOTFS_EXT4FS=y\nCONFIG_GRUB_IMAGES=y\nCONFIG_GRUB_EFI_IMAGES=y\n",
        );
    }
    s
}

/// Feed name, production URL and entries, in repositories.conf order.
pub fn feeds_for(
    release: &Release,
    target: &TargetProfiles,
    idx: &ReleaseIndexes,
) -> Vec<(String, String, Vec<PackageEntry>)> {
    let v = release.version;
    let arch = &target.arch_packages;
    let mut out = vec![(
        "openwrt_core".to_string(),
        format!(
            "{UPSTREAM_BASE}/releases/{v}/targets/{}/packages",
            target.target
        ),
        idx.target_feeds
            .get(&target.target)
            .cloned()
            .unwrap_or_default(),
    )];
    if let Some(feeds) = idx.arch_feeds.get(arch) {
        for feed in ["base", "luci", "packages"] {
            if let Some(entries) = feeds.get(feed) {
                out.push((
                    format!("openwrt_{feed}"),
                    format!("{UPSTREAM_BASE}/releases/{v}/packages/{arch}/{feed}"),
                    entries.clone(),
                ));
            }
        }
    }
    out
}

/// The files of one ImageBuilder archive, sorted by path.
pub fn archive_files(
    release: &Release,
    target: &TargetProfiles,
    profiles_json: &str,
    idx: &ReleaseIndexes,
    binary: &[u8],
) -> Vec<ArchiveFile> {
    let mut files = Vec::new();
    let file = |path: &str, mode: u32, data: Vec<u8>| ArchiveFile {
        path: path.to_string(),
        mode,
        data,
    };
    files.push(file("Makefile", 0o644, MAKEFILE.as_bytes().to_vec()));
    files.push(file(
        ".config",
        0o644,
        dot_config(release, target).into_bytes(),
    ));
    let feeds = feeds_for(release, target, idx);
    let mut conf = String::from(
        "## Place your custom repositories here, they must match the architecture and version.\n",
    );
    for (name, url, entries) in &feeds {
        conf.push_str(&format!("src/gz {name} {url}\n"));
        files.push(file(
            &format!("{DATA_DIR}/feeds/{name}/Packages"),
            0o644,
            opkg::write_packages(entries).into_bytes(),
        ));
    }
    conf.push_str("\n## This is the local package repository, do not remove!\nsrc imagebuilder file:packages\n\noption check_signature\n");
    files.push(file("repositories.conf", 0o644, conf.into_bytes()));
    let local = idx.local.get(&target.target).cloned().unwrap_or_default();
    files.push(file(
        "packages/Packages",
        0o644,
        opkg::write_packages(&local).into_bytes(),
    ));
    files.push(file(BIN_PATH, 0o755, binary.to_vec()));
    files.push(file(
        &format!("{DATA_DIR}/profiles.json"),
        0o644,
        profiles_json.as_bytes().to_vec(),
    ));
    let st =
        serde_json::to_string_pretty(&standin_target(target)).expect("target serialises") + "\n";
    files.push(file(
        &format!("{DATA_DIR}/target.json"),
        0o644,
        st.into_bytes(),
    ));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Hash of everything that goes into an archive.
pub fn inputs_hash(ext: &str, files: &[ArchiveFile], mtime: u64) -> String {
    let mut h = Sha256::new();
    h.update(LAYOUT_VERSION.as_bytes());
    h.update(ext.as_bytes());
    h.update(mtime.to_be_bytes());
    for f in files {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(f.mode.to_be_bytes());
        h.update((f.data.len() as u64).to_be_bytes());
        h.update(&f.data);
    }
    hex::encode(h.finalize())
}

fn header(size: u64, mode: u32, mtime: u64, dir: bool) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_username("root")?;
    h.set_groupname("root")?;
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    Ok(h)
}

/// Writes the tar stream (top folder, its directories, the files).
pub fn write_tar<W: Write>(w: W, top: &str, files: &[ArchiveFile], mtime: u64) -> io::Result<W> {
    let mut b = tar::Builder::new(w);
    let mut dirs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    dirs.insert(format!("{top}/"));
    for f in files {
        let mut p = f.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(format!("{top}/{parent}/"));
            p = parent;
        }
    }
    for d in &dirs {
        // append_data sets the path (GNU long names where needed) and checksum.
        b.append_data(&mut header(0, 0o755, mtime, true)?, d, io::empty())?;
    }
    for f in files {
        let path = format!("{top}/{}", f.path);
        b.append_data(
            &mut header(f.data.len() as u64, f.mode, mtime, false)?,
            &path,
            f.data.as_slice(),
        )?;
    }
    b.into_inner()
}

/// Compresses and writes the archive to `dest` (via a temporary file).
pub fn write_archive(
    dest: &Path,
    ext: &str,
    top: &str,
    files: &[ArchiveFile],
    mtime: u64,
) -> io::Result<()> {
    let tmp = dest.with_extension("partial");
    let res = write_compressed(&tmp, ext, top, files, mtime);
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res?;
    fs::rename(&tmp, dest)
}

fn write_compressed(
    tmp: &Path,
    ext: &str,
    top: &str,
    files: &[ArchiveFile],
    mtime: u64,
) -> io::Result<()> {
    {
        let out = io::BufWriter::new(fs::File::create(tmp)?);
        match ext {
            "tar.xz" => {
                let enc = xz2::write::XzEncoder::new(out, 6);
                let enc = write_tar(enc, top, files, mtime)?;
                enc.finish()?.flush()?;
            }
            "tar.zst" => {
                let enc = zstd::stream::write::Encoder::new(out, 12)?;
                let enc = write_tar(enc, top, files, mtime)?;
                enc.finish()?.flush()?;
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unknown archive type {other}"),
                ))
            }
        }
    }
    Ok(())
}

/// Builds the archive unless one made from the same inputs is already
/// there. Returns true if it was (re)built.
pub fn ensure_archive(
    dest: &Path,
    cache_dir: &Path,
    ext: &str,
    top: &str,
    files: &[ArchiveFile],
    mtime: u64,
) -> io::Result<bool> {
    let hash = inputs_hash(ext, files, mtime);
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("archive");
    let stamp = cache_dir.join(format!("{name}.inputs"));
    if dest.exists()
        && fs::read_to_string(&stamp)
            .map(|s| s.trim() == hash)
            .unwrap_or(false)
    {
        return Ok(false);
    }
    fs::create_dir_all(cache_dir)?;
    write_archive(dest, ext, top, files, mtime)?;
    fs::write(&stamp, format!("{hash}\n"))?;
    Ok(true)
}
