//! Runs the upgrade steps in the browser, one after the other, writing
//! what the page shows into the `UiState` signal. Stops at the first
//! failure; Retry starts again at the step `Step::retry_from` names.

use std::collections::BTreeMap;
use std::sync::Arc;

use asu_protocol::select;
use asu_protocol::upstream::Image;
use js_sys::{Array, ArrayBuffer, Uint8Array};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};
use web_sys::{Blob, BlobPropertyBag, FormData};

use super::data::load_index;
use super::packages::IndexState;
use crate::json;
use crate::build_status::{http_error_text, interpret, BuildProgress, BuildStatus, FinishedBuild};
use crate::flow::{done_text, Back, Poll, Progress, RebootWatch, Step, UiState, REBOOT_TIMEOUT_SECS};
use crate::packages::Selection;
use crate::plan::{build_request, upgrade_candidates, Candidate, OverviewView, UpgradePlan};
use crate::rpc::{
    login_session, package_versions, parse_upload_answer, upload_url, Board, FirmwareCheck, RpcError, FIRMWARE_MODE,
    FIRMWARE_PATH, NULL_SESSION,
};
use crate::upgrade::{apply_replacements, branch_replacements, check_body, read_check, CheckAnswer, UpgradePreview};
use crate::verify::check_image;
use crate::web::{net, ubus};

const RPC_TIMEOUT_MS: u32 = 15_000;
const EDGE_TIMEOUT_MS: u32 = 30_000;
const POLL_MS: i32 = 2_000;

/// What the steps hand each other (not shown directly).
#[derive(Clone)]
pub struct Ctx {
    pub server: String,
    pub ubus_url: String,
    pub session: String,
    pub password: String,
    board: Option<Board>,
    /// The router's packages (`rpc-sys packagelist`): name -> version.
    installed: BTreeMap<String, String>,
    efi: bool,
    overview: Option<Arc<OverviewView>>,
    /// Releases the router may move to, newest first (and its own for a reinstall).
    candidates: Vec<Candidate>,
    plan: Option<UpgradePlan>,
    request_hash: Option<String>,
    build: Option<FinishedBuild>,
    image: Option<Image>,
    image_data: Option<ArrayBuffer>,
}

impl Ctx {
    pub fn new(server: String, ubus_url: String, session: String) -> Self {
        Ctx {
            server,
            ubus_url,
            session,
            password: String::new(),
            board: None,
            installed: BTreeMap::new(),
            efi: false,
            overview: None,
            candidates: Vec::new(),
            plan: None,
            request_hash: None,
            build: None,
            image: None,
            image_data: None,
        }
    }
}

pub struct Failure {
    message: String,
    log: Option<String>,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { message, log: None }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure { message: message.to_string(), log: None }
    }
}

type StepResult = Result<Step, Failure>;

/// A step needs data an earlier one stores; Retry can only restart at
/// steps whose inputs exist, so a missing one is a bug, reported as text.
fn need<T: Clone>(value: &Option<T>, what: &str) -> Result<T, Failure> {
    value.clone().ok_or_else(|| Failure::from(format!("Internal error: {what} is not known yet; reload the page.")))
}

#[derive(Clone, Copy)]
pub struct Driver {
    pub ui: RwSignal<UiState>,
    pub ctx: StoredValue<Ctx, LocalStorage>,
    /// The packages the new image gets before edits: the router's, after
    /// the upgrade's replacements.
    pub base: RwSignal<Vec<String>>,
    /// Edits from the advanced options.
    pub selection: RwSignal<Selection>,
    /// The target release's package index (loaded for the advanced options).
    pub index: RwSignal<IndexState>,
}

impl Driver {
    /// Runs the flow from `from` unless a step is already running.
    pub fn start(self, from: Step) {
        if self.ui.with_untracked(|u| u.running) {
            return;
        }
        self.ui.update(|u| {
            u.running = true;
            u.enter(from);
        });
        spawn_local(self.run(from));
    }

