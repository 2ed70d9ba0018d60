//! The edge worker's calls to its build queue Durable Object and the
//! replies. Internal to the edge (JSON over the object's fetch); the wire
//! types inside come from the protocol crate.

use asu_protocol::answer::{BuildAnswer, ImagebuilderStatus};
use asu_protocol::builder_api::Job;
use asu_protocol::request::BuildRequest;
use serde::{Deserialize, Serialize};

/// The one queue object everybody talks to.
pub const QUEUE_NAME: &str = "global";
/// A lease that lapses this many times makes the job fail instead of looping
/// through builders that crash on it.
pub const MAX_ATTEMPTS: i64 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum QueueCall {
    /// Queue a build unless the same request is already known.
    Enqueue { hash: String, request: BuildRequest, max_queue_length: u32 },
    Status { hash: String },
    Lease { builder: String, lease_seconds: u32 },
    /// Checks the lease and extends it; records the phase when given.
    Touch { hash: String, lease: String, phase: Option<ImagebuilderStatus>, lease_seconds: u32 },
    /// Records the finished answer (done or failed) once.
    Finish { hash: String, lease: String, answer: BuildAnswer, keep_seconds: u64 },
    /// The answer this lease finished the job with (for retried completions).
    Recall { hash: String, lease: String },
    Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum QueueReply {
    /// The job's current answer: queued, started, done or failed.
    State { answer: BuildAnswer },
    /// Too many queued jobs to take a new one.
    Full { queued: u32 },
    NotFound,
    Leased { job: Job },
    Empty,
    /// The lease is current; the job's request.
    LeaseOk { request: BuildRequest },
    /// The lease is not (or no longer) the job's current one.
    LeaseInvalid { detail: String },
    /// The job is finished with `answer`; `first` when this call finished it.
    Finished { answer: BuildAnswer, first: bool },
    /// Already finished under another lease.
    Conflict { detail: String },
    Stats { queue_length: u32 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_round_trip() {
        let calls = vec![
            QueueCall::Enqueue { hash: "h".into(), request: BuildRequest::new("24.10.5", "x86/64", "generic"), max_queue_length: 5 },
            QueueCall::Touch { hash: "h".into(), lease: "l".into(), phase: Some(ImagebuilderStatus::BuildingImage), lease_seconds: 60 },
            QueueCall::Finish { hash: "h".into(), lease: "l".into(), answer: BuildAnswer::queued("h", 1), keep_seconds: 300 },
            QueueCall::Stats,
        ];
        for c in calls {
            let text = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<QueueCall>(&text).unwrap(), c, "{text}");
        }
        let r = QueueReply::Finished { answer: BuildAnswer::failed("h", "x", "o".into(), "e".into()), first: true };
        assert_eq!(serde_json::from_str::<QueueReply>(&serde_json::to_string(&r).unwrap()).unwrap(), r);
    }
}
