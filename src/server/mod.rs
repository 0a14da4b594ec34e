//! The tokio drivers: everything that owns a socket, a task or a signal.
//! Protocol and domain decisions live in the sans-IO modules; this module
//! moves bytes and time to and from them.
//!
//! - `http`: serving an axum router (provisioning, admin).
//! - `reload` / `config_watch`: re-reading phones.toml on change, SIGHUP
//!   or API call.
//! - `shutdown`: SIGINT/SIGTERM.
//! - `presence_hub`: the durable, broadcasting write path around the
//!   presence book.
//! - `sip_transport` / `sip_driver`: SIP sockets and the task that owns
//!   the sans-IO presence server.
//! - `ami`: the link to Asterisk's manager interface (`[asterisk]`).

mod ami;
mod committer;
mod config_watch;
mod connection_limits;
mod handle_budget;
mod http;
mod memory;
mod presence_hub;
mod reload;
mod shutdown;
mod sip_driver;
mod sip_rate;
mod sip_stream;
mod sip_transport;
pub mod tls;
mod udp_buffers;
mod write_deadline;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use self::connection_limits::{ConnectionLimits, ListenerKind};
use crate::admin::{self, AdminState};
use crate::auth::NonceSecret;
use crate::config::{Config, Secret};
use crate::metrics::Metrics;
use crate::presence::{Hint, PresenceBook};
use crate::provision::{self, AccessControl, FetchLog, ProvisionState, RenderError};
use crate::snapshot::Snapshot;
use crate::store::{RecordTable, RedbStore, Store, StoreError, StoredState};

pub use ami::AmiHandle;
pub use committer::QUEUE_CAPACITY as STORE_QUEUE_CAPACITY;
pub use presence_hub::{HubError, PresenceHub};
pub use reload::{ReloadError, ReloadSummary, Reloader};
pub use shutdown::shutdown_signal;
pub use sip_driver::lockout_policy;
pub use sip_driver::{PhoneContact, ReconfigureOutcome, ReconfigureReport, SipHandle};

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("refusing to start: {0}")]
    Unsafe(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// Runs the server on `config` until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), ServerError> {
    let token_override = env_admin_token();
    check_exposure(&config, token_override.is_some()).map_err(ServerError::Unsafe)?;
    let ami_secret = ami_secret(&config)?;
    let path = config.source.clone();
    let snapshot = Arc::new(Snapshot::build(config, 1)?);
    tracing::info!(config = %path.display(), summary = %snapshot.config.summary(), "configuration loaded");
    let metrics = Arc::new(Metrics::default());
    let store = open_store(&snapshot.config).await?;
    let StoredState {
        providers,
        devices,
        mut records,
    } = store.load()?;
    tracing::info!(
        providers = providers.len(),
        devices = devices.len(),
        "durable state loaded"
    );
    let book = PresenceBook::new(hints_of(&snapshot.config), providers, devices);
    let hub = Arc::new(PresenceHub::new(book, store.clone(), metrics.clone()));
    let (sender, snapshots) = watch::channel(snapshot.clone());
    let reloader = Arc::new(Reloader::new(path.clone(), sender));
    let shutdown = CancellationToken::new();
    let asterisk = match (&snapshot.config.asterisk, ami_secret) {
        (Some(settings), Some(secret)) => Some(ami::spawn(
            settings,
            secret,
            hub.clone(),
            snapshots.clone(),
            metrics.clone(),
            shutdown.clone(),
        )),
        _ => None,
    };

    let handle_limit = handle_budget::raise_handle_limit();
    let caps = handle_budget::connection_caps(&snapshot.config.limits, handle_limit);
    let sip_sockets = sip_driver::bind(&snapshot.config, tls::sip_acceptor(&snapshot.config)?).await?;
    let provisioning = http::bind(snapshot.config.http.listen).await?;
    let admin_listener = http::bind(snapshot.config.admin.listen).await?;
    let limits = &snapshot.config.limits;
    let access = Arc::new(AccessControl::new(
        NonceSecret::random(),
        sip_driver::lockout_policy(limits),
        limits.http_requests_per_second,
    ));
    let fetches = Arc::new(FetchLog::default());
    let provision_router = provision::router(ProvisionState {
        snapshots: snapshots.clone(),
        access,
        fetches: fetches.clone(),
        metrics: metrics.clone(),
    });
    let mut take = |table| -> Vec<(String, Vec<u8>)> {
        records
            .remove(&table)
            .map(|table| table.into_iter().collect())
            .unwrap_or_default()
    };
    let subscriptions = take(RecordTable::Subscriptions);
    let phone_contacts = take(RecordTable::PhoneContacts);
    let sip = sip_driver::SipDriver {
        sockets: sip_sockets,
        hub: hub.clone(),
        snapshots: snapshots.clone(),
        metrics: metrics.clone(),
        subscriptions,
        phone_contacts,
        connection_cap: caps.sip_stream,
        shutdown: shutdown.clone(),
    }
    .spawn()
    .with_asterisk(asterisk);
    reloader.set_reconfigure(sip.clone());
    // Armed before any listener answers: a save made as soon as /healthz
    // says ok must be seen (the race behind a flaky reload test).
    config_watch::spawn(&path, reloader.clone(), shutdown.clone());
    // Signal handlers too: a SIGHUP or SIGTERM sent as soon as /healthz
    // answers must find them installed (the default action kills).
    let stop = shutdown_signal();
    spawn_sighup_reload(reloader.clone(), shutdown.clone());
    let admin_router = admin::router(AdminState {
        snapshots: snapshots.clone(),
        reloader: reloader.clone(),
        token_override,
        hub: hub.clone(),
        metrics: metrics.clone(),
        sip,
        fetches,
    });
    let limits = &snapshot.config.limits;
    let request_timeout = std::time::Duration::from_secs(limits.request_timeout);
    let http_connections = || {
        ConnectionLimits::new(
            ListenerKind::Http,
            caps.http,
            limits.http_connections_per_ip,
            (&limits.trusted_networks, limits.trusted_connections_per_ip),
            metrics.clone(),
        )
    };
    let provisioning = http::Listener {
        name: "provisioning",
        listener: provisioning,
        router: provision_router,
        tls: tls::http_acceptor(&snapshot.config)?,
        connections: http_connections(),
        request_timeout,
        metrics: metrics.clone(),
    };
    let admin = http::Listener {
        name: "admin",
        listener: admin_listener,
        router: http::rate_limited(admin_router, limits.http_requests_per_second, metrics.clone()),
        tls: None,
        connections: http_connections(),
        request_timeout,
        metrics: metrics.clone(),
    };
    http::spawn(provisioning, shutdown.clone());
    http::spawn(admin, shutdown.clone());
    spawn_hint_follower(snapshots.clone(), hub.clone(), shutdown.clone());

    tracing::info!("ready");
    stop.await;
    tracing::info!("shutting down");
    shutdown.cancel();
    // Let the listeners finish in-flight work and the SIP driver flush.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    Ok(())
}

