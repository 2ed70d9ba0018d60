//! One leased job from start to completion: ImageBuilder, `make info`,
//! `make manifest`, `make image`, checks, uploads, completion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use asu_protocol::answer::{BuildResult, ImagebuilderStatus};
use asu_protocol::builder_api::{is_artifact_name, Artifact, Completion, Job, Outcome};
use asu_protocol::request::BuildRequest;
use asu_protocol::upstream::{build_packages, ProfilesJson};
use asu_protocol::validate;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::classify::classify;
use crate::config::Config;
use crate::edge::{Edge, EdgeError};
use crate::ibcache::{IbCache, IbKey};
use crate::ibinfo::{parse_info, parse_manifest};
use crate::jobcheck::{check_job, is_request_hash};
use crate::log;
use crate::runner::{self, make_args, RunOutput, RunSpec, TAIL_LIMIT};

/// Everything a job needs from the service.
pub struct Ctx {
    pub cfg: Config,
    pub edge: Edge,
    pub cache: IbCache,
}

/// Why a job ended without a result.
#[derive(Debug)]
pub enum Stop {
    /// A build failure to report: `detail` starts with `Error: `.
    Failed {
        detail: String,
        stdout: String,
        stderr: String,
    },
    /// The lease was lost or the service is stopping: tell the edge nothing.
    Aborted(String),
}

impl From<String> for Stop {
    fn from(detail: String) -> Stop {
        Stop::Failed {
            detail,
            stdout: String::new(),
            stderr: String::new(),
        }
    }
}

impl From<&str> for Stop {
    fn from(detail: &str) -> Stop {
        Stop::from(detail.to_string())
    }
}

fn failed(detail: String, out: &RunOutput) -> Stop {
    Stop::Failed {
        detail,
        stdout: runner::tail(&out.stdout, TAIL_LIMIT),
        stderr: runner::tail(&out.stderr, TAIL_LIMIT),
    }
}

/// A file that goes up to the edge.
#[derive(Debug, Clone)]
struct Upload {
    name: String,
    path: PathBuf,
    size: u64,
    sha256: String,
}

impl Upload {
    fn artifact(&self) -> Artifact {
        Artifact {
            name: self.name.clone(),
            size: self.size,
            sha256: self.sha256.clone(),
        }
    }
}

/// Runs `job` to the end and reports its outcome (unless the lease is lost).
pub async fn run_job(ctx: Arc<Ctx>, job: Job, shutdown: watch::Receiver<bool>) {
    let hash = job.request_hash.clone();
    if !is_request_hash(&hash) {
        log!("dropping a job with an unusable request hash");
        return;
    }
    log!(
        "job {hash}: {} {} {}",
        job.request.version,
        job.request.target,
        job.request.profile
    );
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let cancel_tx = Arc::new(cancel_tx);
    let phases = Arc::new(Phases {
        ctx: ctx.clone(),
        hash: hash.clone(),
        lease: job.lease.clone(),
        current: watch::channel(ImagebuilderStatus::Init).0,
        cancel: cancel_tx.clone(),
    });
    phases.report(ImagebuilderStatus::Init).await;
    let heartbeat = tokio::spawn(
        phases
            .clone()
            .heartbeat(ctx.cfg.heartbeat(job.lease_seconds)),
    );
    let forward = {
        let cancel_tx = cancel_tx.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            if wait_true(&mut shutdown).await {
                let _ = cancel_tx.send(true);
            }
        })
    };

    let work = ctx.cfg.work_dir.join(&hash);
    let outcome = match check_job(&job) {
        Err(detail) => Err(Stop::from(detail)),
        Ok(()) => {
            let mut cancelled = cancel_rx.clone();
            tokio::select! {
                r = pipeline(&ctx, &job, &work, &phases, cancel_rx.clone()) => r,
                _ = wait_true(&mut cancelled) => Err(Stop::Aborted("cancelled".into())),
            }
        }
    };
    // A lease lost while the last step finished still means: not ours.
    let outcome = if *cancel_rx.borrow() {
        Err(Stop::Aborted("lease lost or shutting down".into()))
    } else {
        outcome
    };

    let completion = match outcome {
        Ok((result, uploads)) => match upload_all(&ctx, &job, &uploads).await {
            Ok(()) => Some(Outcome::Done {
                result,
                artifacts: uploads.iter().map(Upload::artifact).collect(),
            }),
            Err(Stop::Failed {
                detail,
                stdout,
                stderr,
            }) => Some(Outcome::Failed {
                detail,
                stdout,
                stderr,
            }),
            Err(Stop::Aborted(why)) => {
                log!("job {hash}: stopped during upload: {why}");
                None
            }
        },
        Err(Stop::Failed {
            detail,
            stdout,
            stderr,
        }) => {
            log!("job {hash}: failed: {detail}");
            Some(Outcome::Failed {
                detail,
                stdout,
                stderr,
            })
        }
        Err(Stop::Aborted(why)) => {
            log!("job {hash}: abandoned: {why}");
            None
        }
    };
    if let Some(outcome) = completion {
        report(&ctx, &job, outcome).await;
    }
    heartbeat.abort();
    forward.abort();
    let _ = tokio::fs::remove_dir_all(&work).await;
}

