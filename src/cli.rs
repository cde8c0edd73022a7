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
    /// The directory of the regional offer.
    #[command(subcommand)]
    Directory(DirectoryCommand),
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
    /// Import a public file: idempotent, all-or-nothing, with a report of rejected records.
    Import {
        /// `finess-csv` (etalab extract) or `finess-json` (FINESS+ structures flow).
        #[arg(long)]
        format: ImportFormat,
        /// Only these INSEE départements (comma-separated: 92,95,2A,971).
        #[arg(long, value_delimiter = ',')]
        departements: Vec<String>,
        /// Only these INSEE communes (comma-separated).
        #[arg(long, value_delimiter = ',')]
        communes: Vec<String>,
        /// `full` closes the records the file lacks (default for finess-csv, the stock
        /// extract); `delta` leaves them (default for finess-json, the daily flow).
        #[arg(long)]
        mode: Option<ImportModeArg>,
        /// Accept a full extract that closes more than 20 % of the records in scope.
        #[arg(long)]
        allow_mass_closing: bool,
        /// The file.
        file: PathBuf,
    },
    /// Rebuild this node's search index from the database (stop `serve` on this data directory first).
    Reindex,
    /// Load NOS code systems (FHIR CodeSystem JSON); without files, the copies shipped with Atomes.
    Nomenclatures {
        /// CodeSystem files.
        files: Vec<PathBuf>,
    },
}

/// `--mode` of `atomes directory import`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportModeArg {
    /// A full extract.
    Full,
    /// A delta.
    Delta,
}

/// Formats `atomes directory import` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    /// The etalab FINESS CSV extract.
    FinessCsv,
    /// The FINESS+ JSON structures flow.
    FinessJson,
    /// FHIR R4 of the ROR or the Annuaire Santé (Bundle or NDJSON).
    Fhir,
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
    /// Write the entries after an id as JSON lines (the export is itself journaled).
    Export {
        /// Only entries after this id.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
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
        Command::Journal(JournalCommand::Export { after, output }) => {
            export_journal(&open(config, false)?, after, output)
        }
        Command::Jobs(JobsCommand::RunOnce { name }) => run_job(&open(config, true)?, &name),
        Command::Directory(DirectoryCommand::Import {
            format,
            departements,
            communes,
            mode,
            allow_mass_closing,
            file,
        }) => {
            use crate::directory::import::{Mode, Scope};
            let scope = Scope { departements, communes };
            let full = Mode::Full { max_closing_share: if allow_mass_closing { 1.0 } else { 0.2 } };
            let mode = match (mode, format) {
                (Some(ImportModeArg::Full), _) | (None, ImportFormat::FinessCsv) => full,
                (Some(ImportModeArg::Delta), _) | (None, ImportFormat::FinessJson | ImportFormat::Fhir) => Mode::Delta,
            };
            directory_import(&open(config, true)?, format, &file, &scope, mode)
        }
        Command::Directory(DirectoryCommand::Reindex) => {
            let state = open(config, true)?;
            let started = std::time::Instant::now();
            let n = state.search.rebuild(&mut *state.db.get()?)?;
            println!("search index rebuilt: {n} documents in {:.1} s", started.elapsed().as_secs_f64());
            Ok(0)
        }
        Command::Directory(DirectoryCommand::Nomenclatures { files }) => {
            load_nomenclatures(&open(config, true)?, &files)
        }
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
    let state = AppState::new(config, db, Arc::new(SystemClock))?;
    if migrate {
        seed_nomenclatures(&state)?;
    }
    Ok(state)
}

/// Loads the shipped nomenclatures into an empty table (first start).
fn seed_nomenclatures(state: &AppState) -> anyhow::Result<()> {
    use crate::directory::nomenclature;
    let mut conn = state.db.get()?;
    let empty = nomenclature::labels(&mut conn, nomenclature::CATEGORY_SYSTEM)?.is_empty();
    if empty {
        let now = state.clock.now_naive();
        let n = db::write_tx(&mut conn, |c| nomenclature::load_embedded(c, now))?;
        tracing::info!(codes = n, "nomenclatures loaded");
    }
    Ok(())
}

fn load_nomenclatures(state: &AppState, files: &[PathBuf]) -> anyhow::Result<i32> {
    use crate::directory::nomenclature;
    let now = state.clock.now_naive();
    let mut conn = state.db.get()?;
    if files.is_empty() {
        let n = db::write_tx(&mut conn, |c| nomenclature::load_embedded(c, now))?;
        println!("{n} codes loaded from the nomenclatures shipped with Atomes");
        return Ok(0);
    }
    let today = now.date().to_string();
    let mut all = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?;
        let codes =
            nomenclature::parse_code_system(&text, &today).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        all.extend(codes);
    }
    let n = db::write_tx(&mut conn, |c| nomenclature::upsert_codes(c, &all, now))?;
    println!("{n} codes loaded from {} file(s)", files.len());
    Ok(0)
}

