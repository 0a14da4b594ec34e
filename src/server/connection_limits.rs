//! Connection caps for every stream listener (SIP TCP/TLS, HTTP
//! provisioning, admin): a total per listener kind and a number per source
//! IP (an IPv6 /64: `client_address::limit_key`; higher for `[limits] trusted_networks`). A slot is held for the
//! connection's lifetime and given back on drop, so a flood of idle
//! connections from one address cannot use up the process's file handles.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Cidr;
use crate::metrics::Metrics;

/// Which listener a cap belongs to (for its metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    SipStream,
    Http,
}

/// Caps for one listener (or one kind of listener).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    kind: ListenerKind,
    total: Arc<Semaphore>,
    per_address: usize,
    trusted: Arc<[Cidr]>,
    per_trusted_address: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    metrics: Arc<Metrics>,
}

impl ConnectionLimits {
    pub fn new(
        kind: ListenerKind,
        total: usize,
        per_address: usize,
        trusted: (&[Cidr], usize),
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            kind,
            total: Arc::new(Semaphore::new(total)),
            per_address,
            trusted: trusted.0.into(),
            per_trusted_address: trusted.1,
            open: Arc::default(),
            metrics,
        }
    }

    fn counters(&self) -> (&AtomicI64, &AtomicU64) {
        match self.kind {
            ListenerKind::SipStream => (
                &self.metrics.tcp_connections,
                &self.metrics.tcp_connections_refused,
            ),
            ListenerKind::Http => (
                &self.metrics.http_connections,
                &self.metrics.http_connections_refused,
            ),
        }
    }

    /// A slot for a connection with `ip`, or `None` (counted as refused)
    /// if a limit is reached.
    pub fn admit(&self, ip: IpAddr) -> Option<ConnectionSlot> {
        let (open, refused) = self.counters();
        let Some(slot) = self.try_admit(ip) else {
            refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%ip, kind = ?self.kind, "connection limit reached; refusing");
            return None;
        };
        open.fetch_add(1, Ordering::Relaxed);
        Some(slot)
    }

    fn try_admit(&self, ip: IpAddr) -> Option<ConnectionSlot> {
        let total = self.total.clone().try_acquire_owned().ok()?;
        let limit = if self.trusted.iter().any(|network| network.contains(ip)) {
            self.per_trusted_address
        } else {
            self.per_address
        };
        let ip = crate::client_address::limit_key(ip);
        let mut open = self.open.lock().expect("connection table lock is never poisoned");
        let count = open.entry(ip).or_default();
        if *count >= limit {
            if *count == 0 {
                open.remove(&ip);
            }
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            _total: total,
            ip,
            limits: self.clone(),
        })
    }
}

/// Held for a connection's lifetime; gives its slots back on drop.
#[derive(Debug)]
pub struct ConnectionSlot {
    _total: OwnedSemaphorePermit,
    ip: IpAddr,
    limits: ConnectionLimits,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .expect("connection table lock is never poisoned");
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
        self.limits.counters().0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_total_and_trusted() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let limits = ConnectionLimits::new(
            ListenerKind::Http,
            4,
            1,
            (&trusted, 3),
            Arc::new(Metrics::default()),
        );
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = limits.admit(a).expect("first");
        assert!(limits.admit(a).is_none(), "one per address");
        let site: IpAddr = "10.1.2.3".parse().unwrap();
        let trusted_slots: Vec<_> = (0..3).map(|_| limits.admit(site).expect("trusted")).collect();
        assert!(limits.admit("192.0.2.2".parse().unwrap()).is_none(), "total of 4");
        drop(first);
        assert!(limits.admit(a).is_some(), "a slot comes back on drop");
        assert_eq!(limits.metrics.http_connections_refused.load(Ordering::Relaxed), 2);
        drop(trusted_slots);
    }

    #[test]
    fn an_ipv6_64_counts_as_one_address() {
        let limits = ConnectionLimits::new(ListenerKind::Http, 8, 2, (&[], 0), Arc::new(Metrics::default()));
        let host = |n: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, n]);
        let held: Vec<_> = (1..=2)
            .map(|n| limits.admit(host(n)).expect("within the cap"))
            .collect();
        assert!(limits.admit(host(3)).is_none(), "a third address of the same /64");
        assert!(
            limits
                .admit(IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]))
                .is_some()
        );
        drop(held);
        assert!(limits.admit(host(3)).is_some(), "slots come back under the /64");
    }
}
