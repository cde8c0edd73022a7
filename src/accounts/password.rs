//! Password hashing with argon2id (CNIL 2022-100, ASVS 6.2). Parameters are the argon2
//! crate's defaults (OWASP's m=19 MiB, t=2, p=1), stored in the PHC string so they can rise.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;

thread_local! {
    /// Password hashes computed on this thread (hash + verify), for the enumeration tests.
    static HASH_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many argon2 computations ran on this thread: the tests check that a login or a
/// registration costs the same for a known and an unknown address (SECURITY-TESTS T3).
pub fn hash_calls_on_this_thread() -> u64 {
    HASH_CALLS.with(std::cell::Cell::get)
}

fn hasher() -> Argon2<'static> {
    HASH_CALLS.with(|c| c.set(c.get() + 1));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// The argon2id PHC string of `password`. CPU-heavy: call it off the async runtime.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
}

/// A random one-time password of 20 characters from an unambiguous alphabet (~113 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip_without_truncation() {
        let long = "é".repeat(40) + "x";
        let phc = hash_password(&long).unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&long, &phc));
        // Differs only after byte 72: bcrypt would accept it.
        assert!(!verify_password(&("é".repeat(40) + "y"), &phc));
        assert_eq!(generate_password().len(), 20);
    }
}