    async fn run(self, mut step: Step) {
        loop {
            self.ui.update(|u| u.enter(step));
            let result = match step {
                Step::ReadRouter => self.read_router().await,
                Step::FindRelease => self.find_release().await,
                Step::RequestBuild => self.request_build().await,
                Step::WaitBuild => self.wait_build().await,
                Step::Download => self.download().await,
                Step::Verify => self.verify().await,
                Step::Upload => self.upload().await,
                Step::Validate => self.validate().await,
                Step::Flash => self.flash().await,
                Step::WaitReboot => self.wait_reboot().await,
                Step::Login => self.login().await,
                Step::UpToDate | Step::Ready | Step::NeedPassword | Step::Done => Ok(step),
            };
            match result {
                Ok(next) if next.waits() => {
                    self.ui.update(|u| {
                        u.enter(next);
                        u.running = false;
                    });
                    return;
                }
                Ok(next) => step = next,
                Err(f) => {
                    self.ui.update(|u| u.fail(f.message, f.log));
                    return;
                }
            }
        }
    }

    fn ctx(&self) -> Ctx {
        self.ctx.get_value()
    }

    async fn rpc(&self, object: &str, method: &str, args: Value) -> Result<Value, RpcError> {
        let c = self.ctx.with_value(|c| (c.ubus_url.clone(), c.session.clone()));
        ubus::call(&c.0, &c.1, object, method, args, RPC_TIMEOUT_MS).await
    }

    async fn read_router(self) -> StepResult {
        let data = self.rpc("system", "board", json!({})).await.map_err(|e| e.describe("system board"))?;
        let board = Board::parse(&data).map_err(|e| e.describe("system board"))?;
        self.ui.update(|u| {
            u.current_version = Some(board.running());
            u.device = Some(board.model.clone()).filter(|m| !m.is_empty());
        });
        if board.rootfs_type == "initramfs" {
            return Err("This router runs an initramfs image (from RAM), which sysupgrade cannot replace. \
                        Install a sysupgrade image first."
                .into());
        }
        let data = self
            .rpc("rpc-sys", "packagelist", json!({"all": false}))
            .await
            .map_err(|e| e.describe("rpc-sys packagelist"))?;
        let installed = package_versions(&data).map_err(|e| e.describe("rpc-sys packagelist"))?;
        // The call fails on machines that did not boot by EFI.
        let efi = match self.rpc("file", "stat", json!({"path": "/sys/firmware/efi"})).await {
            Ok(_) => true,
            Err(e @ RpcError::Network(_)) => return Err(e.describe("file stat").into()),
            Err(_) => false,
        };
        self.ctx.update_value(|c| {
            c.board = Some(board);
            c.installed = installed;
            c.efi = efi;
        });
        Ok(Step::FindRelease)
    }

    async fn find_release(self) -> StepResult {
        let c = self.ctx();
        let board = need(&c.board, "the router's board")?;
        let url = format!("{}/json/v1/overview.json", c.server);
        let answer = net::get(&url, EDGE_TIMEOUT_MS)
            .await
            .map_err(|e| format!("Could not reach the build server at {}: {e}", c.server))?;
        if answer.status != 200 {
            return Err(http_error_text(answer.status, &answer.body, "overview.json").into());
        }
        let value: Value = serde_json::from_str(&answer.body)
            .map_err(|e| format!("The build server's overview.json is unreadable (at {}).", json::error_place(&e)))?;
        let overview: Arc<OverviewView> = Arc::new(
            OverviewView::parse(&value).map_err(|e| format!("The build server's overview.json is unusable: {e}."))?,
        );
        let candidates = upgrade_candidates(&overview, &board.release.version, &board.release.target);
        let mut offered: Vec<Candidate> = candidates.clone();
        // The advanced options may also reinstall the running release.
        if !offered.iter().any(|c| c.version == board.release.version) {
            offered.push(Candidate {
                version: board.release.version.clone(),
                path: overview.release_path(&board.release.version),
            });
        }
        self.ui.update(|u| {
            u.releases = offered.iter().map(|c| c.version.clone()).collect();
            u.max_rootfs_mb = overview.server.as_ref().map(|s| s.max_custom_rootfs_size_mb).unwrap_or(0);
        });
        self.ctx.update_value(|c| {
            c.overview = Some(overview.clone());
            c.candidates = offered;
        });
        let mut missing: Vec<String> = Vec::new();
        for candidate in candidates {
            let url = candidate.profile_url(&c.server, &board.release.target, &board.board_name);
            let what = format!("the device description for {}", candidate.version);
            let answer = net::get(&url, EDGE_TIMEOUT_MS)
                .await
                .map_err(|e| format!("Could not reach the build server for {what}: {e}"))?;
            match answer.status {
                200 => {}
                // The device is not in that release: try the next older one.
                404 => {
                    missing.push(candidate.version);
                    continue;
                }
                s => return Err(http_error_text(s, &answer.body, &what).into()),
            }
            let json: Value = serde_json::from_str(&answer.body)
                .map_err(|e| format!("The build server's answer for {what} is not JSON (at {}).", json::error_place(&e)))?;
            let plan = UpgradePlan::from_profile_json(&candidate.version, &json, &board.model)
                .map_err(|e| format!("The build server's answer for {what} is unusable: {e}"))?;
            if !plan.is_upgrade_for(&board) {
                continue;
            }
            self.ui.update(|u| {
                u.target_version = Some(plan.display());
                u.device = Some(plan.title.clone());
                u.note = (!missing.is_empty()).then(|| format!("Not available for this device: {}", missing.join(", ")));
            });
            let version = plan.version.clone();
            self.ctx.update_value(|c| c.plan = Some(plan));
            self.check_upgrade(&board, &overview, &version).await;
            return Ok(Step::Ready);
        }
        self.ui.update(|u| {
            u.target_version = None;
            u.note = (!missing.is_empty())
                .then(|| format!("Newer releases without this device: {}", missing.join(", ")));
        });
        Ok(Step::UpToDate)
    }

