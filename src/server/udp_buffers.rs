//! Socket buffer sizes of the SIP UDP sockets. A change fanned out to N
//! watchers sends N NOTIFYs at once and gets N 200 OKs back at once; with
//! Linux's default receive buffer (`net.core.rmem_default`, ~208 KB, ~600
//! answers) the rest were dropped by the kernel, so NOTIFYs that had been
//! answered were retransmitted at T1 and their dialogs' next NOTIFY waited
//! (measured with `bench/fanout.sh 3000` on 2026-11-30: 554 of 3,000
//! answered NOTIFYs retransmitted, 25 watcher calls failed).

use std::os::fd::AsFd;

/// Asked for on each side. socket(7): the kernel doubles the value asked
/// for (bookkeeping) and caps it at `net.core.rmem_max` / `wmem_max`, so on
/// a host with small caps this is a no-op rather than an error.
pub const UDP_BUFFER_BYTES: usize = 4 << 20;

/// Raises the receive and send buffers of a SIP UDP socket; a refusal is
/// logged, not fatal (the socket works, only bursts suffer).
pub fn enlarge(socket: &impl AsFd) {
    let fd = socket.as_fd();
    if let Err(error) = rustix::net::sockopt::set_socket_recv_buffer_size(fd, UDP_BUFFER_BYTES) {
        tracing::warn!(%error, "cannot raise the SIP UDP receive buffer");
    }
    if let Err(error) = rustix::net::sockopt::set_socket_send_buffer_size(fd, UDP_BUFFER_BYTES) {
        tracing::warn!(%error, "cannot raise the SIP UDP send buffer");
    }
    let granted = rustix::net::sockopt::socket_recv_buffer_size(fd).unwrap_or(0);
    tracing::debug!(granted, "SIP UDP receive buffer");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receive_buffer_grows_past_the_default() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind loopback");
        let before = rustix::net::sockopt::socket_recv_buffer_size(&socket).expect("getsockopt");
        enlarge(&socket);
        let after = rustix::net::sockopt::socket_recv_buffer_size(&socket).expect("getsockopt");
        // Capped by net.core.rmem_max (doubled); grows wherever the cap allows.
        let cap = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if cap > before {
            assert!(after > before, "{after} should exceed {before} (rmem_max {cap})");
        } else {
            assert_eq!(after, before);
        }
    }
}
