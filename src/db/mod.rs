//! The database: one connection type over SQLite and PostgreSQL, its pool, the async
//! boundary, transactions and migrations. Backend-specific code lives here and in the few
//! functions elsewhere that `match` on [`DbConn`].

pub mod pg_copy;
pub mod schema;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite writer waits for the lock before giving up with "busy".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// A connection to either backend; every query is written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL, for production and several nodes.
    Pg(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

/// Which backend a URL designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://…` or `postgresql://…`.
    Postgres,
    /// `sqlite://path`, `sqlite:path` or a bare path.
    Sqlite,
}

/// A parsed database location.
#[derive(Clone)]
pub struct DbTarget {
    backend: Backend,
    /// The PostgreSQL URL or the SQLite file path.
    location: String,
}

impl DbTarget {
    /// Parses a database URL: `postgres://…`, `sqlite://path`, `sqlite:path` or a bare path.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("l'adresse de la base est vide".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self { backend: Backend::Postgres, location: url.to_owned() });
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        if path.contains("://") {
            return Err(format!("unsupported database URL scheme in {:?}", redact_url(url)));
        }
        if path.is_empty() {
            return Err("the SQLite path is empty".into());
        }
        Ok(Self { backend: Backend::Sqlite, location: path.to_owned() })
    }

    /// The backend this target designates.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file path, if this is SQLite.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then_some(self.location.as_str())
    }

    /// The location with any password removed, fit for logs and error messages.
    pub fn redacted(&self) -> String {
        redact_url(&self.location)
    }
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self.backend, self.redacted())
    }
}

/// Removes the password of a URL (`postgres://user:secret@host/db` → `postgres://user:***@host/db`).
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// Opens connections for the pool, picking the backend from the URL (the derived
/// `MultiConnection::establish` tries each backend in turn and hides the real error).
pub struct Manager {
    target: DbTarget,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.target.backend {
            Backend::Postgres => {
                PgConnection::establish(&self.target.location).map(DbConn::Pg).map_err(r2d2::Error::ConnectionError)
            }
            Backend::Sqlite => {
                let mut conn =
                    SqliteConnection::establish(&self.target.location).map_err(r2d2::Error::ConnectionError)?;
                // The journal is evidence: synchronous=FULL makes a commit durable across a
                // power loss in WAL mode (SECURITY-TESTS T26), at a measured cost (PERFORMANCE.md).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = FULL;
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// The connection pool.
pub type Pool = r2d2::Pool<Manager>;

/// A connection taken from the pool; derefs to [`DbConn`]. On SQLite it carries the
/// process's writer lock, which [`write_tx`] takes before `BEGIN IMMEDIATE`.
pub struct PooledConn {
    inner: r2d2::PooledConnection<Manager>,
    write_lock: Option<Arc<Mutex<()>>>,
}

impl Deref for PooledConn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.inner
    }
}

impl DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.inner
    }
}

/// The database could not be reached in time (pool exhausted, server down, file locked).
#[derive(Debug, thiserror::Error)]
#[error("database unavailable: {0}")]
pub struct Unavailable(pub String);

/// The shared handle to the database: a pool and the async boundary.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// SQLite allows one writer at a time. Writers of this process queue on this lock
    /// instead of in SQLite's busy handler, which polls with sleeps and is unfair: under
    /// 16 concurrent writers some waited past the busy timeout while others went through.
    write_lock: Option<Arc<Mutex<()>>>,
}

impl Db {
    /// Opens a pool and checks that one connection can be made, with a clear error if not.
    pub fn connect(target: &DbTarget, pool_size: u32) -> anyhow::Result<Self> {
        // OpenSSL without its exit-time cleanup, before libpq initialises it (see main.rs).
        openssl_sys::init();
        let manager = Manager { target: target.clone() };
        // Open one connection first: r2d2 would otherwise retry until its timeout and
        // report only "timed out waiting for connection".
        if let Err(e) = manager.connect() {
            anyhow::bail!("cannot connect to the database {}: {e}", target.redacted());
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(|e| anyhow::anyhow!("cannot open the pool for {}: {e}", target.redacted()))?;
        let write_lock = (target.backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self { pool, backend: target.backend, write_lock })
    }

    /// Which backend this database runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Takes a connection from the pool (blocking; call from a blocking context).
    pub fn get(&self) -> Result<PooledConn, Unavailable> {
        let inner = self.pool.get().map_err(|e| Unavailable(e.to_string()))?;
        Ok(PooledConn { inner, write_lock: self.write_lock.clone() })
    }

    /// Runs `f` with a connection on the blocking pool, off the async runtime.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Unavailable> + Send + 'static,
        F: FnOnce(&mut PooledConn) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .unwrap_or_else(|join| resume_unwind(join.into_panic()))
    }

    /// Runs `f` inside one write transaction (see [`write_tx`]), off the async runtime.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Unavailable> + From<DieselError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        self.run(move |conn| write_tx(conn, f)).await
    }

    /// Pool statistics for the metrics endpoint: (connections, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }
}

/// Runs `f` in one transaction that takes the write lock up front. On SQLite a deferred
/// transaction that reads then writes can fail with SQLITE_BUSY_SNAPSHOT without waiting,
/// so writes queue on the process's writer lock, then `BEGIN IMMEDIATE`. Area functions
/// never open transactions themselves.
pub fn write_tx<T, E, F>(pooled: &mut PooledConn, f: F) -> Result<T, E>
where
    E: From<DieselError>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    let lock = pooled.write_lock.clone();
    let conn: &mut DbConn = pooled;
    if matches!(conn, DbConn::Pg(_)) {
        return conn.transaction(f);
    }
    let _writer = lock.as_ref().map(|l| l.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    conn.batch_execute("BEGIN IMMEDIATE")?;
    match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(Ok(value)) => match conn.batch_execute("COMMIT") {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = conn.batch_execute("ROLLBACK");
                Err(e.into())
            }
        },
        Ok(Err(e)) => {
            let _ = conn.batch_execute("ROLLBACK");
            Err(e)
        }
        Err(panic) => {
            let _ = conn.batch_execute("ROLLBACK");
            resume_unwind(panic)
        }
    }
}

/// Whether an error means "try again shortly" (lock contention, lost connection), which
/// the web layer answers with 503 and `Retry-After` rather than 500.
pub fn is_transient(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(kind, info) => {
            matches!(kind, DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::SerializationFailure) || {
                let m = info.message();
                m.contains("database is locked")
                    || m.contains("database is busy")
                    || m.contains("deadlock detected")
                    || m.contains("lock timeout")
                    || m.contains("terminating connection")
            }
        }
        _ => false,
    }
}

/// Applies the pending migrations of the connection's backend; returns their names.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let failed = |e| anyhow::anyhow!("migration failed: {e}");
    match conn {
        DbConn::Sqlite(c) => {
            let applied = c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(failed)?;
            Ok(applied.into_iter().map(|v| v.to_string()).collect())
        }
        DbConn::Pg(c) => {
            // Several nodes may start at once: one migrates, the others wait.
            c.batch_execute("SELECT pg_advisory_lock(7301190201)")?;
            let applied: anyhow::Result<Vec<String>> = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.into_iter().map(|v| v.to_string()).collect())
                .map_err(failed);
            c.batch_execute("SELECT pg_advisory_unlock(7301190201)")?;
            applied
        }
    }
}
