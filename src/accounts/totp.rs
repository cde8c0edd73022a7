//! The second factor (SPEC ACC, ASVS 6.3.3 / 6.5.1, SECURITY-TESTS T5): time-based one-time
//! passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps), their secrets in RFC 4648 base32,
//! the `otpauth://` URI and its QR code for authenticator apps, and the single-use recovery codes.
//!
//! A code works once: [`verify`] refuses any step at or before the last one accepted, and the
//! caller stores the step it returns (`users.totp_last_step`) in the transaction that logs in.

use std::fmt::Write;

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, TryRngCore};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Digits of a code.
const DIGITS: u32 = 6;
/// Seconds per time step (RFC 6238 `X`).
pub const STEP_SECONDS: i64 = 30;
/// Steps accepted on each side of the current one, for clocks that drift (RFC 6238 §5.2).
const DRIFT_STEPS: i64 = 1;
/// Bytes of a secret: 160 bits, the HMAC-SHA1 output size (RFC 4226 §4 recommends it).
const SECRET_BYTES: usize = 20;
/// Recovery codes given at once.
const RECOVERY_CODES: usize = 10;
/// 32 lowercase letters and digits without `0`, `1`, `l` and `o`, which are read one for the
/// other: 5 bits per character, so the 10 characters of a code carry 50 bits.
const RECOVERY_ALPHABET: &[u8; 32] = b"23456789abcdefghijkmnpqrstuvwxyz";
/// RFC 4648 §6 base32 alphabet.
const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random secret: 160 bits from the operating system, base32 without padding (32 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.unwrap_err().fill(&mut bytes);
    base32_encode(&bytes)
}

/// The 6-digit code of time step `step` (Unix time / 30), or `None` for a secret that is not
/// base32 or a negative step.
pub fn code_at(secret_b32: &str, step: i64) -> Option<String> {
    let key = base32_decode(secret_b32).filter(|k| !k.is_empty())?;
    (step >= 0).then(|| code_at_digits(&key, step as u64, DIGITS))
}

/// RFC 4226 HOTP of `counter` with `digits` digits (RFC 6238 uses the time step as counter).
fn code_at_digits(key: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([hash[offset] & 0x7f, hash[offset + 1], hash[offset + 2], hash[offset + 3]]);
    let code = binary % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// Checks `code` (spaces ignored) against the steps around `now_unix`: the current one and one
/// on each side. Steps at or before `last_step` are refused, so a code cannot be replayed, nor
/// an older one used after a newer. Returns the accepted step, which the caller must store.
pub fn verify(secret_b32: &str, code: &str, now_unix: i64, last_step: Option<i64>) -> Option<i64> {
    let given: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = base32_decode(secret_b32).filter(|k| !k.is_empty())?;
    let current = now_unix.div_euclid(STEP_SECONDS);
    let mut accepted = None;
    // Every candidate is computed and compared, whichever matches, so that the time taken does
    // not say which step (if any) the code belongs to.
    for step in (current - DRIFT_STEPS)..=(current + DRIFT_STEPS) {
        let usable = step >= 0 && last_step.is_none_or(|last| step > last);
        let expected = code_at_digits(&key, step.max(0) as u64, DIGITS);
        if constant_time_eq(given.as_bytes(), expected.as_bytes()) && usable && accepted.is_none() {
            accepted = Some(step);
        }
    }
    accepted
}

/// Equality of two byte strings of the same length in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The Key Uri Format URI that authenticator apps read from the QR code:
/// `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(secret_b32: &str, account: &str, issuer: &str) -> String {
    let issuer = percent_encode(issuer);
    let (account, secret) = (percent_encode(account), percent_encode(secret_b32));
    let params = format!("algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}");
    format!("otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&{params}")
}

