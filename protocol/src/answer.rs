//! Every answer of the build endpoints, as the existing clients read them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::upstream::{Image, Title};

/// Build phases reported while a job runs. The LuCI app throws on any value
/// outside this set, so new phases must not be added here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImagebuilderStatus {
    Init,
    ContainerSetup,
    ValidateRevision,
    ValidateManifest,
    CalculatePackagesHash,
    BuildingImage,
    SigningImages,
}

impl ImagebuilderStatus {
    pub const ALL: [ImagebuilderStatus; 7] = [
        Self::Init,
        Self::ContainerSetup,
        Self::ValidateRevision,
        Self::ValidateManifest,
        Self::CalculatePackagesHash,
        Self::BuildingImage,
        Self::SigningImages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::ContainerSetup => "container_setup",
            Self::ValidateRevision => "validate_revision",
            Self::ValidateManifest => "validate_manifest",
            Self::CalculatePackagesHash => "calculate_packages_hash",
            Self::BuildingImage => "building_image",
            Self::SigningImages => "signing_images",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Words for people, used by our own app.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Init => "Starting",
            Self::ContainerSetup => "Preparing the ImageBuilder",
            Self::ValidateRevision => "Checking the release revision",
            Self::ValidateManifest => "Resolving packages",
            Self::CalculatePackagesHash => "Checking the package set",
            Self::BuildingImage => "Building the image",
            Self::SigningImages => "Signing the images",
        }
    }
}

/// The JSON body of every build answer (`POST /api/v1/build`,
/// `GET /api/v1/build/{hash}`). A finished build also carries the merged
/// profile fields, the manifest and so on, kept in `result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BuildAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_hash: Option<String>,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imagebuilder_status: Option<ImagebuilderStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    #[serde(flatten)]
    pub result: Map<String, Value>,
}

impl BuildAnswer {
    pub fn queued(hash: &str, position: u32) -> Self {
        BuildAnswer {
            request_hash: Some(hash.into()),
            status: 202,
            detail: "queued".into(),
            queue_position: Some(position),
            ..Default::default()
        }
    }

    pub fn started(hash: &str, phase: ImagebuilderStatus) -> Self {
        BuildAnswer {
            request_hash: Some(hash.into()),
            status: 202,
            detail: "started".into(),
            imagebuilder_status: Some(phase),
            ..Default::default()
        }
    }

    /// A finished build: `result` is the builder's [`BuildResult`] as JSON.
    pub fn done(hash: &str, result: Map<String, Value>) -> Self {
        BuildAnswer { request_hash: Some(hash.into()), status: 200, detail: "done".into(), result, ..Default::default() }
    }

    /// A failed build; `detail` gets the `Error: ` prefix clients expect.
    pub fn failed(hash: &str, detail: &str, stdout: String, stderr: String) -> Self {
        let detail = if detail.starts_with("Error: ") { detail.to_string() } else { format!("Error: {detail}") };
        BuildAnswer {
            request_hash: Some(hash.into()),
            status: 500,
            detail,
            stdout: Some(stdout),
            stderr: Some(stderr),
            ..Default::default()
        }
    }

    /// A rejected request (400, 404, 422, 429 ...): nothing was queued.
    pub fn error(status: u16, detail: impl Into<String>) -> Self {
        BuildAnswer { status, detail: detail.into(), ..Default::default() }
    }

    /// The `X-Queue-Position` header value (empty when not queued).
    pub fn queue_position_header(&self) -> String {
        self.queue_position.map(|p| p.to_string()).unwrap_or_default()
    }

    /// The `X-Imagebuilder-Status` header value.
    pub fn imagebuilder_status_header(&self) -> &'static str {
        match (self.status, self.imagebuilder_status) {
            (_, Some(s)) => s.as_str(),
            (202, None) => "queued",
            (200, _) => "done",
            (500, _) => "failed",
            _ => "",
        }
    }

    /// The typed view of a finished build's fields.
    pub fn done_result(&self) -> Option<BuildResult> {
        if self.status != 200 {
            return None;
        }
        serde_json::from_value(Value::Object(self.result.clone())).ok()
    }
}

/// The fields of a finished build that clients read. The builder writes
/// this, merged over the built profile's profiles.json fields (kept in
/// `profile`) so that nothing upstream publishes is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildResult {
    pub id: String,
    pub images: Vec<Image>,
    #[serde(default)]
    pub titles: Vec<Title>,
    /// What is in the image: name -> version.
    pub manifest: std::collections::BTreeMap<String, String>,
    /// Folder under `/store/` holding the files.
    pub bin_dir: String,
    pub version_number: String,
    pub version_code: String,
    pub target: String,
    #[serde(default)]
    pub supported_devices: Vec<String>,
    #[serde(default)]
    pub image_prefix: String,
    #[serde(default)]
    pub default_packages: Vec<String>,
    /// When the image was built, ISO 8601 UTC (`2026-12-03T18:50:26Z`).
    pub build_at: String,
    pub build_cmd: Vec<String>,
    pub request: crate::request::BuildRequest,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

impl BuildResult {
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_the_wire_names() {
        let names: Vec<String> =
            ImagebuilderStatus::ALL.iter().map(|s| serde_json::to_value(s).unwrap().as_str().unwrap().to_string()).collect();
        assert_eq!(
            names,
            ["init", "container_setup", "validate_revision", "validate_manifest", "calculate_packages_hash", "building_image", "signing_images"]
        );
        for s in ImagebuilderStatus::ALL {
            assert_eq!(ImagebuilderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ImagebuilderStatus::parse("compiling"), None);
    }

    #[test]
    fn queued_and_failed_shapes() {
        let q = serde_json::to_value(BuildAnswer::queued("h", 3)).unwrap();
        assert_eq!(q, serde_json::json!({"request_hash":"h","status":202,"detail":"queued","queue_position":3}));
        let f = BuildAnswer::failed("h", "Selected packages exceed device storage", "o".into(), "e".into());
        assert_eq!(f.detail, "Error: Selected packages exceed device storage");
        assert_eq!(f.imagebuilder_status_header(), "failed");
        let e = serde_json::to_value(BuildAnswer::error(400, "version: is required")).unwrap();
        assert_eq!(e, serde_json::json!({"status":400,"detail":"version: is required"}));
    }
}
