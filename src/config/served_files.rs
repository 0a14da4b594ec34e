//! Checking on disk the files a config serves — firmware images, logos
//! and wallpapers, ringtones — at every load (`Config::parse_with_files`):
//! each must be a readable file in `[general] files_dir` that fits (a PNG
//! of the model's logo size, a 16 kHz mono WAV); the MD5 of each good
//! image or tone goes into `file_md5`, which the phone compares before it
//! downloads again.

use std::io::Read;
use std::path::Path;

use super::logo::png_size;
use super::model::Config;
use super::problem::{Problem, path_segment};
use super::ringtones::{MAX_RINGTONE_BYTES, WavRefusal, check_wav, md5_hex};

/// The largest logo or wallpaper read: a PNG for the largest D-series
/// screen (800x480) is well under this. A bigger file is refused without
/// being read, so a wrong path (a disk image, a log) cannot make a load
/// hold gigabytes in memory.
const MAX_IMAGE_BYTES: u64 = 8 << 20;

/// Why a served file was not read.
enum ReadRefusal {
    Unreadable,
    TooBig(u64),
}

/// Reads `path` if it is a file of at most `limit` bytes. The size is
/// checked before reading, and the read stops past `limit` in case the
/// file grows meanwhile.
fn read_at_most(path: &Path, limit: u64) -> Result<Vec<u8>, ReadRefusal> {
    let file = std::fs::File::open(path).map_err(|_| ReadRefusal::Unreadable)?;
    let length = file.metadata().map_err(|_| ReadRefusal::Unreadable)?.len();
    if length > limit {
        return Err(ReadRefusal::TooBig(length));
    }
    let mut bytes = Vec::with_capacity(length as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| ReadRefusal::Unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(ReadRefusal::TooBig(bytes.len() as u64));
    }
    Ok(bytes)
}

impl Config {
    /// Problems for every served file that is not a readable file in
    /// `files_dir` — `check` and every (re)load refuse such a config, so a
    /// phone is never told to fetch a file we cannot serve.
    pub(super) fn missing_files(&self) -> Vec<Problem> {
        self.firmware
            .iter()
            .filter(|image| !self.general.files_dir.join(&image.file).is_file())
            .map(|image| Problem {
                path: format!("firmware.{}.file", path_segment(&image.name)),
                line: image.line,
                column: image.column,
                message: format!(
                    "{} is not a file (put the {} firmware there or fix the name)",
                    self.general.files_dir.join(&image.file).display(),
                    image.model
                ),
            })
            .collect()
    }

    /// Reads every phone's logo and wallpaper: a problem for a missing
    /// file, a file that is not a PNG, a logo whose size is not the
    /// model's, or a wallpaper on a model without a colour screen; the MD5
    /// of each good one goes into `file_md5`.
    pub(super) fn check_logos(&mut self) -> Vec<Problem> {
        let mut problems = Vec::new();
        for phone in &self.phones {
            let images = [
                ("logo_file", &phone.logo_file),
                ("wallpaper_file", &phone.wallpaper_file),
            ];
            for (key, image) in images {
                let Some(image) = image else { continue };
                let problem = |message: String| Problem {
                    path: format!("phones.{}.{key}", path_segment(&phone.name)),
                    line: image.line,
                    column: image.column,
                    message,
                };
                let path = self.general.files_dir.join(&image.file);
                let bytes = match read_at_most(&path, MAX_IMAGE_BYTES) {
                    Ok(bytes) => bytes,
                    Err(ReadRefusal::Unreadable) => {
                        problems.push(problem(format!(
                            "{} is not a readable file in [general] files_dir",
                            image.file
                        )));
                        continue;
                    }
                    Err(ReadRefusal::TooBig(length)) => {
                        problems.push(problem(format!(
                            "{} is {length} bytes; a logo or wallpaper PNG is far smaller (at most {MAX_IMAGE_BYTES} bytes read)",
                            image.file
                        )));
                        continue;
                    }
                };
                let size = png_size(&bytes);
                match (size, phone.model) {
                    (None, _) => problems.push(problem(format!("{} is not a PNG image", image.file))),
                    (Some(size), Some(model)) if key == "logo_file" && size != model.logo_size() => {
                        let (width, height) = model.logo_size();
                        problems.push(problem(format!(
                            "{} is {}x{} pixels; a {model} shows a {width}x{height} logo",
                            image.file, size.0, size.1
                        )));
                    }
                    (Some(_), Some(model)) if key == "wallpaper_file" && !model.has_colour_screen() => {
                        problems.push(problem(format!(
                            "a {model} has no colour screen to show a wallpaper on (D60, D62, D65 and D80 have)"
                        )));
                    }
                    _ => {
                        let md5 = md5_hex(&bytes);
                        self.file_md5.insert(image.file.clone(), md5);
                    }
                }
            }
        }
        problems
    }

    /// Reads every `[ringtones]` file: a problem for one that is missing,
    /// not a 16 kHz mono WAV or too big; the MD5 of each good one goes
    /// into `file_md5`.
    pub(super) fn check_ringtone_files(&mut self) -> Vec<Problem> {
        let mut problems = Vec::new();
        for tone in &self.ringtones {
            let problem = |message: String| Problem {
                path: format!("ringtones.{}.file", path_segment(&tone.name)),
                line: tone.line,
                column: tone.column,
                message: format!("{} {message}", tone.file),
            };
            // One byte past the limit is enough to say "too big".
            match read_at_most(&self.general.files_dir.join(&tone.file), MAX_RINGTONE_BYTES) {
                Err(ReadRefusal::Unreadable) => problems.push(problem(
                    "is not a readable file in [general] files_dir".to_owned(),
                )),
                Err(ReadRefusal::TooBig(length)) => {
                    problems.push(problem(WavRefusal::TooBig(length).to_string()));
                }
                Ok(bytes) => match check_wav(&bytes) {
                    Ok(()) => {
                        self.file_md5.insert(tone.file.clone(), md5_hex(&bytes));
                    }
                    Err(refusal) => problems.push(problem(refusal.to_string())),
                },
            }
        }
        problems
    }
}
