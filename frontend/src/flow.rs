//! The steps of a router upgrade, what the page shows for each, and the
//! small state machines between them (reboot detection, progress text).
//! Plain Rust, tested natively; the driver is `ui::router`.

use crate::upgrade::UpgradePreview;

/// One step of the upgrade, in order. `Ready`, `UpToDate`, `NeedPassword`
/// and `Done` wait for the user (or are final).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    ReadRouter,
    FindRelease,
    UpToDate,
    Ready,
    RequestBuild,
    WaitBuild,
    Download,
    Verify,
    Upload,
    Validate,
    Flash,
    WaitReboot,
    Login,
    NeedPassword,
    Done,
}

impl Step {
    /// The text of `#status` while this step runs.
    pub fn status_text(self) -> &'static str {
        match self {
            Step::ReadRouter => "Reading the router's model, release and packages…",
            Step::FindRelease => "Looking for a newer release for this device…",
            Step::UpToDate => "This router runs the newest release available for it.",
            Step::Ready => "A newer release is available.",
            Step::RequestBuild => "Asking the build server for an image with your packages…",
            Step::WaitBuild => "The build server is making your image…",
            Step::Download => "Downloading the image…",
            Step::Verify => "Checking the image…",
            Step::Upload => "Uploading the image to the router…",
            Step::Validate => "The router is checking the image…",
            Step::Flash => "Starting the upgrade…",
            Step::WaitReboot => "The router is flashing the image and rebooting. Do not switch it off.",
            Step::Login => "The router is back. Logging in…",
            Step::NeedPassword => "The router is back. Log in to see the new version.",
            Step::Done => "The upgrade is complete.",
        }
    }

    /// Where "Retry" starts again after this step failed: a damaged
    /// download is downloaded again, a refused image uploaded again, a
    /// failed build asked for again (the server answers a known build from
    /// its cache).
    pub fn retry_from(self) -> Step {
        match self {
            Step::WaitBuild => Step::RequestBuild,
            Step::Verify => Step::Download,
            Step::Validate => Step::Upload,
            Step::NeedPassword => Step::Login,
            other => other,
        }
    }

    /// Steps where the flow stops and waits for the user, or ends.
    pub fn waits(self) -> bool {
        matches!(self, Step::UpToDate | Step::Ready | Step::NeedPassword | Step::Done)
    }

    /// Index into [`STAGES`] for the progress list.
    pub fn stage(self) -> usize {
        match self {
            Step::ReadRouter | Step::FindRelease | Step::UpToDate | Step::Ready => 0,
            Step::RequestBuild | Step::WaitBuild => 1,
            Step::Download | Step::Verify => 2,
            Step::Upload | Step::Validate => 3,
            Step::Flash | Step::WaitReboot => 4,
            Step::Login | Step::NeedPassword => 5,
            Step::Done => 6,
        }
    }

    /// Steps after which the download bar stays visible.
    pub fn shows_download(self) -> bool {
        self.stage() >= 2
    }

    pub fn shows_upload(self) -> bool {
        self.stage() >= 3
    }
}

pub const STAGES: [&str; 6] =
    ["Check router", "Build image", "Download and verify", "Upload to router", "Flash and reboot", "Log in again"];

/// Bytes moved so far; `total` is unknown when the server sends no length.
/// Whole numbers only: formatting floats would add kilobytes to the wasm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub loaded: u64,
    pub total: Option<u64>,
}

impl Progress {
    /// "3.2 MB of 10.0 MB (32 %)" or "3.2 MB".
    pub fn text(&self) -> String {
        match self.total {
            Some(total) if total > 0 => {
                let pct = (self.loaded.min(total) * 100) / total;
                format!("{} of {} ({pct} %)", fmt_bytes(self.loaded), fmt_bytes(total))
            }
            _ => fmt_bytes(self.loaded),
        }
    }
}