/// Posts the outcome. A result the edge refuses is reported as a failure
/// instead, so that the job ends rather than lapsing and coming back.
async fn report(ctx: &Ctx, job: &Job, outcome: Outcome) {
    let hash = &job.request_hash;
    let done = matches!(outcome, Outcome::Done { .. });
    let completion = Completion {
        lease: job.lease.clone(),
        outcome,
    };
    match with_retries(|| ctx.edge.complete(hash, &completion)).await {
        Ok(()) => log!(
            "job {hash}: {}",
            if done { "done" } else { "reported as failed" }
        ),
        Err(EdgeError::Rejected(code, body)) if done => {
            log!("job {hash}: result refused (HTTP {code}): {body}");
            let failed = Completion {
                lease: job.lease.clone(),
                outcome: Outcome::Failed {
                    detail: format!("Error: The server refused the build result (HTTP {code})"),
                    stdout: String::new(),
                    stderr: body,
                },
            };
            if let Err(e) = with_retries(|| ctx.edge.complete(hash, &failed)).await {
                log!("job {hash}: could not report the failure either: {e}");
            }
        }
        Err(e) => log!("job {hash}: could not report completion: {e}"),
    }
}

/// Resolves when the flag turns true (true) or its sender is gone (false).
async fn wait_true(rx: &mut watch::Receiver<bool>) -> bool {
    loop {
        if *rx.borrow_and_update() {
            return true;
        }
        if rx.changed().await.is_err() {
            return false;
        }
    }
}

/// Reports phases: each change at once, the current one again on every
/// heartbeat. A lost lease raises the job's cancel flag.
pub struct Phases {
    ctx: Arc<Ctx>,
    hash: String,
    lease: String,
    current: watch::Sender<ImagebuilderStatus>,
    cancel: Arc<watch::Sender<bool>>,
}

impl Phases {
    async fn send(&self, status: ImagebuilderStatus) {
        match self.ctx.edge.phase(&self.hash, &self.lease, status).await {
            Ok(()) => {}
            Err(EdgeError::LeaseLost(code)) => {
                log!("job {}: lease lost (HTTP {code}); stopping", self.hash);
                let _ = self.cancel.send(true);
            }
            Err(e) => log!("job {}: phase report failed: {e}", self.hash),
        }
    }

    pub async fn report(&self, status: ImagebuilderStatus) {
        self.current.send_replace(status);
        self.send(status).await;
    }

    async fn heartbeat(self: Arc<Self>, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            if *self.cancel.borrow() {
                return;
            }
            let status = *self.current.borrow();
            self.send(status).await;
        }
    }
}

/// Retries transient edge errors with backoff for about two minutes.
async fn with_retries<F, Fut>(mut call: F) -> Result<(), EdgeError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), EdgeError>>,
{
    let mut delay = Duration::from_secs(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(EdgeError::Transient(e)) if attempt < 8 => {
                log!("edge call failed ({e}); retrying in {}s", delay.as_secs());
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            other => return other,
        }
    }
}

