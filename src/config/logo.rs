//! A phone's idle-screen logo (DPMA `<model>_logo_file`, "DPMA
//! Configuration"): a PNG in `[general] files_dir`, named by `logo_file`,
//! served like firmware and written as `<setting id="logo_file" value="user"
//! path="/user_image.png" url=… md5=…/>` (Provisioner's sample config).
//! `check` and every load verify the file is a PNG of the size the model's
//! screen takes (FreePBX's `digium_phones_models.php`) and record its MD5,
//! which the phone compares to decide whether to download it again.
//!
//! `wallpaper_file` (DPMA's option of the same name) is a PNG too, written
//! as `<setting id="wallpaper_file" value="user" path="/user_wallpaper.png"
//! url=… md5=…/>` (Sangoma KB "XML Configuration 2.9.22+" and "3.8.0+",
//! complete example). No source we found gives a wallpaper size, so only
//! the format is checked, and that the model has a colour screen to show
//! it on (the D6x and D80, per `digium_phones_models.php`).

use super::model::Config;
use super::problem::{Problem, path_segment};

/// Where a phone's `logo_file` or `wallpaper_file` is named, for problems
/// found at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoFile {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// Width and height from a PNG's IHDR chunk (PNG spec §11.2.2: the
/// signature, then IHDR's length and type, then width and height, big
/// endian), or `None` if `bytes` is not a PNG.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || !bytes.starts_with(SIGNATURE) || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let number = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((number(16), number(20)))
}

impl Config {
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
                        let md5 = super::ringtones::md5_hex(&bytes);
                        self.file_md5.insert(image.file.clone(), md5);
                    }
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_size_of_a_png_and_refuses_other_files() {
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend_from_slice(&296u32.to_be_bytes());
        png.extend_from_slice(&128u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((296, 128)));
        assert_eq!(png_size(b"GIF89a not a png at all, really"), None);
        assert_eq!(png_size(&png[..20]), None);
    }
}
