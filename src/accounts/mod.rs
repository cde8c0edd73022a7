//! Accounts (SPEC ACC): for now the administrator accounts that `atomes admin create-admin`
//! and `atomes demo` create, with the e-mail canonicalisation and password hashing that
//! self-registration will reuse.

mod email;
mod model;
mod password;

pub use email::{EmailError, canonical_email};
pub use model::{NewUser, Role, User, count_users, create_user, find_by_email};
pub use password::{generate_password, hash_password, verify_password};
