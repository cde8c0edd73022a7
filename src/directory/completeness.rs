//! The completeness score of a directory entry, shown on its sheet with the fields it lacks.
//!
//! **Offers** follow the ANS rule for a unit of the ROR (« peuplement finalisé »), as the ANS
//! computes it in `ansforge/ROR-indicateurs-BI-SQL`, `view_V_DIM_SuiviPeuplementROR_UE.sql`
//! (version 1.3 of the view, commit 0caede3987e0d524966a5ef2852c56d455dae091; DOMAIN.md §1.2, S10).
//! A unit is complete when it has:
//!
//! 1. a champ d'activité (a TRE_R227 code);
//! 2. at least one activité opérationnelle (a TRE_R211 code);
//! 3. a mode de prise en charge (a TRE_R213 code);
//! 4. an age range: both a minimum and a maximum age;
//! 5. an address: a street (or lieu-dit), a postal code and a town;
//! 6. at least one contact of the unit with a coded nature or function, a channel, a value and a
//!    confidentiality level on the telecom;
//! 7. only for units of establishments of categories 209 (SPASAD), 354 (SSIAD) and 460 (SAAD), the
//!    « services PA-PH » of the ANS views: a catégorie d'organisation (type d'offre, TRE_R244).
//!
//! The ANS checks that codes belong to the national nomenclature: so do we, against the NOS tables
//! loaded (`atomes directory nomenclatures`); when a table is not loaded, any code counts.
//! The ANS view gives a status (« finalisé » when every criterion is met, « en cours » when some
//! are, « à faire » when none is). The score is ours: the share of the criteria that apply which
//! are met, each weighing the same (6 or 7 criteria), rounded down to a whole percentage.
//!
//! **Establishments** from FINESS are not units and the ANS rule does not apply to them as such.
//! Their score applies the portal's own rule, built from the criteria of the ANS rule that an
//! establishment record carries: a category (TRE_R66), an address (same test as criterion 5), a
//! telephone, and a map position (needed for the search by distance); equal weights.

use std::collections::HashSet;

use diesel::QueryResult;

use super::details::OfferDetails;
use super::fhir::{SYSTEM_ACTIVITE_OPERATIONNELLE, SYSTEM_CHAMP_ACTIVITE, SYSTEM_MODE_PRISE_EN_CHARGE};
use super::model::Site;
use super::nomenclature;
use super::offers::Offer;
use crate::db::DbConn;

/// Establishment categories whose units must also state their catégorie d'organisation (ANS rule).
const CATEGORY_REQUIRED_FOR: [&str; 3] = ["209", "354", "460"];

/// One criterion of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    /// What is checked, as the sheet names it.
    pub label: &'static str,
    /// Whether the entry meets it.
    pub met: bool,
}

/// Which rule scored an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The ANS rule for a unit of the ROR.
    AnsUnit,
    /// The portal's rule for an establishment.
    Establishment,
}

/// The score of an entry, criterion by criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completeness {
    /// The rule applied.
    pub rule: Rule,
    /// The criteria that apply, in the rule's order.
    pub criteria: Vec<Criterion>,
}

impl Completeness {
    /// The share of criteria met, 0 to 100 (rounded down).
    pub fn percent(&self) -> u32 {
        let met = self.criteria.iter().filter(|c| c.met).count();
        (met * 100).checked_div(self.criteria.len()).unwrap_or(0) as u32
    }

    /// The criteria not met.
    pub fn missing(&self) -> Vec<&'static str> {
        self.criteria.iter().filter(|c| !c.met).map(|c| c.label).collect()
    }

    /// The ANS status words: « finalisé », « en cours », « à faire ».
    pub fn status(&self) -> &'static str {
        match self.criteria.iter().filter(|c| c.met).count() {
            n if n == self.criteria.len() => "finalisé",
            0 => "à faire",
            _ => "en cours",
        }
    }
}

/// The codes of the national nomenclatures an offer uses that are known, per table (`None`: the
/// table is not loaded, any code counts).
#[derive(Debug, Clone, Default)]
pub struct KnownCodes {
    /// TRE_R227.
    pub activity_fields: Option<HashSet<String>>,
    /// TRE_R211.
    pub activities: Option<HashSet<String>>,
    /// TRE_R213.
    pub care_modes: Option<HashSet<String>>,
}

