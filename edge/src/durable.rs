//! The build queue: one SQLite-backed Durable Object that holds every job
//! that is queued, building, or recently finished. Each call runs its SQL
//! without awaiting in between, so calls never interleave: identical
//! concurrent submissions find the row the first one inserted.

use asu_protocol::answer::{BuildAnswer, ImagebuilderStatus};
use asu_protocol::builder_api::Job;
use asu_protocol::request::BuildRequest;
use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, SqlStorageValue, State};

use crate::queue_api::{QueueCall, QueueReply, MAX_ATTEMPTS};
use crate::ttl::FAILED_SECONDS;

/// Finished answers larger than this are kept without their build logs
/// (a Durable Object row holds at most 2 MB; KV keeps the full answer).
const MAX_STORED_ANSWER: usize = 1_000_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    hash TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    state TEXT NOT NULL,            -- queued | building | done | failed
    seq INTEGER NOT NULL,           -- queue order, smallest first
    lease TEXT,                     -- current (building) or finishing lease
    lease_deadline INTEGER,         -- unix ms
    phase TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    builder TEXT,
    answer TEXT,                    -- finished answer JSON
    expires_at INTEGER,             -- unix ms, finished rows only
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, seq);
";

#[durable_object(fetch)]
pub struct BuildQueue {
    state: State,
}

