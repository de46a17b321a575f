//! What every long-running task shares: the store, the current config and its checked mail
//! templates.
//!
//! Config and templates sit behind a watch channel as one [`Loaded`] snapshot, so that SIGHUP can
//! swap both (after validating both) while tasks run; a task reads them once per pass and keeps
//! that snapshot for the pass.
//!
//! Opening the store for a command or the daemon ([`open_store`]) is here too, so that a command
//! never depends on the daemon.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::{watch, Mutex, Notify};

use crate::config::Config;
use crate::outbox::{Outbox, TemplateError};
use crate::store::{CaseCache, Store};

/// A config with its templates, both checked.
pub struct Loaded {
    pub config: Arc<Config>,
    pub outbox: Arc<Outbox>,
}

impl Loaded {
    /// Load and check the templates the config names (every template rendered with sample
    /// data, so a typo fails here and not at the monthly run).
    pub fn new(config: Config) -> Result<Loaded, TemplateError> {
        let outbox = Outbox::load(&config)?;
        Ok(Loaded {
            config: Arc::new(config),
            outbox: Arc::new(outbox),
        })
    }
}

#[derive(Clone)]
pub struct Context {
    pub store: Store,
    loaded: watch::Receiver<Arc<Loaded>>,
    /// Rung after a commit that queued mail, so the sender delivers it now rather than at its
    /// next poll.
    pub outbox_wake: Arc<Notify>,
    /// The cases intake read in its last batch, for the next one (see [`CaseCache`]); intake
    /// decides one batch at a time.
    pub intake_cache: Arc<Mutex<CaseCache>>,
}

impl Context {
    /// A context whose config never changes (commands, tests).
    pub fn fixed(store: Store, config: Config) -> Result<Self, TemplateError> {
        let (tx, rx) = watch::channel(Arc::new(Loaded::new(config)?));
        // The sender is dropped: receivers keep the last value, which is what a fixed config is.
        drop(tx);
        Ok(Context {
            store,
            loaded: rx,
            outbox_wake: Arc::new(Notify::new()),
            intake_cache: Arc::default(),
        })
    }

    /// A context following what is published on `rx` (the daemon, reloaded on SIGHUP).
    pub fn following(store: Store, rx: watch::Receiver<Arc<Loaded>>) -> Self {
        Context {
            store,
            loaded: rx,
            outbox_wake: Arc::new(Notify::new()),
            intake_cache: Arc::default(),
        }
    }

    /// The config as it is now; keep the snapshot for one pass of work.
    pub fn config(&self) -> Arc<Config> {
        self.loaded.borrow().config.clone()
    }

    /// The templates of the config as it is now.
    pub fn outbox(&self) -> Arc<Outbox> {
        self.loaded.borrow().outbox.clone()
    }

    /// Config and templates of one moment, together.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded.borrow().clone()
    }

    /// A receiver that sees every reload (for tasks that wake on one).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Loaded>> {
        self.loaded.clone()
    }
}

/// Open the configured database, migrated.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let db = &config.database;
    Store::open(&db.url, &config.organisation.id, db.max_connections)
        .await
        .with_context(|| {
            format!(
                "database {} (check [database].url in {})",
                crate::config::redact_url(&db.url),
                config.source.display()
            )
        })
}
