//! TCP (and TLS) stream framing: one connection's bytes → whole messages,
//! by Content-Length (RFC 3261 §18.3), with RFC 5626 keep-alives.
//!
//! Several messages may arrive in one read and one message across many;
//! the framer keeps what it has not used. A message larger than 64 KiB,
//! or a head with no valid Content-Length, cannot be framed: the
//! connection must be closed (there is no way to find the next message).

use super::parse::MAX_MESSAGE_BYTES;

/// What the framer found in the bytes so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One complete message (head and body).
    Message(Vec<u8>),
    /// A double-CRLF ping: answer with a single CRLF pong.
    KeepAlive,
}

/// Why a stream cannot be framed any further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("message larger than 64 KiB")]
    TooLarge,
    #[error("missing or invalid Content-Length on a stream")]
    BadContentLength,
}

/// Per-connection framing state.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    /// How far the search for the end of the head has looked: a client
    /// sending one byte at a time must not make every read rescan the
    /// whole buffer (quadratic work; found by fuzzing).
    scanned: usize,
}

impl StreamFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        if self.buffer.starts_with(b"\r\n\r\n") {
            self.buffer.drain(..4);
            self.scanned = 0;
            return Ok(Some(Frame::KeepAlive));
        }
        // Stray line ends between messages are allowed (RFC 3261 §7.5);
        // keep a lone CRLF until we know whether it starts a ping.
        while self.buffer.starts_with(b"\r\n")
            && self.buffer.len() >= 4
            && !self.buffer.starts_with(b"\r\n\r\n")
        {
            self.buffer.drain(..2);
            self.scanned = 0;
        }
        while self.buffer.first() == Some(&b'\n') {
            self.buffer.remove(0);
            self.scanned = 0;
        }
        if self.buffer.starts_with(b"\r\n") {
            return Ok(None);
        }
        // Resume a few bytes back: the terminator may straddle two reads.
        let from = self.scanned.saturating_sub(3);
        let Some((head_end, body_start)) =
            find_head_end(&self.buffer[from..]).map(|(a, b)| (a + from, b + from))
        else {
            if self.buffer.len() > MAX_MESSAGE_BYTES {
                return Err(FramingError::TooLarge);
            }
            self.scanned = self.buffer.len();
            return Ok(None);
        };
        let length = content_length(&self.buffer[..head_end])?;
        let total = body_start.checked_add(length).ok_or(FramingError::TooLarge)?;
        if total > MAX_MESSAGE_BYTES {
            return Err(FramingError::TooLarge);
        }
        if self.buffer.len() < total {
            return Ok(None);
        }
        let message: Vec<u8> = self.buffer.drain(..total).collect();
        self.scanned = 0;
        Ok(Some(Frame::Message(message)))
    }

    /// Bytes held but not yet framed.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// Whether part of a message is held (not just line ends, which are
    /// keep-alives or the start of one).
    pub fn holds_partial_message(&self) -> bool {
        self.buffer.iter().any(|&byte| byte != b'\r' && byte != b'\n')
    }
}

fn find_head_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let crlf = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Content-Length (or compact `l`) from a raw head; absent means 0.
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let head = String::from_utf8_lossy(head);
    let mut found = None;
    for line in head.split('\n') {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            let value = value.trim();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FramingError::BadContentLength);
            }
            let length = value.parse().map_err(|_| FramingError::BadContentLength)?;
            if found.is_some_and(|previous| previous != length) {
                return Err(FramingError::BadContentLength);
            }
            found = Some(length);
        }
    }
    // On a stream the length is the only way to find the next message:
    // it is mandatory there (RFC 3261 §18.3, §20.14), and without it the
    // connection cannot be framed: it is closed.
    found.ok_or(FramingError::BadContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";
    const B: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";

    fn frames(framer: &mut StreamFramer) -> Vec<Frame> {
        std::iter::from_fn(|| framer.next_frame().unwrap()).collect()
    }

    #[test]
    fn splits_back_to_back_messages_and_joins_split_ones() {
        let mut framer = StreamFramer::new();
        framer.push(&[A, B].concat());
        assert_eq!(
            frames(&mut framer),
            vec![Frame::Message(A.to_vec()), Frame::Message(B.to_vec())]
        );
        for chunk in A.chunks(7) {
            assert!(frames(&mut framer).is_empty());
            framer.push(chunk);
        }
        assert_eq!(frames(&mut framer), vec![Frame::Message(A.to_vec())]);
        assert_eq!(framer.pending(), 0);
    }

    #[test]
    fn answers_pings_and_skips_stray_line_ends() {
        let mut framer = StreamFramer::new();
        framer.push(b"\r\n\r\n");
        assert_eq!(frames(&mut framer), vec![Frame::KeepAlive]);
        framer.push(b"\r\n");
        assert!(frames(&mut framer).is_empty(), "a lone CRLF may be half a ping");
        framer.push(B);
        assert_eq!(frames(&mut framer), vec![Frame::Message(B.to_vec())]);
    }

    #[test]
    fn one_byte_reads_do_not_rescan_the_buffer() {
        let mut framer = StreamFramer::new();
        let mut message = b"OPTIONS sip:a@b SIP/2.0\r\nX: ".to_vec();
        message.extend(std::iter::repeat_n(b'a', 30_000));
        message.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        let started = std::time::Instant::now();
        let mut frames = Vec::new();
        for byte in &message {
            framer.push(std::slice::from_ref(byte));
            frames.extend(std::iter::from_fn(|| framer.next_frame().unwrap()));
        }
        assert_eq!(frames, vec![Frame::Message(message.clone())]);
        // Quadratic rescanning took seconds here; linear work takes milliseconds.
        assert!(
            started.elapsed() < std::time::Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn refuses_what_cannot_be_framed() {
        let mut framer = StreamFramer::new();
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n");
        assert_eq!(framer.next_frame(), Err(FramingError::BadContentLength));
        let mut framer = StreamFramer::new();
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 70000\r\n\r\n");
        assert_eq!(framer.next_frame(), Err(FramingError::TooLarge));
        let mut framer = StreamFramer::new();
        framer.push(&vec![b'x'; MAX_MESSAGE_BYTES + 1]);
        assert_eq!(framer.next_frame(), Err(FramingError::TooLarge));
        let mut framer = StreamFramer::new();
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n");
        assert_eq!(
            framer.next_frame(),
            Err(FramingError::BadContentLength),
            "no length on a stream"
        );
    }
}