    /// Applies one build answer; `Some(step)` when the build is over.
    fn apply_build(&self, status: BuildStatus) -> Result<Option<Step>, Failure> {
        if let Some(hash) = status.request_hash {
            self.ctx.update_value(|c| c.request_hash = Some(hash));
        }
        match status.progress {
            BuildProgress::Queued { position } => {
                self.ui.update(|u| {
                    u.queued_at(position);
                    u.busy_message = None;
                });
                Ok(None)
            }
            BuildProgress::Started { phase, step } => {
                self.ui.update(|u| {
                    u.queue_position = None;
                    u.build_phase = Some(phase);
                    u.phase_step = step;
                    u.busy_message = None;
                });
                Ok(None)
            }
            BuildProgress::Busy(message) => {
                self.ui.update(|u| u.busy_message = Some(message));
                Ok(None)
            }
            BuildProgress::Done(build) => {
                self.ctx.update_value(|c| c.build = Some(build));
                Ok(Some(Step::Download))
            }
            BuildProgress::Failed { message, log } => Err(Failure { message, log }),
        }
    }

    async fn request_build(self) -> StepResult {
        let c = self.ctx();
        let board = need(&c.board, "the router's board")?;
        let plan = need(&c.plan, "the target release")?;
        let packages = self.selection.with_untracked(|s| self.base.with_untracked(|b| s.effective(b)));
        let mut request = build_request(&plan.version, &board, &packages);
        request.rootfs_size_mb = self.ui.with_untracked(|u| u.rootfs_size_mb);
        let body = serde_json::to_string(&request).map_err(|_| "Internal error: the build request cannot be written.")?;
        self.ctx.update_value(|c| {
            c.request_hash = None;
            c.build = None;
        });
        let url = format!("{}/api/v1/build", c.server);
        let answer = net::post_json(&url, body, EDGE_TIMEOUT_MS)
            .await
            .map_err(|e| format!("Could not reach the build server at {}: {e}", c.server))?;
        let status = interpret(answer.status, &answer.body);
        if let BuildProgress::Busy(message) = status.progress {
            return Err(format!("{message}. Try again in a few minutes.").into());
        }
        if let Some(next) = self.apply_build(status)? {
            return Ok(next);
        }
        if self.ctx.with_value(|c| c.request_hash.is_none()) {
            return Err("The build server accepted the request but sent no request_hash to follow it.".into());
        }
        Ok(Step::WaitBuild)
    }