pub fn fmt_bytes(n: u64) -> String {
    let one_decimal = |unit: u64| format!("{}.{}", n / unit, (n % unit) * 10 / unit);
    if n < 1000 {
        format!("{n} B")
    } else if n < 1_000_000 {
        format!("{} kB", one_decimal(1000))
    } else {
        format!("{} MB", one_decimal(1_000_000))
    }
}

/// "1:05".
pub fn fmt_duration(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// How long to wait for the router after `upgrade_start`.
pub const REBOOT_TIMEOUT_SECS: u64 = 600;
/// How long a flash and reboot usually take: the countdown starts here.
pub const REBOOT_EXPECTED_SECS: u64 = 180;

/// The queue bar: how far a build moved from the position it entered the
/// queue at (`first`) to `now` (0 = next), as (value, max).
pub fn queue_bar(first: u32, now: u32) -> (u32, u32) {
    let first = first.max(now);
    (first - now, first + 1)
}

/// What one poll of the router gave during the reboot wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// No answer (down, refusing connections, timed out) or not ready yet.
    Unreachable,
    /// It answers but no longer knows our session: it has rebooted.
    SessionGone,
    /// It answers with our old session still valid, running `revision`.
    Answers { revision: String },
}

/// Tells when the router is back: it forgot our session, or it answers
/// after having been unreachable, or it runs another revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebootWatch {
    old_revision: String,
    seen_down: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Back {
    /// A new session is needed.
    NeedsLogin,
    /// The old session survived (unusual): keep using it.
    SessionKept,
}

impl RebootWatch {
    pub fn new(old_revision: &str) -> Self {
        RebootWatch { old_revision: old_revision.to_string(), seen_down: false }
    }

    pub fn observe(&mut self, poll: Poll) -> Option<Back> {
        match poll {
            Poll::Unreachable => {
                self.seen_down = true;
                None
            }
            Poll::SessionGone => Some(Back::NeedsLogin),
            Poll::Answers { revision } => {
                (self.seen_down || revision != self.old_revision).then_some(Back::SessionKept)
            }
        }
    }
}

/// How the page was opened: on a router (with its session) or on the
/// server's own page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Router { server_url: String, ubus_url: String, session: String },
    StandAlone { server_url: String },
}

/// Decides the mode from the mount element's data attributes, LuCI's
/// `L.env.sessionid` and the page origin.
pub fn resolve_mode(
    server_attr: Option<String>,
    ubus_attr: Option<String>,
    session_attr: Option<String>,
    luci_session: Option<String>,
    origin: &str,
) -> Mode {
    let present = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let server_url = present(server_attr).unwrap_or_else(|| origin.to_string()).trim_end_matches('/').to_string();
    let session = present(session_attr)
        .or_else(|| present(luci_session))
        .filter(|s| s.chars().any(|c| c != '0'));
    match session {
        Some(session) => Mode::Router {
            server_url,
            ubus_url: present(ubus_attr).unwrap_or_else(|| "/ubus".to_string()),
            session,
        },
        None => Mode::StandAlone { server_url },
    }
}

/// The error box: what failed, the build log if any, where Retry starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub message: String,
    pub log: Option<String>,
    pub retry: Step,
}

