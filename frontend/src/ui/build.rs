//! The router-free page's build: request it, follow it to the end, list
//! the images, and download one with its sha256 checked in the browser.

use leptos::prelude::*;
use leptos::task::spawn_local;

use asu_protocol::request::BuildRequest;
use asu_protocol::upstream::Image;

use super::progress::{phase_row, queue_row};
use crate::build_status::{http_error_text, interpret, BuildProgress, FinishedBuild};
use crate::flow::Progress;
use crate::verify::sha256_hex;
use crate::web::{net, page};

const POLL_MS: i32 = 2_000;

#[derive(Clone, Debug, PartialEq, Default)]
pub enum BuildView {
    #[default]
    Idle,
    Running {
        /// (first position seen, position now).
        queue: Option<(u32, u32)>,
        phase: Option<(String, Option<u32>)>,
        note: Option<String>,
    },
    Done(FinishedBuild),
    Failed {
        message: String,
        log: Option<String>,
    },
}

impl BuildView {
    pub fn running(&self) -> bool {
        matches!(self, BuildView::Running { .. })
    }
}

/// Starts `request` and follows it; a newer call makes older ones stop.
pub fn start(server: String, request: BuildRequest, state: RwSignal<BuildView>, generation: StoredValue<u32>) {
    let mine = generation.get_value().wrapping_add(1);
    generation.set_value(mine);
    state.set(BuildView::Running { queue: None, phase: None, note: Some("Sending the build request…".into()) });
    spawn_local(async move {
        let outcome = follow(&server, &request, state, generation, mine).await;
        if generation.get_value() == mine {
            state.set(outcome);
        }
    });
}

/// Applies a queued/started answer to the running state.
fn show(state: RwSignal<BuildView>, progress: BuildProgress) -> Option<BuildView> {
    match progress {
        BuildProgress::Queued { position } => {
            state.update(|s| {
                let first = match s {
                    BuildView::Running { queue: Some((f, _)), .. } => *f,
                    _ => 0,
                };
                *s = BuildView::Running {
                    queue: position.map(|p| (first.max(p), p)),
                    phase: None,
                    note: Some("Waiting in the build queue…".into()),
                };
            });
            None
        }
        BuildProgress::Started { phase, step } => {
            state.set(BuildView::Running { queue: None, phase: Some((phase, step)), note: Some("Building…".into()) });
            None
        }
        BuildProgress::Busy(message) => {
            state.update(|s| {
                if let BuildView::Running { note, .. } = s {
                    *note = Some(message);
                }
            });
            None
        }
        BuildProgress::Done(done) => Some(BuildView::Done(done)),
        BuildProgress::Failed { message, log } => Some(BuildView::Failed { message, log }),
    }
}

async fn follow(
    server: &str,
    request: &BuildRequest,
    state: RwSignal<BuildView>,
    generation: StoredValue<u32>,
    mine: u32,
) -> BuildView {
    let failed = |message: String| BuildView::Failed { message, log: None };
    let body = match serde_json::to_string(request) {
        Ok(b) => b,
        Err(_) => return failed("Internal error: the build request cannot be written.".into()),
    };
    let answer = match net::post_json(&format!("{server}/api/v1/build"), body, 30_000).await {
        Ok(a) => a,
        Err(e) => return failed(format!("Could not reach the build server at {server}: {e}")),
    };
    let status = interpret(answer.status, &answer.body);
    let Some(hash) = status.request_hash.clone() else {
        return show(state, status.progress)
            .unwrap_or_else(|| failed("The build server accepted the request but sent no request_hash.".into()));
    };
    if let Some(end) = show(state, status.progress) {
        return end;
    }
    let url = format!("{server}/api/v1/build/{hash}");
    let mut misses = 0;
    loop {
        net::sleep(POLL_MS).await;
        if generation.get_value() != mine {
            return BuildView::Idle;
        }
        match net::get(&url, 30_000).await {
            Ok(a) => {
                misses = 0;
                if let Some(end) = show(state, interpret(a.status, &a.body).progress) {
                    return end;
                }
            }
            Err(e) => {
                misses += 1;
                if misses >= 5 {
                    return failed(format!("Lost contact with the build server: {e}"));
                }
            }
        }
    }
}

/// What the build's part of the page shows and does.
#[derive(Clone, Copy)]
pub struct BuildPart {
    pub server: StoredValue<String>,
    pub state: RwSignal<BuildView>,
    pub retry: Callback<()>,
    verify: RwSignal<Option<(bool, String)>>,
}

