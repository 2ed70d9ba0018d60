//! JSON-RPC calls to the router's ubus endpoint (same origin as the page).

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

use super::net;
use crate::rpc::{call_body, parse_answer, RpcError};

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Calls `object.method(args)`; gives the data of a `[0, {...}]` answer.
pub async fn call(url: &str, session: &str, object: &str, method: &str, args: Value, timeout_ms: u32) -> Result<Value, RpcError> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let body = call_body(id, session, object, method, &args);
    let answer = net::post_json(url, body, timeout_ms).await.map_err(RpcError::Network)?;
    // rpcd puts JSON-RPC errors in the body whatever the HTTP status; only
    // a body that is not JSON-RPC makes the status the error.
    match parse_answer(&answer.body) {
        Err(RpcError::BadAnswer(_)) if answer.status != 200 => {
            Err(RpcError::Http { status: answer.status, body: answer.body })
        }
        other => other,
    }
}