/// Everything the router page shows. One signal holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct UiState {
    pub step: Step,
    /// The router is busy with a step (buttons that start one are disabled).
    pub running: bool,
    pub device: Option<String>,
    pub current_version: Option<String>,
    pub target_version: Option<String>,
    /// Extra line under the versions (e.g. a release without this device).
    pub note: Option<String>,
    pub keep_settings: bool,
    pub queue_position: Option<u32>,
    /// The first queue position seen, for the queue bar.
    pub queue_first: Option<u32>,
    pub build_phase: Option<String>,
    /// The phase's place among the known phases (1-based).
    pub phase_step: Option<u32>,
    pub busy_message: Option<String>,
    pub download: Progress,
    pub upload: Progress,
    pub reboot_elapsed: u64,
    pub error: Option<ErrorInfo>,
    pub done: Option<String>,
    /// What the upgrade does to the packages (from the update check).
    pub preview: Option<UpgradePreview>,
    /// Why there is no preview, or what it is based on.
    pub preview_note: Option<String>,
    /// The advanced options are shown.
    pub advanced: bool,
    /// Releases the advanced options offer, newest first.
    pub releases: Vec<String>,
    pub rootfs_size_mb: Option<u32>,
    /// The server's largest `rootfs_size_mb` (0: unknown).
    pub max_rootfs_mb: u32,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            step: Step::ReadRouter,
            running: false,
            device: None,
            current_version: None,
            target_version: None,
            note: None,
            keep_settings: true,
            queue_position: None,
            queue_first: None,
            build_phase: None,
            phase_step: None,
            busy_message: None,
            download: Progress::default(),
            upload: Progress::default(),
            reboot_elapsed: 0,
            error: None,
            done: None,
            preview: None,
            preview_note: None,
            advanced: false,
            releases: Vec::new(),
            rootfs_size_mb: None,
            max_rootfs_mb: 0,
        }
    }
}

impl UiState {
    /// Moves to `step`, clearing what belongs to a step's restart.
    pub fn enter(&mut self, step: Step) {
        self.step = step;
        self.error = None;
        match step {
            Step::RequestBuild => {
                self.queue_position = None;
                self.queue_first = None;
                self.build_phase = None;
                self.phase_step = None;
                self.busy_message = None;
            }
            Step::Download => self.download = Progress::default(),
            Step::Upload => self.upload = Progress::default(),
            Step::WaitReboot => self.reboot_elapsed = 0,
            _ => {}
        }
    }

    pub fn fail(&mut self, message: String, log: Option<String>) {
        self.running = false;
        self.error = Some(ErrorInfo { message, log, retry: self.step.retry_from() });
    }

    /// Records a queue position; the first one seen sets the bar's length.
    pub fn queued_at(&mut self, position: Option<u32>) {
        self.queue_position = position;
        if let Some(p) = position {
            self.queue_first = Some(self.queue_first.map_or(p, |f| f.max(p)));
        }
        self.build_phase = None;
        self.phase_step = None;
    }

    /// Text next to the reboot wait: a countdown to the usual time, then
    /// how much longer the page waits.
    pub fn reboot_text(&self) -> String {
        let e = self.reboot_elapsed;
        if e < REBOOT_EXPECTED_SECS {
            format!(
                "{} elapsed; back in about {} (a flash usually takes 1 to 3 minutes)",
                fmt_duration(e),
                fmt_duration(REBOOT_EXPECTED_SECS - e)
            )
        } else {
            format!(
                "{} elapsed; this takes longer than usual, still waiting up to {}",
                fmt_duration(e),
                fmt_duration(REBOOT_TIMEOUT_SECS.saturating_sub(e))
            )
        }
    }
}