    async fn wait_build(self) -> StepResult {
        let c = self.ctx();
        let hash = need(&c.request_hash, "the build's request hash")?;
        let url = format!("{}/api/v1/build/{hash}", c.server);
        let mut failures = 0;
        let mut polls: u32 = 0;
        loop {
            net::sleep(POLL_MS).await;
            polls += 1;
            // Touching the router session keeps it from expiring during a long build.
            if polls.is_multiple_of(30) {
                let _ = self.rpc("system", "board", json!({})).await;
            }
            match net::get(&url, EDGE_TIMEOUT_MS).await {
                Err(e) => {
                    failures += 1;
                    if failures >= 5 {
                        return Err(format!("Lost contact with the build server: {e}").into());
                    }
                    self.ui.update(|u| u.busy_message = Some(format!("No answer from the build server ({e}); trying again…")));
                }
                Ok(answer) => {
                    failures = 0;
                    if let Some(next) = self.apply_build(interpret(answer.status, &answer.body))? {
                        return Ok(next);
                    }
                }
            }
        }
    }

    async fn download(self) -> StepResult {
        let c = self.ctx();
        let board = need(&c.board, "the router's board")?;
        let build = need(&c.build, "the finished build")?;
        let image = select::upgrade_image(&build.images, &board.release.target, &board.rootfs_type, c.efi)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<String> = build
                    .images
                    .iter()
                    .map(|i| format!("{} ({}, {})", i.name, i.kind, i.filesystem.as_deref().unwrap_or("-")))
                    .collect();
                format!(
                    "The build has no {} sysupgrade image for this router. Images: {}",
                    board.rootfs_type,
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                )
            })?;
        let url = format!("{}/store/{}/{}", c.server, build.bin_dir.trim_matches('/'), image.name);
        let ui = self.ui;
        let buffer = net::download(&url, move |p| ui.update(|u| u.download = p)).await.map_err(|(status, text)| {
            if status == 0 {
                format!("Could not download the image {}: {text}", image.name)
            } else {
                http_error_text(status, &text, &format!("the download of {}", image.name))
            }
        })?;
        let size = buffer.byte_length() as u64;
        self.ui.update(|u| u.download = Progress { loaded: size, total: Some(size) });
        self.ctx.update_value(|c| {
            c.image = Some(image);
            c.image_data = Some(buffer);
        });
        Ok(Step::Verify)
    }

    async fn verify(self) -> StepResult {
        // Let the page show this step before the hash blocks the thread.
        net::sleep(30).await;
        let c = self.ctx();
        let board = need(&c.board, "the router's board")?;
        let image = need(&c.image, "the chosen image")?;
        let data = need(&c.image_data, "the downloaded image")?;
        let bytes = Uint8Array::new(&data).to_vec();
        check_image(&bytes, &image.sha256, &board.board_name)?;
        Ok(Step::Upload)
    }

    async fn upload(self) -> StepResult {
        let c = self.ctx();
        let image = need(&c.image, "the chosen image")?;
        let data = need(&c.image_data, "the downloaded image")?;
        let form = upload_form(&c.session, &data).map_err(|e| format!("Could not prepare the upload: {e:?}"))?;
        let ui = self.ui;
        let answer = net::upload(&upload_url(&c.ubus_url), &form, move |p| ui.update(|u| u.upload = p))
            .await
            .map_err(|e| format!("Could not upload the image to the router: {e}"))?;
        let receipt = parse_upload_answer(answer.status, &answer.body)?;
        let size = data.byte_length() as u64;
        self.ui.update(|u| u.upload = Progress { loaded: size, total: Some(size) });
        let expected = image.sha256.to_ascii_lowercase();
        if receipt.sha256sum != expected {
            return Err(format!(
                "The router received a different file (sha256 {}, expected {expected}). Retry the upload.",
                receipt.sha256sum
            )
            .into());
        }
        Ok(Step::Validate)
    }

    async fn validate(self) -> StepResult {
        let call = "system validate_firmware_image";
        let data = self
            .rpc("system", "validate_firmware_image", json!({"path": FIRMWARE_PATH}))
            .await
            .map_err(|e| e.describe(call))?;
        let check = FirmwareCheck::parse(&data).map_err(|e| e.describe(call))?;
        if !check.valid {
            return Err(check.refusal().into());
        }
        Ok(Step::Flash)
    }

    async fn flash(self) -> StepResult {
        let keep = self.ui.with_untracked(|u| u.keep_settings);
        self.rpc("rpc-sys", "upgrade_start", json!({"keep": keep})).await.map_err(|e| e.describe("rpc-sys upgrade_start"))?;
        Ok(Step::WaitReboot)
    }

    async fn wait_reboot(self) -> StepResult {
        let c = self.ctx();
        let board = need(&c.board, "the router's board")?;
        let started = net::now_ms();
        let elapsed = move || ((net::now_ms() - started) / 1000.0).max(0.0) as u64;
        let ui = self.ui;
        // The clock on the page ticks every second, between the polls too.
        spawn_local(async move {
            loop {
                net::sleep(1000).await;
                if !ui.with_untracked(|u| u.step == Step::WaitReboot && u.running) {
                    return;
                }
                ui.update(|u| u.reboot_elapsed = elapsed());
            }
        });
        let mut watch = RebootWatch::new(&board.release.revision);
        loop {
            net::sleep(POLL_MS).await;
            if elapsed() > REBOOT_TIMEOUT_SECS {
                return Err(format!(
                    "The router has not come back within {} minutes. It may still be busy: wait a little and \
                     press Retry; if it stays unreachable, check it directly.",
                    REBOOT_TIMEOUT_SECS / 60
                )
                .into());
            }
            let poll = match ubus::call(&c.ubus_url, &c.session, "system", "board", json!({}), 4000).await {
                Ok(data) => Poll::Answers { revision: Board::parse(&data).map(|b| b.release.revision).unwrap_or_default() },
                Err(e) if e.session_gone() => Poll::SessionGone,
                // Down, refusing connections, or up but rpcd not ready yet.
                Err(_) => Poll::Unreachable,
            };
            match watch.observe(poll) {
                Some(Back::NeedsLogin) => {
                    self.ctx.update_value(|c| c.session.clear());
                    return Ok(Step::Login);
                }
                Some(Back::SessionKept) => return Ok(Step::Login),
                None => {}
            }
        }
    }

    async fn login(self) -> StepResult {
        let c = self.ctx();
        let plan = need(&c.plan, "the target release")?;
        let mut session = c.session.clone();
        if session.is_empty() {
            let args = json!({"username": "root", "password": c.password});
            match ubus::call(&c.ubus_url, NULL_SESSION, "session", "login", args, RPC_TIMEOUT_MS).await {
                Ok(data) => session = login_session(&data).map_err(|e| e.describe("session login"))?,
                Err(e) if e.session_gone() => {
                    if c.password.is_empty() {
                        return Ok(Step::NeedPassword);
                    }
                    self.ui.update(|u| u.step = Step::NeedPassword);
                    return Err("The router refused this password for root.".into());
                }
                Err(e) => return Err(e.describe("session login").into()),
            }
            self.ctx.update_value(|c| c.session = session.clone());
        }
        let data = ubus::call(&c.ubus_url, &session, "system", "board", json!({}), RPC_TIMEOUT_MS)
            .await
            .map_err(|e| e.describe("system board"))?;
        let board = Board::parse(&data).map_err(|e| e.describe("system board"))?;
        self.ui.update(|u| {
            u.done = Some(done_text(&board.running()));
            u.current_version = Some(board.running());
            u.note = (board.release.version != plan.version).then(|| {
                format!("Expected OpenWrt {}, but the router reports {}.", plan.version, board.release.version)
            });
        });
        Ok(Step::Done)
    }
}