async fn upload_all(ctx: &Ctx, job: &Job, uploads: &[Upload]) -> Result<(), Stop> {
    for u in uploads {
        let r = with_retries(|| {
            ctx.edge.upload(
                &job.request_hash,
                &job.lease,
                &u.name,
                &u.path,
                u.size,
                &u.sha256,
            )
        })
        .await;
        match r {
            Ok(()) => {}
            Err(EdgeError::LeaseLost(code)) => {
                return Err(Stop::Aborted(format!("lease lost (HTTP {code})")))
            }
            Err(e) => {
                return Err(Stop::from(format!(
                    "Error: Could not store {}: {e}",
                    u.name
                )))
            }
        }
    }
    Ok(())
}

fn make_spec(cfg: &Config, ib: &Path, home: &Path, args: Vec<String>) -> RunSpec {
    RunSpec {
        program: cfg.make.clone(),
        args,
        cwd: ib.to_path_buf(),
        path_env: cfg.build_path.clone(),
        home: home.to_path_buf(),
        timeout: cfg.build_timeout(),
        track_dir: Some(cfg.work_dir.join(crate::leftovers::RECORDS)),
    }
}

/// Runs one make step; a failure (by exit code or by output) becomes a Stop.
async fn make_step(
    ctx: &Ctx,
    step: &str,
    spec: &RunSpec,
    cancel: watch::Receiver<bool>,
) -> Result<RunOutput, Stop> {
    let out = runner::run(spec, cancel)
        .await
        .map_err(|e| Stop::from(format!("Error: Could not run {}: {e}", spec.program)))?;
    if out.exit == runner::ExitKind::Cancelled {
        return Err(Stop::Aborted("cancelled".into()));
    }
    match classify(step, &out, ctx.cfg.build_timeout().as_secs()) {
        Some(detail) => Err(failed(detail, &out)),
        None => Ok(out),
    }
}

fn io_fail(what: &str) -> impl Fn(std::io::Error) -> Stop + '_ {
    move |e| Stop::from(format!("Error: {what}: {e}"))
}

