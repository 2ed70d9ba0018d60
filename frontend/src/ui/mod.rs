//! The Leptos views and the in-browser driver of the upgrade.

mod driver;
mod router;
mod standalone;

use crate::flow::Mode;
use crate::web::dom;

/// Mounts the app for the mode the page asks for.
pub fn mount() {
    let Some(m) = dom::find_mount() else { return };
    match m.mode {
        Mode::Router { server_url, ubus_url, session } => {
            dom::ensure_stylesheet(&server_url);
            leptos::mount::mount_to(m.element, move || {
                leptos::view! { <router::RouterPage server_url ubus_url session /> }
            })
            .forget();
        }
        Mode::StandAlone { server_url } => {
            dom::ensure_stylesheet(&server_url);
            leptos::mount::mount_to(m.element, move || leptos::view! { <standalone::StandAlonePage server_url /> })
                .forget();
        }
    }
}
