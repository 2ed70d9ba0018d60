//! The page inside a router's web interface: current and newest release,
//! the Upgrade button, and the progress of every step after it.

use leptos::prelude::*;

use super::driver::{Ctx, Driver};
use crate::flow::{Progress, Step, UiState, STAGES};

#[component]
pub fn RouterPage(server_url: String, ubus_url: String, session: String) -> impl IntoView {
    let ui = RwSignal::new(UiState::default());
    let driver = Driver { ui, ctx: StoredValue::new_local(Ctx::new(server_url, ubus_url, session)) };
    driver.start(Step::ReadRouter);

    // Memos so that blocks are rebuilt only when their own part changes,
    // not on every progress event.
    let step = Memo::new(move |_| ui.with(|u| u.step));
    let error = Memo::new(move |_| ui.with(|u| u.error.clone()));
    let device = Memo::new(move |_| ui.with(|u| u.device.clone()));
    let target = Memo::new(move |_| ui.with(|u| u.target_version.clone()));
    let note = Memo::new(move |_| ui.with(|u| u.note.clone()));
    let done = Memo::new(move |_| ui.with(|u| u.done.clone()));
    let queue = Memo::new(move |_| ui.with(|u| u.queue_position));
    let phase = Memo::new(move |_| ui.with(|u| u.build_phase.clone()));
    let busy = Memo::new(move |_| ui.with(|u| u.busy_message.clone()));
    let running = Memo::new(move |_| ui.with(|u| u.running));

    let stage_class = move |i: usize| {
        let (current, failed) = (step.get().stage(), error.with(Option::is_some));
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
        <section class="asu asu-router">
            <h2>"Firmware upgrade"</h2>
            {move || device.get().map(|d| view! { <p class="asu-device" id="device">{d}</p> })}
            <dl class="asu-versions">
                <dt>"Installed"</dt>
                <dd id="current-version">
                    {move || ui.with(|u| u.current_version.clone()).unwrap_or_else(|| "…".to_string())}
                </dd>
                {move || target.get().map(|t| view! {
                    <dt>"Available"</dt>
                    <dd id="target-version">{t}</dd>
                })}
            </dl>
            {move || note.get().map(|n| view! { <p class="asu-note" id="note">{n}</p> })}
            <ol class="asu-stages">
                {STAGES
                    .iter()
                    .enumerate()
                    .map(|(i, name)| view! { <li class=move || stage_class(i)>{*name}</li> })
                    .collect_view()}
            </ol>
            <p id="status" class="asu-status" aria-live="polite">{move || step.get().status_text()}</p>

            {move || (matches!(step.get(), Step::RequestBuild | Step::WaitBuild) && error.with(Option::is_none)).then(|| view! {
                <div class="asu-build">
                    {move || queue.get().map(|q| view! {
                        <p>
                            "Position in the build queue: " <strong id="queue-position">{q}</strong>
                            {(q == 0).then_some(" (next)")}
                        </p>
                    })}
                    {move || phase.get().map(|p| view! {
                        <p>"Build phase: " <strong id="build-phase">{p}</strong></p>
                    })}
                    {move || busy.get().map(|b| view! { <p class="asu-note">{b}</p> })}
                </div>
            })}

            {move || step.get().shows_download().then(|| {
                progress_row("download-progress", "Download", Signal::derive(move || ui.with(|u| u.download)))
            })}
            {move || step.get().shows_upload().then(|| {
                progress_row("upload-progress", "Upload to router", Signal::derive(move || ui.with(|u| u.upload)))
            })}

            {move || (step.get() == Step::Ready).then(|| view! {
                <div class="asu-actions">
                    <label class="asu-check">
                        <input
                            type="checkbox"
                            id="keep-settings"
                            prop:checked=move || ui.with(|u| u.keep_settings)
                            on:change=move |ev| {
                                let keep = event_target_checked(&ev);
                                ui.update(|u| u.keep_settings = keep);
                            }
                        />
                        " Keep settings"
                    </label>
                    <button
                        id="upgrade-button"
                        class="asu-primary"
                        type="button"
                        disabled=move || running.get()
                        on:click=move |_| driver.start(Step::RequestBuild)
                    >
                        "Upgrade"
                    </button>
                </div>
            })}

            {move || (step.get() == Step::WaitReboot).then(|| view! {
                <p id="reboot-wait" class="asu-wait">{move || ui.with(|u| u.reboot_text())}</p>
            })}

            {move || (step.get() == Step::NeedPassword).then(|| login_form(driver))}

            {move || error.get().map(|e| {
                let retry = e.retry;
                view! {
                    <div id="error" class="asu-error" role="alert">
                        <p class="asu-error-text">{e.message}</p>
                        {e.log.map(|log| view! {
                            <details>
                                <summary>"Build log (last lines)"</summary>
                                <pre>{log}</pre>
                            </details>
                        })}
                        <button id="retry-button" type="button" on:click=move |_| driver.start(retry)>
                            "Retry"
                        </button>
                    </div>
                }
            })}

            {move || done.get().map(|d| view! { <p id="done" class="asu-done">{d}</p> })}
        </section>
    }
}

fn progress_row(id: &'static str, label: &'static str, progress: Signal<Progress>) -> impl IntoView {
    view! {
        <div class="asu-progress">
            <label for=id>{label}</label>
            <progress
                id=id
                max=move || progress.with(|p| p.total.unwrap_or(1).to_string())
                // Without a known total the bar stays indeterminate.
                value=move || progress.with(|p| p.total.map(|_| p.loaded.to_string()))
            ></progress>
            <span class="asu-bytes">{move || progress.with(Progress::text)}</span>
        </div>
    }
}

fn login_form(driver: Driver) -> impl IntoView {
    let password = RwSignal::new(String::new());
    view! {
        <form
            class="asu-login"
            on:submit=move |ev| {
                ev.prevent_default();
                driver.ctx.update_value(|c| c.password = password.get_untracked());
                driver.start(Step::Login);
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
}
