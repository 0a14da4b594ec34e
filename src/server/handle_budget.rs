//! File handles: every connection costs one, and running out stops every
//! listener at once (1,100 idle HTTP connections are enough under
//! systemd's default limit of 1,024). At start the soft `RLIMIT_NOFILE` is raised to the hard
//! limit where the system allows it (setrlimit(2): an unprivileged process
//! may raise its soft limit up to the hard one), and the connection caps
//! are cut down, if needed, so that all of them together stay below the
//! limit with room for the store, the log and the listening sockets.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use crate::config::Limits;

/// Handles kept out of the connection budget: store files, stdio, the
/// listening sockets, the runtime's own (epoll, eventfd) and the config
/// watcher.
const RESERVED: u64 = 64;

/// Connection caps that fit the handle limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCaps {
    /// SIP TCP/TLS connections, inbound and outbound together.
    pub sip_stream: usize,
    /// Per HTTP listener (provisioning and admin each).
    pub http: usize,
}

/// Raises the soft handle limit as far as allowed and returns it (`None`:
/// unlimited).
pub fn raise_handle_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                tracing::info!(from = ?limit.current, to = ?limit.maximum, "raised the open-file limit");
                return limit.maximum;
            }
            // Refused (e.g. a seccomp filter): the caps fit the old limit.
            Err(error) => tracing::info!(%error, limit = ?limit.current, "cannot raise the open-file limit"),
        }
    }
    limit.current
}

/// `[limits]`' caps, scaled down together if they exceed `handle_limit`.
pub fn connection_caps(limits: &Limits, handle_limit: Option<u64>) -> ConnectionCaps {
    let wanted = ConnectionCaps {
        sip_stream: limits.tcp_connections,
        http: limits.http_connections,
    };
    let Some(handle_limit) = handle_limit else {
        return wanted;
    };
    let available = handle_limit.saturating_sub(RESERVED).max(3);
    // Two HTTP listeners (provisioning, admin), one SIP stream budget.
    let total = wanted.sip_stream as u64 + 2 * wanted.http as u64;
    if total <= available {
        return wanted;
    }
    let scale = |cap: usize| ((cap as u64 * available / total).max(1)) as usize;
    let caps = ConnectionCaps {
        sip_stream: scale(wanted.sip_stream),
        http: scale(wanted.http),
    };
    tracing::warn!(
        handle_limit,
        tcp_connections = caps.sip_stream,
        http_connections = caps.http,
        "connection caps lowered to fit the open-file limit (raise LimitNOFILE to allow more)"
    );
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_fit_below_the_handle_limit() {
        let limits = Limits::default();
        let caps = connection_caps(&limits, Some(1024));
        assert!(caps.sip_stream + 2 * caps.http < 1024, "{caps:?}");
        assert!(caps.sip_stream > 0 && caps.http > 0);
        let roomy = connection_caps(&limits, Some(1 << 20));
        assert_eq!(
            (roomy.sip_stream, roomy.http),
            (limits.tcp_connections, limits.http_connections)
        );
        assert_eq!(connection_caps(&limits, None).sip_stream, limits.tcp_connections);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let before = getrlimit(Resource::Nofile);
        let after = raise_handle_limit();
        // Either raised, or refused and reported as it was.
        assert!(after == before.maximum || after == before.current);
        assert_eq!(getrlimit(Resource::Nofile).current, after);
    }
}
