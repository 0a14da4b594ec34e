//! Sending many SIP datagrams with few system calls: `sendmmsg(2)` in
//! batches of up to `BATCH` (issue 16). A change fanned out to N watchers
//! leaves the driver with N NOTIFYs at once; one `sendto` each was ~20 %
//! of the server's samples in `perf record` of `bench/fanout.sh 10000`
//! (docs/BENCHMARKS.md), each a system call and a readiness check.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::AsFd;

use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, sendmmsg};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams per `sendmmsg` call. Linux takes up to `UIO_MAXIOV` (1024);
/// 64 already makes the call's own cost small next to the per-datagram
/// work of the network stack, and keeps the arrays on each call small.
const BATCH: usize = 64;

/// Sends every datagram in order. A full send buffer waits for space
/// rather than dropping (a fan-out to thousands of watchers would lose
/// most NOTIFYs to a full buffer and leave them to retransmission
/// timers); a datagram the kernel refuses otherwise (no route, too big)
/// is skipped like a lost one, which those timers handle.
pub async fn send_all(socket: &UdpSocket, datagrams: &[(SocketAddr, Vec<u8>)]) {
    let mut sent = 0;
    while sent < datagrams.len() {
        let chunk = &datagrams[sent..datagrams.len().min(sent + BATCH)];
        match socket.try_io(Interest::WRITABLE, || send_chunk(socket, chunk)) {
            Ok(count) => sent += count.max(1),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if let Err(error) = socket.writable().await {
                    tracing::debug!(%error, "udp socket not writable; datagrams dropped");
                    return;
                }
            }
            Err(error) => {
                // sendmmsg reports an error only for the first datagram of
                // the chunk (later ones end the call with a short count).
                tracing::debug!(%error, peer = %chunk[0].0, "udp send failed");
                sent += 1;
            }
        }
    }
}

/// One `sendmmsg` call: how many of `chunk` the kernel took.
fn send_chunk(socket: &impl AsFd, chunk: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
    let addresses: Vec<SocketAddrAny> = chunk.iter().map(|(address, _)| (*address).into()).collect();
    let slices: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|(_, bytes)| [IoSlice::new(bytes)]).collect();
    let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> =
        chunk.iter().map(|_| SendAncillaryBuffer::default()).collect();
    let mut messages: Vec<MMsgHdr<'_>> = addresses
        .iter()
        .zip(&slices)
        .zip(controls.iter_mut())
        .map(|((address, slice), control)| MMsgHdr::new_with_addr(address, slice, control))
        .collect();
    Ok(sendmmsg(socket, &mut messages, SendFlags::empty())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_datagram_arrives_in_order_across_batches() {
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let first = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let second = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let count = BATCH * 2 + 5;
        let datagrams: Vec<(SocketAddr, Vec<u8>)> = (0..count)
            .map(|i| {
                let to = if i % 2 == 0 { &first } else { &second };
                (
                    to.local_addr().expect("address"),
                    format!("datagram {i}").into_bytes(),
                )
            })
            .collect();
        send_all(&server, &datagrams).await;
        let mut buffer = [0u8; 64];
        for (i, (to, bytes)) in datagrams.iter().enumerate() {
            let socket = if *to == first.local_addr().expect("address") {
                &first
            } else {
                &second
            };
            let (length, from) = socket.recv_from(&mut buffer).expect("datagram arrives");
            assert_eq!(&buffer[..length], &bytes[..], "datagram {i}");
            assert_eq!(from, server.local_addr().expect("address"));
        }
    }
}
