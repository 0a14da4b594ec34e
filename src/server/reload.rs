//! Reloading phones.toml: re-read, validate, render, swap — or keep the
//! old snapshot and say exactly why not.
//!
//! Every trigger (file change, SIGHUP, `POST /api/v1/reload`) goes through
//! `Reloader::reload`, which serialises them, so two triggers at once never
//! interleave their swaps.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tokio::sync::{Mutex, watch};

use crate::config::{Config, ConfigError, Problem};
use crate::provision::RenderError;
use crate::snapshot::Snapshot;

use super::SipHandle;

/// Why a reload left the old config in place.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl ReloadError {
    /// The individual problems, when the file was invalid.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Config(ConfigError::Invalid { problems, .. }) => problems,
            _ => &[],
        }
    }
}

/// What a successful reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadSummary {
    pub generation: u64,
    pub summary: String,
    /// Names of phones whose documents changed (new phones included).
    pub changed_phones: Vec<String>,
}

/// Owns the path and the sending side of the snapshot channel.
pub struct Reloader {
    path: PathBuf,
    snapshots: watch::Sender<Arc<Snapshot>>,
    serial: Mutex<()>,
    /// Where check-syncs go after a reload (`[http] auto_reconfigure`);
    /// set once the SIP driver runs.
    reconfigure: OnceLock<SipHandle>,
}

impl Reloader {
    pub fn new(path: PathBuf, snapshots: watch::Sender<Arc<Snapshot>>) -> Self {
        Self {
            path,
            snapshots,
            serial: Mutex::new(()),
            reconfigure: OnceLock::new(),
        }
    }

    /// Lets reloads push check-sync to phones whose config changed.
    pub fn set_reconfigure(&self, sip: SipHandle) {
        let _ = self.reconfigure.set(sip);
    }

    /// Re-reads the file; on success swaps the snapshot, on failure logs
    /// every problem and leaves the running config untouched.
    pub async fn reload(&self, trigger: &str) -> Result<ReloadSummary, ReloadError> {
        let _serial = self.serial.lock().await;
        let path = self.path.clone();
        let previous = self.snapshots.borrow().clone();
        let generation = previous.generation + 1;
        // Reading and rendering a large config is blocking work.
        let built = tokio::task::spawn_blocking(move || -> Result<Snapshot, ReloadError> {
            let config = Config::load(&path)?;
            Ok(Snapshot::build(config, generation)?)
        })
        .await
        .expect("reload task does not panic");
        let snapshot = match built {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::error!(
                    trigger,
                    "reload refused, the running configuration stays in place"
                );
                for problem in error.problems() {
                    tracing::error!("{}:{problem}", self.path.display());
                }
                if error.problems().is_empty() {
                    tracing::error!("{error}");
                }
                return Err(error);
            }
        };
        warn_about_restart_only_changes(&previous.config, &snapshot.config);
        let changed_phones = previous
            .catalog
            .changed_since(&snapshot.catalog)
            .filter_map(|mac| snapshot.config.phone_by_mac(mac))
            .map(|phone| phone.name.clone())
            .collect();
        let summary = ReloadSummary {
            generation,
            summary: snapshot.config.summary(),
            changed_phones,
        };
        tracing::info!(trigger, generation, summary = %summary.summary, changed = ?summary.changed_phones, "configuration reloaded");
        let auto = snapshot.config.http.auto_reconfigure;
        self.snapshots.send_replace(Arc::new(snapshot));
        if auto
            && !summary.changed_phones.is_empty()
            && let Some(sip) = self.reconfigure.get()
        {
            let (sip, phones) = (sip.clone(), summary.changed_phones.clone());
            tokio::spawn(async move {
                for report in sip.reconfigure(phones).await {
                    tracing::info!(phone = %report.phone, outcome = ?report.outcome, "automatic check-sync after reload");
                }
            });
        }
        Ok(summary)
    }
}

/// Listener addresses and the data folder are bound at start; say so
/// instead of silently ignoring the edit.
fn warn_about_restart_only_changes(old: &Config, new: &Config) {
    let changes = [
        ("http.listen", old.http.listen != new.http.listen),
        ("admin.listen", old.admin.listen != new.admin.listen),
        ("sip.listen", old.sip.listen != new.sip.listen),
        ("general.data_dir", old.general.data_dir != new.general.data_dir),
        // The AMI link is set up at start (config/asterisk.rs).
        ("asterisk", old.asterisk != new.asterisk),
    ];
    for (key, changed) in changes {
        if changed {
            tracing::warn!(key, "this setting changed but only takes effect after a restart");
        }
    }
}