/// The line of `#done`: "Now running OpenWrt 24.10.5 r29087-d9c5716d1d".
pub fn done_text(running: &str) -> String {
    format!("Now running {running}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_goes_back_where_it_helps() {
        assert_eq!(Step::WaitBuild.retry_from(), Step::RequestBuild);
        assert_eq!(Step::Verify.retry_from(), Step::Download);
        assert_eq!(Step::Validate.retry_from(), Step::Upload);
        assert_eq!(Step::Upload.retry_from(), Step::Upload);
        assert_eq!(Step::WaitReboot.retry_from(), Step::WaitReboot);
    }

    #[test]
    fn fail_records_retry_and_enter_clears() {
        let mut ui = UiState::default();
        ui.enter(Step::Verify);
        ui.running = true;
        ui.fail("bad".into(), None);
        assert!(!ui.running);
        assert_eq!(ui.error.as_ref().unwrap().retry, Step::Download);
        ui.download = Progress { loaded: 5, total: Some(10) };
        ui.enter(Step::Download);
        assert_eq!(ui.error, None);
        assert_eq!(ui.download, Progress::default());
    }

    #[test]
    fn progress_text() {
        assert_eq!(Progress { loaded: 3_250_000, total: Some(10_000_000) }.text(), "3.2 MB of 10.0 MB (32 %)");
        assert_eq!(Progress { loaded: 512, total: None }.text(), "512 B");
        assert_eq!(Progress { loaded: 2048, total: Some(0) }.text(), "2.0 kB");
        assert_eq!(Progress { loaded: 20, total: Some(10) }.text(), "20 B of 10 B (100 %)");
        assert_eq!(fmt_duration(65), "1:05");
    }

    #[test]
    fn reboot_detection() {
        let mut w = RebootWatch::new("r1-a");
        // Still the old system, before it goes down.
        assert_eq!(w.observe(Poll::Answers { revision: "r1-a".into() }), None);
        assert_eq!(w.observe(Poll::Unreachable), None);
        assert_eq!(w.observe(Poll::SessionGone), Some(Back::NeedsLogin));
        let mut w = RebootWatch::new("r1-a");
        assert_eq!(w.observe(Poll::Unreachable), None);
        assert_eq!(w.observe(Poll::Answers { revision: "r1-a".into() }), Some(Back::SessionKept));
        let mut w = RebootWatch::new("r1-a");
        assert_eq!(w.observe(Poll::Answers { revision: "r2-b".into() }), Some(Back::SessionKept));
    }

    #[test]
    fn modes() {
        let sid = "0123456789abcdef0123456789abcdef".to_string();
        assert_eq!(
            resolve_mode(Some("http://127.0.0.1:8787/".into()), Some("/ubus".into()), Some(sid.clone()), None, "http://r"),
            Mode::Router { server_url: "http://127.0.0.1:8787".into(), ubus_url: "/ubus".into(), session: sid.clone() }
        );
        // LuCI's own session when the attribute is absent.
        assert_eq!(
            resolve_mode(Some("http://s".into()), None, None, Some(sid.clone()), "http://r"),
            Mode::Router { server_url: "http://s".into(), ubus_url: "/ubus".into(), session: sid }
        );
        assert_eq!(
            resolve_mode(None, None, Some("".into()), None, "http://127.0.0.1:8787"),
            Mode::StandAlone { server_url: "http://127.0.0.1:8787".into() }
        );
        // The null session is no login.
        assert_eq!(
            resolve_mode(None, None, Some("0".repeat(32)), None, "http://e"),
            Mode::StandAlone { server_url: "http://e".into() }
        );
    }

    #[test]
    fn queue_bar_and_first_position() {
        assert_eq!(queue_bar(3, 3), (0, 4));
        assert_eq!(queue_bar(3, 0), (3, 4));
        // A position behind the first one seen (the queue was reordered) never underflows.
        assert_eq!(queue_bar(1, 4), (0, 5));
        let mut ui = UiState::default();
        ui.queued_at(Some(5));
        ui.queued_at(Some(2));
        assert_eq!((ui.queue_first, ui.queue_position), (Some(5), Some(2)));
        ui.enter(Step::RequestBuild);
        assert_eq!(ui.queue_first, None);
    }

    #[test]
    fn reboot_countdown() {
        let mut ui = UiState { reboot_elapsed: 65, ..Default::default() };
        assert_eq!(ui.reboot_text(), "1:05 elapsed; back in about 1:55 (a flash usually takes 1 to 3 minutes)");
        ui.reboot_elapsed = 200;
        assert_eq!(ui.reboot_text(), "3:20 elapsed; this takes longer than usual, still waiting up to 6:40");
    }

    #[test]
    fn done_line() {
        assert_eq!(done_text("OpenWrt 24.10.5 r29087-d9c5716d1d"), "Now running OpenWrt 24.10.5 r29087-d9c5716d1d");
    }
}
