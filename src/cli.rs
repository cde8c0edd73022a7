//! The command line: one binary, several roles.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::accounts::{self, NewUser, Role};
use crate::app::AppState;
use crate::clock::SystemClock;
use crate::config::{Config, LogFormat, Overrides};
use crate::db::{self, Db};
use crate::journal;

/// Atomes: the portal of a health coordination service (DAC).
#[derive(Debug, Parser)]
#[command(name = "atomes", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Configuration file (default: ./atomes.toml if it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database URL: sqlite://path, a path, or postgres://…
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Data directory.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Address to listen on (serve, demo).
    #[arg(long, global = true)]
    listen: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portal and run the periodic jobs.
    Serve,
    /// Create ./atomes-data with a demo administrator, then serve on http://127.0.0.1:8080.
    Demo,
    /// Apply pending database migrations.
    Migrate,
    /// Administration tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The access journal.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Periodic jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an administrator account (the password is printed once unless given on stdin).
    CreateAdmin {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Prénom.
        #[arg(long)]
        given_name: String,
        /// Nom.
        #[arg(long)]
        family_name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum JournalCommand {
    /// Check the hash chain; exits with status 1 at the first edited, removed or reordered entry.
    Verify,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Run one job now (if no other node holds its lease).
    RunOnce {
        /// Job name (see `atomes jobs list`).
        name: String,
    },
    /// List the jobs.
    List,
}

/// Parses the command line and runs the command; returns the process exit code.
pub fn run() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    let overrides = Overrides {
        config_file: cli.global.config,
        database_url: cli.global.database_url,
        data_dir: cli.global.data_dir,
        listen: cli.global.listen,
    };
    let config = Config::load(&overrides)?;
    init_tracing(config.log_format);
    match cli.command {
        Command::Serve => serve(open(config, true)?, false),
        Command::Demo => demo(config),
        Command::Migrate => migrate(config),
        Command::Admin(AdminCommand::CreateAdmin { email, given_name, family_name, password_stdin }) => {
            create_admin(&open(config, true)?, &email, &given_name, &family_name, password_stdin)
        }
        Command::Journal(JournalCommand::Verify) => verify(&open(config, false)?),
        Command::Jobs(JobsCommand::RunOnce { name }) => run_job(&open(config, true)?, &name),
        Command::Jobs(JobsCommand::List) => {
            for job in crate::jobs::all() {
                println!("{}\tevery {}s", job.name(), job.interval().as_secs());
            }
            Ok(0)
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ATOMES_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Prepares the data directory, connects, optionally migrates, and builds the state.
fn open(config: Config, migrate: bool) -> anyhow::Result<AppState> {
    config.prepare_data_dir()?;
    let target = config.database_target()?;
    let db = Db::connect(&target, config.database_pool_size)?;
    if migrate {
        let applied = db::run_migrations(&mut *db.get()?)?;
        for m in &applied {
            tracing::info!(migration = %m, "migration applied");
        }
    }
    AppState::new(config, db, Arc::new(SystemClock))
}

fn migrate(config: Config) -> anyhow::Result<i32> {
    let state = open(config, false)?;
    let applied = db::run_migrations(&mut *state.db.get()?)?;
    if applied.is_empty() {
        println!("The database is up to date.");
    }
    for m in applied {
        println!("applied {m}");
    }
    Ok(0)
}

fn serve(state: AppState, announce: bool) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = tx.send(true);
        });
        crate::jobs::spawn_scheduler(state.clone(), node_id(), rx.clone());
        if announce {
            println!("Le portail de démonstration est ouvert : {}", state.config.public_url);
            println!("(Ctrl-C pour l'arrêter ; les données restent dans {})", state.config.data_dir.display());
        }
        crate::web::serve(state, rx).await
    })?;
    Ok(0)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// A name for this node's job leases: host, process and a random suffix.
fn node_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into());
    format!("{host}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// `atomes demo`: the embedded default with a demo administrator, then serve.
fn demo(config: Config) -> anyhow::Result<i32> {
    let state = open(config, true)?;
    let mut conn = state.db.get()?;
    if accounts::count_users(&mut conn, Role::Administrator)? == 0 {
        let password = accounts::generate_password();
        let email = "admin@demo.atomes.invalid";
        insert_admin(&state, email, "Camille", "Administratrice", &password, true)?;
        println!("Compte administrateur de démonstration créé :");
        println!("  adresse e-mail : {email}");
        println!("  mot de passe à usage unique : {password}");
        println!("  (il devra être changé à la première connexion ; il ne sera plus affiché)");
    } else {
        println!("Données de démonstration existantes conservées ({}).", state.config.data_dir.display());
    }
    drop(conn);
    serve(state, true)
}

fn create_admin(state: &AppState, email: &str, given: &str, family: &str, from_stdin: bool) -> anyhow::Result<i32> {
    let (password, must_change) = if from_stdin {
        let mut p = String::new();
        std::io::stdin().read_to_string(&mut p).context("reading the password from stdin")?;
        let p = p.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(p.chars().count() >= 12, "the password must have at least 12 characters");
        (p, false)
    } else {
        (accounts::generate_password(), true)
    };
    let user = insert_admin(state, email, given, family, &password, must_change)?;
    println!("Administrator #{} created for {}.", user.id, user.email);
    if must_change {
        println!("One-time password (shown once, to change at first login): {password}");
    }
    Ok(0)
}

fn insert_admin(
    state: &AppState,
    email: &str,
    given: &str,
    family: &str,
    password: &str,
    must_change: bool,
) -> anyhow::Result<accounts::User> {
    let canonical = accounts::canonical_email(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let hash = accounts::hash_password(password)?;
    let ctx = state.system_context();
    let mut conn = state.db.get()?;
    db::write_tx(&mut conn, |conn| {
        if accounts::find_by_email(conn, &canonical)?.is_some() {
            anyhow::bail!("an account with the e-mail {email} already exists");
        }
        let new = NewUser {
            email: email.trim(),
            email_canonical: &canonical,
            given_name: given.trim(),
            family_name: family.trim(),
            role: Role::Administrator,
            password_hash: Some(&hash),
            must_change_password: must_change,
        };
        Ok(accounts::create_user(conn, &ctx, &new)?)
    })
}

fn verify(state: &AppState) -> anyhow::Result<i32> {
    let mut conn = state.db.get()?;
    let report = journal::verify(&mut conn, &state.journal_key)?;
    match report.problem {
        None => {
            println!("journal intact: {} entries verified, last entry {}", report.checked, report.last_id);
            Ok(0)
        }
        Some(problem) => {
            println!("JOURNAL TAMPERED: {problem} ({} entries verified before it)", report.checked);
            Ok(1)
        }
    }
}

fn run_job(state: &AppState, name: &str) -> anyhow::Result<i32> {
    let job = crate::jobs::find(name).with_context(|| {
        let names: Vec<_> = crate::jobs::all().iter().map(|j| j.name()).collect();
        format!("unknown job {name:?}; known jobs: {}", names.join(", "))
    })?;
    match crate::jobs::run_once(state, job.as_ref(), &node_id())? {
        crate::jobs::RunOutcome::Ran(r) => {
            println!("{name}: {} done, {} failed {}", r.done, r.failed, r.detail);
            Ok(if r.failed > 0 { 1 } else { 0 })
        }
        crate::jobs::RunOutcome::Busy => {
            println!("{name}: another node is running it; nothing done");
            Ok(0)
        }
    }
}