impl Driver {
    /// Asks the server what moving to `version` does to the router's
    /// packages; without an update check there, estimates it from the
    /// overview's package changes. Sets the package base for the build.
    async fn check_upgrade(self, board: &Board, overview: &OverviewView, version: &str) {
        let installed = self.ctx.with_value(|c| c.installed.clone());
        let names: Vec<String> = installed.keys().cloned().collect();
        let server = self.ctx.with_value(|c| c.server.clone());
        let url = format!("{server}/api/v1/upgrade-check");
        let estimate = || UpgradePreview {
            version: version.to_string(),
            replacements: branch_replacements(
                &overview.changes_between(&board.release.version, version),
                &names,
                &board.release.target,
            ),
            ..Default::default()
        };
        let (preview, note) = match net::post_json(&url, check_body(board, &installed), EDGE_TIMEOUT_MS).await {
            Err(e) => (estimate(), Some(format!("The update check did not answer ({e}); the changes below are estimated."))),
            Ok(a) => match read_check(a.status, &a.body) {
                CheckAnswer::Newer(p) => {
                    let note = (p.version != version)
                        .then(|| format!("The update check describes OpenWrt {}; this upgrade goes to {version}.", p.version));
                    (p, note)
                }
                CheckAnswer::UpToDate => (estimate(), Some("The update check reports nothing newer for this device.".into())),
                CheckAnswer::Missing => (estimate(), Some("This server has no update check: the changes below come from its release overview.".into())),
                CheckAnswer::Refused(e) => (estimate(), Some(e)),
            },
        };
        // Packages the new release does not have would fail the build.
        let base: Vec<String> =
            apply_replacements(&names, &preview.replacements).into_iter().filter(|p| !preview.missing.contains(p)).collect();
        self.base.set(base);
        self.selection.set(Selection::default());
        self.ui.update(|u| {
            u.preview = Some(preview);
            u.preview_note = note;
        });
    }

