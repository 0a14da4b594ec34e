//! Process metrics in Prometheus text format: counters and gauges are
//! atomics, the one histogram has fixed buckets. Deliberately tiny — no
//! registry, no labels beyond what is written here — and never a secret.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the store commit latency buckets: an fsync
/// takes from tens of microseconds (tmpfs) to tens of milliseconds (disk).
const COMMIT_BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// A fixed-bucket histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; COMMIT_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        for (bound, bucket) in COMMIT_BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(duration.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, bucket) in COMMIT_BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Every metric the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    pub presence_changes: AtomicU64,
    pub device_changes: AtomicU64,
    pub hint_changes: AtomicU64,
    pub refused_changes: AtomicU64,
    /// Live `/api/v1/events` streams.
    pub event_watchers: AtomicI64,
    /// Live SIP presence subscriptions.
    pub sip_subscriptions: AtomicI64,
    pub store_commit: Histogram,
    /// Limits at work.
    pub sip_rate_limited: AtomicU64,
    pub http_rate_limited: AtomicU64,
    pub tcp_connections_refused: AtomicU64,
    pub tcp_connections: AtomicI64,
    pub http_connections_refused: AtomicU64,
    /// Open connections on the HTTP listeners (provisioning and admin).
    pub http_connections: AtomicI64,
    /// Connections closed because a request (or handshake) did not arrive
    /// whole in time.
    pub request_timeouts: AtomicU64,
    pub subscriptions_refused: AtomicU64,
    pub notifies_superseded: AtomicU64,
    /// SIP requests dropped unread after waiting too long (their sender
    /// has retransmitted or given up by then).
    pub sip_shed: AtomicU64,
    /// Writes refused because the store's queue was full (503, try again).
    pub store_shed: AtomicU64,
    /// SIP endpoint counters, copied from the driver's endpoint.
    pub sip: std::sync::Mutex<crate::sip::EndpointStats>,
    /// The AMI link to Asterisk (`server::ami`).
    pub asterisk: AsteriskMetrics,
}

/// The AMI link's state and traffic.
#[derive(Debug, Default)]
pub struct AsteriskMetrics {
    /// 1 when `[asterisk]` is configured.
    pub configured: AtomicI64,
    /// 1 while logged in and synchronised.
    pub connected: AtomicI64,
    pub connects: AtomicU64,
    pub connect_failures: AtomicU64,
    /// Presence writes (`Setvar`) sent to Asterisk.
    pub writes: AtomicU64,
    pub write_refusals: AtomicU64,
    /// Presence and device changes from Asterisk applied here.
    pub changes_in: AtomicU64,
}

impl AsteriskMetrics {
    /// `configured` and not `connected`: serving, but alone.
    pub fn degraded(&self) -> bool {
        self.configured.load(Ordering::Relaxed) == 1 && self.connected.load(Ordering::Relaxed) == 0
    }

