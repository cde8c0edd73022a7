//! E-mail canonicalisation (SECURITY-TESTS T4): one Rust function decides when two
//! addresses are the same account, on both backends (SQLite's `lower()` folds ASCII only).

use unicode_normalization::UnicodeNormalization;

/// Longest address accepted (RFC 5321 path limit), checked before any normalisation.
const MAX_EMAIL_BYTES: usize = 254;

/// Why an address was refused; the `Display` text is the French message shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Too long, or empty.
    #[error("L'adresse e-mail doit contenir entre 3 et 254 caractères.")]
    Length,
    /// Invisible or direction-changing characters.
    #[error("L'adresse e-mail contient des caractères invisibles ou de contrôle : saisissez-la à nouveau.")]
    Invisible,
    /// Not of the form local@domain.
    #[error("L'adresse e-mail n'est pas valide (exemple : prenom.nom@exemple.fr).")]
    Shape,
}

/// The canonical form of an address: NFKC, then upper case and lower case (a case fold: the
/// dotless `ı` and `I` meet `i`), then NFKC again (case mapping can denormalise); refuses
/// zero-width, bidi and other format or control characters.
pub fn canonical_email(raw: &str) -> Result<String, EmailError> {
    let trimmed = raw.trim();
    if trimmed.len() > MAX_EMAIL_BYTES || trimmed.len() < 3 {
        return Err(EmailError::Length);
    }
    if trimmed.chars().any(is_invisible) {
        return Err(EmailError::Invisible);
    }
    // Upper then lower case folds what lowercase alone keeps apart (dotless ı, long ſ, ß → ss).
    let folded: String = trimmed.nfkc().collect::<String>().to_uppercase().to_lowercase().nfkc().collect();
    if folded.chars().any(is_invisible) {
        return Err(EmailError::Invisible);
    }
    let (local, domain) = folded.rsplit_once('@').ok_or(EmailError::Shape)?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !folded.chars().any(char::is_whitespace);
    if !valid || folded.len() > MAX_EMAIL_BYTES {
        return Err(EmailError::Shape);
    }
    Ok(folded)
}

/// Controls, and the characters that show nothing: Unicode's Default_Ignorable_Code_Point (which
/// includes plane 14's tags and variation selectors, T31 found `U+E0820` let through) and the
/// format controls of hieroglyphs.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_collide_with_the_plain_form() {
        let plain = canonical_email("admin@example.org").unwrap();
        assert_eq!(canonical_email("ＡＤＭＩＮ@example.org").unwrap(), plain);
        assert_eq!(canonical_email(" Admin@Example.ORG ").unwrap(), plain);
        assert_eq!(canonical_email("\u{212A}arim@x.fr").unwrap(), canonical_email("karim@x.fr").unwrap());
        assert_eq!(canonical_email("\u{017F}ophie@x.fr").unwrap(), canonical_email("sophie@x.fr").unwrap());
        assert_eq!(canonical_email("\u{FB01}nance@x.fr").unwrap(), canonical_email("finance@x.fr").unwrap());
        assert_eq!(canonical_email("he\u{301}le\u{300}ne@x.fr").unwrap(), canonical_email("hélène@x.fr").unwrap());
        assert_eq!(canonical_email("\u{131}nfo@x.fr").unwrap(), canonical_email("info@x.fr").unwrap());
        assert_eq!(canonical_email("HÉLÈNE@X.FR").unwrap(), "hélène@x.fr");
    }

    #[test]
    fn invisible_and_oversized_input_is_refused() {
        assert_eq!(canonical_email("ad\u{200B}min@x.fr"), Err(EmailError::Invisible));
        for c in ['\u{E0100}', '\u{E01EF}', '\u{E0820}', '\u{1D173}', '\u{1BCA0}', '\u{13430}'] {
            assert_eq!(canonical_email(&format!("admin{c}@x.fr")), Err(EmailError::Invisible), "U+{:X}", u32::from(c));
        }
        assert_eq!(canonical_email("\u{202E}admin@x.fr"), Err(EmailError::Invisible));
        assert_eq!(canonical_email(&"a".repeat(100_000)), Err(EmailError::Length));
        assert_eq!(canonical_email("pas-une-adresse"), Err(EmailError::Shape));
        assert_eq!(canonical_email("a b@x.fr"), Err(EmailError::Shape));
    }
}
