//! `doorstroom backup FILE` and `doorstroom restore FILE`: a consistent copy of the SQLite
//! database while the daemon runs, and putting one back after checking that it opens, passes
//! SQLite's integrity check and migrates to this version. Nothing is replaced before that; the
//! database that is replaced is kept beside it. For PostgreSQL both say to use `pg_dump` and why.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use chrono::Utc;

use crate::commands::status::{daemon_state, Daemon};
use crate::config::Config;
use crate::store::backup::{sqlite_file, BackupError};
use crate::store::Store;

/// The configured database's file, or why there is none to copy.
fn database_file(config: &Config) -> anyhow::Result<PathBuf> {
    match sqlite_file(&config.database.url) {
        Some(path) => Ok(path),
        None if config.database.url.starts_with("sqlite:") => {
            bail!("the database is in memory: there is nothing to back up or restore")
        }
        None => Err(BackupError::Postgres.into()),
    }
}

pub async fn backup(config: &Config, target: &Path) -> anyhow::Result<()> {
    let db = database_file(config)?;
    if !db.exists() {
        bail!(
            "there is no database at {} yet (the daemon creates it on its first start)",
            db.display()
        );
    }
    if target.exists() {
        return Err(BackupError::Exists(target.to_path_buf()).into());
    }
    let store = crate::context::open_store(config).await?;
    let written = store.backup_into(target).await;
    store.close().await;
    written?;
    // Read back what was written: a backup that cannot be opened is no backup.
    let copy = Store::open(&format!("sqlite://{}", target.display()), store.org(), 1)
        .await
        .with_context(|| {
            format!(
                "the backup {} was written but does not open",
                target.display()
            )
        })?;
    let checked = copy.check_copy().await;
    copy.flush_log().await?;
    copy.close().await;
    let checked = checked.with_context(|| format!("the backup {} is damaged", target.display()))?;
    let size = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    crate::outln!(
        "{}: backup of {} ({} cases, {} mails of {}; {:.1} MB), consistent as of {}",
        target.display(),
        db.display(),
        checked.cases,
        checked.mails,
        config.organisation.id,
        size as f64 / 1e6,
        Utc::now()
            .with_timezone(&config.organisation.time_zone)
            .format("%Y-%m-%d %H:%M:%S")
    );
    Ok(())
}

pub async fn restore(config: &Config, backup: &Path) -> anyhow::Result<()> {
    let db = database_file(config)?;
    if !backup.is_file() {
        bail!("{} is not a file", backup.display());
    }
    let org = &config.organisation.id;
    // The daemon must not be writing to the database that is about to be replaced.
    let kept = if db.exists() {
        let store = crate::context::open_store(config).await?;
        let running = daemon_running(&store).await;
        let kept = match running {
            Ok(None) => {
                let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
                let kept = beside(&db, &format!("before-restore-{stamp}"));
                store
                    .backup_into(&kept)
                    .await
                    .map(|()| kept)
                    .map_err(anyhow::Error::from)
            }
            Ok(Some(holder)) => {
                store.close().await;
                bail!(
                    "the daemon is running ({holder}); stop it first (systemctl stop doorstroom), \
                     then restore; nothing was replaced"
                );
            }
            Err(e) => Err(e.into()),
        };
        store.close().await;
        Some(kept.context("cannot keep a copy of the current database; nothing was replaced")?)
    } else {
        None
    };
    // Check a copy, in the database's own folder (the final rename stays on one file system).
    let candidate = beside(&db, "restoring");
    if let Some(folder) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the database folder {}", folder.display()))?;
    }
    remove_database(&candidate)?;
    std::fs::copy(backup, &candidate).with_context(|| {
        format!(
            "cannot copy {} to {}",
            backup.display(),
            candidate.display()
        )
    })?;
    let checked = check(&candidate, org).await;
    let checked = match checked {
        Ok(checked) => checked,
        Err(e) => {
            let _ = remove_database(&candidate);
            return Err(e.context(format!(
                "{} is not a usable backup; nothing was replaced",
                backup.display()
            )));
        }
    };
    // Same owner as the database it replaces (or its folder): restore runs as root, the daemon
    // as its own user.
    let owner_of = db.exists().then(|| db.clone()).or_else(|| {
        db.parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .map(Path::to_path_buf)
    });
    if let Some(meta) = owner_of.and_then(|p| std::fs::metadata(p).ok()) {
        use std::os::unix::fs::MetadataExt;
        std::os::unix::fs::chown(&candidate, Some(meta.uid()), Some(meta.gid()))
            .with_context(|| format!("cannot give {} its owner", candidate.display()))?;
    }
    remove_database(&db)?;
    std::fs::rename(&candidate, &db)
        .with_context(|| format!("cannot move {} to {}", candidate.display(), db.display()))?;
    crate::outln!(
        "{}: restored from {} ({} cases, {} mails of {org}; checked and migrated){}",
        db.display(),
        backup.display(),
        checked.cases,
        checked.mails,
        kept.map(|k| format!("; the database it replaced is kept as {}", k.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// Open `path` as the organisation's database (migrating it), check it, and leave it as one
/// file (the log flushed).
async fn check(path: &Path, org: &str) -> anyhow::Result<crate::store::backup::Checked> {
    let store = Store::open(&format!("sqlite://{}", path.display()), org, 1)
        .await
        .context("it does not open or migrate to this version")?;
    let checked = store.check_copy().await;
    let flushed = store.flush_log().await;
    store.close().await;
    flushed?;
    checked.context("it is damaged")
}

/// The holder of a live lease when the daemon runs on this database.
async fn daemon_running(store: &Store) -> crate::store::Result<Option<String>> {
    let health = store.health().await?;
    let leases = store.leases().await?;
    let me = crate::context::lease::holder();
    let state = daemon_state(
        &leases,
        health.get(crate::context::STARTED).map(|(_, at)| *at),
        health.get(crate::context::STOPPED).map(|(_, at)| *at),
        Utc::now(),
        |holder| crate::context::lease::is_gone(&me, holder),
    );
    Ok(match state {
        Daemon::Running { holder, .. } => Some(holder),
        _ => None,
    })
}

/// `var/doorstroom.db` → `var/doorstroom.db.NAME`.
fn beside(db: &Path, name: &str) -> PathBuf {
    suffixed(db, &format!(".{name}"))
}

/// `var/doorstroom.db` → `var/doorstroom.db-wal`.
fn suffixed(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Remove a SQLite database with its log and shared-memory files, if there.
fn remove_database(db: &Path) -> anyhow::Result<()> {
    for path in [db.to_path_buf(), suffixed(db, "-wal"), suffixed(db, "-shm")] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    Ok(())
}