    fn render(&self, out: &mut String) {
        let gauges = [
            (
                "opendpma_asterisk_configured",
                "1 if [asterisk] is configured.",
                &self.configured,
            ),
            (
                "opendpma_asterisk_connected",
                "1 while the AMI link is logged in and synchronised.",
                &self.connected,
            ),
        ];
        for (name, help, value) in gauges {
            let value = value.load(Ordering::Relaxed);
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        let counters = [
            (
                "opendpma_asterisk_connects_total",
                "AMI logins that completed a resync.",
                &self.connects,
            ),
            (
                "opendpma_asterisk_connect_failures_total",
                "AMI connections lost or refused.",
                &self.connect_failures,
            ),
            (
                "opendpma_asterisk_writes_total",
                "Presence writes sent to Asterisk.",
                &self.writes,
            ),
            (
                "opendpma_asterisk_write_refusals_total",
                "Presence writes Asterisk refused.",
                &self.write_refusals,
            ),
            (
                "opendpma_asterisk_changes_in_total",
                "Presence and device changes from Asterisk applied.",
                &self.changes_in,
            ),
        ];
        for (name, help, value) in counters {
            let value = value.load(Ordering::Relaxed);
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
    }
}

impl Metrics {
    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut out,
            "opendpma_presence_changes_total",
            "Accepted presence changes.",
            load(&self.presence_changes),
        );
        counter(
            &mut out,
            "opendpma_device_changes_total",
            "Accepted device state changes.",
            load(&self.device_changes),
        );
        counter(
            &mut out,
            "opendpma_hint_changes_total",
            "Hint state changes sent to watchers.",
            load(&self.hint_changes),
        );
        counter(
            &mut out,
            "opendpma_refused_changes_total",
            "Presence or device writes refused.",
            load(&self.refused_changes),
        );
        let watchers =
            self.event_watchers.load(Ordering::Relaxed) + self.sip_subscriptions.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "opendpma_watchers",
            "Live watchers: event streams plus SIP subscriptions.",
            watchers,
        );
        gauge(
            &mut out,
            "opendpma_event_streams",
            "Live /api/v1/events streams.",
            self.event_watchers.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "opendpma_sip_subscriptions",
            "Live SIP presence subscriptions.",
            self.sip_subscriptions.load(Ordering::Relaxed),
        );
        self.store_commit.render(
            "opendpma_store_commit_seconds",
            "Durable store commit latency.",
            &mut out,
        );
        let limits: [(&str, &str, u64); 9] = [
            (
                "opendpma_sip_rate_limited_total",
                "SIP requests (datagrams or TCP/TLS messages) dropped by the per-address rate limit.",
                load(&self.sip_rate_limited),
            ),
            (
                "opendpma_http_rate_limited_total",
                "HTTP requests refused (429) by the per-address rate limit.",
                load(&self.http_rate_limited),
            ),
            (
                "opendpma_tcp_connections_refused_total",
                "SIP TCP/TLS connections refused (or not opened) by the connection limits.",
                load(&self.tcp_connections_refused),
            ),
            (
                "opendpma_http_connections_refused_total",
                "HTTP connections (provisioning, admin) refused by the connection limits.",
                load(&self.http_connections_refused),
            ),
            (
                "opendpma_request_timeouts_total",
                "Connections closed because a SIP message, a TLS handshake or an HTTP request head (also the next one on an idle keep-alive connection) was not complete within [limits] request_timeout.",
                load(&self.request_timeouts),
            ),
            (
                "opendpma_subscriptions_refused_total",
                "SUBSCRIBEs refused by the per-line or per-address limit.",
                load(&self.subscriptions_refused),
            ),
            (
                "opendpma_sip_notifies_superseded_total",
                "Queued NOTIFY states replaced by a newer one (one waits per subscription).",
                load(&self.notifies_superseded),
            ),
            (
                "opendpma_sip_requests_shed_total",
                "SIP requests over UDP dropped unread because they waited in the inbound queue longer than 2·T1 (the server fell behind; the client has retransmitted).",
                load(&self.sip_shed),
            ),
            (
                "opendpma_store_shed_total",
                "Changes and SUBSCRIBEs refused with 503 because the store's queue was full (the disk fell behind).",
                load(&self.store_shed),
            ),
        ];
        for (name, help, value) in limits {
            counter(&mut out, name, help, value);
        }
        gauge(
            &mut out,
            "opendpma_tcp_connections",
            "Open SIP TCP/TLS connections (accepted and opened to watchers).",
            self.tcp_connections.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "opendpma_http_connections",
            "Open HTTP connections (provisioning and admin).",
            self.http_connections.load(Ordering::Relaxed),
        );
        let sip = *self.sip.lock().expect("metrics lock is never poisoned");
        let endpoint: [(&str, &str, u64); 8] = [
            (
                "opendpma_sip_requests_total",
                "SIP requests received (parsed).",
                sip.requests,
            ),
            (
                "opendpma_sip_malformed_answered_total",
                "Malformed SIP requests answered with 400/505.",
                sip.malformed_answered,
            ),
            (
                "opendpma_sip_malformed_dropped_total",
                "Unanswerable SIP messages dropped.",
                sip.malformed_dropped,
            ),
            (
                "opendpma_sip_retransmissions_total",
                "Retransmitted SIP requests absorbed.",
                sip.retransmissions_absorbed,
            ),
            (
                "opendpma_sip_challenges_total",
                "Digest challenges sent (401).",
                sip.challenges,
            ),
            (
                "opendpma_sip_auth_failures_total",
                "Failed SIP digest authentications.",
                sip.auth_failures,
            ),
            (
                "opendpma_sip_stateless_answers_total",
                "Requests answered without a stored transaction (table full).",
                sip.stateless_answers,
            ),
            (
                "opendpma_sip_responses_from_elsewhere_total",
                "Responses dropped because they came from another peer than the request went to.",
                sip.responses_from_elsewhere,
            ),
        ];
        for (name, help, value) in endpoint {
            counter(&mut out, name, help, value);
        }
        self.asterisk.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.presence_changes.fetch_add(3, Ordering::Relaxed);
        metrics.store_commit.observe(Duration::from_micros(700));
        metrics.store_commit.observe(Duration::from_millis(30));
        let text = metrics.render();
        assert!(text.contains("\nopendpma_presence_changes_total 3\n"), "{text}");
        assert!(text.contains("opendpma_store_commit_seconds_bucket{le=\"0.0005\"} 0\n"));
        assert!(text.contains("opendpma_store_commit_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("opendpma_store_commit_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("opendpma_store_commit_seconds_count 2\n"));
        metrics.sip_rate_limited.fetch_add(7, Ordering::Relaxed);
        metrics.sip.lock().unwrap().challenges = 4;
        let text = metrics.render();
        assert!(text.contains("\nopendpma_sip_rate_limited_total 7\n"), "{text}");
        assert!(text.contains("\nopendpma_sip_challenges_total 4\n"), "{text}");
        assert!(text.contains("\nopendpma_tcp_connections 0\n"), "{text}");
    }
}
