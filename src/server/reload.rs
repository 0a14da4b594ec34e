//! Reloading phones.toml: re-read, validate, render, swap — or keep the
//! old snapshot and say exactly why not.
//!
//! Every trigger (file change, SIGHUP, `POST /api/v1/reload`) goes through
//! `Reloader::reload`, which serialises them, so two triggers at once never
//! interleave their swaps. Settings bound at start (listeners, data folder,
//! certificates, the AMI link) keep their running values in the new
//! snapshot — so provisioning documents keep pointing at the ports that are
//! really open — and the reload reports them as waiting for a restart. The
//! reloader sends nothing to phones: the SIP driver follows the snapshot
//! channel and sends the automatic check-sync itself
//! (`sip_driver/new_snapshot.rs`).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{Mutex, watch};

use super::exposure::{ExposureError, check_exposure};
use crate::config::{Config, ConfigError, Problem};
use crate::provision::RenderError;
use crate::snapshot::Snapshot;

/// Why a reload left the old config in place.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The new file would expose the running listeners (e.g. a token
    /// removed while the admin API listens beyond loopback).
    #[error(transparent)]
    Exposure(#[from] ExposureError),
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
    /// Keys that changed in the file but keep their running value until
    /// a restart (e.g. `http.listen`).
    pub restart_required: Vec<&'static str>,
}

/// What a `Reloader` works with, all there before it is made.
pub struct ReloadTargets {
    /// The sending side of the snapshot channel every reader follows.
    pub snapshots: watch::Sender<Arc<Snapshot>>,
    /// Whether `OPENDPMA_ADMIN_TOKEN` was set at start (it guards the
    /// admin API whatever the file says).
    pub env_token: bool,
}

/// Owns the path and the sending side of the snapshot channel.
pub struct Reloader {
    path: PathBuf,
    snapshots: watch::Sender<Arc<Snapshot>>,
    serial: Mutex<()>,
    env_token: bool,
    /// Fingerprint of the text last tried (applied or refused), so the
    /// watcher reloads once per new content, not once per event.
    last_text: std::sync::Mutex<Option<u64>>,
}

fn fingerprint(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

impl Reloader {
    /// Seeds the fingerprint with the file as it is now (just loaded).
    pub fn new(path: PathBuf, targets: ReloadTargets) -> Self {
        let loaded = std::fs::read_to_string(&path).ok().map(|text| fingerprint(&text));
        let ReloadTargets { snapshots, env_token } = targets;
        Self {
            path,
            snapshots,
            serial: Mutex::new(()),
            env_token,
            last_text: std::sync::Mutex::new(loaded),
        }
    }

    /// The file watcher's entry: applies `text` (read and settled by the
    /// watcher) unless it is what was last tried. `None` when unchanged.
    pub async fn reload_if_changed(
        &self,
        trigger: &str,
        text: String,
    ) -> Option<Result<ReloadSummary, ReloadError>> {
        if *self.last_text.lock().expect("never poisoned") == Some(fingerprint(&text)) {
            tracing::debug!(trigger, "config file unchanged; nothing to reload");
            return None;
        }
        Some(self.reload_text(trigger, text).await)
    }

    /// Re-reads the file; on success swaps the snapshot, on failure logs
    /// every problem and leaves the running config untouched.
    pub async fn reload(&self, trigger: &str) -> Result<ReloadSummary, ReloadError> {
        let text = match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => text,
            Err(source) => {
                let error = ReloadError::Read {
                    path: self.path.clone(),
                    source,
                };
                tracing::error!(trigger, %error, "reload refused, the running configuration stays in place");
                return Err(error);
            }
        };
        self.reload_text(trigger, text).await
    }

    async fn reload_text(&self, trigger: &str, text: String) -> Result<ReloadSummary, ReloadError> {
        let _serial = self.serial.lock().await;
        *self.last_text.lock().expect("never poisoned") = Some(fingerprint(&text));
        let path = self.path.clone();
        let previous = self.snapshots.borrow().clone();
        let generation = previous.generation + 1;
        let running = previous.config.clone();
        let env_token = self.env_token;
        // Parsing and rendering a large config is blocking work.
        let built =
            tokio::task::spawn_blocking(move || -> Result<(Snapshot, Vec<&'static str>), ReloadError> {
                let mut config = Config::parse_with_files(&text, &path)?;
                let restart_required = keep_start_only_settings(&running, &mut config);
                check_exposure(&config, env_token)?;
                Ok((Snapshot::build(config, generation)?, restart_required))
            })
            .await
            .expect("reload task does not panic");
        let (snapshot, restart_required) = match built {
            Ok(built) => built,
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
        for key in &restart_required {
            tracing::warn!(
                key,
                "this setting changed but only takes effect after a restart; the running value stays in use"
            );
        }
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
            restart_required,
        };
        tracing::info!(trigger, generation, summary = %summary.summary, changed = ?summary.changed_phones, "configuration reloaded");
        // The SIP driver reacts to the new snapshot in one place (config,
        // hints, then the automatic check-sync), so nothing else is sent here.
        self.snapshots.send_replace(Arc::new(snapshot));
        Ok(summary)
    }
}

/// Listener addresses, the data folder, certificates and the AMI link are bound at
/// start: a new value would half-apply (documents pointing at a port that
/// is not open yet), so the running value is kept and the key reported.
fn keep_start_only_settings(running: &Config, new: &mut Config) -> Vec<&'static str> {
    let mut kept = Vec::new();
    let mut keep = |key: &'static str, changed: bool| {
        if changed {
            kept.push(key);
        }
    };
    keep("http.listen", running.http.listen != new.http.listen);
    new.http.listen = running.http.listen;
    keep(
        "http.tls_cert",
        (&running.http.tls_cert, &running.http.tls_key) != (&new.http.tls_cert, &new.http.tls_key),
    );
    new.http.tls_cert.clone_from(&running.http.tls_cert);
    new.http.tls_key.clone_from(&running.http.tls_key);
    keep("admin.listen", running.admin.listen != new.admin.listen);
    new.admin.listen = running.admin.listen;
    keep("sip.listen", running.sip.listen != new.sip.listen);
    new.sip.listen.clone_from(&running.sip.listen);
    keep(
        "sip.tls_cert",
        (&running.sip.tls_cert, &running.sip.tls_key) != (&new.sip.tls_cert, &new.sip.tls_key),
    );
    new.sip.tls_cert.clone_from(&running.sip.tls_cert);
    new.sip.tls_key.clone_from(&running.sip.tls_key);
    keep(
        "general.data_dir",
        running.general.data_dir != new.general.data_dir,
    );
    new.general.data_dir.clone_from(&running.general.data_dir);
    // The AMI link is set up at start (config/asterisk.rs).
    keep("asterisk", running.asterisk != new.asterisk);
    new.asterisk.clone_from(&running.asterisk);
    kept
}
