//! "What would an upgrade do": paste a router's board description and
//! optionally its package list; see the newest release, the package
//! replacements and version changes, and open the matching custom build.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::data::{load_index, load_profile};
use super::finder::{Finder, Load};
use super::live;
use super::progress::changes_list;
use crate::link::LinkState;
use crate::packages::{parse_installed, Selection};
use crate::plan::{upgrade_candidates, DeviceRelease, OverviewView, UpgradePlan};
use crate::rpc::Board;
use crate::upgrade::{
    branch_replacements, check_body, offered_selection, parse_board, read_check, version_changes, CheckAnswer,
    UpgradePreview,
};
use crate::web::net;

#[derive(Clone, Debug, PartialEq)]
pub struct PreviewResult {
    /// "OpenWrt 23.05.4 r24012-d8dd03c46f".
    running: String,
    model: String,
    /// `None`: nothing newer.
    newer: Option<Newer>,
}

#[derive(Clone, Debug, PartialEq)]
struct Newer {
    preview: UpgradePreview,
    title: String,
    target: String,
    id: String,
    offered: Selection,
    left_out: Vec<String>,
    installed: usize,
    note: Option<String>,
}

/// The page's own estimate when the server has no update check: the
/// newest release that has the device, and the overview's replacements.
async fn estimate(server: &str, o: &OverviewView, board: &Board, names: &[String]) -> Result<Option<UpgradePreview>, String> {
    let target = &board.release.target;
    for c in upgrade_candidates(o, &board.release.version, target) {
        match load_profile(server, &c.path, target, &board.board_name).await {
            Ok(json) => {
                let plan = UpgradePlan::from_profile_json(&c.version, &json, &board.model)?;
                if !plan.is_upgrade_for(board) {
                    continue;
                }
                let profile = json.get("id").and_then(|v| v.as_str()).unwrap_or("").to_string();
                let replacements =
                    branch_replacements(&o.changes_between(&board.release.version, &c.version), names, target);
                return Ok(Some(UpgradePreview {
                    version: c.version,
                    version_code: plan.version_code,
                    profile,
                    changes: Vec::new(),
                    replacements,
                    missing: Vec::new(),
                    from_server: false,
                }));
            }
            Err((404, _)) => continue,
            Err((_, e)) => return Err(e),
        }
    }
    Ok(None)
}

async fn compute(f: Finder, board_text: String, packages_text: String) -> Result<PreviewResult, String> {
    let board = parse_board(&board_text)?;
    let installed = parse_installed(&packages_text)?;
    let names: Vec<String> = installed.keys().cloned().collect();
    let o = f.overview_untracked().ok_or("The releases are not loaded yet; try again in a moment.")?;
    let server = f.server.get_value();
    let answer = net::post_json(&format!("{server}/api/v1/upgrade-check"), check_body(&board, &installed), 30_000)
        .await
        .map_err(|e| format!("Could not reach the build server at {server}: {e}"))?;
    let up_to_date = PreviewResult { running: board.running(), model: board.model.clone(), newer: None };
    let (mut preview, mut note) = match read_check(answer.status, &answer.body) {
        CheckAnswer::Newer(p) => (p, None),
        CheckAnswer::UpToDate => return Ok(up_to_date),
        CheckAnswer::Refused(e) => return Err(e),
        CheckAnswer::Missing => match estimate(&server, &o, &board, &names).await? {
            Some(p) => (p, Some("This server has no update check yet: the page estimated the changes from the release overview.".to_string())),
            None => return Ok(up_to_date),
        },
    };
    let target = board.release.target.clone();
    let path = o.release_path(&preview.version);
    let asked = if preview.profile.is_empty() { board.board_name.clone() } else { preview.profile.clone() };
    let json = load_profile(&server, &path, &target, &asked).await.map_err(|(_, e)| e)?;
    let device = DeviceRelease::from_profile_json(&preview.version, &json, &asked)?;
    if preview.version_code.is_empty() {
        preview.version_code = device.version_code.clone();
    }
    let arch = device.arch.clone().or_else(|| o.arch(&preview.version, &target));
    let index = load_index(&server, &path, &target, arch.as_deref()).await.ok();
    if !preview.from_server && preview.changes.is_empty() {
        if let Some(i) = &index {
            preview.changes = version_changes(&installed, i);
        }
    }
    let (offered, left_out) = offered_selection(&names, &preview, &device.defaults(), index.as_deref());
    if names.is_empty() {
        note = Some(note.map_or(String::new(), |n| format!("{n} ")) + "Without the installed packages the build gets the release's default packages.");
    }
    Ok(PreviewResult {
        running: board.running(),
        model: board.model.clone(),
        newer: Some(Newer {
            preview,
            title: device.title.clone(),
            target,
            id: device.id.clone(),
            offered,
            left_out,
            installed: names.len(),
            note,
        }),
    })
}

