//! What every long-running task shares: the store and the current config.
//!
//! The config sits behind a watch channel so that SIGHUP can swap it (after validation) while
//! tasks run; a task reads `ctx.config()` once per pass and keeps that snapshot for the pass.

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Config;
use crate::store::Store;

#[derive(Clone)]
pub struct Context {
    pub store: Store,
    config: watch::Receiver<Arc<Config>>,
}

impl Context {
    /// A context whose config never changes (commands, tests).
    pub fn fixed(store: Store, config: Config) -> Self {
        let (tx, rx) = watch::channel(Arc::new(config));
        // The sender is dropped: receivers keep the last value, which is what a fixed config is.
        drop(tx);
        Context { store, config: rx }
    }

    /// A context following the config published on `rx` (the daemon, reloaded on SIGHUP).
    pub fn following(store: Store, rx: watch::Receiver<Arc<Config>>) -> Self {
        Context { store, config: rx }
    }

    /// The config as it is now; keep the snapshot for one pass of work.
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }
}
