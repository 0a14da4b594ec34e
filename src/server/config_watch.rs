//! Reload on file change. Watches the config file's *folder*: editors
//! save by writing a temporary file and renaming it over the original, which
//! a watch on the file itself would lose after the first save.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::reload::Reloader;

/// Editors touch a file several times per save; wait this long after the
/// last event before reloading, so one save is one reload.
const SETTLE: Duration = Duration::from_millis(250);

/// Starts watching; reloads until `shutdown`. A failure to watch (e.g. no
/// inotify instances left) is logged: SIGHUP and the API still work.
pub fn spawn(path: &Path, reloader: Arc<Reloader>, shutdown: CancellationToken) {
    let file_name = path.file_name().map(|n| n.to_owned());
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (events, mut received) = mpsc::channel::<()>(16);
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let ours = event.paths.iter().any(|p| p.file_name() == file_name.as_deref());
        if ours && (event.kind.is_create() || event.kind.is_modify()) {
            // A full channel means a reload is already pending.
            let _ = events.try_send(());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the config file; reload with SIGHUP or the API");
            return;
        }
    };
    if let Err(error) = watcher.watch(&folder, RecursiveMode::NonRecursive) {
        tracing::warn!(%error, folder = %folder.display(), "cannot watch the config folder; reload with SIGHUP or the API");
        return;
    }
    tokio::spawn(async move {
        let _watcher = watcher;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                event = received.recv() => if event.is_none() { return },
            }
            // Debounce: keep draining until the file has been quiet a while.
            while let Ok(Some(())) = tokio::time::timeout(SETTLE, received.recv()).await {}
            let _ = reloader.reload("file change").await;
        }
    });
}
