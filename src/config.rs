//! Typed configuration: defaults, then an optional `atomes.toml`, then `ATOMES_*` environment
//! variables (`__` separates sections: `ATOMES_MAIL__SMTP_URL`), then command-line flags.
//! A bad setting is reported by its name and where it came from; secrets are never printed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::db::{Backend, DbTarget};

/// Environment variables with this prefix are settings, except the reserved ones below.
const ENV_PREFIX: &str = "ATOMES_";
/// Variables that are not settings: the config file path, the log filter, test settings.
const RESERVED_ENV: &[&str] = &["ATOMES_CONFIG", "ATOMES_LOG"];

/// A value that must never appear in logs or `Debug` output.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (default).
    #[default]
    Text,
    /// One JSON object per line, for production log collectors.
    Json,
}

/// The whole configuration of a node.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://path`, a bare path, or `postgres://user:pass@host/db`.
    pub database_url: Secret,
    /// Maximum connections in the pool.
    #[serde(deserialize_with = "number_or_string")]
    pub database_pool_size: u32,
    /// Where the search index, the SQLite file (by default) and the mail outbox live.
    pub data_dir: PathBuf,
    /// Address the portal listens on.
    pub listen: SocketAddr,
    /// The address users reach the portal at; `https://` turns HSTS on.
    pub public_url: url::Url,
    /// Reverse proxies whose `X-Forwarded-For` is believed (CIDR list, comma-separated in env).
    #[serde(deserialize_with = "list_or_csv")]
    pub trusted_proxies: Vec<IpNet>,
    /// Separate address for `/metrics` (keep it private), if any.
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token that opens `/metrics` on the public listener, if any.
    pub metrics_token: Option<Secret>,
    /// Key of the journal's hash chain (HMAC); on SQLite it defaults to a file in `data_dir`.
    pub journal_key: Option<Secret>,
    /// Largest accepted request body, in bytes.
    #[serde(deserialize_with = "number_or_string")]
    pub max_body_bytes: usize,
    /// Largest file an administrator may upload on the directory import page, in bytes.
    #[serde(deserialize_with = "number_or_string")]
    pub import_max_bytes: usize,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// Outgoing mail.
    pub mail: MailConfig,
    /// Identity of the portal, its association, its territory and its host.
    pub portal: PortalConfig,
    /// Self-registration.
    pub accounts: AccountsConfig,
    /// Request rate limits against robots (SPEC ACC-7, CGU §5.3.1).
    pub rate_limits: RateLimitsConfig,
}

/// Self-registration settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// An administrator approves each new account after its address is verified (ACC-1).
    #[serde(deserialize_with = "bool_or_string")]
    pub approval_required: bool,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self { approval_required: true }
    }
}

/// Outgoing mail settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Sender address of every message.
    pub from: String,
    /// `smtp://user:pass@host:587` (STARTTLS), `smtps://…` (TLS) or `smtp://host:25?tls=none`;
    /// without it, mail is written to the on-disk outbox and read in the back office.
    pub smtp_url: Option<Secret>,
}

/// Request rate limits (SPEC ACC-7: robots are forbidden, CGU §5.3.1; ASVS 2.4.1), counted per
/// node. A rule given in part keeps the default of its other value.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(from = "RawRateLimits")]
pub struct RateLimitsConfig {
    /// Whether requests are limited at all (turned off for load benchmarks only).
    pub enabled: bool,
    /// Most (rule, client) pairs remembered at once; past it, new clients wait (bounded memory).
    pub max_keys: usize,
    /// Visitors who are not logged in, per client address, on every page and the API.
    pub anonymous: RateLimit,
    /// `POST` to login, registration and password reset, per client address, on top of `anonymous`.
    pub authentication: RateLimit,
    /// Logged-in accounts, per account, whatever their address.
    pub account: RateLimit,
}

/// One rule: a sustained rate and the burst allowed on top of it (GCRA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per minute, sustained.
    pub per_minute: u32,
    /// Requests that may arrive at once after a quiet time.
    pub burst: u32,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        // docs/SECURITY.md, "Rate limits", says why these numbers.
        Self {
            enabled: true,
            max_keys: 100_000,
            anonymous: RateLimit { per_minute: 300, burst: 60 },
            authentication: RateLimit { per_minute: 10, burst: 10 },
            account: RateLimit { per_minute: 600, burst: 120 },
        }
    }
}

