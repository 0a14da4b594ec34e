//! A connection whose writes must make progress: a write (or flush, or
//! shutdown) that stays blocked for the whole limit fails with `TimedOut`.
//!
//! Why: hyper's timers guard reading a request head, and our middleware
//! the handler, but nothing guards sending the answer. A client that
//! pipelines requests and never reads the answers fills both socket
//! buffers; hyper then waits to write forever and the connection keeps its
//! slot under the caps (a "slow read" attack, e.g. the slowhttptest tool's
//! `-X` mode). The limit is on *no progress*, not on a whole answer, so a
//! slow but reading client (a phone on a poor link, a dashboard following
//! events) is not cut off.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// `S` with a limit on how long a write may stay blocked.
pub struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    /// Armed while a write is blocked; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Passes `result` on, tracking how long the writer has been blocked.
    fn track<T>(&mut self, cx: &mut Context<'_>, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.stalled = None;
            return result;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(stalled.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer has not read what we sent for the whole write limit",
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.track(cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.track(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_flush(cx);
        this.track(cx, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.track(cx, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_blocked_write_fails_after_the_limit_and_progress_resets_it() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut writer = WriteDeadline::new(near, Duration::from_secs(2));
        writer.write_all(&[0; 64]).await.expect("fits the buffer");
        // The far end reads well within the limit: the next write goes through.
        let reader = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut buffer = [0; 64];
            far.read_exact(&mut buffer).await.expect("read");
            far
        });
        writer
            .write_all(&[1; 64])
            .await
            .expect("progress within the limit");
        let _far = reader.await.expect("reader");
        // Now nobody reads: the write fails once the limit has passed.
        let started = tokio::time::Instant::now();
        let error = writer.write_all(&[2; 64]).await.expect_err("blocked");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