#[derive(Clone, Copy)]
struct Section {
    f: Finder,
    board_text: RwSignal<String>,
    packages_text: RwSignal<String>,
    result: RwSignal<Load<PreviewResult>>,
}

impl Section {
    fn run(self) {
        if self.result.with_untracked(|r| matches!(r, Load::Loading)) {
            return;
        }
        self.result.set(Load::Loading);
        let (b, p) = (self.board_text.get_untracked(), self.packages_text.get_untracked());
        spawn_local(async move {
            let r = compute(self.f, b, p).await;
            self.result.set(match r {
                Ok(p) => Load::Ready(p),
                Err(e) => Load::Failed(e),
            });
        });
    }
}

pub fn upgrade_section(f: Finder) -> impl IntoView {
    let s = Section {
        f,
        board_text: RwSignal::new(String::new()),
        packages_text: RwSignal::new(String::new()),
        result: RwSignal::new(Load::Idle),
    };
    view! {
        <section id="upgrade-section" class="asu-panel" aria-labelledby="upgrade-title">
            <h2 id="upgrade-title">"What would an upgrade do?"</h2>
            <p>"Paste what your router reports; this page only reads it."</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                s.run();
            }>
                <div class="asu-field">
                    <label for="board-paste">"Output of " <code>"ubus call system board"</code></label>
                    <textarea id="board-paste" rows="6" spellcheck="false" required=true
                        on:input=move |ev| s.board_text.set(event_target_value(&ev))></textarea>
                </div>
                <div class="asu-field">
                    <label for="packages-paste">
                        "Installed packages (optional): output of " <code>"apk list --installed"</code> ", "
                        <code>"opkg list-installed"</code> " or " <code>"ubus call rpc-sys packagelist"</code>
                    </label>
                    <textarea id="packages-paste" rows="6" spellcheck="false"
                        on:input=move |ev| s.packages_text.set(event_target_value(&ev))></textarea>
                </div>
                <button id="preview-button" type="submit" class="asu-primary">"Show what the upgrade does"</button>
            </form>
            <div id="upgrade-preview" aria-live="polite">{live(s, outcome)}</div>
        </section>
    }
}

fn outcome(s: Section) -> AnyView {
    match s.result.get() {
        Load::Idle => ().into_any(),
        Load::Loading => view! { <p class="asu-status">"Asking the build server…"</p> }.into_any(),
        Load::Failed(e) => super::error_box("preview-error", e, None, None).into_any(),
        Load::Ready(r) => preview_view(s.f, r).into_any(),
    }
}

fn preview_view(f: Finder, r: PreviewResult) -> impl IntoView {
    let head = format!("Your router: {} running {}", r.model, r.running);
    let Some(n) = r.newer else {
        return view! {
            <p>{head}</p>
            <p id="preview-version" class="asu-done">"This is the newest release for this device."</p>
        }
        .into_any();
    };
    let p = n.preview;
    let version_line = format!("Newest release: OpenWrt {} {} for {}", p.version, p.version_code, n.title);
    let left_out = (!n.left_out.is_empty())
        .then(|| format!("Not in OpenWrt {}, so left out of the build: {}", p.version, n.left_out.join(", ")));
    let open = LinkState { version: p.version.clone(), target: n.target.clone(), id: n.id.clone(), packages: n.offered.to_param() };
    view! {
        <p>{head}</p>
        <p id="preview-version" class="asu-done">{version_line}</p>
        {n.note.map(|t| view! { <p class="asu-note">{t}</p> })}
        <h3>{format!("What happens to your {} packages", n.installed)}</h3>
        {changes_list(&p.replacements, &p.changes, &[], "preview-replacements", "preview-changes")}
        {left_out.map(|t| view! { <p id="preview-left-out" class="asu-note">{t}</p> })}
        <div class="asu-actions">
            <button id="preview-build" type="button" class="asu-primary" on:click=move |_| f.open(open.clone())>
                "Customise this build"
            </button>
        </div>
    }
    .into_any()
}
