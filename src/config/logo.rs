//! A phone's idle-screen logo (DPMA `<model>_logo_file`, "DPMA
//! Configuration"): a PNG in `[general] files_dir`, named by `logo_file`,
//! served like firmware and written as `<setting id="logo_file" value="user"
//! path="/user_image.png" url=… md5=…/>` (Provisioner's sample config).
//! `check` and every load (`served_files.rs`) verify the file is a PNG of
//! the size the model's screen takes (FreePBX's `digium_phones_models.php`)
//! and record its MD5, which the phone compares to decide whether to
//! download it again.
//!
//! `wallpaper_file` (DPMA's option of the same name) is a PNG too, written
//! as `<setting id="wallpaper_file" value="user" path="/user_wallpaper.png"
//! url=… md5=…/>` (Sangoma KB "XML Configuration 2.9.22+" and "3.8.0+",
//! complete example). No source we found gives a wallpaper size, so only
//! the format is checked, and that the model has a colour screen to show
//! it on (the D6x and D80, per `digium_phones_models.php`).

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