impl KnownCodes {
    /// Looks up the codes of one offer.
    pub fn of_offer(conn: &mut DbConn, offer: &Offer, details: &OfferDetails) -> QueryResult<Self> {
        let codes = |json: &str| Offer::labels(json).into_iter().map(|l| l.code).collect::<Vec<_>>();
        let (activities, modes) = (codes(&offer.activities), codes(&offer.care_modes));
        fn refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let field: Vec<&str> = details.activity_field_code.as_deref().into_iter().collect();
        Ok(Self {
            activity_fields: nomenclature::known_codes(conn, SYSTEM_CHAMP_ACTIVITE, &field)?,
            activities: nomenclature::known_codes(conn, SYSTEM_ACTIVITE_OPERATIONNELLE, &refs(&activities))?,
            care_modes: nomenclature::known_codes(conn, SYSTEM_MODE_PRISE_EN_CHARGE, &refs(&modes))?,
        })
    }
}

fn valid(code: &str, known: &Option<HashSet<String>>) -> bool {
    !code.trim().is_empty() && known.as_ref().is_none_or(|k| k.contains(code))
}

fn filled(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.trim().is_empty())
}

fn has_address(street: &Option<String>, postal_code: &Option<String>, city: &Option<String>) -> bool {
    filled(street) && filled(postal_code) && filled(city)
}

/// The score of an offer (the ANS unit rule).
pub fn of_offer(offer: &Offer, details: &OfferDetails, known: &KnownCodes) -> Completeness {
    let any_valid = |json: &str, k: &Option<HashSet<String>>| Offer::labels(json).iter().any(|l| valid(&l.code, k));
    let mut criteria = vec![
        Criterion {
            label: "Champ d'activité",
            met: details.activity_field_code.as_deref().is_some_and(|c| valid(c, &known.activity_fields)),
        },
        Criterion { label: "Activité opérationnelle", met: any_valid(&offer.activities, &known.activities) },
        Criterion { label: "Mode de prise en charge", met: any_valid(&offer.care_modes, &known.care_modes) },
        Criterion { label: "Âges minimum et maximum", met: offer.age_min.is_some() && offer.age_max.is_some() },
        Criterion { label: "Adresse", met: has_address(&offer.address_line, &offer.postal_code, &offer.city) },
        Criterion {
            label: "Contact avec sa nature, son canal et son niveau de confidentialité",
            met: details.contacts.iter().any(|c| c.meets_ans_rule()),
        },
    ];
    if offer.category_code.as_deref().is_some_and(|c| CATEGORY_REQUIRED_FOR.contains(&c)) {
        criteria.push(Criterion {
            label: "Catégorie d'organisation",
            met: details.offer_categories.iter().any(|c| !c.code.trim().is_empty()),
        });
    }
    Completeness { rule: Rule::AnsUnit, criteria }
}

/// The score of an establishment (the portal's rule, see the module).
pub fn of_site(site: &Site) -> Completeness {
    let criteria = vec![
        Criterion { label: "Catégorie d'établissement", met: filled(&site.category_code) },
        Criterion { label: "Adresse", met: has_address(&site.address_line, &site.postal_code, &site.city) },
        Criterion { label: "Téléphone", met: filled(&site.phone) },
        Criterion { label: "Position géographique", met: site.lat.is_some() && site.lon.is_some() },
    ];
    Completeness { rule: Rule::Establishment, criteria }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(met: &[bool]) -> Completeness {
        let criteria = met.iter().map(|m| Criterion { label: "x", met: *m }).collect();
        Completeness { rule: Rule::AnsUnit, criteria }
    }

    #[test]
    fn the_score_is_the_share_of_criteria_met_rounded_down() {
        assert_eq!((score(&[true; 6]).percent(), score(&[true; 6]).status()), (100, "finalisé"));
        assert_eq!(score(&[true, true, true, true, true, false]).percent(), 83);
        assert_eq!(score(&[true, false, false, false, false, false, false]).percent(), 14);
        assert_eq!((score(&[false; 6]).percent(), score(&[false; 6]).status()), (0, "à faire"));
        assert_eq!(score(&[true, false]).status(), "en cours");
        assert_eq!(score(&[]).percent(), 0);
    }

    #[test]
    fn codes_are_checked_only_against_a_loaded_table() {
        let known: Option<HashSet<String>> = Some(["157".to_owned()].into_iter().collect());
        assert!(valid("157", &known));
        assert!(!valid("999", &known));
        assert!(valid("999", &None));
        assert!(!valid(" ", &None));
    }
}
