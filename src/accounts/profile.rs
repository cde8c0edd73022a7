//! The identity and contact of a professional (ACC-1, ACC-2): the fields, their checks and
//! the French messages of each, shared by registration, "Mon compte" and the back office.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::users;
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// The professions offered (code, label). "Autre" covers the rest; RPPS applies to the
/// professions registered in it.
pub const PROFESSIONS: &[(&str, &str, bool)] = &[
    ("medecin", "Médecin", true),
    ("infirmier", "Infirmier ou infirmière", true),
    ("pharmacien", "Pharmacien ou pharmacienne", true),
    ("masseur_kinesitherapeute", "Masseur-kinésithérapeute", true),
    ("sage_femme", "Sage-femme", true),
    ("chirurgien_dentiste", "Chirurgien-dentiste", true),
    ("orthophoniste", "Orthophoniste", true),
    ("ergotherapeute", "Ergothérapeute", true),
    ("psychomotricien", "Psychomotricien ou psychomotricienne", true),
    ("dieteticien", "Diététicien ou diététicienne", true),
    ("psychologue", "Psychologue", false),
    ("aide_soignant", "Aide-soignant ou aide-soignante", false),
    ("assistant_service_social", "Assistant ou assistante de service social", false),
    ("travailleur_social", "Autre travailleur social", false),
    ("coordinateur_parcours", "Coordinateur ou coordinatrice de parcours", false),
    ("cadre_sante", "Cadre de santé", false),
    ("direction_etablissement", "Direction d'établissement ou de service", false),
    ("secretariat_medical", "Secrétariat médical ou administratif", false),
    ("autre", "Autre profession", false),
];

/// The label of a profession code.
pub fn profession_label(code: &str) -> &'static str {
    PROFESSIONS.iter().find(|(c, _, _)| *c == code).map_or("Non renseignée", |(_, l, _)| l)
}

/// Civilités offered.
pub const CIVILITIES: &[(&str, &str)] = &[("mme", "Madame"), ("m", "Monsieur")];

/// The label of a civility code.
pub fn civility_label(code: Option<&str>) -> &'static str {
    CIVILITIES.iter().find(|(c, _)| Some(*c) == code).map_or("", |(_, l)| l)
}

/// The profile fields as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ProfileInput {
    /// `mme`, `m` or empty.
    #[serde(default)]
    pub civility: String,
    /// Prénom.
    #[serde(default)]
    pub given_name: String,
    /// Nom.
    #[serde(default)]
    pub family_name: String,
    /// Profession code.
    #[serde(default)]
    pub profession: String,
    /// RPPS number (optional).
    #[serde(default)]
    pub rpps: String,
    /// Structure.
    #[serde(default)]
    pub structure: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
}

/// Checked profile fields, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Civility code, if given.
    pub civility: Option<String>,
    /// Prénom.
    pub given_name: String,
    /// Nom.
    pub family_name: String,
    /// Profession code.
    pub profession: String,
    /// 11 digits, if given.
    pub rpps: Option<String>,
    /// Structure.
    pub structure: String,
    /// Phone, normalised for display (`01 23 45 67 89` or `+44 …`).
    pub phone: String,
}

