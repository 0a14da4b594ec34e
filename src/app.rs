//! The application: wires the config, the store, the presence hub, the
//! SIP driver, the AMI link, the reloader and the HTTP routers together on
//! sockets bound beforehand (`Listeners`), owns every task it starts (one
//! `TaskTracker`) and stops them in order.
//!
//! Start order matters where something must exist before anyone can use
//! it: the snapshot channel before its readers (the SIP driver, the AMI
//! link, the routers), the file watcher and the SIGHUP handler before any
//! listener answers (a save or a signal sent as soon as `/healthz` says ok
//! must be seen), the listeners last. The reloader only swaps snapshots;
//! the SIP driver sends the check-syncs a reload calls for.
//!
//! Stop order (`App::stop`): cancel → the listeners stop accepting, idle
//! connections close, requests in flight get `http::SHUTDOWN_GRACE` to be
//! answered, the SIP driver flushes what it holds → every task has ended
//! (or `STOP_DEADLINE` passed) → the presence hub is dropped, which drains
//! the committer's queue and closes the store → one "stopped" line.

mod listeners;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::sync::watch;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::listeners::Listeners;
use crate::admin::{self, AdminState};
use crate::auth::NonceSecret;
use crate::config::{Config, Secret};
use crate::metrics::Metrics;
use crate::presence::{Hint, PresenceBook};
use crate::provision::AccessControl;
use crate::provision_http::{self, FetchLog, ProvisionState};
use crate::server::ami::{self, AmiLink};
use crate::server::connection_limits::{ConnectionLimits, ListenerKind};
use crate::server::exposure::{check_exposure, env_admin_token};
use crate::server::sip_driver::{SipDriver, UnreachedPhones, lockout_policy};
use crate::server::{
    PresenceHub, ReloadTargets, Reloader, ServerError, config_watch, handle_budget, http, tls,
};
use crate::snapshot::Snapshot;
use crate::store::{RecordTable, RedbStore, Store, StoredState};

/// From the stop signal to every task ended and the store closed. Below
/// the 2 s a service manager is promised, leaving room for the runtime
/// to wind down.
pub const STOP_DEADLINE: Duration = Duration::from_millis(1500);

/// Runs the application on `listeners` until `shutdown` resolves, then
/// stops it in order.
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let app = App::start(listeners, config).await?;
    tracing::info!("ready");
    shutdown.await;
    app.stop().await;
    Ok(())
}

/// A running application.
pub struct App {
    tasks: TaskTracker,
    shutdown: CancellationToken,
    hub: Arc<PresenceHub>,
    provisioning: Router,
    admin: Router,
}

impl App {
    /// Loads the durable state, starts every driver and serves.
    pub async fn start(listeners: Listeners, mut config: Config) -> Result<Self, ServerError> {
        // Documents name the ports really open (port 0 binds any).
        listeners.settle_addresses(&mut config);
        let token_override = env_admin_token();
        check_exposure(&config, token_override.is_some())?;
        let ami_secret = ami_secret(&config)?;
        // Everything that can refuse the start does so before any task runs.
        let https = tls::http_acceptor(&config)?;
        let path = config.source.clone();
        let snapshot = Arc::new(Snapshot::build(config, 1)?);
        let config = snapshot.config.clone();
        let metrics = Arc::new(Metrics::default());
        let store = open_store(&config).await?;
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
        let book = PresenceBook::new(hints_of(&config), providers, devices);
        let hub = Arc::new(PresenceHub::new(book, store, metrics.clone()));
        let (sender, snapshots) = watch::channel(snapshot);
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let asterisk = match (&config.asterisk, ami_secret) {
            (Some(settings), Some(secret)) => Some(ami::spawn(
                AmiLink {
                    settings: settings.clone(),
                    secret,
                    hub: hub.clone(),
                    snapshots: snapshots.clone(),
                    metrics: metrics.clone(),
                    shutdown: shutdown.clone(),
                },
                &tasks,
            )),
            _ => None,
        };

        let handle_limit = handle_budget::raise_handle_limit();
        let caps = handle_budget::connection_caps(&config.limits, handle_limit);
        let mut take = |table| -> Vec<(String, Vec<u8>)> {
            records
                .remove(&table)
                .map(|table| table.into_iter().collect())
                .unwrap_or_default()
        };
        let Listeners {
            sip,
            provisioning,
            admin,
        } = listeners;
        let sip = SipDriver {
            sockets: sip,
            hub: hub.clone(),
            snapshots: snapshots.clone(),
            metrics: metrics.clone(),
            subscriptions: take(RecordTable::Subscriptions),
            phone_contacts: take(RecordTable::PhoneContacts),
            connection_cap: caps.sip_stream,
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
            unreached: asterisk.map(|handle| Arc::new(handle) as Arc<dyn UnreachedPhones>),
        }
        .spawn();
        let reloader = Arc::new(Reloader::new(
            path.clone(),
            ReloadTargets {
                snapshots: sender,
                env_token: token_override.is_some(),
            },
        ));
        config_watch::spawn(&path, reloader.clone(), shutdown.clone(), &tasks);
        spawn_sighup_reload(reloader.clone(), shutdown.clone(), &tasks);

        let limits = &config.limits;
        let access = Arc::new(AccessControl::new(
            NonceSecret::random(),
            lockout_policy(limits),
            limits.http_requests_per_second,
        ));
        let fetches = Arc::new(FetchLog::default());
        let provision_router = provision_http::router(ProvisionState {
            snapshots: snapshots.clone(),
            access,
            fetches: fetches.clone(),
            metrics: metrics.clone(),
        });
        let admin_router = http::rate_limited(
            admin::router(AdminState {
                snapshots: snapshots.clone(),
                reloader,
                token_override,
                hub: hub.clone(),
                metrics: metrics.clone(),
                sip,
                fetches,
                shutdown: shutdown.clone(),
            }),
            limits.http_requests_per_second,
            metrics.clone(),
        );
        let request_timeout = Duration::from_secs(limits.request_timeout);
        let http_connections = || {
            ConnectionLimits::new(
                ListenerKind::Http,
                caps.http,
                limits.http_connections_per_ip,
                (&limits.trusted_networks, limits.trusted_connections_per_ip),
                metrics.clone(),
            )
        };
        let served = [
            ("provisioning", provisioning, &provision_router, https),
            ("admin", admin, &admin_router, None),
        ];
        for (name, listener, router, tls) in served {
            let listener = http::Listener {
                name,
                listener,
                router: router.clone(),
                tls,
                connections: http_connections(),
                request_timeout,
                metrics: metrics.clone(),
            };
            http::spawn(listener, shutdown.clone(), &tasks);
        }
        Ok(Self {
            tasks,
            shutdown,
            hub,
            provisioning: provision_router,
            admin: admin_router,
        })
    }

