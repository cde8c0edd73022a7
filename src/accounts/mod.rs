//! Accounts (SPEC ACC): accounts, e-mail canonicalisation, password hashing, sessions, password
//! login, and the TOTP second factor with its recovery codes ([`totp`]). Self-registration and
//! organisations arrive with the accounts issue.

mod email;
mod login;
mod model;
mod password;
mod session;
pub mod totp;

pub use email::{EmailError, canonical_email};
pub use login::{LoginOutcome, PasswordChangeError, actor_of, change_password, delay_after, login};
pub use model::{NewUser, Role, User, count_users, create_user, find_by_email};
pub use password::{generate_password, hash_password, verify_password};
pub use session::{
    ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, Session, delete_session, delete_user_sessions, find_active, hash_token,
    random_token,
};
