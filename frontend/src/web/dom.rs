//! Reading the mount point the page gives us.

use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use crate::flow::{resolve_mode, Mode};

pub struct Mount {
    pub element: HtmlElement,
    pub mode: Mode,
}

/// `#asu-app` with its data attributes, or the body when there is none.
pub fn find_mount() -> Option<Mount> {
    let window = web_sys::window()?;
    let document = window.document()?;
    let element: HtmlElement = match document.get_element_by_id("asu-app") {
        Some(e) => e.dyn_into().ok()?,
        None => document.body()?,
    };
    let attr = |name: &str| element.get_attribute(name);
    let origin = window.location().origin().unwrap_or_default();
    let mode = resolve_mode(attr("data-server-url"), attr("data-ubus-url"), attr("data-session"), luci_session(), &origin);
    Some(Mount { element, mode })
}

/// `window.L.env.sessionid` inside a real LuCI page.
fn luci_session() -> Option<String> {
    let window = web_sys::window()?;
    let get = |obj: &wasm_bindgen::JsValue, key: &str| {
        js_sys::Reflect::get(obj, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null())
    };
    let l = get(&window, "L")?;
    let env = get(&l, "env")?;
    get(&env, "sessionid")?.as_string()
}

/// Adds the app's stylesheet (from the server) unless the page has it.
pub fn ensure_stylesheet(server_url: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if document.get_element_by_id("asu-style").is_some() {
        return;
    }
    let (Ok(link), Some(head)) = (document.create_element("link"), document.head()) else { return };
    link.set_id("asu-style");
    let _ = link.set_attribute("rel", "stylesheet");
    let _ = link.set_attribute("href", &format!("{server_url}/app/style.css"));
    let _ = head.append_child(&link);
}
