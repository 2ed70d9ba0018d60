//! The server's own page: what it offers, and where upgrades happen.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::build_status::http_error_text;
use crate::plan::{version_key, OverviewView};
use crate::web::net;

async fn load_overview(server: &str) -> Result<OverviewView, String> {
    let answer = net::get(&format!("{server}/json/v1/overview.json"), 30_000)
        .await
        .map_err(|e| format!("Could not reach the build server at {server}: {e}"))?;
    if answer.status != 200 {
        return Err(http_error_text(answer.status, &answer.body, "overview.json"));
    }
    serde_json::from_str(&answer.body).map_err(|e| format!("The server's overview.json is unreadable: {e}"))
}

#[component]
pub fn StandAlonePage(server_url: String) -> impl IntoView {
    let overview: RwSignal<Option<Result<OverviewView, String>>> = RwSignal::new(None);
    spawn_local(async move {
        let result = load_overview(&server_url).await;
        overview.set(Some(result));
    });
    view! {
        <section class="asu asu-standalone">
            <h1>"OpenWrt firmware build server"</h1>
            <p>
                "This server builds OpenWrt sysupgrade images on demand, for a device's release and with "
                "the packages it already has, so an upgrade keeps them."
            </p>
            <p class="asu-hint" id="how-to-upgrade">
                "To upgrade a router, open the upgrade page in the router's own web interface: it loads "
                "this app with the router's login and does every step there, from the build to the reboot."
            </p>
            <h2>"Releases"</h2>
            {move || match overview.get() {
                None => view! { <p id="status" class="asu-status">"Loading the releases…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <div id="error" class="asu-error" role="alert"><p class="asu-error-text">{e}</p></div>
                }.into_any(),
                Some(Ok(o)) => releases(o).into_any(),
            }}
        </section>
    }
}

fn releases(overview: OverviewView) -> impl IntoView {
    let latest = overview.latest.clone();
    let server = overview.server.clone().filter(|s| !s.version.is_empty() || !s.contact.is_empty());
    let branches: Vec<_> = overview
        .branches_newest_first()
        .into_iter()
        .map(|(name, branch)| {
            let mut versions = branch.versions.clone();
            versions.sort_by_key(|v| std::cmp::Reverse(version_key(v)));
            let targets = branch.targets.len();
            let name = if branch.name.is_empty() { name.clone() } else { branch.name.clone() };
            view! {
                <li class="asu-branch">
                    <div class="asu-branch-head">
                        <strong>{name}</strong>
                        {branch.snapshot.then(|| view! { <span class="asu-tag">"snapshot"</span> })}
                        {(!branch.enabled).then(|| view! { <span class="asu-tag asu-off">"disabled"</span> })}
                        {(targets > 0).then(|| view! {
                            <span class="asu-muted">
                                {if targets == 1 { "1 target".to_string() } else { format!("{targets} targets") }}
                            </span>
                        })}
                    </div>
                    <ul class="asu-chips">
                        {versions
                            .into_iter()
                            .map(|v| {
                                let latest = latest.contains(&v);
                                view! { <li class:asu-latest=latest>{v}{latest.then_some(" · latest")}</li> }
                            })
                            .collect_view()}
                    </ul>
                </li>
            }
        })
        .collect();
    let empty = branches.is_empty();
    view! {
        <ul id="releases" class="asu-releases">{branches}</ul>
        {empty.then(|| view! { <p class="asu-note">"The server lists no releases yet."</p> })}
        {server.map(|s| view! {
            <p class="asu-muted" id="server-info">
                {format!("Server version {}", if s.version.is_empty() { "unknown" } else { &s.version })}
                {(!s.contact.is_empty()).then(|| format!(" · contact: {}", s.contact))}
            </p>
        })}
    }
}
