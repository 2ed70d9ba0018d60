//! Calling the build queue object from the worker.

use worker::{Env, Headers, Method, Request, RequestInit, Result};

use crate::queue_api::{QueueCall, QueueReply, QUEUE_NAME};

pub const BINDING: &str = "BUILD_QUEUE";

pub async fn call(env: &Env, call: &QueueCall) -> Result<QueueReply> {
    let stub = env.durable_object(BINDING)?.get_by_name(QUEUE_NAME)?;
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    let body = serde_json::to_string(call)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    let req = Request::new_with_init("https://build-queue/call", &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(worker::Error::RustError(format!("build queue answered {}: {text}", resp.status_code())));
    }
    resp.json::<QueueReply>().await
}
