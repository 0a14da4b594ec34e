//! Reload on file change, once per complete save. Watches the config
//! file's *folder*: editors save by writing a temporary file and renaming
//! it over the original, which a watch on the file itself would lose after
//! the first save.
//!
//! A save is complete when the file is renamed into place or a writer
//! closes it (inotify `IN_CLOSE_WRITE`); plain modify events only mean a
//! write is under way — a save in two parts 600 ms apart must not be
//! applied after the first part. After the save the content must settle:
//! two reads a moment apart agree, then that exact text is applied, and
//! only if it differs from what was last tried. A writer that never closes
//! the file is still picked up after a longer quiet spell.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::reload::Reloader;

/// Quiet time after a complete save (editors touch a file several times).
const SETTLE: Duration = Duration::from_millis(250);

/// Quiet time after writes with no close or rename seen.
const UNCLOSED_QUIET: Duration = Duration::from_secs(2);

/// Gap between the two reads that must agree.
const REREAD: Duration = Duration::from_millis(100);

/// Most settle rounds for one save (a file rewritten without pause).
const MAX_ROUNDS: u32 = 50;

/// What an event says about the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Written to, maybe not finished.
    Writing,
    /// Closed after writing, or renamed into place: a save is complete.
    Complete,
}

fn classify(kind: &EventKind) -> Option<Change> {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) | EventKind::Modify(ModifyKind::Name(_)) => {
            Some(Change::Complete)
        }
        EventKind::Create(_) | EventKind::Modify(_) => Some(Change::Writing),
        _ => None,
    }
}

/// Starts watching, in a task owned by `tasks`; reloads until `shutdown`.
/// Arm it before the servers answer, so no save after start-up is missed.
/// A failure to watch (e.g. no inotify instances left) is logged: SIGHUP
/// and the API still work.
pub fn spawn(path: &Path, reloader: Arc<Reloader>, shutdown: CancellationToken, tasks: &TaskTracker) {
    let file_name = path.file_name().map(|n| n.to_owned());
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (events, mut received) = mpsc::channel::<Change>(64);
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let ours = event.paths.iter().any(|p| p.file_name() == file_name.as_deref());
        if let Some(change) = classify(&event.kind).filter(|_| ours) {
            // A full channel: a reload is already pending and its settle
            // loop re-reads the file anyway; but never lose a Complete.
            if events.try_send(change).is_err() && change == Change::Complete {
                let _ = events.blocking_send(change);
            }
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
    let path = path.to_path_buf();
    tasks.spawn(async move {
        let _watcher = watcher;
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => return,
                event = received.recv() => match event { Some(change) => change, None => return },
            };
            let Some(text) = settle(&path, first, &mut received).await else {
                continue;
            };
            let _ = reloader.reload_if_changed("file change", text).await;
        }
    });
}

/// Waits until the save is complete and the content stable; the text.
async fn settle(path: &Path, first: Change, received: &mut mpsc::Receiver<Change>) -> Option<String> {
    let mut last = first;
    for _ in 0..MAX_ROUNDS {
        // Quiet: no event for SETTLE after a complete save (longer after
        // a bare write).
        loop {
            let quiet = if last == Change::Complete {
                SETTLE
            } else {
                UNCLOSED_QUIET
            };
            match tokio::time::timeout_at(Instant::now() + quiet, received.recv()).await {
                Ok(Some(change)) => last = change,
                Ok(None) => return None,
                Err(_) => break,
            }
        }
        let before = tokio::fs::read_to_string(path).await.ok()?;
        tokio::time::sleep(REREAD).await;
        let after = tokio::fs::read_to_string(path).await.ok()?;
        if before == after && received.is_empty() {
            return Some(after);
        }
        tracing::debug!("config file still changing; waiting for it to settle");
    }
    tracing::warn!("config file keeps changing; reload it with SIGHUP or the API when the save is done");
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange};

    #[test]
    fn only_a_close_after_writing_or_a_rename_completes_a_save() {
        assert_eq!(
            classify(&EventKind::Access(AccessKind::Close(AccessMode::Write))),
            Some(Change::Complete)
        );
        assert_eq!(
            classify(&EventKind::Modify(ModifyKind::Name(
                notify::event::RenameMode::To
            ))),
            Some(Change::Complete)
        );
        assert_eq!(
            classify(&EventKind::Modify(ModifyKind::Data(DataChange::Any))),
            Some(Change::Writing)
        );
        assert_eq!(
            classify(&EventKind::Create(CreateKind::File)),
            Some(Change::Writing)
        );
        assert_eq!(
            classify(&EventKind::Access(AccessKind::Close(AccessMode::Read))),
            None
        );
    }
}
