//! `[ringtones.NAME]` (DPMA `type=ringtone`: `alias`, `filename`,
//! "DPMA Configuration"): a ringtone the phone downloads, as a file in
//! `[general] files_dir`, served like firmware under the phone's token.
//!
//! Written as `<ringtones><tones><tone id display url md5 type="user"/>`
//! after the built-in tones (`type="phone"`), as in the DPMA Users Guide
//! v1.0 p.21 "Tones Element" (manualshive.com manual 2502195), which also
//! says what the phone takes: "a 16kHz, mono WAV sound file, less than 1MB
//! in size". `check` and every load verify that (`check_ringtone_files`),
//! and record the MD5 the phone compares before downloading again.
//!
//! A tone is named by its entry name wherever a ringtone is expected
//! (`active_ringtone`, `[alerts] ringtone`), beside the built-in names.

use md5::{Digest, Md5};
use serde::Deserialize;
use toml::Spanned;

use super::alerts::built_in_tone;
use super::entry::Entry;
use super::firmware::is_plain_file_name;
use super::problem::{Problem, path_segment};

/// "less than 1MB" (DPMA Users Guide p.21), read as 2^20 bytes.
pub const MAX_RINGTONE_BYTES: u64 = 1 << 20;
/// "16kHz, mono" (same page).
const SAMPLE_RATE: u32 = 16_000;

/// `[ringtones.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingtoneEntry {
    /// What the phone shows (`display`); default: the entry name.
    pub alias: Option<String>,
    /// A 16 kHz mono WAV file inside `files_dir` (DPMA's `filename`).
    pub file: Option<Spanned<String>>,
}

/// A validated downloadable ringtone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRingtone {
    /// The table key: the tone's `id`, what alerts and phones name.
    pub name: String,
    pub alias: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

pub fn ringtones(
    source: &str,
    entries: &[Entry<RingtoneEntry>],
    problems: &mut Vec<Problem>,
) -> Vec<UserRingtone> {
    let mut tones = Vec::new();
    for entry in entries {
        let (name, value) = (&entry.name, &entry.value);
        let path = format!("ringtones.{}", path_segment(name.get_ref()));
        if built_in_tone(name.get_ref()).is_some() {
            problems.push(Problem::at(
                source,
                name.span(),
                path.clone(),
                format!(
                    "{:?} is a built-in ringtone's name: choose another",
                    name.get_ref()
                ),
            ));
            continue;
        }
        let Some(file) = &value.file else {
            if !entry.has("file") {
                problems.push(Problem::at(
                    source,
                    name.span(),
                    path,
                    "missing key `file` (a 16 kHz mono WAV in [general] files_dir)",
                ));
            }
            continue;
        };
        if !is_plain_file_name(file.get_ref()) {
            problems.push(Problem::at(
                source,
                file.span(),
                format!("{path}.file"),
                format!(
                    "{:?} must be a plain file name inside [general] files_dir",
                    file.get_ref()
                ),
            ));
            continue;
        }
        let at = Problem::at(source, file.span(), "", "");
        tones.push(UserRingtone {
            name: name.get_ref().clone(),
            alias: value.alias.clone().unwrap_or_else(|| name.get_ref().clone()),
            file: file.get_ref().clone(),
            line: at.line,
            column: at.column,
        });
    }
    tones
}

/// Why a file is not a ringtone the phones play.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WavRefusal {
    #[error("is not a WAV file (RIFF/WAVE with a fmt chunk)")]
    NotWav,
    #[error("is {channels} channels at {rate} Hz; the phones play 16 kHz mono WAV")]
    Format { channels: u16, rate: u32 },
    #[error("is {0} bytes; the phones take less than 1 MiB")]
    TooBig(u64),
}

/// Checks a WAV file's header: RIFF/WAVE, then the `fmt ` chunk's channel
/// count and sample rate (chunks walked in order, RIFF layout as in the
/// Microsoft WAVE format: 4-byte id, 4-byte little-endian size, padded to
/// even length).
pub fn check_wav(bytes: &[u8]) -> Result<(), WavRefusal> {
    if bytes.len() as u64 >= MAX_RINGTONE_BYTES {
        return Err(WavRefusal::TooBig(bytes.len() as u64));
    }
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavRefusal::NotWav);
    }
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]) as usize;
        if &bytes[at..at + 4] == b"fmt " {
            let body = bytes
                .get(at + 8..at + 8 + size.min(16))
                .ok_or(WavRefusal::NotWav)?;
            if body.len() < 8 {
                return Err(WavRefusal::NotWav);
            }
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            return if channels == 1 && rate == SAMPLE_RATE {
                Ok(())
            } else {
                Err(WavRefusal::Format { channels, rate })
            };
        }
        at = at.saturating_add(8).saturating_add(size).saturating_add(size % 2);
    }
    Err(WavRefusal::NotWav)
}

/// Lower-case hex MD5 of `bytes`: what the phone compares (`md5=`).
pub fn md5_hex(bytes: &[u8]) -> String {
    crate::hex::lower(&Md5::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV header: RIFF, WAVE, a LIST chunk first (odd size, padded),
    /// then `fmt ` with `channels` and `rate`.
    fn wav(channels: u16, rate: u32) -> Vec<u8> {
        let mut bytes = b"RIFF\0\0\0\0WAVE".to_vec();
        bytes.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        bytes.extend_from_slice(b"fmt \x10\0\0\0\x01\0");
        bytes.extend_from_slice(&channels.to_le_bytes());
        bytes.extend_from_slice(&rate.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes
    }

    #[test]
    fn accepts_16_khz_mono_wav_only() {
        assert_eq!(check_wav(&wav(1, 16_000)), Ok(()));
        assert_eq!(
            check_wav(&wav(2, 44_100)),
            Err(WavRefusal::Format {
                channels: 2,
                rate: 44_100
            })
        );
        assert_eq!(check_wav(b"ID3 an mp3 file, not a wav"), Err(WavRefusal::NotWav));
        assert_eq!(check_wav(&wav(1, 16_000)[..30]), Err(WavRefusal::NotWav));
        let big = vec![0u8; MAX_RINGTONE_BYTES as usize];
        assert_eq!(check_wav(&big), Err(WavRefusal::TooBig(MAX_RINGTONE_BYTES)));
    }
}
