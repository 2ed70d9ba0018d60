//! Small view pieces shared by both pages: progress rows with numbers
//! (build queue, build phase, bytes moved) and the list of package changes.

use leptos::prelude::*;

use crate::build_status::PHASE_COUNT;
use crate::flow::{queue_bar, Progress};
use crate::upgrade::{Replacement, VersionChange};

/// "Position in the build queue: 2" and a bar from where the build entered.
pub fn queue_row(first: u32, now: u32) -> impl IntoView {
    let (value, max) = queue_bar(first, now);
    view! {
        <div class="asu-progress">
            <label for="queue-progress">
                "Position in the build queue: " <strong id="queue-position">{now}</strong>
                {(now == 0).then_some(" (next)")}
            </label>
            <progress id="queue-progress" max=max value=value></progress>
        </div>
    }
}

/// "Build phase: Building the image (step 6 of 7)" and its bar.
pub fn phase_row(phase: String, step: Option<u32>) -> impl IntoView {
    view! {
        <div class="asu-progress">
            <label for="phase-progress">
                "Build phase: " <strong id="build-phase">{phase}</strong>
                {step.map(|s| format!(" (step {s} of {PHASE_COUNT})"))}
            </label>
            <progress id="phase-progress" max=PHASE_COUNT value=step></progress>
        </div>
    }
}

/// A byte counter with its bar; indeterminate without a known total.
pub fn bytes_row(id: &'static str, label: &'static str, progress: Progress) -> impl IntoView {
    view! {
        <div class="asu-progress">
            <label for=id>{label} ": " <span class="asu-bytes">{progress.text()}</span></label>
            <progress id=id max=progress.total.unwrap_or(1) value=progress.total.map(|_| progress.loaded)></progress>
        </div>
    }
}

/// Replacements (renamed, added, dropped packages) and version changes.
pub fn changes_list(
    replacements: &[Replacement],
    changes: &[VersionChange],
    missing: &[String],
    replacements_id: &'static str,
    changes_id: &'static str,
) -> impl IntoView {
    let reps: Vec<String> = replacements
        .iter()
        .map(|r| if r.mandatory { format!("{} (required)", r.describe()) } else { r.describe() })
        .collect();
    let lines: Vec<String> = changes
        .iter()
        .map(|c| if c.from.is_empty() { format!("{}: new, {}", c.name, c.to) } else { format!("{}: {} → {}", c.name, c.from, c.to) })
        .collect();
    let missing = (!missing.is_empty()).then(|| format!("Not in the new release, so left out: {}", missing.join(", ")));
    let (open, count) = (lines.len() <= 10, format!("{} packages change version", lines.len()));
    view! {
        {if reps.is_empty() {
            view! { <p id=replacements_id>"No package is replaced, added or dropped."</p> }.into_any()
        } else {
            view! { <ul id=replacements_id class="asu-bullets">{reps.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul> }.into_any()
        }}
        {missing.map(|m| view! { <p class="asu-note missing-packages">{m}</p> })}
        {(!lines.is_empty()).then(|| view! {
            <details open=open>
                <summary>{count}</summary>
                <ul id=changes_id class="asu-bullets">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
            </details>
        })}
    }
}
