//! What a phone's config points it at beyond its accounts: its logo and
//! wallpaper (`<setting … path url md5>`), its downloadable ringtones
//! (`<tones>`) and its multicast paging groups (`<multicast>`). Every file
//! URL is under the phone's token, like its firmware (DECISIONS §15: nothing
//! says a phone re-sends its credentials for URLs inside its config).
//! Sources for each element are in the `config/` module that reads it
//! (`logo.rs`, `ringtones.rs`, `paging.rs`).

use super::templates::{ListenerView, SettingView, ToneView};
use crate::config::{BUILT_IN_TONES, Config, Phone, PhoneModel};

/// `logo_file` and (on colour models) `wallpaper_file` settings, each
/// stored on the phone at the path the published examples use.
pub fn image_settings(
    config: &Config,
    phone: &Phone,
    model: PhoneModel,
    files_url: &str,
) -> Vec<SettingView> {
    let images = [
        ("logo_file", "/user_image.png", phone.logo_file.as_ref()),
        (
            "wallpaper_file",
            "/user_wallpaper.png",
            phone
                .wallpaper_file
                .as_ref()
                .filter(|_| model.has_colour_screen()),
        ),
    ];
    images
        .into_iter()
        .filter_map(|(id, path, image)| {
            let image = image?;
            let mut extra = vec![
                ("path", path.to_owned()),
                ("url", format!("{files_url}{}", image.file)),
            ];
            if let Some(md5) = config.file_md5.get(&image.file) {
                extra.push(("md5", md5.clone()));
            }
            Some(SettingView {
                extra,
                ..SettingView::new(id, "user".to_owned())
            })
        })
        .collect()
}

/// `<tone>`s: none when the phone downloads no tone, else the built-in
/// ones (so the list the phone shows keeps them) and then each of its
/// `[ringtones]`.
pub fn tones<'a>(config: &'a Config, phone: &'a Phone, files_url: &str) -> Vec<ToneView<'a>> {
    let downloaded: Vec<ToneView<'a>> = phone
        .ringtones
        .iter()
        .filter_map(|name| config.ringtone(name))
        .map(|tone| ToneView {
            id: &tone.name,
            display: &tone.alias,
            kind: "user",
            url: Some(format!("{files_url}{}", tone.file)),
            md5: config.file_md5.get(&tone.file).map(String::as_str),
        })
        .collect();
    if downloaded.is_empty() {
        return downloaded;
    }
    BUILT_IN_TONES
        .iter()
        .map(|(id, display)| ToneView {
            id,
            display,
            kind: "phone",
            url: None,
            md5: None,
        })
        .chain(downloaded)
        .collect()
}

/// One `<listener>` per paging group the phone joins; `interrupt_calls`
/// is 1 (hold the call, full volume) or 0 (play over it).
pub fn listeners<'a>(config: &'a Config, phone: &'a Phone) -> Vec<ListenerView<'a>> {
    phone
        .paging
        .iter()
        .filter_map(|name| config.paging_group(name))
        .map(|group| ListenerView {
            id: &group.name,
            name: &group.alias,
            addr: group.address.to_string(),
            port: group.port,
            priority: group.priority.get(),
            interrupt_calls: u8::from(group.interrupt),
            extension: group.extension.as_deref(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A phone without `model` is rendered per model: its wallpaper goes
    /// only to the colour models, its logo to all.
    #[test]
    fn wallpapers_only_for_colour_screens() {
        let text = "[general]\nserver_address = \"pbx\"\n[lines.1]\nsecret = \"a\"\n\
             [phones.any]\nmac = \"001915000001\"\nlines = [\"1\"]\n\
             logo_file = \"logo.png\"\nwallpaper_file = \"wall.png\"\n";
        let config = Config::parse(text, Path::new("phones.toml")).expect("valid");
        let phone = config.phone("any").expect("phone");
        let ids = |model| {
            image_settings(&config, phone, model, "http://pbx/p/t/001915000001/")
                .iter()
                .map(|s| (s.id, s.extra[1].1.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(PhoneModel::D70),
            [("logo_file", "http://pbx/p/t/001915000001/logo.png".to_owned())]
        );
        assert_eq!(
            ids(PhoneModel::D62),
            [
                ("logo_file", "http://pbx/p/t/001915000001/logo.png".to_owned()),
                (
                    "wallpaper_file",
                    "http://pbx/p/t/001915000001/wall.png".to_owned()
                )
            ]
        );
    }
}