async fn pipeline(
    ctx: &Ctx,
    job: &Job,
    work: &Path,
    phase: &Phases,
    cancel: watch::Receiver<bool>,
) -> Result<(Map<String, Value>, Vec<Upload>), Stop> {
    let req = &job.request;
    let cfg = &ctx.cfg;
    let _ = tokio::fs::remove_dir_all(work).await;
    let bin = work.join("bin");
    let home = work.join("home");
    for d in [&bin, &home] {
        tokio::fs::create_dir_all(d)
            .await
            .map_err(io_fail("Could not create the job folder"))?;
    }

    phase.report(ImagebuilderStatus::ContainerSetup).await;
    let key =
        IbKey::new(&req.version, &req.target).ok_or("Error: target must be target/subtarget")?;
    let ib = ctx.cache.acquire(&key).await?;
    // Declared after `ib`, so it is dropped first: the folder is restored
    // while this job still holds it, whichever way the job ends.
    let feeds = crate::repos::prepare(&ib.dir, req)
        .map_err(io_fail("Could not set up the package repositories"))?;

    phase.report(ImagebuilderStatus::ValidateRevision).await;
    let info_out = make_step(
        ctx,
        "info",
        &make_spec(cfg, &ib.dir, &home, make_args::info()),
        cancel.clone(),
    )
    .await?;
    let info = parse_info(&info_out.stdout);
    if info.revision.is_empty() {
        return Err(failed(
            "Error: make info printed no Current Revision".into(),
            &info_out,
        ));
    }
    if !req.version_code.is_empty() && req.version_code != info.revision {
        return Err(Stop::from(format!(
            "Error: Received incorrect version {} (requested {})",
            info.revision, req.version_code
        )));
    }
    if !info.target.is_empty() && info.target != req.target {
        return Err(Stop::from(format!(
            "Error: The ImageBuilder is for {}, not {}",
            validate::quote(&info.target),
            req.target
        )));
    }
    let info_profiles = info.to_profiles_json();
    let profile = info_profiles
        .resolve_profile(&req.profile)
        .ok_or_else(|| Stop::from(format!("Error: Unknown profile {}", req.profile)))?
        .to_string();

    phase.report(ImagebuilderStatus::ValidateManifest).await;
    let packages = build_packages(
        &req.requested_packages(),
        req.diff_packages,
        &info_profiles,
        &profile,
    );
    // The list mixes request and ImageBuilder names: check it all again.
    for p in &packages {
        validate::package_entry("packages", p).map_err(|e| Stop::from(format!("Error: {e}")))?;
    }
    validate::profile("profile", &profile).map_err(|e| Stop::from(format!("Error: {e}")))?;
    let manifest_spec = make_spec(
        cfg,
        &ib.dir,
        &home,
        make_args::manifest(&profile, &packages),
    );
    let manifest_out = make_step(ctx, "manifest", &manifest_spec, cancel.clone()).await?;
    let manifest = parse_manifest(&manifest_out.stdout);
    if manifest.is_empty() {
        return Err(failed(
            "Error: make manifest listed no packages".into(),
            &manifest_out,
        ));
    }
    check_versions(&req.packages_versions, &manifest).map_err(|d| failed(d, &manifest_out))?;

    phase
        .report(ImagebuilderStatus::CalculatePackagesHash)
        .await;
    let packages_hash = packages_hash(manifest.keys().map(String::as_str));
    let files = write_defaults(work, req.defaults.as_deref())
        .map_err(io_fail("Could not write the first-boot script"))?;

    phase.report(ImagebuilderStatus::BuildingImage).await;
    let image_args = make_args::image(&make_args::ImageArgs {
        profile: &profile,
        packages: &packages,
        bin_dir: &bin,
        files: files.as_deref(),
        rootfs_size_mb: req.rootfs_size_mb,
        extra_image_name: Some(&packages_hash[..12]),
    });
    let image_spec = make_spec(cfg, &ib.dir, &home, image_args);
    let image_out = make_step(ctx, "image", &image_spec, cancel.clone()).await?;
    drop(feeds);
    drop(ib); // the ImageBuilder folder is free for the next build

    phase.report(ImagebuilderStatus::SigningImages).await;
    let built = BuiltFiles::read(&bin, &profile, req)
        .await
        .map_err(|d| failed(d, &image_out))?;
    let result = BuildResult {
        id: profile.clone(),
        images: built.images.clone(),
        titles: built.profile_titles.clone(),
        manifest,
        bin_dir: job.request_hash.clone(),
        version_number: built.profiles.version_number.clone(),
        version_code: if built.profiles.version_code.is_empty() {
            info.revision.clone()
        } else {
            built.profiles.version_code.clone()
        },
        target: if built.profiles.target.is_empty() {
            req.target.clone()
        } else {
            built.profiles.target.clone()
        },
        supported_devices: built.supported_devices.clone(),
        image_prefix: built.image_prefix.clone(),
        default_packages: built.profiles.default_packages.clone(),
        build_at: crate::iso8601_utc(crate::unix_now()),
        build_cmd: public_build_cmd(&image_spec.argv()),
        request: req.clone(),
        stdout: runner::tail(&image_out.stdout, TAIL_LIMIT),
        stderr: runner::tail(&image_out.stderr, TAIL_LIMIT),
        profile: built.extra_fields(&profile),
    };
    Ok((result.to_map(), built.uploads))
}

/// `packages_versions` must be exactly what the release resolves to.
pub fn check_versions(
    wanted: &BTreeMap<String, String>,
    manifest: &BTreeMap<String, String>,
) -> Result<(), String> {
    let problems: Vec<String> = wanted
        .iter()
        .filter_map(|(name, want)| match manifest.get(name) {
            Some(have) if have == want => None,
            Some(have) => Some(format!("{name} is {have} in this release, not {want}")),
            None => Some(format!("{name} is not part of the image")),
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Error: Impossible package selection: {}",
            problems.join("; ")
        ))
    }
}

/// sha256 over the sorted, space-joined package names (its first 12 hex
/// digits become EXTRA_IMAGE_NAME, as the reference server does).
pub fn packages_hash<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = names.collect();
    v.sort_unstable();
    v.dedup();
    hex::encode(Sha256::digest(v.join(" ").as_bytes()))
}