/// Opens the store in `data_dir` on a blocking thread (it may recover
/// after a crash, which reads the whole file).
async fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    let data_dir = config.general.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || RedbStore::open(&data_dir))
        .await
        .expect("store open does not panic")?;
    Ok(Arc::new(store))
}

fn hints_of(config: &Config) -> Vec<Hint> {
    config.hints.iter().map(Hint::from).collect()
}

/// After each reload, hands the new hints to the presence hub.
fn spawn_hint_follower(
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    hub: Arc<PresenceHub>,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = snapshots.changed() => if changed.is_err() { return },
            }
            let hints = hints_of(&snapshots.borrow_and_update().config);
            hub.set_hints(hints).await;
        }
    });
}

/// The AMI secret: `OPENDPMA_AMI_SECRET` over `[asterisk] secret`; one of
/// them is required when `[asterisk]` is set.
fn ami_secret(config: &Config) -> Result<Option<Secret>, ServerError> {
    let Some(asterisk) = &config.asterisk else {
        return Ok(None);
    };
    let from_env = std::env::var("OPENDPMA_AMI_SECRET")
        .ok()
        .filter(|secret| !secret.is_empty())
        .map(Secret::new);
    match from_env.or_else(|| asterisk.secret.clone()) {
        Some(secret) => Ok(Some(secret)),
        None => Err(ServerError::Unsafe(
            "[asterisk] needs a secret: set [asterisk] secret or OPENDPMA_AMI_SECRET".to_owned(),
        )),
    }
}

/// `OPENDPMA_ADMIN_TOKEN`, which wins over the config's token.
fn env_admin_token() -> Option<Secret> {
    std::env::var("OPENDPMA_ADMIN_TOKEN")
        .ok()
        .filter(|token| !token.is_empty())
        .map(Secret::new)
}

/// Refuses configurations that would expose secrets or control to the
/// network by accident (issue: "security by default"); at start and on
/// every reload (the listeners stay where they are, so dropping the token
/// or the credentials from the file would open them to the network).
fn check_exposure(config: &Config, env_token: bool) -> Result<(), String> {
    if !config.admin.listen.ip().is_loopback() && config.admin.token.is_none() && !env_token {
        return Err(format!(
            "the admin API listens on {} (not loopback) but no [admin] token or OPENDPMA_ADMIN_TOKEN is set",
            config.admin.listen
        ));
    }
    let http = &config.http;
    if !http.listen.ip().is_loopback() && http.username.is_none() {
        if !http.allow_unauthenticated {
            return Err(format!(
                "provisioning listens on {} without [http] username/password; phone configs hold SIP \
                 passwords. Set credentials, or allow_unauthenticated = true to accept the risk",
                http.listen
            ));
        }
        tracing::warn!(listen = %http.listen, "provisioning is served WITHOUT authentication (allow_unauthenticated = true)");
    }
    let public_sip = config
        .sip
        .listen
        .iter()
        .any(|listen| !listen.address.ip().is_loopback());
    if !config.sip.require_auth && public_sip {
        if !config.sip.allow_unauthenticated {
            return Err(
                "[sip] require_auth = false on a non-loopback listener lets anyone set any line's presence. \
                 Turn auth on, or set [sip] allow_unauthenticated = true to accept the risk"
                    .to_owned(),
            );
        }
        tracing::warn!(
            "SIP presence runs WITHOUT authentication on a public listener (allow_unauthenticated = true)"
        );
    }
    if config.admin.token.is_none() && !env_token {
        tracing::warn!("the admin API has no token; anyone on this machine can use it");
    }
    Ok(())
}

/// SIGHUP → reload (systemd's `ExecReload=kill -HUP $MAINPID`).
/// Reloads on SIGHUP. The handler is installed before this returns (not
/// in the task), so a SIGHUP right after start reloads rather than kills.
fn spawn_sighup_reload(reloader: Arc<Reloader>, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload through the file watcher or the API");
            return;
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = hangup.recv() => { let _ = reloader.reload("SIGHUP").await; }
                }
            }
        });
    }
}