    /// Shows or hides the advanced options; the first time, loads the
    /// target release's package index for the package editor.
    pub fn toggle_advanced(self, on: bool) {
        self.ui.update(|u| u.advanced = on);
        if on && self.index.with_untracked(|i| matches!(i, IndexState::Idle | IndexState::Failed(_))) {
            self.load_index();
        }
    }

    fn load_index(self) {
        let c = self.ctx();
        let (Some(board), Some(plan), Some(overview)) = (c.board, c.plan, c.overview) else { return };
        let target = board.release.target.clone();
        let path = overview.release_path(&plan.version);
        let arch = plan
            .profile
            .extra
            .get("arch_packages")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| overview.arch(&plan.version, &target));
        self.index.set(IndexState::Loading);
        spawn_local(async move {
            let loaded = load_index(&c.server, &path, &target, arch.as_deref()).await;
            self.index.set(match loaded {
                Ok(i) => IndexState::Ready(i),
                Err(e) => IndexState::Failed(e),
            });
        });
    }

    /// The advanced options picked another release: read the device's
    /// description there and make it the upgrade's target.
    pub fn choose_release(self, version: String) {
        if self.ui.with_untracked(|u| u.running) {
            return;
        }
        let c = self.ctx();
        let (Some(board), Some(candidate)) = (c.board.clone(), c.candidates.iter().find(|x| x.version == version).cloned())
        else {
            return;
        };
        self.ui.update(|u| {
            u.running = true;
            u.note = Some(format!("Reading the device description for {version}…"));
        });
        spawn_local(async move {
            let url = candidate.profile_url(&c.server, &board.release.target, &board.board_name);
            let outcome = match net::get(&url, EDGE_TIMEOUT_MS).await {
                Ok(a) if a.status == 200 => serde_json::from_str::<Value>(&a.body)
                    .map_err(|e| format!("The device description is not JSON (at {}).", json::error_place(&e)))
                    .and_then(|json| UpgradePlan::from_profile_json(&version, &json, &board.model)),
                Ok(a) if a.status == 404 => Err(format!("OpenWrt {version} has no image for this device.")),
                Ok(a) => Err(http_error_text(a.status, &a.body, "the device description")),
                Err(e) => Err(format!("Could not reach the build server: {e}")),
            };
            match outcome {
                Ok(plan) => {
                    let display = plan.display();
                    self.ctx.update_value(|c| c.plan = Some(plan));
                    self.ui.update(|u| {
                        u.target_version = Some(display);
                        u.note = None;
                    });
                    if let Some(o) = c.overview.as_ref() {
                        // The preview and the package base follow the chosen release.
                        self.check_upgrade(&board, o, &version).await;
                    }
                    self.ui.update(|u| u.running = false);
                    if !self.index.with_untracked(|i| matches!(i, IndexState::Idle)) {
                        self.load_index();
                    }
                }
                Err(e) => self.ui.update(|u| {
                    u.note = Some(e);
                    u.running = false;
                }),
            }
        });
    }
}

/// The multipart fields `cgi-upload` reads, in its order.
fn upload_form(session: &str, data: &ArrayBuffer) -> Result<FormData, wasm_bindgen::JsValue> {
    let form = FormData::new()?;
    form.append_with_str("sessionid", session)?;
    form.append_with_str("filename", FIRMWARE_PATH)?;
    form.append_with_str("filemode", FIRMWARE_MODE)?;
    let options = BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = Blob::new_with_buffer_source_sequence_and_options(&Array::of1(data), &options)?;
    form.append_with_blob_and_filename("filedata", &blob, "firmware.bin")?;
    Ok(form)
}