/// `[rate_limits]` as written: every value optional, completed from the defaults.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRateLimits {
    #[serde(deserialize_with = "some_bool_or_string")]
    enabled: Option<bool>,
    #[serde(deserialize_with = "some_number_or_string")]
    max_keys: Option<usize>,
    anonymous: RawRateLimit,
    authentication: RawRateLimit,
    account: RawRateLimit,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRateLimit {
    #[serde(deserialize_with = "some_number_or_string")]
    per_minute: Option<u32>,
    #[serde(deserialize_with = "some_number_or_string")]
    burst: Option<u32>,
}

impl RawRateLimit {
    fn or(self, default: RateLimit) -> RateLimit {
        RateLimit {
            per_minute: self.per_minute.unwrap_or(default.per_minute),
            burst: self.burst.unwrap_or(default.burst),
        }
    }
}

impl From<RawRateLimits> for RateLimitsConfig {
    fn from(raw: RawRateLimits) -> Self {
        let d = Self::default();
        Self {
            enabled: raw.enabled.unwrap_or(d.enabled),
            max_keys: raw.max_keys.unwrap_or(d.max_keys),
            anonymous: raw.anonymous.or(d.anonymous),
            authentication: raw.authentication.or(d.authentication),
            account: raw.account.or(d.account),
        }
    }
}

/// Who runs the portal and for which territory; shown in the layout and the legal pages.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    /// The portal's name.
    pub name: String,
    /// The association that runs the DAC.
    pub association: String,
    /// The association's postal address.
    pub association_address: String,
    /// The publisher of the site (legal notice).
    pub publisher: String,
    /// The director of publication (legal notice).
    pub publication_director: String,
    /// The territory served.
    pub territory: Territory,
    /// The certified health-data host (CGU §8.4).
    pub host: HostConfig,
}

/// The territory a DAC covers: a name and its communes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Territory {
    /// Display name of the territory.
    pub name: String,
    /// Communes of the territory.
    pub communes: Vec<Commune>,
}

/// A commune by its INSEE code.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Commune {
    /// INSEE (COG) code, five characters (`92025`, `2A004`).
    pub insee: String,
    /// Official name.
    pub name: String,
}

/// The certified health-data host (hébergeur HDS).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// Company name and registration.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// Telephone.
    pub phone: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: Secret::new("sqlite://atomes-data/atomes.db"),
            database_pool_size: 8,
            data_dir: PathBuf::from("atomes-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: url::Url::parse("http://127.0.0.1:8080").expect("static URL"),
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            metrics_token: None,
            journal_key: None,
            max_body_bytes: 2 * 1024 * 1024,
            import_max_bytes: 512 * 1024 * 1024,
            log_format: LogFormat::Text,
            mail: MailConfig::default(),
            portal: PortalConfig::default(),
            accounts: AccountsConfig::default(),
            rate_limits: RateLimitsConfig::default(),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self { from: "Atomes <ne-pas-repondre@atomes.invalid>".into(), smtp_url: None }
    }
}

impl Default for PortalConfig {
    fn default() -> Self {
        Self {
            name: "Atomes".into(),
            association: "Sémaphore Santé 92 Nord".into(),
            association_address: "Hauts-de-Seine (92)".into(),
            publisher: "GIP SESAN et association Sémaphore Santé 92 Nord".into(),
            publication_director: "L'administrateur du GIP SESAN".into(),
            territory: Territory::default(),
            host: HostConfig::default(),
        }
    }
}

impl Default for Territory {
    fn default() -> Self {
        // The six Hauts-de-Seine communes of the EPT Boucle Nord de Seine (DOMAIN.md §6).
        let communes = [
            ("92004", "Asnières-sur-Seine"),
            ("92009", "Bois-Colombes"),
            ("92024", "Clichy"),
            ("92025", "Colombes"),
            ("92036", "Gennevilliers"),
            ("92078", "Villeneuve-la-Garenne"),
        ];
        Self {
            name: "Hauts-de-Seine Nord".into(),
            communes: communes
                .iter()
                .map(|(insee, name)| Commune { insee: (*insee).into(), name: (*name).into() })
                .collect(),
        }
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        // CGU §8.4.
        Self {
            name: "SAS CLARANET (RCS de Paris B 419 632 286)".into(),
            address: "2 rue Breguet, 75011 Paris, France".into(),
            phone: "0810 278 385".into(),
        }
    }
}

