//! Read access to the fixture tree (/work/shared/fixtures/upstream): the
//! releases and targets present and their profiles.json files.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Fixtures {
    pub root: PathBuf,
}

/// The parts of one profile the stand-ins use; the full JSON stays in
/// `TargetProfiles::raw`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProfileInfo {
    #[serde(default)]
    pub device_packages: Vec<String>,
    pub image_prefix: String,
    #[serde(default)]
    pub images: Vec<ImageInfo>,
    #[serde(default)]
    pub supported_devices: Vec<String>,
    #[serde(default)]
    pub titles: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct ImageInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One target's profiles.json.
#[derive(Debug, Clone)]
pub struct TargetProfiles {
    pub release: String,
    /// `target/subtarget`
    pub target: String,
    pub arch_packages: String,
    pub default_packages: Vec<String>,
    pub version_code: String,
    pub version_number: String,
    pub profiles: BTreeMap<String, ProfileInfo>,
    pub raw: serde_json::Value,
}

#[derive(Deserialize)]
struct ProfilesFile {
    arch_packages: String,
    #[serde(default)]
    default_packages: Vec<String>,
    target: String,
    version_code: String,
    version_number: String,
    profiles: BTreeMap<String, ProfileInfo>,
}

impl TargetProfiles {
    pub fn parse(release: &str, text: &str) -> io::Result<Self> {
        let raw: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let f: ProfilesFile = serde_json::from_value(raw.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(TargetProfiles {
            release: release.to_string(),
            target: f.target,
            arch_packages: f.arch_packages,
            default_packages: f.default_packages,
            version_code: f.version_code,
            version_number: f.version_number,
            profiles: f.profiles,
            raw,
        })
    }

    pub fn linux_kernel_vermagic(&self) -> Option<String> {
        self.raw
            .pointer("/linux_kernel/vermagic")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// (version, release) from `linux_kernel`, where profiles.json has it.
    pub fn linux_kernel_version(&self) -> Option<(String, String)> {
        let v = self.raw.pointer("/linux_kernel/version")?.as_str()?;
        let r = self
            .raw
            .pointer("/linux_kernel/release")
            .and_then(|r| r.as_str())
            .unwrap_or("1");
        Some((v.to_string(), r.to_string()))
    }

    pub fn target_parts(&self) -> (&str, &str) {
        self.target.split_once('/').unwrap_or((&self.target, ""))
    }

    pub fn source_date_epoch(&self) -> u64 {
        self.raw
            .get("source_date_epoch")
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    }
}

impl Fixtures {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Fixtures { root: root.into() }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    pub fn read_string(&self, rel: &str) -> io::Result<String> {
        fs::read_to_string(self.path(rel))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path(rel).display())))
    }

    /// Release folders under releases/, sorted.
    pub fn releases(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.path("releases"))? {
            let e = e?;
            if e.file_type()?.is_dir() {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every `targets/<t>/<st>/profiles.json` of a release, sorted by target.
    pub fn targets(&self, release: &str) -> io::Result<Vec<TargetProfiles>> {
        let base = self.path(&format!("releases/{release}/targets"));
        let mut out = Vec::new();
        for t in sorted_dirs(&base)? {
            for st in sorted_dirs(&base.join(&t))? {
                let p = base.join(&t).join(&st).join("profiles.json");
                if p.exists() {
                    let text = fs::read_to_string(&p)?;
                    out.push(TargetProfiles::parse(release, &text)?);
                }
            }
        }
        Ok(out)
    }

    /// Every file under the fixture root, as paths relative to it, sorted.
    pub fn all_files(&self) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        walk(&self.root, Path::new(""), &mut out)?;
        out.sort();
        Ok(out)
    }
}

fn sorted_dirs(dir: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for e in fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for e in fs::read_dir(root.join(rel))? {
        let e = e?;
        let r = rel.join(e.file_name());
        if e.file_type()?.is_dir() {
            walk(root, &r, out)?;
        } else {
            out.push(r);
        }
    }
    Ok(())
}

/// Where the fixtures live relative to this crate (the repository's
/// sibling `shared/` folder), for tests and defaults.
pub fn default_fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/upstream")
}
