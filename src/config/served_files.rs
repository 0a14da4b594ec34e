//! Checking on disk the files a config serves — firmware images, logos
//! and wallpapers, ringtones — at every load (`Config::parse_with_files`):
//! each must be a readable file in `[general] files_dir` that fits (a PNG
//! of the model's logo size, a 16 kHz mono WAV); the MD5 of each good
//! image or tone goes into `file_md5`, which the phone compares before it
//! downloads again.

use super::logo::png_size;
use super::model::Config;
use super::problem::{Problem, path_segment};
use super::ringtones::{check_wav, md5_hex};

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
                let Ok(bytes) = std::fs::read(self.general.files_dir.join(&image.file)) else {
                    problems.push(problem(format!(
                        "{} is not a readable file in [general] files_dir",
                        image.file
                    )));
                    continue;
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
            match std::fs::read(self.general.files_dir.join(&tone.file)) {
                Err(_) => problems.push(problem(
                    "is not a readable file in [general] files_dir".to_owned(),
                )),
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