    /// The provisioning router as served (for driving it in-process).
    pub fn provisioning_router(&self) -> Router {
        self.provisioning.clone()
    }

    /// The admin router as served, rate limit included.
    pub fn admin_router(&self) -> Router {
        self.admin.clone()
    }

    /// Stops everything in order (see the module documentation) within
    /// `STOP_DEADLINE`; what is still running then ends with the process.
    pub async fn stop(self) {
        let Self {
            tasks,
            shutdown,
            hub,
            provisioning,
            admin,
        } = self;
        let deadline = Instant::now() + STOP_DEADLINE;
        tracing::info!("shutting down");
        shutdown.cancel();
        // The routers hold the hub too; only the tasks' copies remain.
        drop((provisioning, admin));
        tasks.close();
        if timeout_at(deadline, tasks.wait()).await.is_err() {
            tracing::warn!(
                tasks_left = tasks.len(),
                "tasks still running at the stop deadline; they end with the process"
            );
        }
        let store = close_store(hub, deadline).await;
        tracing::info!(store = store.as_str(), "stopped: {} tasks left", tasks.len());
    }
}

/// What became of the store at stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreClose {
    /// Queue drained, committer thread ended, database closed.
    Closed,
    /// Something not owned by the tracker still holds the hub: the store
    /// closes when that is dropped with the runtime.
    StillShared,
    /// The committer did not finish its queue before the deadline.
    TimedOut,
}

impl StoreClose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::StillShared => "still shared",
            Self::TimedOut => "timed out",
        }
    }
}

/// Drops the last handle on the hub, whose `Drop` closes the committer's
/// queue and waits for it (a blocking join, hence the blocking thread).
async fn close_store(hub: Arc<PresenceHub>, deadline: Instant) -> StoreClose {
    let Some(hub) = Arc::into_inner(hub) else {
        return StoreClose::StillShared;
    };
    let closing = tokio::task::spawn_blocking(move || drop(hub));
    match timeout_at(deadline, closing).await {
        Ok(_) => StoreClose::Closed,
        Err(_) => StoreClose::TimedOut,
    }
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
        None => Err(ServerError::MissingAmiSecret),
    }
}

/// Reloads on SIGHUP (systemd's `ExecReload=kill -HUP $MAINPID`). The
/// handler is installed before this returns (not in the task), so a SIGHUP
/// right after start reloads rather than kills.
fn spawn_sighup_reload(reloader: Arc<Reloader>, shutdown: CancellationToken, tasks: &TaskTracker) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload through the file watcher or the API");
            return;
        };
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = hangup.recv() => { let _ = reloader.reload("SIGHUP").await; }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (reloader, shutdown, tasks);
}
