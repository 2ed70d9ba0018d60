//! The page inside a router's web interface: current and newest release,
//! what the upgrade does to the packages, the Upgrade button with its
//! options, and the progress of every step after it.
//!
//! Each part of the page is a `live` part that re-renders from memos, so
//! typing into an input never re-creates it and progress events only touch
//! the progress rows.

use leptos::prelude::*;

use super::driver::{Ctx, Driver};
use super::packages::{IndexState, PackageEditor};
use super::progress::{bytes_row, changes_list, phase_row, queue_row};
use super::{live, pick};
use crate::flow::{ErrorInfo, Step, UiState, REBOOT_EXPECTED_SECS, STAGES};
use crate::packages::Selection;
use crate::upgrade::UpgradePreview;

type Head = (Option<String>, Option<String>, Option<String>, Option<String>);

#[derive(Clone, Copy)]
struct Page {
    d: Driver,
    step: Memo<Step>,
    error: Memo<Option<ErrorInfo>>,
    head: Memo<Head>,
    done: Memo<Option<String>>,
    preview: Memo<(Option<UpgradePreview>, Option<String>)>,
    advanced: Memo<bool>,
}

impl Page {
    fn ui(&self) -> RwSignal<UiState> {
        self.d.ui
    }
}

#[component]
pub fn RouterPage(server_url: String, ubus_url: String, session: String) -> impl IntoView {
    let ui = RwSignal::new(UiState::default());
    let d = Driver {
        ui,
        ctx: StoredValue::new_local(Ctx::new(server_url, ubus_url, session)),
        base: RwSignal::new(Vec::new()),
        selection: RwSignal::new(Selection::default()),
        index: RwSignal::new(IndexState::Idle),
    };
    d.start(Step::ReadRouter);
    let p = Page {
        d,
        step: pick(ui, |u| u.step),
        error: pick(ui, |u| u.error.clone()),
        head: pick(ui, |u| (u.device.clone(), u.current_version.clone(), u.target_version.clone(), u.note.clone())),
        done: pick(ui, |u| u.done.clone()),
        preview: pick(ui, |u| (u.preview.clone(), u.preview_note.clone())),
        advanced: pick(ui, |u| u.advanced),
    };
    view! {
        <section class="asu asu-router">
            <h2>"Firmware upgrade"</h2>
            {live(p, head)}
            {live(p, stages)}
            {live(p, build)}
            {live(p, transfer)}
            {live(p, ready)}
            {live(p, reboot)}
            {live(p, login)}
            {live(p, error)}
            {live(p, done)}
        </section>
    }
}

fn head(p: Page) -> AnyView {
    let (device, current, target, note) = p.head.get();
    view! {
        {device.map(|d| view! { <p class="asu-device" id="device">{d}</p> })}
        <dl class="asu-versions">
            <dt>"Installed"</dt>
            <dd id="current-version">{current.unwrap_or_else(|| "…".to_string())}</dd>
            {target.map(|t| view! { <dt>"Available"</dt><dd id="target-version">{t}</dd> })}
        </dl>
        {note.map(|n| view! { <p class="asu-note" id="note">{n}</p> })}
    }
    .into_any()
}

fn stages(p: Page) -> AnyView {
    let step = p.step.get();
    let (current, failed) = (step.stage(), p.error.with(Option::is_some));
    let class = |i: usize| {
        if i < current || current >= STAGES.len() {
            "done"
        } else if i == current && failed {
            "failed"
        } else if i == current {
            "current"
        } else {
            ""
        }
    };
    view! {
        <ol class="asu-stages">
            {STAGES.iter().enumerate().map(|(i, name)| view! { <li class=class(i)>{*name}</li> }).collect_view()}
        </ol>
        <p id="status" class="asu-status" aria-live="polite">{step.status_text()}</p>
    }
    .into_any()
}

fn build(p: Page) -> AnyView {
    if !matches!(p.step.get(), Step::RequestBuild | Step::WaitBuild) || p.error.with(Option::is_some) {
        return ().into_any();
    }
    let (queue, phase, busy) =
        p.ui().with(|u| (u.queue_position.map(|q| (u.queue_first.unwrap_or(q), q)), u.build_phase.clone(), u.busy_message.clone()));
    let step = p.ui().with(|u| u.phase_step);
    view! {
        <div class="asu-build">
            {queue.map(|(first, now)| queue_row(first, now))}
            {phase.map(|ph| phase_row(ph, step))}
            {busy.map(|b| view! { <p class="asu-note">{b}</p> })}
        </div>
    }
    .into_any()
}

fn transfer(p: Page) -> AnyView {
    let step = p.step.get();
    let (down, up) = p.ui().with(|u| (u.download, u.upload));
    view! {
        {step.shows_download().then(|| bytes_row("download-progress", "Download", down))}
        {step.shows_upload().then(|| bytes_row("upload-progress", "Upload to router", up))}
    }
    .into_any()
}