/// Writes the first-boot script into a FILES folder; its content is copied
/// byte for byte, never interpreted.
pub fn write_defaults(work: &Path, defaults: Option<&str>) -> std::io::Result<Option<PathBuf>> {
    use std::os::unix::fs::PermissionsExt;
    let Some(script) = defaults.filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let files = work.join("files");
    let dir = files.join("etc/uci-defaults");
    std::fs::create_dir_all(&dir)?;
    for d in [files.clone(), files.join("etc"), dir.clone()] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755))?;
    }
    let path = dir.join("99-asu-defaults");
    std::fs::write(&path, script.as_bytes())?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    Ok(Some(files))
}

/// sha256 and size of a file, read in a blocking thread.
async fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&path)?;
        let mut h = Sha256::new();
        let n = std::io::copy(&mut f, &mut h)?;
        Ok((hex::encode(h.finalize()), n))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// A plain file (not a link) directly in `dir`.
fn plain_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let p = dir.join(name);
    std::fs::symlink_metadata(&p)
        .ok()
        .filter(|m| m.is_file())
        .map(|_| p)
}

/// What `make image` left in BIN_DIR, checked.
struct BuiltFiles {
    profiles: ProfilesJson,
    images: Vec<asu_protocol::upstream::Image>,
    profile_titles: Vec<asu_protocol::upstream::Title>,
    supported_devices: Vec<String>,
    image_prefix: String,
    uploads: Vec<Upload>,
}

impl BuiltFiles {
    async fn read(bin: &Path, profile: &str, req: &BuildRequest) -> Result<BuiltFiles, String> {
        let pj_path =
            plain_file(bin, "profiles.json").ok_or("Error: The build wrote no profiles.json")?;
        let text = tokio::fs::read_to_string(&pj_path)
            .await
            .map_err(|e| format!("Error: Could not read profiles.json: {e}"))?;
        let profiles: ProfilesJson = serde_json::from_str(&text)
            .map_err(|e| format!("Error: The build's profiles.json is not valid: {e}"))?;
        let prof = profiles
            .profiles
            .get(profile)
            .ok_or_else(|| format!("Error: The build's profiles.json lacks the profile {profile}"))?
            .clone();
        let mut uploads: Vec<Upload> = Vec::new();

        // Images that were too big are left out of profiles.json; what is
        // listed must be there and match its sha256.
        for image in &prof.images {
            if !is_artifact_name(&image.name) {
                return Err(format!(
                    "Error: The build listed an image with an unusable name {}",
                    validate::quote(&image.name)
                ));
            }
            let path = plain_file(bin, &image.name).ok_or_else(|| {
                format!("Error: Image {} is listed but was not written", image.name)
            })?;
            let (sha, size) = hash_file(&path)
                .await
                .map_err(|e| format!("Error: Could not read {}: {e}", image.name))?;
            if !sha.eq_ignore_ascii_case(&image.sha256) {
                return Err(format!(
                    "Error: Image {} does not match its sha256 in profiles.json",
                    image.name
                ));
            }
            if !uploads.iter().any(|u| u.name == image.name) {
                uploads.push(Upload {
                    name: image.name.clone(),
                    path,
                    size,
                    sha256: sha,
                });
            }
        }
        if prof.images.is_empty() {
            return Err("Error: The build produced no images".into());
        }
        if let Some(fs) = &req.filesystem {
            if !prof
                .images
                .iter()
                .any(|i| i.filesystem.as_deref() == Some(fs.as_str()))
            {
                let mut have: Vec<&str> = prof
                    .images
                    .iter()
                    .filter_map(|i| i.filesystem.as_deref())
                    .collect();
                have.dedup();
                return Err(format!(
                    "Error: No {fs} image was built for {profile} (built: {})",
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                ));
            }
        }

        let manifest_name = format!("{}.manifest", prof.image_prefix);
        let manifest = if is_artifact_name(&manifest_name) {
            plain_file(bin, &manifest_name).map(|p| (manifest_name, p))
        } else {
            None
        };
        let manifest = manifest.or_else(|| single_manifest(bin));
        for (name, path) in manifest
            .into_iter()
            .chain(std::iter::once(("profiles.json".to_string(), pj_path)))
        {
            let (sha, size) = hash_file(&path)
                .await
                .map_err(|e| format!("Error: Could not read {name}: {e}"))?;
            uploads.push(Upload {
                name,
                path,
                size,
                sha256: sha,
            });
        }
        let sums = match plain_file(bin, "sha256sums") {
            Some(p) => p,
            None => {
                // Not every ImageBuilder writes one; list what we upload.
                let text: String = uploads
                    .iter()
                    .map(|u| format!("{} *{}\n", u.sha256, u.name))
                    .collect();
                let p = bin.join("sha256sums");
                tokio::fs::write(&p, text)
                    .await
                    .map_err(|e| format!("Error: Could not write sha256sums: {e}"))?;
                p
            }
        };
        let (sha, size) = hash_file(&sums)
            .await
            .map_err(|e| format!("Error: Could not read sha256sums: {e}"))?;
        uploads.push(Upload {
            name: "sha256sums".into(),
            path: sums,
            size,
            sha256: sha,
        });

        Ok(BuiltFiles {
            images: prof.images.clone(),
            profile_titles: prof.titles.clone(),
            supported_devices: prof.supported_devices.clone(),
            image_prefix: prof.image_prefix.clone(),
            profiles,
            uploads,
        })
    }

