//! Accounts (SPEC ACC): accounts and their profile, e-mail canonicalisation, password hashing
//! and policy, sessions, login with a second factor, self-registration and the flows that go
//! through a link sent by e-mail, the TOTP second factor ([`totp`]), the user's own data (history, export), organisations.

mod data;
mod email;
mod login;
mod mails;
pub mod manage;
pub mod mfa;
mod model;
mod password;
pub mod policy;
pub mod profile;
mod registration;
mod session;
pub mod tokens;
pub mod totp;

pub use data::{HistoryRow, access_history, export_data};
pub use email::{EmailError, canonical_email};
pub use login::{LoginOutcome, PasswordChangeError, actor_of, change_password, delay_after, login, password_problem};
pub use mails::Links;
pub use model::{NewUser, Role, User, count_users, create_user, find_by_email, find_by_id};
pub use password::{generate_password, hash_calls_on_this_thread, hash_password, verify_password};
pub use registration::{
    EmailChangeError, LinkPasswordError, RegistrationInput, Verified, close, close_account, confirm_email_change,
    register, request_email_change, request_reset, reset_password, verify_email,
};
pub use session::{
    ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, Session, create_session, delete_session, delete_user_sessions, find_active,
    hash_token, random_token,
};
