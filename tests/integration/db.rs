//! Test databases: a fresh SQLite file per test, and PostgreSQL from `TEST_DATABASE_URL` or else
//! a private cluster started with `initdb`/`pg_ctl` in a temp dir (once per test binary).
//!
//! Tests on the shared PostgreSQL database stay apart by organisation: every row is scoped to an
//! `org`, and each test opens the store with an org of its own.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use doorstroom::store::Store;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub const BOTH: [Db; 2] = [Db::Sqlite, Db::Postgres];

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique organisation id for one test.
pub fn unique_org(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A store for one test; the temp dir (SQLite) lives as long as the returned guard.
pub async fn open(db: Db, name: &str) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let org = unique_org(name);
    let url = url(db, &dir);
    let store = Store::open(&url, &org, 5)
        .await
        .unwrap_or_else(|e| panic!("open {db:?} store: {e}"));
    (store, dir)
}

pub fn url(db: Db, dir: &tempfile::TempDir) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("doorstroom.db").display()),
        Db::Postgres => postgres_url().to_string(),
    }
}

/// A fresh database, created for this test binary on the server of `TEST_DATABASE_URL` or of a
/// private cluster started for it. A fresh database per run keeps runs of different versions
/// (and their migrations) apart on a shared server; databases of runs that are gone are dropped.
pub fn postgres_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let server = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| private_cluster());
        let name = format!("doorstroom_t_{}", std::process::id());
        let psql = |sql: &str| {
            Command::new("psql")
                .args([server.as_str(), "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql])
                .output()
                .expect("run psql")
        };
        let listed = psql("SELECT datname FROM pg_database WHERE datname LIKE 'doorstroom_t_%'");
        for stale in String::from_utf8_lossy(&listed.stdout).lines() {
            let pid = stale.trim_start_matches("doorstroom_t_");
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                psql(&format!("DROP DATABASE IF EXISTS {stale}"));
            }
        }
        psql(&format!("DROP DATABASE IF EXISTS {name}"));
        let created = psql(&format!("CREATE DATABASE {name}"));
        assert!(
            created.status.success(),
            "cannot create the test database: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        let (base, _) = server
            .rsplit_once('/')
            .expect("a database URL ends with /dbname");
        format!("{base}/{name}")
    })
}

fn pg_bin(name: &str) -> PathBuf {
    let base = PathBuf::from("/usr/lib/postgresql");
    let mut versions: Vec<_> = std::fs::read_dir(&base)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .last()
        .map(|v| v.join("bin").join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Start PostgreSQL in a temp dir as the `postgres` user (initdb refuses root); it is stopped by
/// the `pg_ctl -m immediate stop` registered at exit of the process.
fn private_cluster() -> String {
    let dir = std::env::temp_dir().join(format!("doorstroom-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("pg dir");
    let port = free_port();
    let as_root = unsafe_is_root();
    let run = |args: &[&str]| {
        let status = if as_root {
            let _ = Command::new("chown")
                .args(["-R", "postgres", dir.to_str().unwrap()])
                .status();
            Command::new("runuser")
                .arg("-u")
                .arg("postgres")
                .arg("--")
                .args(args)
                .status()
        } else {
            Command::new(args[0]).args(&args[1..]).status()
        };
        assert!(
            status.expect("run postgres tool").success(),
            "{args:?} failed"
        );
    };
    let data = dir.join("data");
    let initdb = pg_bin("initdb");
    let pg_ctl = pg_bin("pg_ctl");
    run(&[
        initdb.to_str().unwrap(),
        "-A",
        "trust",
        "-U",
        "postgres",
        "-D",
        data.to_str().unwrap(),
    ]);
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
        dir.display()
    );
    run(&[
        pg_ctl.to_str().unwrap(),
        "-D",
        data.to_str().unwrap(),
        "-o",
        &opts,
        "-l",
        dir.join("log").to_str().unwrap(),
        "-w",
        "start",
    ]);
    STOP.get_or_init(|| (pg_ctl.clone(), data.clone(), as_root));
    unsafe { libc_atexit() };
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

static STOP: OnceLock<(PathBuf, PathBuf, bool)> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Some((pg_ctl, data, as_root)) = STOP.get() {
        let args = [
            pg_ctl.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-m",
            "immediate",
            "stop",
        ];
        let _ = if *as_root {
            Command::new("runuser")
                .arg("-u")
                .arg("postgres")
                .arg("--")
                .args(args)
                .output()
        } else {
            Command::new(args[0]).args(&args[1..]).output()
        };
        // The cluster's folder (data, socket, log) goes with it.
        if let Some(dir) = data.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

extern "C" {
    fn atexit(f: extern "C" fn()) -> i32;
    fn geteuid() -> u32;
}

unsafe fn libc_atexit() {
    atexit(stop_cluster);
}

fn unsafe_is_root() -> bool {
    unsafe { geteuid() == 0 }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL server of one test's own, in a temp dir, that the test may stop and start (the
/// per-binary one of [`postgres_url`] is shared by tests running at the same time, and the
/// machine's own server by other people). Needs `initdb` and `pg_ctl`; as root they run as the
/// `postgres` user. Stopped and removed on drop.
pub struct OwnCluster {
    dir: PathBuf,
    port: u16,
    as_root: bool,
}

impl OwnCluster {
    pub fn start() -> OwnCluster {
        let dir = std::env::temp_dir().join(format!(
            "doorstroom-pg-own-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("pg dir");
        let cluster = OwnCluster {
            dir,
            port: free_port(),
            as_root: unsafe_is_root(),
        };
        let data = cluster.data();
        cluster.run(&[
            pg_bin("initdb").to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-D",
            data.to_str().unwrap(),
        ]);
        cluster.start_again();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn run(&self, args: &[&str]) -> bool {
        let output = if self.as_root {
            let _ = Command::new("chown")
                .args(["-R", "postgres", self.dir.to_str().unwrap()])
                .status();
            Command::new("runuser")
                .arg("-u")
                .arg("postgres")
                .arg("--")
                .args(args)
                .output()
        } else {
            Command::new(args[0]).args(&args[1..]).output()
        };
        output.expect("run a postgres tool").status.success()
    }

    /// The server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Start (again) on the same port and data; returns once it accepts connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let data = self.data();
        let log = self.dir.join("log");
        assert!(
            self.run(&[
                pg_bin("pg_ctl").to_str().unwrap(),
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ]),
            "pg_ctl start failed: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stop the server at once (`-m immediate`: as a crash or a power cut does to it).
    pub fn stop(&self) {
        let data = self.data();
        self.run(&[
            pg_bin("pg_ctl").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
