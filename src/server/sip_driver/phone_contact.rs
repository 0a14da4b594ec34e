//! `PhoneContact`: where a phone was last heard from, as the driver keeps
//! it (and the store holds it). A leaf: the driver's state, its handle and
//! the check-sync bookkeeping all import it.

use crate::config::Transport;

/// Where a phone was last heard from (kept in the store).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhoneContact {
    pub address: std::net::SocketAddr,
    pub transport: Transport,
    /// The Contact URI it sent, if any.
    pub contact: Option<String>,
    pub user_agent: String,
    pub seen_at_unix: u64,
    /// The stream connection the phone authenticated on, while this process
    /// runs. A check-sync goes over it or to the Contact, never over some
    /// connection that merely comes from the same address: behind a shared
    /// NAT a later connection from that address:port may be anyone's.
    #[serde(skip)]
    pub connection: Option<crate::sip::ConnectionId>,
}