/// A configuration error, naming the setting and where its value came from.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Command-line overrides, applied last.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config`.
    pub config_file: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
}

impl Config {
    /// Loads the configuration from file, environment and flags, then checks it.
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(overrides, &env)
    }

    /// Loads from an explicit environment (testable without touching the process's own).
    pub fn load_from(overrides: &Overrides, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut layers = Layers::default();
        let file = overrides
            .config_file
            .clone()
            .or_else(|| env.iter().find(|(k, _)| k == "ATOMES_CONFIG").map(|(_, v)| PathBuf::from(v)));
        match file {
            Some(path) => layers.file(&path, true)?,
            None => layers.file(Path::new("atomes.toml"), false)?,
        }
        layers.env(env)?;
        layers.flags(overrides);
        let mut config = layers.build()?;
        config.derive_defaults(overrides, env);
        config.check()?;
        Ok(config)
    }

    /// When only the data directory was moved, the default SQLite file moves with it; when
    /// only the listen address was, the public URL follows it.
    fn derive_defaults(&mut self, overrides: &Overrides, env: &[(String, String)]) {
        let defaults = Config::default();
        if self.public_url == defaults.public_url && self.listen != defaults.listen {
            if let Ok(url) = url::Url::parse(&format!("http://{}", self.listen)) {
                self.public_url = url;
            }
        }
        let url_set = overrides.database_url.is_some()
            || env.iter().any(|(k, _)| k == "ATOMES_DATABASE_URL")
            || self.database_url != defaults.database_url;
        if !url_set {
            let path = self.data_dir.join("atomes.db");
            self.database_url = Secret::new(format!("sqlite://{}", path.display()));
        }
    }

    /// Checks what can be checked without connecting: URL shapes, key lengths.
    pub fn check(&self) -> Result<(), ConfigError> {
        let target = self.database_target()?;
        if !matches!(self.public_url.scheme(), "http" | "https") {
            return Err(ConfigError("`public_url` must start with http:// or https://".into()));
        }
        if let Some(key) = &self.journal_key {
            if key.expose().len() < 32 {
                return Err(ConfigError("`journal_key` must be at least 32 characters long".into()));
            }
        } else if target.backend() == Backend::Postgres {
            return Err(ConfigError(
                "`journal_key` (ATOMES_JOURNAL_KEY) is required with PostgreSQL: every node must \
                 sign the journal with the same key"
                    .into(),
            ));
        }
        if self.import_max_bytes < 1024 {
            return Err(ConfigError("`import_max_bytes` must be at least 1024".into()));
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError("`max_body_bytes` must be at least 1024".into()));
        }
        self.check_rate_limits()?;
        for c in &self.portal.territory.communes {
            if !is_insee_code(&c.insee) {
                return Err(ConfigError(format!(
                    "`portal.territory.communes`: {:?} is not an INSEE commune code (5 characters, e.g. 92025 or 2A004)",
                    c.insee
                )));
            }
        }
        Ok(())
    }

    fn check_rate_limits(&self) -> Result<(), ConfigError> {
        let r = &self.rate_limits;
        if r.max_keys < 1_000 {
            return Err(ConfigError("`rate_limits.max_keys` must be at least 1000".into()));
        }
        for (name, rule) in [("anonymous", r.anonymous), ("authentication", r.authentication), ("account", r.account)] {
            if !(1..=1_000_000).contains(&rule.per_minute) {
                return Err(ConfigError(format!("`rate_limits.{name}.per_minute` must be between 1 and 1000000")));
            }
            if !(1..=1_000_000).contains(&rule.burst) {
                return Err(ConfigError(format!("`rate_limits.{name}.burst` must be between 1 and 1000000")));
            }
        }
        Ok(())
    }

    /// The parsed database location.
    pub fn database_target(&self) -> Result<DbTarget, ConfigError> {
        DbTarget::parse(self.database_url.expose()).map_err(|e| ConfigError(format!("`database_url`: {e}")))
    }

    /// Creates the data directory if needed and proves it is writable.
    pub fn prepare_data_dir(&self) -> Result<(), ConfigError> {
        let dir = &self.data_dir;
        let fail =
            |what: &str, e: std::io::Error| ConfigError(format!("`data_dir` {}: cannot {what}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(|e| fail("create it", e))?;
        let probe = dir.join(".write-test");
        std::fs::write(&probe, b"ok").map_err(|e| fail("write in it", e))?;
        std::fs::remove_file(&probe).map_err(|e| fail("write in it", e))?;
        Ok(())
    }

    /// Whether the portal is served over TLS (by itself or a proxy), which turns HSTS on.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

/// Whether `code` looks like an INSEE commune code (`92025`, `2A004`, `97411`).
pub fn is_insee_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 5
        && b[0].is_ascii_digit()
        && (b[1].is_ascii_digit() || (b[0] == b'2' && matches!(b[1], b'A' | b'B')))
        && b[2..].iter().all(u8::is_ascii_digit)
}

/// The settings as a TOML table, with the origin of every top-level value.
#[derive(Default)]
struct Layers {
    table: toml::Table,
    origins: BTreeMap<String, String>,
}

impl Layers {
    fn file(&mut self, path: &Path, required: bool) -> Result<(), ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ConfigError(format!("cannot read {}: {e}", path.display()))),
        };
        let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        for (k, v) in table {
            self.origins.insert(k.clone(), format!("file {}", path.display()));
            self.table.insert(k, v);
        }
        Ok(())
    }

    fn env(&mut self, env: &[(String, String)]) -> Result<(), ConfigError> {
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else { continue };
            if RESERVED_ENV.contains(&name.as_str()) || key.starts_with("TEST_") {
                continue;
            }
            let path: Vec<String> = key.split("__").map(str::to_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(ConfigError(format!("{name}: malformed variable name")));
            }
            self.origins.insert(path.join("."), format!("environment variable {name}"));
            insert_path(&mut self.table, &path, toml::Value::String(value.clone()))
                .map_err(|e| ConfigError(format!("{name}: {e}")))?;
        }
        Ok(())
    }

    fn flags(&mut self, o: &Overrides) {
        let mut set = |key: &str, flag: &str, value: Option<String>| {
            if let Some(v) = value {
                self.origins.insert(key.into(), format!("flag {flag}"));
                self.table.insert(key.into(), toml::Value::String(v));
            }
        };
        set("database_url", "--database-url", o.database_url.clone());
        set("data_dir", "--data-dir", o.data_dir.as_ref().map(|p| p.display().to_string()));
        set("listen", "--listen", o.listen.clone());
    }

    fn build(self) -> Result<Config, ConfigError> {
        let de = toml::Value::Table(self.table);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let origin = self
                .origins
                .iter()
                .filter(|(k, _)| path == **k || path.starts_with(&format!("{k}.")))
                .map(|(_, o)| format!(" (from {o})"))
                .next_back()
                .unwrap_or_default();
            ConfigError(format!("invalid setting `{path}`{origin}: {}", e.inner()))
        })
    }
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut current = table;
    for p in parents {
        current = current
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

/// Accepts a native number (file) or a string holding one (environment).
fn number_or_string<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + TryFrom<i64>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(i64),
        S(String),
    }
    match Raw::deserialize(d)? {
        Raw::N(n) => T::try_from(n).map_err(|_| serde::de::Error::custom("number out of range")),
        Raw::S(s) => s.trim().parse().map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number"))),
    }
}

