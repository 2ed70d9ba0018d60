//! The Leptos views and the in-browser driver of the upgrade.
//!
//! The two pages are Cargo features (`router`, `finder`; both by default)
//! so each can also be built alone, as a smaller download for its page.

#[cfg(feature = "finder")]
mod build;
mod data;
#[cfg(feature = "router")]
mod driver;
#[cfg(feature = "finder")]
mod finder;
mod packages;
#[cfg(feature = "finder")]
mod preview;
mod progress;
#[cfg(feature = "router")]
mod router;

use leptos::prelude::*;

use crate::flow::Mode;
use crate::web::{dom, page};

/// A reactive part of a page: `render` runs again whenever a signal it
/// reads changes. Going through a plain function pointer and `AnyView`
/// makes every part with the same context type share one effect
/// implementation; a closure per part would each add kilobytes of wasm.
pub fn live<C: Copy + Send + Sync + 'static>(ctx: C, render: fn(C) -> AnyView) -> impl IntoView {
    move || render(ctx)
}

/// The error box: the message, the build log if any, and a Retry button.
pub fn error_box(id: &'static str, message: String, log: Option<String>, retry: Option<Callback<()>>) -> impl IntoView {
    view! {
        <div id=id class="asu-error" role="alert">
            <p class="asu-error-text">{message}</p>
            {log.map(|log| view! {
                <details>
                    <summary>"Build log (last lines)"</summary>
                    <pre>{log}</pre>
                </details>
            })}
            {retry.map(|r| view! { <button id="retry-button" type="button" on:click=move |_| r.run(())>"Retry"</button> })}
        </div>
    }
}

pub use crate::plan::parse_rootfs_size as parse_size;

/// A memo of one field of a state signal, also through a function pointer
/// so that memos of the same type share their code.
pub fn pick<S, T>(state: RwSignal<S>, field: fn(&S) -> T) -> Memo<T>
where
    S: Send + Sync + 'static,
    T: Clone + PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| state.with(field))
}

/// Mounts the app for the mode the page asks for.
pub fn mount() {
    let Some(m) = dom::find_mount() else { return };
    match m.mode {
        Mode::Router { server_url, ubus_url, session } => {
            dom::ensure_stylesheet(&server_url);
            #[cfg(feature = "router")]
            leptos::mount::mount_to(m.element, move || view! { <router::RouterPage server_url ubus_url session /> }).forget();
            #[cfg(not(feature = "router"))]
            {
                let _ = (ubus_url, session);
                not_in_this_build(m.element, "The router upgrade is in app/frontend.js of the build server.");
            }
        }
        Mode::StandAlone { server_url } => {
            dom::ensure_stylesheet(&server_url);
            #[cfg(feature = "finder")]
            leptos::mount::mount_to(m.element, move || view! { <finder::FinderPage server_url /> }).forget();
            #[cfg(not(feature = "finder"))]
            not_in_this_build(m.element, "Open this page from a router's web interface, or the build server's own page.");
        }
    }
    // The benchmark reads this: the page is rendered and usable.
    page::mark("asu-first-render");
}

#[cfg(not(all(feature = "router", feature = "finder")))]
fn not_in_this_build(element: web_sys::HtmlElement, text: &'static str) {
    leptos::mount::mount_to(element, move || view! { <section class="asu"><p id="status">{text}</p></section> }).forget();
}