    /// Top-level and profile fields of profiles.json that BuildResult does
    /// not name itself (linux_kernel, device_packages, ...).
    fn extra_fields(&self, profile: &str) -> Map<String, Value> {
        let mut m = self.profiles.merged_profile(profile).unwrap_or_default();
        for named in [
            "id",
            "images",
            "titles",
            "manifest",
            "bin_dir",
            "version_number",
            "version_code",
            "target",
            "supported_devices",
            "image_prefix",
            "default_packages",
            "build_at",
            "build_cmd",
            "request",
            "stdout",
            "stderr",
        ] {
            m.remove(named);
        }
        m
    }
}

fn single_manifest(bin: &Path) -> Option<(String, PathBuf)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(bin).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".manifest") && is_artifact_name(&name) {
            if let Some(p) = plain_file(bin, &name) {
                found.push((name, p));
            }
        }
    }
    if found.len() == 1 {
        found.pop()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_must_match_the_manifest() {
        let manifest: BTreeMap<String, String> = [("luci", "25.1-r1"), ("tcpdump", "4.99.5-r1")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let mut want = BTreeMap::new();
        want.insert("luci".to_string(), "25.1-r1".to_string());
        assert_eq!(check_versions(&want, &manifest), Ok(()));
        want.insert("tcpdump".to_string(), "4.99.4-r1".to_string());
        assert_eq!(
            check_versions(&want, &manifest).unwrap_err(),
            "Error: Impossible package selection: tcpdump is 4.99.5-r1 in this release, not 4.99.4-r1"
        );
    }

    #[test]
    fn packages_hash_ignores_order() {
        let a = packages_hash(["b", "a", "c"].into_iter());
        assert_eq!(a, packages_hash(["c", "a", "b"].into_iter()));
        assert_eq!(a, hex::encode(Sha256::digest(b"a b c")));
    }

    #[test]
    fn defaults_file_is_written_verbatim() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(write_defaults(dir.path(), None).unwrap(), None);
        let script = "echo \"$(id)\" > /tmp/x; `reboot`\n";
        let files = write_defaults(dir.path(), Some(script)).unwrap().unwrap();
        let p = files.join("etc/uci-defaults/99-asu-defaults");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), script);
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            0o644
        );
    }
}

/// The `make image` argv as published in `build_cmd`: the builder's own
/// folders (BIN_DIR, FILES) are local details, shown as placeholders.
fn public_build_cmd(argv: &[String]) -> Vec<String> {
    argv.iter()
        .map(|arg| match arg.split_once('=') {
            Some((var @ ("BIN_DIR" | "FILES"), _)) => format!("{var}=<{}>", var.to_ascii_lowercase()),
            _ => arg.clone(),
        })
        .collect()
}

#[cfg(test)]
mod published_cmd_tests {
    use super::public_build_cmd;

    #[test]
    fn local_folders_are_hidden() {
        let argv: Vec<String> = ["make", "image", "PROFILE=x", "PACKAGES=a b", "BIN_DIR=/var/tmp/w/h/bin", "FILES=/var/tmp/w/h/files"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            public_build_cmd(&argv),
            ["make", "image", "PROFILE=x", "PACKAGES=a b", "BIN_DIR=<bin_dir>", "FILES=<files>"]
        );
    }
}