/// [`number_or_string`] for an optional value.
fn some_number_or_string<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + TryFrom<i64>,
{
    number_or_string(d).map(Some)
}

/// Accepts a boolean (file) or `true` / `false` (environment).
fn some_bool_or_string<'de, D>(d: D) -> Result<Option<bool>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        B(bool),
        S(String),
    }
    match Raw::deserialize(d)? {
        Raw::B(b) => Ok(Some(b)),
        Raw::S(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(serde::de::Error::custom(format!("{s:?} is not true or false"))),
        },
    }
}

/// Accepts a list (file) or a comma-separated string (environment).
fn list_or_csv<'de, D>(d: D) -> Result<Vec<IpNet>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        L(Vec<String>),
        S(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::L(l) => l,
        Raw::S(s) => s.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an IP address or CIDR block")))
        })
        .collect()
}

/// Accepts a boolean (file) or `true`/`false`/`1`/`0` (environment).
fn bool_or_string<'de, D>(d: D) -> Result<bool, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        B(bool),
        S(String),
    }
    match Raw::deserialize(d)? {
        Raw::B(b) => Ok(b),
        Raw::S(s) => match s.trim() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(serde::de::Error::custom(format!("{other:?} is not true or false"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn env_overrides_and_nested_sections() {
        let c = Config::load_from(
            &Overrides::default(),
            &env(&[
                ("ATOMES_LISTEN", "0.0.0.0:9000"),
                ("ATOMES_DATABASE_POOL_SIZE", "4"),
                ("ATOMES_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
                ("ATOMES_MAIL__FROM", "dac@example.org"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.database_pool_size, 4);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.mail.from, "dac@example.org");
    }

    #[test]
    fn bad_setting_is_named_with_its_origin() {
        let err = Config::load_from(&Overrides::default(), &env(&[("ATOMES_LISTEN", "nowhere")])).unwrap_err();
        assert!(err.0.contains("`listen`"), "{err}");
        assert!(err.0.contains("ATOMES_LISTEN"), "{err}");
        let err = Config::load_from(&Overrides::default(), &env(&[("ATOMES_LISTN", "x")])).unwrap_err();
        assert!(err.0.contains("listn"), "{err}");
    }

    #[test]
    fn postgres_needs_a_journal_key_and_secrets_stay_hidden() {
        let e = env(&[("ATOMES_DATABASE_URL", "postgres://u:topsecret@localhost/db")]);
        let err = Config::load_from(&Overrides::default(), &e).unwrap_err();
        assert!(err.0.contains("journal_key"), "{err}");
        assert!(!err.0.contains("topsecret"));
        let e = env(&[
            ("ATOMES_DATABASE_URL", "postgres://u:topsecret@localhost/db"),
            ("ATOMES_JOURNAL_KEY", "0123456789abcdef0123456789abcdef"),
        ]);
        let c = Config::load_from(&Overrides::default(), &e).unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn data_dir_moves_the_default_sqlite_file() {
        let o = Overrides { data_dir: Some("/tmp/x".into()), ..Default::default() };
        let c = Config::load_from(&o, &[]).unwrap();
        assert_eq!(c.database_target().unwrap().sqlite_path(), Some("/tmp/x/atomes.db"));
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("atomes.toml.example");
        let o = Overrides { config_file: Some(path), ..Default::default() };
        let c = Config::load_from(&o, &[]).unwrap();
        assert_eq!(c.portal.territory.communes.len(), 6);
        assert!(c.is_https());
        assert_eq!(c.rate_limits, RateLimitsConfig::default(), "the example shows the defaults");
    }

    #[test]
    fn rate_limits_default_on_and_are_set_rule_by_rule() {
        let c = Config::load_from(&Overrides::default(), &[]).unwrap();
        assert_eq!(c.rate_limits, RateLimitsConfig::default());
        assert!(c.rate_limits.enabled);
        let c = Config::load_from(
            &Overrides::default(),
            &env(&[
                ("ATOMES_RATE_LIMITS__ENABLED", "false"),
                ("ATOMES_RATE_LIMITS__ANONYMOUS__PER_MINUTE", "1200"),
                ("ATOMES_RATE_LIMITS__ACCOUNT__BURST", "30"),
            ]),
        )
        .unwrap();
        assert!(!c.rate_limits.enabled);
        assert_eq!(c.rate_limits.anonymous, RateLimit { per_minute: 1200, burst: 60 }, "the burst keeps its default");
        assert_eq!(c.rate_limits.account, RateLimit { per_minute: 600, burst: 30 });
        assert_eq!(c.rate_limits.authentication, RateLimitsConfig::default().authentication);
        for (name, value, expected) in [
            ("ATOMES_RATE_LIMITS__AUTHENTICATION__BURST", "0", "rate_limits.authentication.burst"),
            ("ATOMES_RATE_LIMITS__ENABLED", "peut-être", "rate_limits.enabled"),
            ("ATOMES_RATE_LIMITS__ANONYMOUS__PER_SECOND", "5", "per_second"),
        ] {
            let err = Config::load_from(&Overrides::default(), &env(&[(name, value)])).unwrap_err();
            assert!(err.0.contains(expected), "{name}={value}: {err}");
        }
    }

    #[test]
    fn insee_codes() {
        for ok in ["92025", "2A004", "2B033", "97411"] {
            assert!(is_insee_code(ok), "{ok}");
        }
        for bad in ["9202", "920255", "3A004", "92O25", ""] {
            assert!(!is_insee_code(bad), "{bad}");
        }
    }
}
