//! AMI framing: a packet is `Key: Value` lines ended by CRLF, closed by an
//! empty line; the server opens with one greeting line
//! (`Asterisk Call Manager/11.0.0`). `PacketReader` turns a byte stream
//! into packets; `Packet::encode` does the reverse.
//!
//! Tolerated on input, because Asterisk 22 sends them: bare LF line ends,
//! and lines without a colon (`PresenceStatus` and `Getvar` copy a value
//! with a raw newline into the packet; the continuation is dropped, the
//! escaped `PresenceStateChange` is what we read).

use super::error::AmiError;

/// Largest packet we buffer; a longer one is a protocol error (bounded memory).
pub const MAX_PACKET_BYTES: usize = 64 * 1024;

/// One AMI packet: its fields in order. Keys compare case-insensitively
/// (Asterisk's `astman_get_header` does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet {
    fields: Vec<(String, String)>,
}

impl Packet {
    /// A packet from fields, in order.
    pub fn new<K: Into<String>, V: Into<String>>(fields: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            fields: fields.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }

    /// The first value of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.fields.push((key.into(), value.into()));
    }

    /// Wire form. Values must not hold CR or LF (the caller encodes them
    /// away); any that slip through are replaced by spaces so that one
    /// value can never start a new field or end the packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::new();
        for (key, value) in &self.fields {
            out.push_str(key);
            out.push_str(": ");
            out.extend(
                value
                    .chars()
                    .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
            );
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// What the stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The first line, e.g. `Asterisk Call Manager/11.0.0`.
    Greeting(String),
    Packet(Packet),
}

/// Incremental reader of the AMI byte stream.
#[derive(Debug, Default)]
pub struct PacketReader {
    buffer: Vec<u8>,
    greeted: bool,
    /// Where the next search for a line end resumes: the start of the
    /// buffer's unfinished line. Rescanning from 0 on every read would
    /// cost a peer that drips a 64 KiB packet byte by byte ~2·10⁹ steps.
    scanned: usize,
}

impl PacketReader {
    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, AmiError> {
        if !self.greeted {
            let Some(end) = self.buffer[self.scanned..].iter().position(|&b| b == b'\n') else {
                self.scanned = self.buffer.len();
                return self.check_size().map(|()| None);
            };
            let line: Vec<u8> = self.buffer.drain(..=self.scanned + end).collect();
            self.greeted = true;
            self.scanned = 0;
            return Ok(Some(Frame::Greeting(trim_line(&line))));
        }
        loop {
            let end = match packet_end(&self.buffer, self.scanned) {
                Ok(end) => end,
                Err(unfinished_line) => {
                    self.scanned = unfinished_line;
                    return self.check_size().map(|()| None);
                }
            };
            self.scanned = 0;
            let raw: Vec<u8> = self.buffer.drain(..end).collect();
            let mut packet = Packet::default();
            for line in raw.split(|&b| b == b'\n') {
                let line = trim_line(line);
                if let Some((key, value)) = line.split_once(':') {
                    // Asterisk skips blanks after the colon.
                    packet.push(key.trim(), value.trim_start());
                }
            }
            // Blank lines between packets are not packets.
            if !packet.fields.is_empty() {
                return Ok(Some(Frame::Packet(packet)));
            }
        }
    }

    fn check_size(&self) -> Result<(), AmiError> {
        if self.buffer.len() > MAX_PACKET_BYTES {
            return Err(AmiError::PacketTooLarge(self.buffer.len()));
        }
        Ok(())
    }
}

/// Index just past the empty line that closes the first packet, searching
/// from `from` (a line start); `Err` gives the start of the unfinished line.
fn packet_end(buffer: &[u8], from: usize) -> Result<usize, usize> {
    let mut line_start = from;
    for (index, &byte) in buffer.iter().enumerate().skip(from) {
        if byte == b'\n' {
            let line = &buffer[line_start..index];
            if line.is_empty() || line == b"\r" {
                return Ok(index + 1);
            }
            line_start = index + 1;
        }
    }
    Err(line_start)
}

fn trim_line(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    text.trim_end_matches(['\r', '\n']).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(reader: &mut PacketReader) -> Vec<Frame> {
        std::iter::from_fn(|| reader.next_frame().expect("valid stream")).collect()
    }

    #[test]
    fn reads_the_greeting_then_packets_split_anywhere() {
        let stream = b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\n\r\n";
        for split in 0..stream.len() {
            let mut reader = PacketReader::default();
            reader.push(&stream[..split]);
            let mut got = frames(&mut reader);
            reader.push(&stream[split..]);
            got.extend(frames(&mut reader));
            assert_eq!(got.len(), 3, "split at {split}");
            assert_eq!(got[0], Frame::Greeting("Asterisk Call Manager/11.0.0".into()));
            let Frame::Packet(login) = &got[1] else {
                panic!("packet")
            };
            assert_eq!(login.get("actionid"), Some("1"));
            assert_eq!(login.get("Message"), Some("Authentication accepted"));
        }
    }

    /// Asterisk 22's `PresenceStatus` copies a raw newline into `Message`
    /// (seen on the wire); the stray line is dropped, not an error.
    #[test]
    fn tolerates_bare_lf_and_lines_without_a_colon() {
        let mut reader = PacketReader::default();
        reader.push(b"Asterisk Call Manager/11.0.0\n");
        reader.push(b"Event: PresenceStatus\nMessage: hello, world\n\"x\"\nStatus: dnd\n\n");
        let got = frames(&mut reader);
        let Frame::Packet(packet) = &got[1] else {
            panic!("packet")
        };
        assert_eq!(packet.get("message"), Some("hello, world"));
        assert_eq!(packet.get("Status"), Some("dnd"));
    }

    #[test]
    fn refuses_an_endless_packet() {
        let mut reader = PacketReader::default();
        reader.push(b"Asterisk Call Manager/11.0.0\r\n");
        reader.push(&vec![b'a'; MAX_PACKET_BYTES + 1]);
        assert!(matches!(reader.next_frame(), Ok(Some(Frame::Greeting(_)))));
        assert!(matches!(reader.next_frame(), Err(AmiError::PacketTooLarge(_))));
        let mut no_greeting = PacketReader::default();
        no_greeting.push(&vec![b'a'; MAX_PACKET_BYTES + 1]);
        assert!(
            no_greeting.next_frame().is_err(),
            "a greeting without end is bounded too"
        );
    }

    /// A peer dripping a packet byte by byte costs one look per byte, not
    /// a rescan of everything buffered (the old rescan took seconds here;
    /// the bound leaves a wide margin for a loaded machine).
    #[test]
    fn a_byte_by_byte_drip_is_read_in_linear_time() {
        let mut stream = b"Asterisk Call Manager/11.0.0\r\n".to_vec();
        stream.extend(b"Event: X\r\n");
        while stream.len() < MAX_PACKET_BYTES - 64 {
            stream.extend(b"Key: value\r\n");
        }
        stream.extend(b"\r\n");
        let started = std::time::Instant::now();
        let mut reader = PacketReader::default();
        let mut frames = 0;
        for byte in &stream {
            reader.push(std::slice::from_ref(byte));
            while reader.next_frame().expect("valid").is_some() {
                frames += 1;
            }
        }
        assert_eq!(frames, 2);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn encodes_in_order_and_never_lets_a_value_break_the_frame() {
        let packet = Packet::new([("Action", "Setvar"), ("Value", "a\r\nAction: Logoff")]);
        assert_eq!(
            packet.encode(),
            b"Action: Setvar\r\nValue: a  Action: Logoff\r\n\r\n".to_vec()
        );
    }
}