fn directory_import(
    state: &AppState,
    format: ImportFormat,
    file: &std::path::Path,
    scope: &crate::directory::import::Scope,
    mode: crate::directory::import::Mode,
) -> anyhow::Result<i32> {
    use crate::directory::{fhir, finess_json, import, offers};
    let shown = file.display();
    let name = file.file_name().map_or_else(|| shown.to_string(), |n| n.to_string_lossy().into_owned());
    if let ImportFormat::FinessCsv = format {
        return directory_import_csv(state, file, &name, scope, mode);
    }
    let ctx = state.system_context();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (format_name, establishments, rejected) = match format {
        ImportFormat::FinessCsv => unreachable!("streamed above"),
        ImportFormat::FinessJson => {
            let parsed = finess_json::parse_slice(&bytes).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
            ("finess-json", parsed.establishments, parsed.rejected)
        }
        ImportFormat::Fhir => {
            let parsed = fhir::parse(&bytes).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
            let request = import::ImportRequest { format: "fhir", file_name: &name, scope, mode };
            let report = offers::import_fhir(&mut state.db.get()?, &ctx, &request, &parsed)
                .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
            return print_report(&shown.to_string(), &report);
        }
    };
    let bar = indicatif::ProgressBar::new(establishments.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message("import");
    let mut conn = state.db.get()?;
    let request = import::ImportRequest { format: format_name, file_name: &name, scope, mode };
    let report = import::import_finess(&mut conn, &ctx, &request, &establishments, rejected, &|n| bar.set_position(n))
        .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    bar.finish_and_clear();
    print_report(&shown.to_string(), &report)
}

/// The FINESS CSV extract, streamed in two passes over the file; the bar follows the bytes read.
fn directory_import_csv(
    state: &AppState,
    file: &std::path::Path,
    name: &str,
    scope: &crate::directory::import::Scope,
    mode: crate::directory::import::Mode,
) -> anyhow::Result<i32> {
    use crate::directory::import;
    let shown = file.display();
    let ctx = state.system_context();
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .expect("static template")
            .progress_chars("=> "),
    );
    let request = import::ImportRequest { format: "finess-csv", file_name: name, scope, mode };
    let open = |pass: import::Pass| -> std::io::Result<_> {
        bar.set_position(0);
        bar.set_message(match pass {
            import::Pass::Geolocations => "reading (1/2)",
            import::Pass::Establishments => "import (2/2)",
        });
        let f = std::fs::File::open(file)?;
        Ok(std::io::BufReader::with_capacity(256 * 1024, bar.wrap_read(f)))
    };
    let report = import::import_finess_csv(&mut state.db.get()?, &ctx, &request, &open)
        .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    bar.finish_and_clear();
    print_report(&shown.to_string(), &report)
}

fn print_report(shown: &str, report: &crate::directory::import::ImportReport) -> anyhow::Result<i32> {
    println!(
        "import #{}: {} created, {} updated, {} unchanged, {} closed, {} outside the scope, {} rejected",
        report.import_id,
        report.created,
        report.updated,
        report.unchanged,
        report.closed,
        report.skipped,
        report.rejected.len()
    );
    let none = crate::directory::practitioners::KindCounts::default();
    for (kind, c) in [("professionals", report.practitioners), ("roles", report.roles)] {
        if c != none {
            println!(
                "  {kind}: {} created, {} updated, {} unchanged, {} closed",
                c.created, c.updated, c.unchanged, c.closed
            );
        }
    }
    for r in report.rejected.iter().take(50) {
        println!("  rejected: {shown}: {r}");
    }
    if report.rejected.len() > 50 {
        println!("  … and {} more (see the import history)", report.rejected.len() - 50);
    }
    Ok(0)
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
    ensure_documents(&state)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = tx.send(true);
        });
        crate::jobs::spawn_scheduler(state.clone(), node_id(), rx.clone());
        let (url, data_dir) = (state.config.public_url.clone(), state.config.data_dir.clone());
        crate::web::serve(state, rx, move || {
            if announce {
                println!("Le portail de démonstration est ouvert : {url}");
                println!("(Ctrl-C pour l'arrêter ; les données restent dans {})", data_dir.display());
            }
        })
        .await
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