/// Percent-encodes everything but RFC 3986's unreserved characters (a space becomes `%20`, as
/// the Key Uri Format asks, not `+`).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `data` as an inline SVG QR code (error correction level M, 4-module quiet zone), with
/// `role="img"` and a French title for screen readers. Empty if `data` is too long for a QR code
/// (about 2,300 bytes; an `otpauth://` URI is under 200).
pub fn qr_svg(data: &str) -> String {
    const LABEL: &str = "Code QR à scanner avec votre application d'authentification";
    const QUIET: usize = 4;
    const MODULE_PX: usize = 4;
    let Ok(code) = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M) else {
        return String::new();
    };
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET;
    let mut path = String::new();
    for y in 0..width {
        let row = &colors[y * width..(y + 1) * width];
        let mut x = 0;
        // One rectangle per run of dark modules on a row keeps the SVG small.
        while x < width {
            if row[x] == qrcode::Color::Dark {
                let start = x;
                while x < width && row[x] == qrcode::Color::Dark {
                    x += 1;
                }
                let _ = write!(path, "M{} {}h{}v1h-{}z", start + QUIET, y + QUIET, x - start, x - start);
            } else {
                x += 1;
            }
        }
    }
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" class="qr-code" role="img" aria-label="{label}" "##,
            r##"width="{px}" height="{px}" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">"##,
            r##"<title>{label}</title><rect width="{size}" height="{size}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##,
        ),
        label = LABEL,
        px = size * MODULE_PX,
        size = size,
        path = path,
    )
}

/// Ten new recovery codes, `xxxxx-xxxxx`, 50 bits each from the operating system. Show them once;
/// store only [`hash_recovery_code`] of each.
pub fn generate_recovery_codes() -> Vec<String> {
    let mut rng = OsRng.unwrap_err();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code = String::with_capacity(11);
            for i in 0..10 {
                if i == 5 {
                    code.push('-');
                }
                code.push(char::from(RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())]));
            }
            code
        })
        .collect()
}

/// The stored form of a recovery code: SHA-256 (hex) of the code without spaces or dashes, in
/// lowercase, so that `ABCDE-FGHJK`, `abcde fghjk` and `abcdefghjk` are the same code.
/// The codes carry 50 random bits: a fast hash is enough, as for session tokens.
pub fn hash_recovery_code(code: &str) -> String {
    let normalised: String = code
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}'))
        .flat_map(char::to_lowercase)
        .collect();
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

