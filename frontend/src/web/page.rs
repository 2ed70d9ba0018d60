//! The page around the app: the address bar (state as a link),
//! performance marks for the benchmark, focus, and saving a file.

use js_sys::{Array, ArrayBuffer};
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlElement, Url};

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// `location.search`, with its `?`.
pub fn location_search() -> String {
    window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

/// Puts `query` (`?a=b` or empty) into the address bar without a reload
/// or a history entry per edit.
pub fn replace_query(query: &str) {
    let Some(w) = window() else { return };
    let path = w.location().pathname().unwrap_or_else(|_| "/".into());
    if w.location().search().ok().as_deref() == Some(query) {
        return;
    }
    if let Ok(history) = w.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("{path}{query}")));
    }
}

/// `performance.mark(name)`: the benchmark reads these.
pub fn mark(name: &str) {
    if let Some(p) = window().and_then(|w| w.performance()) {
        let _ = p.mark(name);
    }
}

fn element(id: &str) -> Option<HtmlElement> {
    window()?.document()?.get_element_by_id(id)?.dyn_into().ok()
}

/// Moves the keyboard focus to `#id` (after the next render).
pub fn focus_later(id: &'static str) {
    leptos::task::spawn_local(async move {
        super::net::sleep(0).await;
        if let Some(e) = element(id) {
            let _ = e.focus();
            e.scroll_into_view();
        }
    });
}

/// Focuses the first element matching `selector`.
pub fn focus_first(selector: &str) {
    let found = window().and_then(|w| w.document()).and_then(|d| d.query_selector(selector).ok().flatten());
    if let Some(e) = found.and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
        let _ = e.focus();
    }
}

/// Offers `data` to the user as the file `name` (the browser's download).
pub fn save_file(data: &ArrayBuffer, name: &str) -> Result<(), String> {
    let options = BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = Blob::new_with_buffer_source_sequence_and_options(&Array::of1(data), &options)
        .map_err(|_| "the browser could not hold the file".to_string())?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|_| "the browser refused the file".to_string())?;
    let document = window().and_then(|w| w.document()).ok_or("no document")?;
    let a: HtmlAnchorElement =
        document.create_element("a").ok().and_then(|e| e.dyn_into().ok()).ok_or("no link element")?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    // The browser has read the URL once the click is handled.
    leptos::task::spawn_local(async move {
        super::net::sleep(60_000).await;
        let _ = Url::revoke_object_url(&url);
    });
    Ok(())
}
