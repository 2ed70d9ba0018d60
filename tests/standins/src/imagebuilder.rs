//! The ImageBuilder stand-in: what `make info`, `make manifest` and
//! `make image` do inside an unpacked stand-in ImageBuilder. The Makefile
//! calls `staging_dir/host/bin/imagebuilder-standin <command>` and passes
//! PROFILE, PACKAGES, ... in the environment.

use crate::fixtures::{ImageInfo, TargetProfiles};
use crate::resolve::{self, PackageIndex, Resolution};
use asu_protocol::fwtool::{self, FwMetadata};
use asu_protocol::opkg;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Stand-in data folder inside the ImageBuilder.
pub const DATA_DIR: &str = "staging_dir/standin";
pub const BIN_PATH: &str = "staging_dir/host/bin/imagebuilder-standin";
/// Seconds `make image` sleeps when `standin-hang` is selected, unless
/// STANDIN_HANG_SECONDS says otherwise.
pub const DEFAULT_HANG_SECONDS: u64 = 3600;
/// Seconds `make image` takes longer when `standin-slow` is selected, unless
/// STANDIN_SLOW_SECONDS says otherwise.
pub const DEFAULT_SLOW_SECONDS: u64 = 8;

/// `staging_dir/standin/target.json`: sizes the real ImageBuilder knows
/// from its target Makefiles.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StandinTarget {
    /// CPU architecture as `make info` prints it (`aarch64`).
    pub cpu_arch: String,
    /// Notional kernel size added to the package sizes of every image.
    pub kernel_size: u64,
    /// Default rootfs partition size (MiB) for ext4/combined images.
    pub rootfs_partsize_mb: u64,
    /// Installed-Size counts unpacked bytes; a squashfs (and the other
    /// compressing file systems) stores the root file system in about this
    /// share of it. ext4 stores it as is.
    pub compressed_rootfs_percent: u64,
    pub profiles: BTreeMap<String, StandinProfile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StandinProfile {
    /// Flash limit in bytes for sysupgrade/factory style images.
    pub image_limit: u64,
    /// Images this device produces, named as upstream does.
    pub images: Vec<ImageInfo>,
}

/// Variables the Makefile passes on.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub profile: String,
    pub packages: String,
    pub bin_dir: String,
    pub files: String,
    pub extra_image_name: String,
    pub rootfs_partsize: String,
    pub disabled_services: String,
    pub strip_abi: bool,
}

impl Vars {
    pub fn from_env() -> Self {
        let get = |k: &str| std::env::var(k).unwrap_or_default();
        Vars {
            profile: get("PROFILE"),
            packages: get("PACKAGES"),
            bin_dir: get("BIN_DIR"),
            files: get("FILES"),
            extra_image_name: get("EXTRA_IMAGE_NAME"),
            rootfs_partsize: get("ROOTFS_PARTSIZE"),
            disabled_services: get("DISABLED_SERVICES"),
            strip_abi: matches!(get("STRIP_ABI").trim(), "1" | "y" | "yes"),
        }
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Default, Clone)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Output {
    fn fail(mut self, code: i32) -> Self {
        self.code = code;
        self
    }
}

/// An unpacked stand-in ImageBuilder.
pub struct ImageBuilder {
    pub topdir: PathBuf,
    pub profiles: TargetProfiles,
    pub target: StandinTarget,
    pub index: PackageIndex,
    /// Notes about feeds that could not be read (printed on stderr).
    pub feed_warnings: Vec<String>,
    /// The feeds repositories.conf named, in its order.
    pub feeds: Vec<Feed>,
}

/// One `src`/`src/gz` line of repositories.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub name: String,
    pub url: String,
    pub gzip: bool,
}