impl BuildPart {
    pub fn new(server: StoredValue<String>, state: RwSignal<BuildView>, retry: Callback<()>) -> Self {
        BuildPart { server, state, retry, verify: RwSignal::new(None) }
    }
}

/// The progress, failure or result of the build; Retry starts it again.
pub fn build_status(b: BuildPart) -> AnyView {
    match b.state.get() {
        BuildView::Idle => ().into_any(),
        BuildView::Running { queue, phase, note } => view! {
            <div class="asu-build" id="build-progress">
                <p id="build-status" class="asu-status" aria-live="polite">{note}</p>
                {queue.map(|(first, now)| queue_row(first, now))}
                {phase.map(|(p, step)| phase_row(p, step))}
            </div>
        }
        .into_any(),
        BuildView::Failed { message, log } => super::error_box("error", message, log, Some(b.retry)).into_any(),
        BuildView::Done(done) => {
            let base = format!("{}/store/{}", b.server.get_value(), done.bin_dir.trim_matches('/'));
            let images: Vec<(Image, String)> =
                done.images.into_iter().map(|i| { let url = format!("{base}/{}", i.name); (i, url) }).collect();
            view! {
                <div class="asu-done-box">
                    <p id="build-done" class="asu-done">
                        {format!("Your image is ready: OpenWrt {} {}", done.version_number, done.version_code)}
                    </p>
                    {image_list("build-images", images, Some(b.verify))}
                    {super::live(b, verify_status)}
                </div>
            }
            .into_any()
        }
    }
}

fn verify_status(b: BuildPart) -> AnyView {
    let (ok, text) = b.verify.get().unwrap_or((true, String::new()));
    view! { <p id="verify-status" aria-live="polite" class=if ok { "asu-note" } else { "asu-error-text" }>{text}</p> }.into_any()
}

/// Images with name, type, filesystem, sha256 and a link; with `verify`,
/// also a button that downloads the image and checks its sha256 here.
pub fn image_list(id: &'static str, images: Vec<(Image, String)>, verify: Option<RwSignal<Option<(bool, String)>>>) -> impl IntoView {
    view! {
        <ul id=id class="asu-images">
            {images.into_iter().map(|(image, url)| {
                let (name, sha, check_url) = (image.name.clone(), image.sha256.clone(), url.clone());
                view! {
                    <li data-name=image.name.clone() data-type=image.kind.clone()>
                        <p>
                            <strong>{image.kind.clone()}</strong>
                            {image.filesystem.clone().map(|f| format!(" · {f}"))}
                        </p>
                        <p class="asu-file"><a class="asu-download" href=url download=image.name.clone()>{image.name.clone()}</a></p>
                        <p class="asu-muted">"sha256 " <code class="asu-sha">{image.sha256.clone()}</code></p>
                        {verify.map(|v| view! {
                            <button type="button" class="asu-primary asu-verify" on:click=move |_| {
                                let (url, name, sha) = (check_url.clone(), name.clone(), sha.clone());
                                spawn_local(async move { download_checked(&url, &name, &sha, v).await });
                            }>"Download and check sha256"</button>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Downloads an image, checks its sha256 against the build's, and saves it.
async fn download_checked(url: &str, name: &str, expected: &str, verify: RwSignal<Option<(bool, String)>>) {
    let label = name.to_string();
    verify.set(Some((true, format!("Downloading {label}…"))));
    let progress = move |p: Progress| verify.set(Some((true, format!("Downloading {label}: {}", p.text()))));
    let buffer = match net::download(url, progress).await {
        Ok(b) => b,
        Err((0, e)) => return verify.set(Some((false, format!("Could not download {name}: {e}")))),
        Err((s, body)) => return verify.set(Some((false, http_error_text(s, &body, &format!("the download of {name}"))))),
    };
    verify.set(Some((true, format!("Checking the sha256 of {name}…"))));
    net::sleep(20).await;
    let actual = sha256_hex(&js_sys::Uint8Array::new(&buffer).to_vec());
    if !actual.eq_ignore_ascii_case(expected) {
        return verify.set(Some((
            false,
            format!("{name} is damaged: its sha256 is {actual}, the build server says {expected}. Try again."),
        )));
    }
    let saved = page::save_file(&buffer, name).map(|_| " and saved").unwrap_or(", but the browser did not save it");
    verify.set(Some((true, format!("sha256 checked: {name} matches {actual}{saved}."))));
}