/// Before the user confirms: the package changes, keep settings, the
/// advanced options and the Upgrade button.
fn ready(p: Page) -> AnyView {
    if p.step.get() != Step::Ready {
        return ().into_any();
    }
    let ui = p.ui();
    let (keep, advanced) = ui.with_untracked(|u| (u.keep_settings, u.advanced));
    view! {
        {live(p, changes)}
        <div class="asu-actions">
            <label class="asu-check">
                <input type="checkbox" id="keep-settings" checked=keep
                    on:change=move |ev| {
                        let keep = event_target_checked(&ev);
                        ui.update(|u| u.keep_settings = keep);
                    } />
                " Keep settings"
            </label>
            <label class="asu-check">
                <input type="checkbox" id="advanced-toggle" aria-controls="advanced-options" checked=advanced
                    on:change=move |ev| p.d.toggle_advanced(event_target_checked(&ev)) />
                " Advanced options"
            </label>
        </div>
        {live(p, advanced_options)}
        <div class="asu-actions">
            <button id="upgrade-button" class="asu-primary" type="button" on:click=move |_| p.d.start(Step::RequestBuild)>
                "Upgrade"
            </button>
        </div>
    }
    .into_any()
}

fn changes(p: Page) -> AnyView {
    let (preview, note) = p.preview.get();
    view! {
        <div id="package-changes" class="asu-changes">
            <h3>"What the upgrade does to your packages"</h3>
            {note.map(|n| view! { <p class="asu-note">{n}</p> })}
            {preview.map(|pr| changes_list(&pr.replacements, &pr.changes, &pr.missing, "replacements", "version-changes"))}
        </div>
    }
    .into_any()
}

/// Another release, the package list, the root filesystem size.
fn advanced_options(p: Page) -> AnyView {
    if !p.advanced.get() {
        return ().into_any();
    }
    let ui = p.ui();
    let d = p.d;
    let (releases, target, rootfs, max) = ui.with_untracked(|u| {
        (u.releases.clone(), u.target_version.clone().unwrap_or_default(), u.rootfs_size_mb, u.max_rootfs_mb)
    });
    // target_version reads "OpenWrt 24.10.5 r…".
    let chosen = target.split(' ').nth(1).unwrap_or("").to_string();
    let rootfs_error = RwSignal::new(None::<String>);
    view! {
        <div id="advanced-options" class="asu-panel">
            <div class="asu-field">
                <label for="advanced-release">"Release"</label>
                <select id="advanced-release" on:change=move |ev| d.choose_release(event_target_value(&ev))>
                    {releases.into_iter().map(|v| {
                        let selected = v == chosen;
                        view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <PackageEditor
                base=d.base
                selection=d.selection
                on_change=Callback::new(move |s| d.selection.set(s))
                index=d.index
                base_word="installed"
            />
            <div class="asu-field">
                <label for="rootfs-size">"Root filesystem size in MB (empty: the release's default)"</label>
                <input id="rootfs-size" type="number" inputmode="numeric" min="1"
                    max=(max > 0).then(|| max.to_string())
                    value=rootfs.map(|n| n.to_string())
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        match super::parse_size(&text, max) {
                            Ok(n) => {
                                rootfs_error.set(None);
                                ui.update(|u| u.rootfs_size_mb = n);
                            }
                            Err(e) => rootfs_error.set(Some(format!("{e} The default is used until then."))),
                        }
                    } />
                <p class="asu-error-text">{move || rootfs_error.get()}</p>
            </div>
        </div>
    }
    .into_any()
}

fn reboot(p: Page) -> AnyView {
    if p.step.get() != Step::WaitReboot {
        return ().into_any();
    }
    let (text, elapsed) = p.ui().with(|u| (u.reboot_text(), u.reboot_elapsed.min(REBOOT_EXPECTED_SECS)));
    view! {
        <div class="asu-progress">
            <label for="reboot-progress">
                "Waiting for the router: " <span id="reboot-wait" class="asu-wait">{text}</span>
            </label>
            <progress id="reboot-progress" max=REBOOT_EXPECTED_SECS value=elapsed></progress>
        </div>
    }
    .into_any()
}

fn login(p: Page) -> AnyView {
    if p.step.get() != Step::NeedPassword {
        return ().into_any();
    }
    let d = p.d;
    let password = RwSignal::new(String::new());
    view! {
        <form
            class="asu-login"
            on:submit=move |ev| {
                ev.prevent_default();
                d.ctx.update_value(|c| c.password = password.get_untracked());
                d.start(Step::Login);
            }
        >
            <label for="password">"Password for root"</label>
            <input
                type="password"
                id="password"
                autocomplete="current-password"
                on:input=move |ev| password.set(event_target_value(&ev))
            />
            <button id="login-button" type="submit" class="asu-primary">"Log in"</button>
        </form>
    }
    .into_any()
}

fn error(p: Page) -> AnyView {
    let Some(e) = p.error.get() else { return ().into_any() };
    let (d, retry) = (p.d, e.retry);
    super::error_box("error", e.message, e.log, Some(Callback::new(move |_| d.start(retry)))).into_any()
}

fn done(p: Page) -> AnyView {
    p.done.get().map(|d| view! { <p id="done" class="asu-done">{d}</p> }).into_any()
}
