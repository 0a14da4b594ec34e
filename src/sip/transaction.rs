//! Non-INVITE transactions (RFC 3261 §17), as data: what to retransmit,
//! and when each timer fires. The endpoint drives them; nothing here reads
//! a clock.
//!
//! Server transaction (§17.2.2):
//!
//! ```text
//!   request ──► Trying ──(1xx)──► Proceeding ──(final)──► Completed ──Timer J──► gone
//!                  └───────────────(final)──────────────────┘
//!   retransmitted request: Trying → ignored; Proceeding/Completed → last response again
//! ```
//!
//! Client transaction (§17.1.2), for our NOTIFY and OPTIONS:
//!
//! ```text
//!   send ──► Trying ──(1xx)──► Proceeding ──(final)──► Completed ──Timer K──► gone
//!            Timer E: resend at T1, 2·T1 … capped at T2 (UDP only; T2 in Proceeding)
//!            Timer F (64·T1) before a final response: timeout
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use super::message::{Method, Request};
use super::peer::Peer;

/// RTT estimate (RFC 3261 §17.1.1.1).
pub const T1: Duration = Duration::from_millis(500);
/// Longest retransmit interval for non-INVITE requests.
pub const T2: Duration = Duration::from_secs(4);
/// How long a message may linger in the network.
pub const T4: Duration = Duration::from_secs(5);

/// Identifies a server transaction: the top Via's branch (RFC 3261
/// magic-cookie style) or, for older clients, a digest of the fields
/// RFC 2543 matched on; plus sent-by and method. ACK is keyed as the
/// INVITE it acknowledges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerKey {
    branch: String,
    sent_by: String,
    method: String,
}

impl ServerKey {
    pub fn of(request: &Request) -> Self {
        let via = request.top_via();
        let sent_by = format!("{}:{}", via.host, via.port.unwrap_or(0));
        let method = match request.method {
            Method::Ack => "INVITE".to_owned(),
            ref other => other.as_str().to_owned(),
        };
        let branch = match via.branch() {
            Some(branch) if branch.len() > 7 && branch.starts_with("z9hG4bK") => branch.to_owned(),
            _ => {
                let core = &request.core;
                format!(
                    "rfc2543|{}|{}|{}|{}",
                    core.call_id,
                    core.cseq,
                    core.from.param("tag").unwrap_or(""),
                    request.uri
                )
            }
        };
        Self {
            branch,
            sent_by,
            method,
        }
    }

    /// The key of the request a CANCEL targets.
    pub fn cancelled(&self) -> Option<Self> {
        (self.method == "CANCEL").then(|| Self {
            method: "INVITE".to_owned(),
            ..self.clone()
        })
    }
}

/// A server transaction's state.
#[derive(Debug)]
pub struct ServerTransaction {
    pub peer: Peer,
    /// The last response sent, for retransmitted requests.
    pub last_response: Option<Vec<u8>>,
    /// Timer J: when the Completed state ends.
    pub remove_at: Option<Instant>,
}

/// A client transaction's state.
#[derive(Debug)]
pub struct ClientTransaction {
    pub peer: Peer,
    pub branch: String,
    pub method: Method,
    pub bytes: Vec<u8>,
    pub state: ClientState,
    /// Timer E.
    pub retransmit_at: Option<Instant>,
    pub interval: Duration,
    /// Timer F (before a final response) or Timer K (after).
    pub end_at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    Trying,
    Proceeding,
    Completed,
}

/// What a timer entry refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerRef {
    Server(ServerKey),
    Client(u64),
}

/// Deadlines in order. Entries are never removed early: when one fires,
/// the owner checks it is still current (a transaction may have moved on
/// or gone), which keeps scheduling O(log n).
#[derive(Debug, Default)]
pub struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, TimerRef)>>,
}

impl TimerQueue {
    pub fn schedule(&mut self, at: Instant, what: TimerRef) {
        self.heap.push(Reverse((at, what)));
    }

    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// The next entry due at `now`, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerRef> {
        if self.next()? <= now {
            self.heap.pop().map(|Reverse((_, what))| what)
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
