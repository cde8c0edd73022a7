//! The password policy (`accounts::policy::check_password`): never panics on any password or
//! context, and its length rules hold exactly (NFC scalar values: under 12 `TooShort`, over 1,024
//! `TooLong`, and over 4,096 scalars refused before normalising). Its cost stays bounded: run with
//! `-timeout` (scripts/fuzz.sh passes 10 s) and look at the slowest input libFuzzer reports.
//! Input: the password, then optionally the e-mail, given and family names, separated by NUL bytes.
#![no_main]

use atomes::accounts::policy::{MAX_CHARS, MIN_CHARS, PasswordContext, PolicyError, check_password};
use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let password = parts.next().unwrap_or_default();
    let email = parts.next().unwrap_or("camille.durand@example.fr");
    let given_name = parts.next().unwrap_or("Camille");
    let family_name = parts.next().unwrap_or("Durand");
    let ctx = PasswordContext { email, given_name, family_name };
    let result = check_password(password, &ctx);
    if password.chars().count() > 4 * MAX_CHARS {
        assert_eq!(result, Err(PolicyError::TooLong));
        return;
    }
    let length = password.nfc().count();
    if length < MIN_CHARS {
        assert_eq!(result, Err(PolicyError::TooShort), "{length} characters");
    } else if length > MAX_CHARS {
        assert_eq!(result, Err(PolicyError::TooLong), "{length} characters");
    } else {
        assert!(!matches!(result, Err(PolicyError::TooShort | PolicyError::TooLong)), "{length}: {result:?}");
        // The same password with the same context gets the same answer (no hidden state).
        assert_eq!(check_password(password, &ctx), result);
    }
});
