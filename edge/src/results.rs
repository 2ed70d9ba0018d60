//! Finished build answers in KV (`RESULTS`), keyed by request hash: the
//! hot path of every status poll.

use asu_protocol::answer::BuildAnswer;
use worker::{Env, Result};

pub const BINDING: &str = "RESULTS";

pub async fn get(env: &Env, hash: &str) -> Result<Option<BuildAnswer>> {
    let text = env.kv(BINDING)?.get(hash).text().await?;
    // An unreadable entry (older format) counts as a miss; the queue knows better.
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

pub async fn put(env: &Env, answer: &BuildAnswer, hash: &str, ttl_seconds: u64) -> Result<()> {
    let text = serde_json::to_string(answer)?;
    env.kv(BINDING)?.put(hash, text)?.expiration_ttl(ttl_seconds.max(60)).execute().await?;
    Ok(())
}

/// Any other JSON value kept in the same namespace under a prefixed key
/// (request hashes are bare hex, so prefixed keys never collide with them).
/// A missing or unreadable entry is `None`.
pub async fn get_json<T: serde::de::DeserializeOwned>(env: &Env, key: &str) -> Option<T> {
    let text = env.kv(BINDING).ok()?.get(key).text().await.ok()??;
    serde_json::from_str(&text).ok()
}

pub async fn put_json<T: serde::Serialize>(env: &Env, key: &str, value: &T, ttl_seconds: u64) -> Result<()> {
    let text = serde_json::to_string(value)?;
    env.kv(BINDING)?.put(key, text)?.expiration_ttl(ttl_seconds.max(60)).execute().await?;
    Ok(())
}
