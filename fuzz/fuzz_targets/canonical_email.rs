//! E-mail canonicalisation (`accounts::canonical_email`, SECURITY-TESTS T4): idempotent, case-blind
//! (the address typed in capitals is the same account), and its output is a plausible address
//! without invisible, control or white-space characters; `Length` exactly when the trimmed input
//! is outside 3..=254 bytes.
#![no_main]

use atomes::accounts::{EmailError, canonical_email};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let length_ok = (3..=254).contains(&raw.trim().len());
    match canonical_email(&raw) {
        Ok(canonical) => {
            assert!(length_ok);
            assert_eq!(canonical_email(&canonical).as_ref(), Ok(&canonical), "not idempotent: {raw:?}");
            assert!((3..=254).contains(&canonical.len()), "{canonical:?}");
            if let Some(c) = canonical.chars().find(|&c| invisible(c)) {
                panic!("invisible character U+{:04X} kept: {canonical:?}", u32::from(c));
            }
            assert_eq!(canonical.matches('@').count(), 1, "{canonical:?}");
            let (local, domain) = canonical.split_once('@').unwrap_or_default();
            assert!(!local.is_empty() && domain.contains('.'), "{canonical:?}");
            assert!(!domain.starts_with('.') && !domain.ends_with('.'), "{canonical:?}");
            let upper = canonical.to_uppercase();
            if upper.len() <= 254 {
                assert_eq!(
                    canonical_email(&upper).as_ref(),
                    Ok(&canonical),
                    "capitals make another account: {upper:?}"
                );
            }
        }
        Err(EmailError::Length) => assert!(!length_ok, "Length for {} bytes", raw.trim().len()),
        Err(EmailError::Invisible | EmailError::Shape) => assert!(length_ok),
    }
});

/// Independent of the crate's list: controls, white space, and the invisible format characters
/// (Cf, Default_Ignorable_Code_Point) an attacker uses to make two addresses look alike.
fn invisible(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
            // Beyond the crate's list: hieroglyph and shorthand format controls, musical
            // formatting, the variation selectors supplement and the rest of plane 14.
            | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}')
}
