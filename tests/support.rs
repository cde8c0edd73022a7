//! Test fixtures: a [`TestApp`] with its own database, a manual clock, and helpers to send
//! requests through the real router and read what a user would see.

use std::net::SocketAddr;
use std::sync::Arc;

use atomes::accounts::{self, NewUser, Role, User};
use atomes::app::AppState;
use atomes::clock::ManualClock;
use atomes::config::{Config, Secret};
use atomes::db::{self, Db, DbTarget};
use atomes::terms;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The PostgreSQL server used by the tests, if any.
pub fn pg_admin_url() -> Option<String> {
    std::env::var("ATOMES_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

/// The TOTP secret of the administrators the fixtures create.
pub const TEST_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// A database of one test: a SQLite file in a temporary directory, or a PostgreSQL
/// database created for the test and dropped after it.
pub struct TestDb {
    /// The URL to connect to.
    pub url: String,
    pg_drop: Option<(String, String)>,
}

impl TestDb {
    /// A fresh empty database in `dir` (SQLite) or on the test server (PostgreSQL).
    pub fn new(dir: &std::path::Path) -> Self {
        match pg_admin_url() {
            None => Self { url: format!("sqlite://{}", dir.join("test.db").display()), pg_drop: None },
            Some(admin) => {
                // Before libpq touches OpenSSL: no exit-time cleanup racing pool threads.
                openssl_sys::init();
                let name = format!("atomes_test_{:016x}", rand::random::<u64>());
                let mut conn = PgConnection::establish(&admin).expect("ATOMES_TEST_DATABASE_URL must be reachable");
                conn.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
                let mut url = url::Url::parse(&admin).expect("a URL");
                url.set_path(&name);
                Self { url: url.to_string(), pg_drop: Some((admin, name)) }
            }
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_pg(&self) -> bool {
        self.pg_drop.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg_drop {
            if let Ok(mut c) = PgConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// The start of every test's clock: a fixed instant, so that results do not depend on the day.
pub fn epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-15T09:00:00Z").unwrap().with_timezone(&Utc)
}

/// A configured, migrated application with its own database and clock.
pub struct TestApp {
    /// The state handlers see.
    pub state: AppState,
    /// The clock; move it instead of sleeping.
    pub clock: ManualClock,
    /// The data directory.
    pub dir: tempfile::TempDir,
    router: Router,
    // Dropped last: the pool must close before the database is dropped.
    _db: TestDb,
}

impl TestApp {
    /// A new application with default settings.
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// A new application whose configuration `tweak` adjusts.
    pub fn with_config(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let test_db = TestDb::new(dir.path());
        let mut config = Config {
            database_url: Secret::new(test_db.url.clone()),
            data_dir: dir.path().to_path_buf(),
            journal_key: Some(Secret::new("test-journal-key-0123456789abcdef-0123")),
            ..Config::default()
        };
        tweak(&mut config);
        let target = DbTarget::parse(config.database_url.expose()).unwrap();
        let db = Db::connect(&target, 8).unwrap();
        db::run_migrations(&mut db.get().unwrap()).unwrap();
        let clock = ManualClock::new(epoch());
        let state = AppState::new(config, db, Arc::new(clock.clone())).unwrap();
        // The index is built at start by the sync job; tests do it here.
        state.search.sync(&mut state.db.get().unwrap()).unwrap();
        let router = atomes::web::app(state.clone());
        Self { state, clock, dir, router, _db: test_db }
    }

    /// The clock's time, as stored.
    pub fn clock_now(&self) -> chrono::NaiveDateTime {
        use atomes::clock::Clock;
        self.clock.now().naive_utc()
    }

    /// Whether the test runs on PostgreSQL.
    pub fn is_pg(&self) -> bool {
        self._db.is_pg()
    }

    /// A pooled connection, for direct checks.
    pub fn conn(&self) -> atomes::db::PooledConn {
        self.state.db.get().unwrap()
    }

    /// Sends a request from 127.0.0.1 through the whole middleware stack.
    pub async fn send(&self, mut req: Request<Body>) -> TestResponse {
        if req.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
            req.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        }
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        TestResponse { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// Creates an active account directly (a fixture, not a test of registration). A
    /// professional has accepted the terms in force, so that tests of other areas are not
    /// stopped by the terms gate; see [`TestApp::create_user_pending_terms`].
    pub fn create_user(&self, email: &str, password: &str, role: Role, must_change: bool) -> User {
        let user = self.create_user_pending_terms(email, password, role, must_change);
        if role != Role::Administrator {
            self.accept_current_terms(user.id);
        }
        user
    }

    /// Creates an active account that has not accepted the terms yet (the terms are published).
    pub fn create_user_pending_terms(&self, email: &str, password: &str, role: Role, must_change: bool) -> User {
        self.ensure_terms();
        let canonical = accounts::canonical_email(email).unwrap();
        let hash = accounts::hash_password(password).unwrap();
        let ctx = self.state.system_context();
        let new = NewUser {
            email,
            email_canonical: &canonical,
            given_name: "Camille",
            family_name: "Durand",
            role,
            password_hash: Some(&hash),
            must_change_password: must_change,
        };
        let user = db::write_tx(&mut self.conn(), |c| accounts::create_user(c, &ctx, &new)).unwrap();
        if role == Role::Administrator {
            // The second factor is mandatory for administrators: enrolled with a known secret.
            use diesel::prelude::*;
            diesel::update(atomes::db::schema::users::table.find(user.id))
                .set(atomes::db::schema::users::totp_secret.eq(TEST_TOTP_SECRET))
                .execute(&mut *self.conn())
                .unwrap();
            return accounts::find_by_id(&mut self.conn(), user.id).unwrap().unwrap();
        }
        user
    }

    /// The current TOTP code of an account created with [`TEST_TOTP_SECRET`]. The fixture forgets
    /// the last step used, so that tests may log in several times within one 30-second step (the
    /// single-use rule has its own test).
    pub fn totp_code(&self, user_id: i64) -> String {
        use atomes::clock::Clock;
        use diesel::prelude::*;
        diesel::update(atomes::db::schema::users::table.find(user_id))
            .set(atomes::db::schema::users::totp_last_step.eq(None::<i64>))
            .execute(&mut *self.conn())
            .unwrap();
        let step = self.clock.now().timestamp() / accounts::totp::STEP_SECONDS;
        accounts::totp::code_at(TEST_TOTP_SECRET, step).unwrap()
    }

    /// Publishes version 1 of the terms, privacy policy and legal notice, as `serve` does at start.
    pub fn ensure_terms(&self) {
        let ctx = self.state.system_context();
        let portal = &self.state.config.portal;
        db::write_tx(&mut self.conn(), |c| terms::ensure_initial_versions(c, &ctx, portal)).unwrap();
    }

    /// Records that `user_id` accepted the terms in force.
    pub fn accept_current_terms(&self, user_id: i64) {
        let ctx = self.state.system_context();
        let mut conn = self.conn();
        let current = terms::find_current(&mut conn, &terms::LegalDoc::Terms).unwrap().expect("terms published");
        db::write_tx(&mut conn, |c| terms::accept(c, &ctx, user_id, current.id, "test")).unwrap();
    }

    /// `GET path` with cookies (`name=value; …`).
    pub async fn get_with(&self, path: &str, cookies: &str) -> TestResponse {
        self.send(Request::get(path).header("cookie", cookies).body(Body::empty()).unwrap()).await
    }

    /// `POST path` of an urlencoded form, with cookies.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)], cookies: &str) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let req = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookies)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// The login form's CSRF cookie and token.
    pub async fn login_csrf(&self) -> String {
        let r = self.get("/connexion").await;
        let set = r.header("set-cookie").to_owned();
        set.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
    }

    /// Posts the login form; returns the response.
    pub async fn try_login(&self, email: &str, password: &str) -> TestResponse {
        let csrf = self.login_csrf().await;
        self.post_form(
            "/connexion",
            &[("csrf", &csrf), ("email", email), ("password", password)],
            &format!("__Host-atomes_csrf={csrf}"),
        )
        .await
    }

    /// Logs in (with the second factor if the account has one) and returns the `Cookie` header
    /// value of the session.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self.try_login(email, password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login failed: {}", r.body);
        let cookie = format!("__Host-atomes_session={}", r.session_token().expect("a session cookie"));
        if r.header("location") != "/connexion/second-facteur" {
            return cookie;
        }
        let canonical = accounts::canonical_email(email).unwrap();
        let user = accounts::find_by_email(&mut self.conn(), &canonical).unwrap().unwrap();
        let csrf = self.get_with("/connexion/second-facteur", &cookie).await.csrf_field();
        let code = self.totp_code(user.id);
        let r = self.post_form("/connexion/second-facteur", &[("csrf", &csrf), ("code", &code)], &cookie).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "second factor refused: {}", r.body);
        format!("__Host-atomes_session={}", r.session_token().expect("a session cookie"))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// A request with any method and body.
    pub async fn request(&self, method: Method, path: &str, body: impl Into<Body>) -> TestResponse {
        self.send(Request::builder().method(method).uri(path).body(body.into()).unwrap()).await
    }
}

/// What came back.
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub body: String,
}

impl TestResponse {
    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The text of every element matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(css).unwrap();
        doc.select(&sel)
            .map(|e| e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// The number of elements matching `css`.
    pub fn count(&self, css: &str) -> usize {
        self.texts(css).len()
    }

    /// The session token set by this response, if any.
    pub fn session_token(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("__Host-atomes_session="))
            .map(|c| c.split(';').next().unwrap().to_owned())
            .filter(|t| !t.is_empty())
    }

    /// The value of the hidden `csrf` field of the first form.
    pub fn csrf_field(&self) -> String {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse("input[name=csrf]").unwrap();
        doc.select(&sel).next().and_then(|e| e.value().attr("value")).unwrap_or("").to_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}