#[derive(Deserialize)]
struct Row {
    hash: String,
    request: String,
    state: String,
    seq: i64,
    lease: Option<String>,
    phase: Option<String>,
    attempts: i64,
    answer: Option<String>,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

impl DurableObject for BuildQueue {
    fn new(state: State, _env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("creating the jobs table failed: {e}");
        }
        BuildQueue { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let call: QueueCall = match req.json().await {
            Ok(c) => c,
            Err(e) => return Response::error(format!("bad queue call: {e}"), 400),
        };
        // Everything below is synchronous: no other call runs in between.
        let db = Db { sql: self.state.storage().sql(), now: worker::Date::now().as_millis() as i64 };
        let reply = db.handle(call)?;
        Response::from_json(&reply)
    }
}

struct Db {
    sql: SqlStorage,
    now: i64,
}

fn lease_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| worker::Error::RustError(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

impl Db {
    fn rows(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<Vec<Row>> {
        self.sql.exec(query, args)?.to_array::<Row>()
    }

    fn count(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<i64> {
        Ok(self.sql.exec(query, args)?.to_array::<Count>()?.first().map(|c| c.n).unwrap_or(0))
    }

    fn run(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<()> {
        self.sql.exec(query, args)?;
        Ok(())
    }

    fn job(&self, hash: &str) -> Result<Option<Row>> {
        Ok(self
            .rows("SELECT hash, request, state, seq, lease, phase, attempts, answer FROM jobs WHERE hash = ?", vec![hash.into()])?
            .pop())
    }

    fn handle(&self, call: QueueCall) -> Result<QueueReply> {
        self.housekeeping()?;
        match call {
            QueueCall::Enqueue { hash, request, max_queue_length } => self.enqueue(&hash, &request, max_queue_length),
            QueueCall::Status { hash } => match self.job(&hash)? {
                Some(row) => Ok(QueueReply::State { answer: self.answer_of(&row)? }),
                None => Ok(QueueReply::NotFound),
            },
            QueueCall::Lease { builder, lease_seconds } => self.lease(&builder, lease_seconds),
            QueueCall::Touch { hash, lease, phase, lease_seconds } => self.touch(&hash, &lease, phase, lease_seconds),
            QueueCall::Finish { hash, lease, answer, keep_seconds } => self.finish(&hash, &lease, answer, keep_seconds),
            QueueCall::Recall { hash, lease } => self.recall(&hash, &lease),
            QueueCall::Stats => Ok(QueueReply::Stats {
                queue_length: self.count("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'building')", vec![])? as u32,
            }),
        }
    }

    /// Lapsed leases go back to the front of the queue (or fail after
    /// MAX_ATTEMPTS); finished rows past their time are dropped.
    fn housekeeping(&self) -> Result<()> {
        let lapsed = self.rows(
            "SELECT hash, request, state, seq, lease, phase, attempts, answer FROM jobs
             WHERE state = 'building' AND lease_deadline < ? ORDER BY seq DESC",
            vec![self.now.into()],
        )?;
        for row in lapsed {
            if row.attempts >= MAX_ATTEMPTS {
                let answer = BuildAnswer::failed(
                    &row.hash,
                    &format!("the build was abandoned by its builder {} times; try again later", row.attempts),
                    String::new(),
                    String::new(),
                );
                self.run(
                    "UPDATE jobs SET state = 'failed', answer = ?, expires_at = ?, phase = NULL, updated_at = ? WHERE hash = ?",
                    vec![
                        serde_json::to_string(&answer)?.into(),
                        (self.now + FAILED_SECONDS as i64 * 1000).into(),
                        self.now.into(),
                        row.hash.as_str().into(),
                    ],
                )?;
            } else {
                // Descending seq keeps the lapsed jobs' relative order at the front.
                self.run(
                    "UPDATE jobs SET state = 'queued', lease = NULL, lease_deadline = NULL, phase = NULL, updated_at = ?,
                     seq = COALESCE((SELECT MIN(seq) FROM jobs WHERE state = 'queued'), 1) - 1
                     WHERE hash = ?",
                    vec![self.now.into(), row.hash.as_str().into()],
                )?;
            }
        }
        self.run(
            "DELETE FROM jobs WHERE state IN ('done', 'failed') AND expires_at < ?",
            vec![self.now.into()],
        )
    }

    fn position(&self, seq: i64) -> Result<u32> {
        Ok(self.count("SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued' AND seq < ?", vec![seq.into()])? as u32)
    }

    fn answer_of(&self, row: &Row) -> Result<BuildAnswer> {
        match row.state.as_str() {
            "queued" => Ok(BuildAnswer::queued(&row.hash, self.position(row.seq)?)),
            "building" => {
                let phase = row.phase.as_deref().and_then(ImagebuilderStatus::parse).unwrap_or(ImagebuilderStatus::Init);
                Ok(BuildAnswer::started(&row.hash, phase))
            }
            _ => match row.answer.as_deref().map(serde_json::from_str::<BuildAnswer>) {
                Some(Ok(a)) => Ok(a),
                _ => Err(worker::Error::RustError(format!("finished job {} has no readable answer", row.hash))),
            },
        }
    }

    fn enqueue(&self, hash: &str, request: &BuildRequest, max_queue_length: u32) -> Result<QueueReply> {
        if let Some(row) = self.job(hash)? {
            return Ok(QueueReply::State { answer: self.answer_of(&row)? });
        }
        let queued = self.count("SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued'", vec![])?;
        if queued >= max_queue_length as i64 {
            return Ok(QueueReply::Full { queued: queued as u32 });
        }
        self.run(
            "INSERT INTO jobs (hash, request, state, seq, attempts, created_at, updated_at)
             VALUES (?, ?, 'queued', COALESCE((SELECT MAX(seq) FROM jobs), 0) + 1, 0, ?, ?)",
            vec![hash.into(), serde_json::to_string(request)?.into(), self.now.into(), self.now.into()],
        )?;
        Ok(QueueReply::State { answer: BuildAnswer::queued(hash, queued as u32) })
    }

    fn lease(&self, builder: &str, lease_seconds: u32) -> Result<QueueReply> {
        let Some(row) = self
            .rows(
                "SELECT hash, request, state, seq, lease, phase, attempts, answer FROM jobs
                 WHERE state = 'queued' ORDER BY seq LIMIT 1",
                vec![],
            )?
            .pop()
        else {
            return Ok(QueueReply::Empty);
        };
        let request: BuildRequest = serde_json::from_str(&row.request)?;
        let lease = lease_id()?;
        self.run(
            "UPDATE jobs SET state = 'building', lease = ?, lease_deadline = ?, phase = 'init',
             attempts = attempts + 1, builder = ?, updated_at = ? WHERE hash = ?",
            vec![
                lease.as_str().into(),
                (self.now + lease_seconds as i64 * 1000).into(),
                builder.into(),
                self.now.into(),
                row.hash.as_str().into(),
            ],
        )?;
        Ok(QueueReply::Leased { job: Job { request_hash: row.hash, lease, lease_seconds, request } })
    }

    fn lease_problem(row: &Row) -> String {
        match row.state.as_str() {
            "queued" => "this lease has lapsed; the job went back to the queue".into(),
            "building" => "this is not the job's current lease".into(),
            _ => "the job is already finished".into(),
        }
    }

    fn touch(&self, hash: &str, lease: &str, phase: Option<ImagebuilderStatus>, lease_seconds: u32) -> Result<QueueReply> {
        let Some(row) = self.job(hash)? else {
            return Ok(QueueReply::NotFound);
        };
        if row.state != "building" || row.lease.as_deref() != Some(lease) {
            return Ok(QueueReply::LeaseInvalid { detail: Self::lease_problem(&row) });
        }
        let deadline = self.now + lease_seconds as i64 * 1000;
        match phase {
            Some(p) => self.run(
                "UPDATE jobs SET lease_deadline = ?, phase = ?, updated_at = ? WHERE hash = ?",
                vec![deadline.into(), p.as_str().into(), self.now.into(), hash.into()],
            )?,
            None => self.run(
                "UPDATE jobs SET lease_deadline = ?, updated_at = ? WHERE hash = ?",
                vec![deadline.into(), self.now.into(), hash.into()],
            )?,
        }
        Ok(QueueReply::LeaseOk { request: serde_json::from_str(&row.request)? })
    }

    fn finish(&self, hash: &str, lease: &str, answer: BuildAnswer, keep_seconds: u64) -> Result<QueueReply> {
        let Some(row) = self.job(hash)? else {
            return Ok(QueueReply::NotFound);
        };
        let same_lease = row.lease.as_deref() == Some(lease);
        match row.state.as_str() {
            "building" if same_lease => {
                let state = if answer.status == 200 { "done" } else { "failed" };
                self.run(
                    "UPDATE jobs SET state = ?, answer = ?, expires_at = ?, phase = NULL, lease_deadline = NULL,
                     updated_at = ? WHERE hash = ?",
                    vec![
                        state.into(),
                        stored_answer(&answer)?.into(),
                        (self.now + keep_seconds as i64 * 1000).into(),
                        self.now.into(),
                        hash.into(),
                    ],
                )?;
                Ok(QueueReply::Finished { answer, first: true })
            }
            // A retried completion (the first answer got lost): same result.
            "done" | "failed" if same_lease => Ok(QueueReply::Finished { answer: self.answer_of(&row)?, first: false }),
            "done" | "failed" => Ok(QueueReply::Conflict { detail: "the job was already finished under another lease".into() }),
            _ => Ok(QueueReply::LeaseInvalid { detail: Self::lease_problem(&row) }),
        }
    }
}

impl Db {
    fn recall(&self, hash: &str, lease: &str) -> Result<QueueReply> {
        let Some(row) = self.job(hash)? else {
            return Ok(QueueReply::NotFound);
        };
        match row.state.as_str() {
            "done" | "failed" if row.lease.as_deref() == Some(lease) => {
                Ok(QueueReply::Finished { answer: self.answer_of(&row)?, first: false })
            }
            "done" | "failed" => Ok(QueueReply::Conflict { detail: "the job was already finished under another lease".into() }),
            _ => Ok(QueueReply::LeaseInvalid { detail: Self::lease_problem(&row) }),
        }
    }
}

/// The answer as kept in the object: without build logs when too large.
fn stored_answer(answer: &BuildAnswer) -> Result<String> {
    let full = serde_json::to_string(answer)?;
    if full.len() <= MAX_STORED_ANSWER {
        return Ok(full);
    }
    let mut slim = answer.clone();
    let note = "(log left out: too large to keep in the queue; see the cached answer)".to_string();
    for key in ["stdout", "stderr"] {
        if slim.result.contains_key(key) {
            slim.result.insert(key.into(), note.clone().into());
        }
    }
    if slim.stdout.is_some() {
        slim.stdout = Some(note.clone());
    }
    if slim.stderr.is_some() {
        slim.stderr = Some(note);
    }
    Ok(serde_json::to_string(&slim)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_answers_are_kept_whole() {
        let a = BuildAnswer::failed("h", "x", "out".into(), "err".into());
        let kept: BuildAnswer = serde_json::from_str(&stored_answer(&a).unwrap()).unwrap();
        assert_eq!(kept, a);
    }

    #[test]
    fn huge_answers_lose_their_logs_only() {
        let mut result = serde_json::Map::new();
        result.insert("id".into(), "generic".into());
        result.insert("stdout".into(), "x".repeat(MAX_STORED_ANSWER).into());
        let a = BuildAnswer::done("h", result);
        let text = stored_answer(&a).unwrap();
        assert!(text.len() < MAX_STORED_ANSWER);
        let kept: BuildAnswer = serde_json::from_str(&text).unwrap();
        assert_eq!((kept.status, kept.request_hash.as_deref()), (200, Some("h")));
        assert_eq!(kept.result["id"], "generic");
        assert!(kept.stdout.as_deref().unwrap_or_default().starts_with("(log left out"));
    }
}