/// The synthetic directory of the demo territory (`data/demo/`, fictitious establishments).
const DEMO_DIRECTORY: &[u8] = include_bytes!("../data/demo/ror-92nord.ndjson");

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
        println!("  puis la double authentification (application TOTP) sera demandée : elle est obligatoire");
        println!("  pour l'administration.");
    } else {
        println!("Données de démonstration existantes conservées ({}).", state.config.data_dir.display());
    }
    if crate::directory::offers::count_offers(&mut conn, "active")? == 0 {
        let parsed =
            crate::directory::fhir::parse(DEMO_DIRECTORY).map_err(|e| anyhow::anyhow!("demo directory: {e}"))?;
        let scope = crate::directory::import::Scope::default();
        let request = crate::directory::import::ImportRequest {
            format: "fhir",
            file_name: "ror-92nord.ndjson (démonstration)",
            scope: &scope,
            mode: crate::directory::import::Mode::Delta,
        };
        let r = crate::directory::offers::import_fhir(&mut conn, &state.system_context(), &request, &parsed)?;
        println!(
            "Annuaire de démonstration chargé : {} offres et {} professionnels (données fictives).",
            r.created, r.practitioners.created
        );
    }
    drop(conn);
    seed_demo_conditions(&state)?;
    serve(state, true)
}

/// Publishes version 1 of the terms, privacy policy and legal notice on first start (CGU-1).
fn ensure_documents(state: &AppState) -> anyhow::Result<()> {
    let ctx = state.system_context();
    let published =
        db::write_tx(&mut state.db.get()?, |c| crate::terms::ensure_initial_versions(c, &ctx, &state.config.portal))?;
    for doc in published {
        tracing::info!(document = doc.kind(), "version 1 published");
    }
    Ok(())
}

/// The demo's conditions of third-party services, accepted before the first visit of
/// `/applications` (CGU-3, CGU §4).
fn seed_demo_conditions(state: &AppState) -> anyhow::Result<()> {
    use crate::terms::{self, DraftInput, LegalDoc};
    let doc = LegalDoc::Feature("applications".into());
    let ctx = state.system_context();
    db::write_tx(&mut state.db.get()?, |c| {
        if terms::find_current(c, &doc)?.is_some() || terms::find_draft(c, &doc)?.is_some() {
            return Ok(());
        }
        let input = DraftInput {
            title: "Conditions d'utilisation des services tiers".into(),
            summary: "Première version.".into(),
            body: DEMO_APPLICATIONS_CONDITIONS.into(),
            major: true,
        };
        let draft = terms::create_draft(c, &ctx, &doc, &input)?;
        terms::publish(c, &ctx, draft.id, None)?;
        anyhow::Ok(())
    })
}

/// The text of the demo's conditions of third-party services.
const DEMO_APPLICATIONS_CONDITIONS: &str = "\
La page Applications donne accès à des services tiers : applications régionales de l'espace numérique \
régional de santé (ENRS) et services d'autres éditeurs.

## Responsabilité des éditeurs

Ces services sont fournis sous la responsabilité exclusive des sociétés qui les éditent (conditions \
générales d'utilisation du portail, article 4). Le portail n'en garantit ni le contenu ni la disponibilité.

## Conditions de chaque service

L'accès à chaque service tiers et son utilisation sont soumis à l'acceptation des conditions contractuelles \
de son éditeur, qui vous seront présentées par le service lui-même.

## Vos données

Lorsque vous ouvrez un service tiers, les données que vous y saisissez sont traitées par son éditeur, selon \
ses propres conditions. Pour toute question, utilisez le [formulaire de contact](/contact).
";

fn create_admin(state: &AppState, email: &str, given: &str, family: &str, from_stdin: bool) -> anyhow::Result<i32> {
    let (password, must_change) = if from_stdin {
        let mut p = String::new();
        std::io::stdin().read_to_string(&mut p).context("reading the password from stdin")?;
        let p = p.trim_end_matches(['\r', '\n']).to_owned();
        let canonical = accounts::canonical_email(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
        if let Some(problem) = accounts::password_problem(&p, &canonical, given, family) {
            anyhow::bail!("the password read from stdin is refused by the password policy: {problem}");
        }
        (p, false)
    } else {
        (accounts::generate_password(), true)
    };
    let user = insert_admin(state, email, given, family, &password, must_change)?;
    println!("Administrator #{} created for {}.", user.id, user.email);
    if must_change {
        println!("One-time password (shown once, to change at first login): {password}");
    }
    println!("At first login, the administrator enrols a second factor (TOTP): it is mandatory for the back office.");
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

/// The journal holds source addresses (personal data): its export is recorded in it first.
fn export_journal(state: &AppState, after: i64, output: Option<PathBuf>) -> anyhow::Result<i32> {
    use std::io::Write;
    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let ctx = state.system_context();
    let mut conn = state.db.get()?;
    db::write_tx(&mut conn, |c| {
        journal::record(c, &ctx, journal::Action::Export, journal::Object::kind("journal"), journal::Outcome::Success)
    })?;
    let (mut cursor, mut n) = (after, 0u64);
    loop {
        let page = journal::list_after(&mut conn, cursor, 5_000)?;
        let Some(last) = page.last() else { break };
        cursor = last.id;
        for e in &page {
            writeln!(out, "{}", journal::export_line(e))?;
            n += 1;
        }
    }
    out.flush()?;
    eprintln!("{n} entries exported");
    Ok(0)
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
