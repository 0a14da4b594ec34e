//! What the endpoint and the application exchange: `Event`s it hands
//! out, and the ids (`RequestId`, `ClientId`) that tie answers and
//! responses to their transactions.

use crate::sip::message::{Request, Response};
use crate::sip::peer::Peer;
use crate::sip::transaction::ServerKey;

/// A request the application must answer; not `Clone`, so it is answered once.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestId(pub(super) ServerKey);

/// Our own outgoing transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// What the application hears.
#[derive(Debug)]
pub enum Event {
    /// A SUBSCRIBE or PUBLISH, authenticated as `user` (`None` when auth
    /// is off), to be answered with `respond`.
    Request {
        id: RequestId,
        request: Box<Request>,
        peer: Peer,
        user: Option<String>,
    },
    /// The final response to one of our requests.
    Response { id: ClientId, response: Box<Response> },
    /// No final response within Timer F (or the connection is gone).
    Timeout { id: ClientId },
}