impl Feed {
    /// The index opkg downloads for this feed.
    pub fn index_url(&self) -> String {
        let file = if self.gzip { "Packages.gz" } else { "Packages" };
        format!("{}/{file}", self.url.trim_end_matches('/'))
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl ImageBuilder {
    pub fn open(topdir: &Path) -> io::Result<Self> {
        let data = topdir.join(DATA_DIR);
        let text = fs::read_to_string(data.join("profiles.json"))?;
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("version_number")
                    .and_then(|s| s.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let profiles = TargetProfiles::parse(&version, &text)?;
        let target: StandinTarget =
            serde_json::from_str(&fs::read_to_string(data.join("target.json"))?)
                .map_err(|e| invalid(format!("target.json: {e}")))?;
        let (entries, feed_warnings, feeds) = load_feeds(topdir)?;
        Ok(ImageBuilder {
            topdir: topdir.to_path_buf(),
            profiles,
            target,
            index: PackageIndex::new(entries),
            feed_warnings,
            feeds,
        })
    }

    /// `make info`
    pub fn info(&self) -> Output {
        let p = &self.profiles;
        let mut s = String::new();
        s.push_str(&format!("Current Target: \"{}\"\n", p.target));
        s.push_str(&format!(
            "Current Architecture: \"{}\"\n",
            self.target.cpu_arch
        ));
        s.push_str(&format!("Current Revision: \"{}\"\n", p.version_code));
        s.push_str(&format!(
            "Default Packages: {}\n",
            p.default_packages.join(" ")
        ));
        s.push_str("Available Profiles:\n\n");
        for (id, prof) in &p.profiles {
            s.push_str(&format!("{id}:\n"));
            s.push_str(&format!("    {}\n", title_of(prof.titles.first())));
            s.push_str(&format!(
                "    Packages: {}\n",
                prof.device_packages.join(" ")
            ));
            s.push_str(&format!(
                "    hasImageMetadata: {}\n",
                u8::from(!prof.supported_devices.is_empty())
            ));
            s.push_str(&format!(
                "    SupportedDevices: {}\n",
                prof.supported_devices.join(" ")
            ));
            s.push('\n');
        }
        Output {
            stdout: s,
            ..Default::default()
        }
    }

    fn unknown_profile(&self, profile: &str) -> Output {
        Output {
            stdout: format!(
                "Profile \"{profile}\" does not exist!\nUse \"make info\" to get a list of available profile names.\n"
            ),
            code: 1,
            ..Default::default()
        }
    }

    /// The package list for a build: defaults + device packages + user's.
    pub fn world_for(&self, profile: &str, packages: &str) -> Option<Vec<String>> {
        let prof = self.profiles.profiles.get(profile)?;
        let parts = self
            .profiles
            .default_packages
            .iter()
            .map(String::as_str)
            .chain(prof.device_packages.iter().map(String::as_str))
            .chain(packages.split_whitespace());
        Some(resolve::wanted_list(parts))
    }

    fn resolve_for(&self, vars: &Vars) -> Result<Resolution, Output> {
        let Some(world) = self.world_for(&vars.profile, &vars.packages) else {
            return Err(self.unknown_profile(&vars.profile));
        };
        resolve::resolve(&self.index, &world).map_err(|e| Output {
            stderr: format!("{}{e}", self.warnings()),
            code: 255,
            ..Default::default()
        })
    }

    fn warnings(&self) -> String {
        self.feed_warnings
            .iter()
            .map(|w| format!("{w}\n"))
            .collect()
    }

    /// `make manifest`
    pub fn manifest(&self, vars: &Vars) -> Output {
        match self.resolve_for(vars) {
            Err(o) => o,
            Ok(r) => {
                let mut stdout = r.manifest_lines(vars.strip_abi).join("\n");
                stdout.push('\n');
                Output {
                    stdout,
                    stderr: self.warnings(),
                    ..Default::default()
                }
            }
        }
    }

    /// `make image`: resolves, then writes images, manifest, profiles.json
    /// and sha256sums into BIN_DIR.
    pub fn image(&self, vars: &Vars) -> Output {
        let r = match self.resolve_for(vars) {
            Err(o) => return o,
            Ok(r) => r,
        };
        let prof = &self.profiles.profiles[&vars.profile];
        let mut out = Output {
            stderr: self.warnings(),
            ..Default::default()
        };

        let partsize_mb = match vars.rootfs_partsize.trim() {
            "" => None,
            s => match s.parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    out.stderr.push_str(&format!(
                        "ROOTFS_PARTSIZE must be a positive number of MiB, got \"{s}\"\n"
                    ));
                    return out.fail(1);
                }
            },
        };
        let files = match read_files(&self.topdir, &vars.files) {
            Ok(f) => f,
            Err(e) => {
                out.stderr.push_str(&format!("{e}\n"));
                return out.fail(1);
            }
        };
        let (t, st) = self.profiles.target_parts();
        let bin_dir = if vars.bin_dir.trim().is_empty() {
            self.topdir.join("bin/targets").join(t).join(st)
        } else {
            let b = Path::new(vars.bin_dir.trim());
            if b.is_absolute() {
                b.to_path_buf()
            } else {
                self.topdir.join(b)
            }
        };
        if let Err(e) = fs::create_dir_all(&bin_dir) {
            out.stderr
                .push_str(&format!("cannot create {}: {e}\n", bin_dir.display()));
            return out.fail(1);
        }

        let title = title_of(prof.titles.first());
        out.stdout
            .push_str(&format!("Building images for {t} - {title}\n"));
        // What `opkg update` prints as it fetches each feed's index.
        for feed in &self.feeds {
            out.stdout
                .push_str(&format!("Downloading {}\n", feed.index_url()));
        }
        out.stdout
            .push_str(&format!("Packages: {}\n\n", r.world.join(" ")));
        out.stdout.push_str(&format!(
            "Installing {} packages into the image root\n",
            r.installed.len()
        ));

        let prefix = image_prefix(
            &prof.image_prefix,
            &self.profiles.version_number,
            vars.extra_image_name.trim(),
        );
        let raw_rootfs = r.installed_size();
        let disabled: Vec<String> = vars
            .disabled_services
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let kernel_version = r
            .installed
            .get("kernel")
            .map(|k| k.version.clone())
            .unwrap_or_default();

        let images = self
            .target
            .profiles
            .get(&vars.profile)
            .map(|p| p.images.clone())
            .unwrap_or_default();
        let mut written: Vec<(ImageInfo, String, String)> = Vec::new(); // info, sha256, sha256_unsigned
        let mut sums: Vec<(String, String)> = Vec::new();
        for img in images {
            let suffix = img
                .name
                .strip_prefix(&prof.image_prefix)
                .unwrap_or(&img.name);
            let name = format!("{prefix}{suffix}");
            let path = bin_dir.join(&name);
            let body = serde_json::json!({
                "standin_image": 1,
                "version": self.profiles.version_number,
                "revision": self.profiles.version_code,
                "target": self.profiles.target,
                "profile": vars.profile,
                "image_type": img.kind,
                "filesystem": img.filesystem,
                "kernel": kernel_version,
                "source_date_epoch": self.profiles.source_date_epoch(),
                "installed": r.installed_without_abi(),
                "world": r.world,
                "world_installed": r.world_without_abi(),
                "files": files,
                "disabled_services": disabled,
                "notional_size": notional(&self.target, &img, raw_rootfs).1,
                "repositories": self.feeds.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            });
            let mut bytes = serde_json::to_vec_pretty(&body).expect("body serialises");
            bytes.push(b'\n');
            let unsigned = hex::encode(Sha256::digest(&bytes));
            if wants_metadata(&img.kind) {
                let supported = if prof.supported_devices.is_empty() {
                    vec![vars.profile.clone()]
                } else {
                    prof.supported_devices.clone()
                };
                let p = &self.profiles;
                let meta = FwMetadata::openwrt(supported, &p.version_number, &p.version_code, &p.target, &vars.profile);
                fwtool::append_metadata(&mut bytes, &meta);
            }
            if let Err(e) = fs::write(&path, &bytes) {
                out.stderr
                    .push_str(&format!("cannot write {}: {e}\n", path.display()));
                return out.fail(1);
            }
            // The size check of the real image recipes, on the notional size.
            if let Some(limit) = size_limit(
                &img,
                prof_limit(&self.target, &vars.profile),
                partsize_mb,
                self.target.rootfs_partsize_mb,
            ) {
                let (rootfs, full) = notional(&self.target, &img, raw_rootfs);
                let size = if uses_partsize(&img) { rootfs } else { full };
                if size > limit {
                    out.stderr.push_str(&format!(
                        "WARNING: Image file {} is too big: {size} > {limit}\n",
                        path.display()
                    ));
                    let _ = fs::remove_file(&path);
                    continue;
                }
            }
            let sha = hex::encode(Sha256::digest(&bytes));
            sums.push((name.clone(), sha.clone()));
            written.push((ImageInfo { name, ..img }, sha, unsigned));
        }

        // Manifest with the real (ABI-suffixed) names, like the real one.
        let manifest_name = format!("{prefix}.manifest");
        let manifest = r.manifest_lines(false).join("\n") + "\n";
        // profiles.json: top level plus only this profile.
        let mut pj = self.profiles.raw.clone();
        let mut prof_json = pj["profiles"][&vars.profile].clone();
        prof_json["image_prefix"] = serde_json::Value::String(prefix.clone());
        prof_json["images"] = serde_json::Value::Array(
            written
                .iter()
                .map(|(i, sha, unsigned)| {
                    let mut o = serde_json::json!({"name": i.name, "type": i.kind, "sha256": sha, "sha256_unsigned": unsigned});
                    if let Some(fs) = &i.filesystem {
                        o["filesystem"] = serde_json::Value::String(fs.clone());
                    }
                    o
                })
                .collect(),
        );
        pj["profiles"] = serde_json::json!({ vars.profile.clone(): prof_json });
        let pj_text = serde_json::to_string_pretty(&pj).expect("profiles serialise") + "\n";
        for (name, content) in [
            (manifest_name.as_str(), manifest.as_bytes()),
            ("profiles.json", pj_text.as_bytes()),
        ] {
            if let Err(e) = fs::write(bin_dir.join(name), content) {
                out.stderr.push_str(&format!("cannot write {name}: {e}\n"));
                return out.fail(1);
            }
            sums.push((name.to_string(), hex::encode(Sha256::digest(content))));
        }
        sums.sort();
        let sums_text: String = sums.iter().map(|(n, h)| format!("{h} *{n}\n")).collect();
        if let Err(e) = fs::write(bin_dir.join("sha256sums"), sums_text) {
            out.stderr
                .push_str(&format!("cannot write sha256sums: {e}\n"));
            return out.fail(1);
        }
        out.stdout.push_str("Calculating checksums...\n");
        out
    }
}

/// Notional (rootfs, rootfs + kernel) size of an image, in bytes.
fn notional(t: &StandinTarget, img: &ImageInfo, installed: u64) -> (u64, u64) {
    let rootfs = match img.filesystem.as_deref() {
        Some("ext4") | None => installed,
        _ => installed * t.compressed_rootfs_percent / 100,
    };
    (rootfs, rootfs + t.kernel_size)
}

fn prof_limit(t: &StandinTarget, profile: &str) -> u64 {
    t.profiles
        .get(profile)
        .map(|p| p.image_limit)
        .unwrap_or(u64::MAX)
}

/// Images that carry a fwtool metadata trailer.
pub fn wants_metadata(kind: &str) -> bool {
    kind == "sysupgrade" || kind.ends_with("-sysupgrade") || kind.starts_with("combined")
}

fn uses_partsize(img: &ImageInfo) -> bool {
    img.kind.starts_with("combined")
        || img.kind == "rootfs"
        || img.filesystem.as_deref() == Some("ext4")
}

/// The limit an image is checked against, if any: none for kernels,
/// initramfs and boot loader blobs.
fn size_limit(
    img: &ImageInfo,
    device_limit: u64,
    partsize_mb: Option<u64>,
    default_partsize_mb: u64,
) -> Option<u64> {
    match img.filesystem.as_deref() {
        None | Some("initramfs") => None,
        Some(_) if uses_partsize(img) => {
            Some(partsize_mb.unwrap_or(default_partsize_mb) * 1024 * 1024)
        }
        Some(_) => Some(device_limit),
    }
}

/// `openwrt-23.05.4-mediatek-filogic-glinet_gl-mt6000` with EXTRA_IMAGE_NAME
/// `abc` -> `openwrt-23.05.4-abc-mediatek-filogic-glinet_gl-mt6000`.
pub fn image_prefix(upstream_prefix: &str, version: &str, extra: &str) -> String {
    if extra.is_empty() {
        return upstream_prefix.to_string();
    }
    let with_version = format!("openwrt-{}-", version.to_ascii_lowercase());
    if let Some(rest) = upstream_prefix.strip_prefix(&with_version) {
        format!("{with_version}{extra}-{rest}")
    } else if let Some(rest) = upstream_prefix.strip_prefix("openwrt-") {
        format!("openwrt-{extra}-{rest}")
    } else {
        format!("{extra}-{upstream_prefix}")
    }
}

pub fn title_of(t: Option<&serde_json::Value>) -> String {
    let Some(t) = t else { return String::new() };
    if let Some(s) = t.get("title").and_then(|v| v.as_str()) {
        return s.to_string();
    }
    ["vendor", "model", "variant"]
        .iter()
        .filter_map(|k| t.get(*k).and_then(|v| v.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads repositories.conf and the indexes it names. Remote feeds come from
/// the copies bundled under staging_dir/standin/feeds/<name>/; `file:` feeds
/// are read from disk (relative paths from the ImageBuilder folder).
pub fn load_feeds(
    topdir: &Path,
) -> io::Result<(Vec<opkg::PackageEntry>, Vec<String>, Vec<Feed>)> {
    let conf = fs::read_to_string(topdir.join("repositories.conf"))?;
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let mut feeds = Vec::new();
    for line in conf.lines() {
        let mut words = line.split_whitespace();
        let (Some(kind), Some(name), Some(url)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        if kind != "src" && kind != "src/gz" {
            continue;
        }
        feeds.push(Feed {
            name: name.to_string(),
            url: url.to_string(),
            gzip: kind == "src/gz",
        });
        let dir = if let Some(p) = url.strip_prefix("file://") {
            PathBuf::from(p)
        } else if let Some(p) = url.strip_prefix("file:") {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                topdir.join(p)
            }
        } else {
            topdir.join(DATA_DIR).join("feeds").join(name)
        };
        match fs::read_to_string(dir.join("Packages")) {
            Ok(text) => match opkg::parse_packages(&text) {
                Ok(mut e) => entries.append(&mut e),
                Err(e) => warnings.push(format!(" * pkg_hash_add_from_file: {name}: {e}")),
            },
            Err(_) => warnings.push(format!(
                " * opkg_download: Failed to download {url}/Packages.gz, wget returned 8."
            )),
        }
    }
    Ok((entries, warnings, feeds))
}

/// FILES folder -> {relative path: content}.
fn read_files(topdir: &Path, files: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let files = files.trim();
    if files.is_empty() {
        return Ok(out);
    }
    let root = if Path::new(files).is_absolute() {
        PathBuf::from(files)
    } else {
        topdir.join(files)
    };
    if !root.is_dir() {
        return Err(format!("FILES folder {} does not exist", root.display()));
    }
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> Result<(), String> {
        let mut list: Vec<_> = fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .collect();
        list.sort_by_key(|e| e.file_name());
        for e in list {
            let p = e.path();
            let ft = e.file_type().map_err(|e| e.to_string())?;
            if ft.is_dir() {
                walk(root, &p, out)?;
            } else if ft.is_file() {
                let rel = p.strip_prefix(root).map_err(|e| e.to_string())?;
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let content = fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                out.insert(key, String::from_utf8_lossy(&content).into_owned());
            }
        }
        Ok(())
    }
    walk(&root, &root, &mut out)?;
    Ok(out)
}

/// Entry point of the `imagebuilder-standin` binary.
pub fn run(command: &str, topdir: &Path, vars: &Vars) -> Output {
    let ib = match ImageBuilder::open(topdir) {
        Ok(ib) => ib,
        Err(e) => {
            return Output {
                stderr: format!("imagebuilder-standin: cannot read the ImageBuilder data: {e}\n"),
                code: 1,
                ..Default::default()
            };
        }
    };
    match command {
        "info" => ib.info(),
        "manifest" => ib.manifest(vars),
        "image" => {
            if vars.profile.trim().is_empty() {
                return Output {
                    stdout: "Profile \"\" does not exist!\n".into(),
                    code: 1,
                    ..Default::default()
                };
            }
            if let Ok(r) = ib.resolve_for(vars) {
                let knobs = [
                    (
                        crate::curated::HANG_PACKAGE,
                        "STANDIN_HANG_SECONDS",
                        DEFAULT_HANG_SECONDS,
                    ),
                    (
                        crate::curated::SLOW_PACKAGE,
                        "STANDIN_SLOW_SECONDS",
                        DEFAULT_SLOW_SECONDS,
                    ),
                ];
                for (package, var, default) in knobs {
                    if r.installed.contains_key(package) {
                        let secs = std::env::var(var)
                            .ok()
                            .and_then(|s| s.trim().parse().ok())
                            .unwrap_or(default);
                        eprintln!("{package} selected: sleeping {secs} s before building");
                        std::thread::sleep(std::time::Duration::from_secs(secs));
                    }
                }
            }
            ib.image(vars)
        }
        other => Output {
            stderr: format!("imagebuilder-standin: unknown command {other:?}\n"),
            code: 2,
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let p = "openwrt-23.05.4-mediatek-filogic-glinet_gl-mt6000";
        assert_eq!(image_prefix(p, "23.05.4", ""), p);
        assert_eq!(
            image_prefix(p, "23.05.4", "asu"),
            "openwrt-23.05.4-asu-mediatek-filogic-glinet_gl-mt6000"
        );
        assert_eq!(
            image_prefix("openwrt-x86-64-generic", "22.03-SNAPSHOT", "x"),
            "openwrt-x-x86-64-generic"
        );
    }

    #[test]
    fn metadata_types() {
        assert!(wants_metadata("sysupgrade"));
        assert!(wants_metadata("WN573HX3-sysupgrade"));
        assert!(wants_metadata("combined-efi"));
        assert!(!wants_metadata("factory"));
        assert!(!wants_metadata("kernel"));
    }
}
