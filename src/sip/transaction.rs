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
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use super::message::{Method, Request};
use super::peer::Peer;

/// RTT estimate (RFC 3261 §17.1.1.1).
pub const T1: Duration = Duration::from_millis(500);
/// Longest retransmit interval for non-INVITE requests.
pub const T2: Duration = Duration::from_secs(4);
/// How long a message may linger in the network.
pub const T4: Duration = Duration::from_secs(5);

/// Identifies a server transaction: a 128-bit keyed digest of what RFC
/// 3261 §17.2.3 matches on — the top Via's branch (magic-cookie style)
/// or, for older clients, the fields RFC 2543 matched on; plus sent-by
/// and method. ACK is keyed as the INVITE it acknowledges.
///
/// Why a digest and not the texts: a UDP server transaction is kept for
/// 64·T1 after its answer, so a busy server holds tens of thousands, and
/// three owned strings per key (cloned again into the timer and eviction
/// queues) cost more than the stored response. Sixteen bytes, `Copy`.
/// The hash is SipHash keyed at random per process (`ServerKeys`), so a
/// client cannot choose a branch that collides with another's; by chance,
/// two of 100,000 live keys collide with probability ~2⁻⁹⁶.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerKey([u64; 2]);

/// Derives `ServerKey`s with one random SipHash key.
#[derive(Debug, Default)]
pub struct ServerKeys(RandomState);

impl ServerKeys {
    /// The key of `request`'s transaction.
    pub fn of(&self, request: &Request) -> ServerKey {
        let method = match request.method {
            Method::Ack => &Method::Invite,
            ref other => other,
        };
        self.with_method(request, method)
    }

    /// The key of the INVITE a CANCEL targets: same branch and sent-by
    /// (RFC 3261 §9.2).
    pub fn cancelled(&self, request: &Request) -> Option<ServerKey> {
        (request.method == Method::Cancel).then(|| self.with_method(request, &Method::Invite))
    }

    fn with_method(&self, request: &Request, method: &Method) -> ServerKey {
        let fields = |hasher: &mut DefaultHasher| {
            let via = request.top_via();
            match via.branch() {
                Some(branch) if branch.len() > 7 && branch.starts_with("z9hG4bK") => branch.hash(hasher),
                _ => {
                    let core = &request.core;
                    "rfc2543".hash(hasher);
                    core.call_id.hash(hasher);
                    core.cseq.hash(hasher);
                    core.from.param("tag").unwrap_or("").hash(hasher);
                    request.uri.hash(hasher);
                }
            }
            via.host.hash(hasher);
            via.port.unwrap_or(0).hash(hasher);
            method.as_str().hash(hasher);
        };
        // Two SipHash outputs of the same fields under distinct prefixes:
        // 128 bits, with no allocation.
        let half = |prefix: u8| {
            let mut hasher = self.0.build_hasher();
            prefix.hash(&mut hasher);
            fields(&mut hasher);
            hasher.finish()
        };
        ServerKey([half(0), half(1)])
    }
}

/// A server transaction's state. What each keeps is what its state
/// needs: the peer to answer until there is an answer, then the answer
/// itself for retransmissions (§17.2.2: a retransmitted request in
/// Proceeding or Completed gets the last response again). Boxed where
/// rare or large, so a table slot stays small.
#[derive(Debug)]
pub enum ServerTransaction {
    /// No response yet: where to send it.
    Trying(Box<Peer>),
    /// A provisional response sent; a final one may follow.
    Proceeding(Box<(Peer, Box<[u8]>)>),
    /// The final response, until Timer J (`completed_transactions`).
    Completed(Box<[u8]>),
}

impl ServerTransaction {
    /// The last response sent, for a retransmitted request.
    pub fn last_response(&self) -> Option<&[u8]> {
        match self {
            Self::Trying(_) => None,
            Self::Proceeding(proceeding) => Some(&proceeding.1),
            Self::Completed(response) => Some(response),
        }
    }

    /// Where a response goes; `None` once completed.
    pub fn peer(&self) -> Option<Peer> {
        match self {
            Self::Trying(peer) => Some(**peer),
            Self::Proceeding(proceeding) => Some(proceeding.0),
            Self::Completed(_) => None,
        }
    }
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

/// What a timer entry refers to. Server transactions have no entries:
/// their one timer, J, is kept in completion order
/// (`completed_transactions`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerRef {
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