/// RFC 4648 base32 without padding.
fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32_ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32, case-insensitive, ignoring spaces and trailing `=` (as people copy
/// secrets by hand); `None` on any other character.
fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches(['=', ' ']).chars().filter(|c| !c.is_whitespace()) {
        let c = c.to_ascii_uppercase();
        let value = BASE32_ALPHABET.iter().position(|&a| char::from(a) == c)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6238 Appendix B SHA-1 seed, "12345678901234567890", in base32.
    fn rfc_secret() -> String {
        base32_encode(b"12345678901234567890")
    }

    /// RFC 6238 Appendix B, SHA-1 rows: Unix time and 8-digit TOTP.
    const VECTORS: &[(i64, &str)] = &[
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc_6238_sha1_vectors() {
        for &(time, expected) in VECTORS {
            let step = time / STEP_SECONDS;
            assert_eq!(code_at_digits(b"12345678901234567890", step as u64, 8), expected, "T = {time}");
            // Six digits are the last six of the eight (the same number modulo 10^6).
            assert_eq!(code_at(&rfc_secret(), step).unwrap(), expected[2..], "T = {time}");
            assert_eq!(verify(&rfc_secret(), &expected[2..], time, None), Some(step), "T = {time}");
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_two_are_not() {
        let secret = generate_secret();
        let now = 1_800_000_015;
        let current = now / STEP_SECONDS;
        for drift in [-1, 0, 1] {
            let code = code_at(&secret, current + drift).unwrap();
            assert_eq!(verify(&secret, &code, now, None), Some(current + drift), "drift {drift}");
        }
        for drift in [-2, 2] {
            let code = code_at(&secret, current + drift).unwrap();
            assert_eq!(verify(&secret, &code, now, None), None, "drift {drift}");
        }
    }

    #[test]
    fn a_code_works_once_and_an_older_one_never_after_a_newer() {
        let secret = generate_secret();
        let now = 1_800_000_000;
        let current = now / STEP_SECONDS;
        let code = code_at(&secret, current).unwrap();
        let used = verify(&secret, &code, now, None).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(used)), None, "replayed in the same step");
        assert_eq!(verify(&secret, &code, now + 20, Some(used)), None, "replayed in the next step");
        let previous = code_at(&secret, current - 1).unwrap();
        assert_eq!(verify(&secret, &previous, now, Some(used)), None, "older than the last one used");
        let next = code_at(&secret, current + 1).unwrap();
        assert_eq!(verify(&secret, &next, now + STEP_SECONDS, Some(used)), Some(current + 1));
    }

    #[test]
    fn codes_are_read_with_spaces_and_nothing_else() {
        let secret = generate_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now / STEP_SECONDS).unwrap();
        let spaced = format!(" {} {} ", &code[..3], &code[3..]);
        assert!(verify(&secret, &spaced, now, None).is_some());
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(verify(&secret, bad, now, None), None, "{bad:?}");
        }
        assert_eq!(verify("not base32!", &code, now, None), None);
        assert_eq!(code_at(&secret, -1), None);
    }

    #[test]
    fn base32_round_trip_and_rfc_4648_vectors() {
        // RFC 4648 §10, without the padding.
        for (plain, encoded) in
            [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB")]
        {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(base32_decode("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZXW1"), None, "1 is not in the alphabet");
        let secret = generate_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(base32_decode(&secret).unwrap().len(), SECRET_BYTES);
        assert_eq!(base32_encode(&base32_decode(&secret).unwrap()), secret);
        assert_ne!(generate_secret(), secret);
    }

    #[test]
    fn recovery_codes_are_unambiguous_and_normalised_before_hashing() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            let (a, b) = code.split_once('-').unwrap();
            assert_eq!((a.len(), b.len()), (5, 5), "{code}");
            assert!(code.bytes().filter(|&c| c != b'-').all(|c| RECOVERY_ALPHABET.contains(&c)), "{code}");
        }
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        let h = hash_recovery_code("abcde-fghjk");
        assert_eq!(h.len(), 64);
        for same in ["ABCDE-FGHJK", " abcde fghjk\n", "abcdefghjk", "abcde\u{2011}fghjk", "ab cd e-fg hjk"] {
            assert_eq!(hash_recovery_code(same), h, "{same:?}");
        }
        assert_ne!(hash_recovery_code("abcde-fghjm"), h);
    }

    #[test]
    fn otpauth_uri_follows_the_key_uri_format() {
        let uri = otpauth_uri("JBSWY3DPEHPK3PXP", "hélène.martin@example.org", "Atomes 92 Nord");
        assert_eq!(
            uri,
            "otpauth://totp/Atomes%2092%20Nord:h%C3%A9l%C3%A8ne.martin%40example.org?secret=JBSWY3DPEHPK3PXP\
             &issuer=Atomes%2092%20Nord&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_qr_code_is_an_accessible_inline_svg() {
        let svg = qr_svg(&otpauth_uri(&generate_secret(), "camille@example.org", "Atomes"));
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("<title>Code QR à scanner avec votre application d'authentification</title>"));
        assert!(svg.contains(r#"aria-label="Code QR à scanner avec votre application d'authentification""#));
        assert!(svg.contains("<path fill=\"#000\" d=\"M4 4h7v1h-7z"), "finder pattern at the quiet zone: {svg}");
        assert!(svg.ends_with("</svg>"));
        assert_eq!(qr_svg(&"x".repeat(5000)), "");
    }
}
