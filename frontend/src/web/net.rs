//! HTTP from the browser: fetch for small JSON answers, XMLHttpRequest
//! where progress matters (image download and upload), and a timer.

use js_sys::{ArrayBuffer, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortSignal, FormData, ProgressEvent, RequestCache, XmlHttpRequest, XmlHttpRequestResponseType,
};

use crate::flow::Progress;
use crate::rpc::shorten;

pub struct HttpAnswer {
    pub status: u16,
    pub body: String,
}

pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn gloo_error(e: gloo_net::Error) -> String {
    match e {
        gloo_net::Error::JsError(js) => {
            let text = js.message;
            if js.name == "TimeoutError" || js.name == "AbortError" || text.contains("timed out") {
                "no answer in time".to_string()
            } else if js.name == "TypeError" || text.contains("Failed to fetch") || text.contains("NetworkError") {
                "the connection failed (server down, wrong address or blocked by CORS)".to_string()
            } else {
                text
            }
        }
        other => other.to_string(),
    }
}

/// Sends a request and returns the status and the body as text.
async fn send(request: Result<gloo_net::http::Request, gloo_net::Error>) -> Result<HttpAnswer, String> {
    let response = request.map_err(gloo_error)?.send().await.map_err(gloo_error)?;
    let status = response.status();
    let body = response.text().await.map_err(gloo_error)?;
    Ok(HttpAnswer { status, body })
}

/// A simple GET: no custom headers, so a cross-origin call needs no
/// preflight. `no-store` keeps the browser from answering polls from its cache.
pub async fn get(url: &str, timeout_ms: u32) -> Result<HttpAnswer, String> {
    let signal = AbortSignal::timeout_with_u32(timeout_ms);
    send(gloo_net::http::Request::get(url).cache(RequestCache::NoStore).abort_signal(Some(&signal)).build()).await
}

pub async fn post_json(url: &str, body: String, timeout_ms: u32) -> Result<HttpAnswer, String> {
    let signal = AbortSignal::timeout_with_u32(timeout_ms);
    let request = gloo_net::http::Request::post(url)
        .header("Content-Type", "application/json")
        .abort_signal(Some(&signal))
        .body(body);
    send(request).await
}

fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Sends `xhr` and waits for its load (any HTTP status) or failure.
async fn run_xhr(xhr: &XmlHttpRequest, send: impl FnOnce(&XmlHttpRequest) -> Result<(), JsValue>) -> Result<(), String> {
    let promise = Promise::new(&mut |resolve, reject| {
        xhr.set_onload(Some(&resolve));
        xhr.set_onerror(Some(&reject));
        xhr.set_ontimeout(Some(&reject));
        xhr.set_onabort(Some(&reject));
    });
    send(xhr).map_err(js_error)?;
    match JsFuture::from(promise).await {
        Ok(_) => Ok(()),
        Err(event) => {
            let kind = event.dyn_ref::<web_sys::Event>().map(|e| e.type_()).unwrap_or_default();
            Err(match kind.as_str() {
                "timeout" => "no answer in time".to_string(),
                "abort" => "the transfer was cancelled".to_string(),
                _ => "the connection failed (server down, wrong address or blocked by CORS)".to_string(),
            })
        }
    }
}

fn progress_handler(mut on_progress: impl FnMut(Progress) + 'static) -> Closure<dyn FnMut(ProgressEvent)> {
    Closure::new(move |e: ProgressEvent| {
        on_progress(Progress { loaded: e.loaded() as u64, total: e.length_computable().then(|| e.total() as u64) });
    })
}

/// Downloads `url` as bytes, reporting progress. Non-200 answers are
/// errors with the start of their body (the edge's `detail` JSON).
pub async fn download(url: &str, on_progress: impl FnMut(Progress) + 'static) -> Result<ArrayBuffer, (u16, String)> {
    let xhr = XmlHttpRequest::new().map_err(|e| (0, js_error(e)))?;
    xhr.open_with_async("GET", url, true).map_err(|e| (0, js_error(e)))?;
    xhr.set_response_type(XmlHttpRequestResponseType::Arraybuffer);
    let handler = progress_handler(on_progress);
    xhr.set_onprogress(Some(handler.as_ref().unchecked_ref()));
    run_xhr(&xhr, |x| x.send()).await.map_err(|e| (0, e))?;
    xhr.set_onprogress(None);
    let status = xhr.status().unwrap_or(0);
    let buffer: ArrayBuffer =
        xhr.response().ok().and_then(|r| r.dyn_into().ok()).ok_or((status, "the answer has no body".to_string()))?;
    if status != 200 {
        let head = Uint8Array::new(&buffer).to_vec();
        let text = String::from_utf8_lossy(&head[..head.len().min(2000)]).to_string();
        return Err((status, text));
    }
    Ok(buffer)
}

/// POSTs `form` as multipart/form-data, reporting upload progress.
pub async fn upload(url: &str, form: &FormData, on_progress: impl FnMut(Progress) + 'static) -> Result<HttpAnswer, String> {
    let xhr = XmlHttpRequest::new().map_err(js_error)?;
    xhr.open_with_async("POST", url, true).map_err(js_error)?;
    let handler = progress_handler(on_progress);
    let target = xhr.upload().map_err(js_error)?;
    target.set_onprogress(Some(handler.as_ref().unchecked_ref()));
    let result = run_xhr(&xhr, |x| x.send_with_opt_form_data(Some(form))).await;
    target.set_onprogress(None);
    result?;
    let status = xhr.status().unwrap_or(0);
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    Ok(HttpAnswer { status, body: shorten(&body, 4000) })
}
