//! Reading request bodies with a size cap, so a huge body is refused
//! without being held in memory.

use futures_util::StreamExt;
use worker::{Request, Result};

pub enum Body {
    Complete(Vec<u8>),
    TooLarge,
}

pub async fn read_capped(req: &mut Request, cap: usize) -> Result<Body> {
    if let Some(len) = req.headers().get("Content-Length")?.and_then(|v| v.trim().parse::<u64>().ok()) {
        if len > cap as u64 {
            return Ok(Body::TooLarge);
        }
    }
    if req.inner().body().is_none() {
        return Ok(Body::Complete(Vec::new()));
    }
    let mut stream = req.stream()?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if out.len() + chunk.len() > cap {
            return Ok(Body::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Body::Complete(out))
}
