//! Building responses: JSON answers with the build headers, errors as
//! `{status, detail}`, and the CORS headers on everything that leaves.

use asu_protocol::answer::BuildAnswer;
use serde::Serialize;
use worker::{Headers, Request, Response, Result};

use crate::cors;

pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    let resp = Response::from_json(value)?.with_status(status);
    resp.headers().set("Cache-Control", "no-store")?;
    Ok(resp)
}

/// A build answer: HTTP status = `status`, plus the queue headers clients poll.
pub fn answer(a: &BuildAnswer) -> Result<Response> {
    let resp = json(a.status, a)?;
    // Only headers with a value: owut parses what it finds.
    let position = a.queue_position_header();
    if !position.is_empty() {
        resp.headers().set("X-Queue-Position", &position)?;
    }
    let status = a.imagebuilder_status_header();
    if !status.is_empty() {
        resp.headers().set("X-Imagebuilder-Status", status)?;
    }
    Ok(resp)
}

/// A rejected request: `{"status": .., "detail": ".."}`.
pub fn error(status: u16, detail: impl Into<String>) -> Result<Response> {
    answer(&BuildAnswer::error(status, detail))
}

/// Same, naming the request hash it is about.
pub fn error_for(hash: &str, status: u16, detail: impl Into<String>) -> Result<Response> {
    let mut a = BuildAnswer::error(status, detail);
    a.request_hash = Some(hash.to_string());
    answer(&a)
}

pub fn method_not_allowed(allow: &str) -> Result<Response> {
    let resp = error(405, format!("Method not allowed here; use {allow}"))?;
    resp.headers().set("Allow", allow)?;
    Ok(resp)
}

pub fn preflight(req: &Request) -> Result<Response> {
    let requested = req.headers().get("Access-Control-Request-Headers")?;
    let headers = Headers::new();
    for (name, value) in cors::preflight_headers(requested.as_deref()) {
        headers.set(name, &value)?;
    }
    Ok(Response::empty()?.with_status(204).with_headers(headers))
}

/// Adds the CORS answer headers. Responses from fetch, R2 or the assets
/// binding have immutable headers, so the headers are copied into a new set.
pub fn with_cors(resp: Response) -> Result<Response> {
    let status = resp.status_code();
    let headers = Headers::new();
    for (name, value) in resp.headers().entries() {
        headers.append(&name, &value)?;
    }
    for (name, value) in cors::answer_headers() {
        headers.set(name, value)?;
    }
    let (_, body) = resp.into_parts();
    Ok(Response::builder().with_status(status).with_headers(headers).body(body))
}

/// The response for a HEAD request: the same status and headers, no body.
pub fn headers_only(resp: Response) -> Response {
    let (builder, _) = resp.into_parts();
    builder.empty()
}