/// A field and what is wrong with it (French).
pub type FieldErrors = Vec<(&'static str, String)>;

/// Cleans a text field; `the_field` names it in the messages ("Le prénom"), since they are
/// also listed, out of their context, in the errors summary at the top of the form.
fn clean(s: &str, max: usize, the_field: &str) -> Result<String, String> {
    let t = s.trim();
    if t.chars().any(|c| c.is_control()) {
        return Err(format!("{the_field} contient des caractères non autorisés."));
    }
    if t.chars().count() > max {
        return Err(format!("{the_field} ne peut dépasser {max} caractères."));
    }
    Ok(t.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Checks every field and reports all problems at once.
pub fn validate(input: &ProfileInput) -> Result<Profile, FieldErrors> {
    let mut errors = FieldErrors::new();
    // A required text field: (name, value, max length, what to enter, the field in a sentence).
    let mut field = |name: &'static str, value: &str, max: usize, missing: &str, the_field: &str| -> String {
        match clean(value, max, the_field) {
            Ok(v) if v.is_empty() => {
                errors.push((name, format!("Indiquez {missing}.")));
                v
            }
            Ok(v) => v,
            Err(e) => {
                errors.push((name, e));
                String::new()
            }
        }
    };
    let given_name = field("given_name", &input.given_name, 100, "votre prénom", "Le prénom");
    let family_name = field("family_name", &input.family_name, 100, "votre nom", "Le nom");
    let structure = field("structure", &input.structure, 200, "votre structure d'exercice", "La structure d'exercice");
    let phone_raw = field("phone", &input.phone, 30, "votre numéro de téléphone", "Le numéro de téléphone");
    let civility = match input.civility.trim() {
        "" => None,
        c if CIVILITIES.iter().any(|(k, _)| *k == c) => Some(c.to_owned()),
        _ => {
            errors.push(("civility", "Choisissez une civilité dans la liste.".into()));
            None
        }
    };
    let profession = input.profession.trim().to_owned();
    if !PROFESSIONS.iter().any(|(c, _, _)| *c == profession) {
        errors.push(("profession", "Choisissez votre profession dans la liste.".into()));
    }
    let rpps_digits: String = input.rpps.chars().filter(|c| !c.is_whitespace()).collect();
    let rpps = if rpps_digits.is_empty() {
        None
    } else if rpps_digits.len() == 11 && rpps_digits.bytes().all(|b| b.is_ascii_digit()) {
        Some(rpps_digits)
    } else {
        errors.push(("rpps", "Le numéro RPPS compte 11 chiffres (exemple : 10001234567).".into()));
        None
    };
    let phone = if phone_raw.is_empty() {
        String::new()
    } else {
        match normalise_phone(&phone_raw) {
            Some(p) => p,
            None => {
                errors.push((
                    "phone",
                    "Le numéro de téléphone n'est pas valide (exemple : 01 23 45 67 89 ou +33 1 23 45 67 89).".into(),
                ));
                String::new()
            }
        }
    };
    if errors.is_empty() {
        Ok(Profile { civility, given_name, family_name, profession, rpps, structure, phone })
    } else {
        // In the order of the form, so that the summary reads like the page.
        const ORDER: [&str; 7] = ["civility", "given_name", "family_name", "profession", "rpps", "structure", "phone"];
        errors.sort_by_key(|(f, _)| ORDER.iter().position(|o| o == f).unwrap_or(ORDER.len()));
        Err(errors)
    }
}

/// A French number (`0X XX XX XX XX`, `+33 X …`, `0033 X …`) in the national display form, or
/// another international number (`+` and 9 to 15 digits) kept as `+` and digits.
pub fn normalise_phone(raw: &str) -> Option<String> {
    let kept: String = raw.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}')).collect();
    let (plus, digits) = match kept.strip_prefix('+') {
        Some(rest) => (true, rest.to_owned()),
        None => match kept.strip_prefix("00") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, kept),
        },
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let national = if plus {
        match digits.strip_prefix("33") {
            Some(rest) if rest.len() == 9 => format!("0{rest}"),
            Some(_) => return None,
            None if (9..=15).contains(&digits.len()) => return Some(format!("+{digits}")),
            None => return None,
        }
    } else {
        digits
    };
    if national.len() != 10 || !national.starts_with('0') || national.as_bytes()[1] == b'0' {
        return None;
    }
    let pairs: Vec<&str> = (0..5).map(|i| &national[i * 2..i * 2 + 2]).collect();
    Some(pairs.join(" "))
}

/// Stores a checked profile and journals the change; call inside a write transaction.
pub fn update_profile(c: &mut DbConn, ctx: &AccessContext, user_id: i64, p: &Profile) -> QueryResult<()> {
    let now: NaiveDateTime = ctx.at.naive_utc();
    diesel::update(users::table.find(user_id))
        .set((
            users::civility.eq(&p.civility),
            users::given_name.eq(&p.given_name),
            users::family_name.eq(&p.family_name),
            users::profession.eq(&p.profession),
            users::rpps.eq(&p.rpps),
            users::structure.eq(&p.structure),
            users::phone.eq(&p.phone),
            users::updated_at.eq(now),
        ))
        .execute(c)?;
    journal::record(c, ctx, Action::Modification, Object::new("user", user_id), Outcome::Success).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProfileInput {
        ProfileInput {
            civility: "mme".into(),
            given_name: " Hélène ".into(),
            family_name: "Martin".into(),
            profession: "infirmier".into(),
            rpps: "100 0123 4567".into(),
            structure: "Centre de santé  de Colombes".into(),
            phone: "+33 6.12.34.56.78".into(),
        }
    }

    #[test]
    fn fields_are_cleaned_and_normalised() {
        let p = validate(&input()).unwrap();
        assert_eq!(p.given_name, "Hélène");
        assert_eq!(p.structure, "Centre de santé de Colombes");
        assert_eq!(p.rpps.as_deref(), Some("10001234567"));
        assert_eq!(p.phone, "06 12 34 56 78");
        assert_eq!(normalise_phone("0033 1 23 45 67 89").as_deref(), Some("01 23 45 67 89"));
        assert_eq!(normalise_phone("+44 20 7946 0958").as_deref(), Some("+442079460958"));
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let bad = ProfileInput {
            civility: "dr".into(),
            given_name: String::new(),
            family_name: "x".repeat(101),
            profession: "astronaute".into(),
            rpps: "1234".into(),
            structure: "Cabinet\u{7}".into(),
            phone: "12".into(),
        };
        let errors = validate(&bad).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        for f in ["civility", "given_name", "family_name", "profession", "rpps", "structure", "phone"] {
            assert!(fields.contains(&f), "{f} not reported: {fields:?}");
        }
        // Each message names its field: the errors summary lists them out of context.
        let message = |f: &str| errors.iter().find(|(n, _)| *n == f).map(|(_, m)| m.as_str());
        assert_eq!(message("given_name"), Some("Indiquez votre prénom."));
        assert_eq!(message("family_name"), Some("Le nom ne peut dépasser 100 caractères."));
        assert_eq!(message("structure"), Some("La structure d'exercice contient des caractères non autorisés."));
        assert_eq!(normalise_phone("00 12 34 56 78"), None);
        assert_eq!(normalise_phone("+33 6 12"), None);
    }
}
