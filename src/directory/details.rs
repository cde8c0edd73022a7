//! What the sheet of an offer shows beyond its searchable columns (DIR-2), kept as JSON text in
//! `dir_offers.details` and written by the FHIR import: the legal entity and the unit, the type
//! d'offre, every contact with its confidentiality level, opening hours, the intervention zone,
//! capacities with their update date, and closing dates.
//!
//! Who may see a contact (DIR-4) follows its TRE_R283 level ([`Access`]): `1` accès libre is
//! public; `2` accès restreint is for logged-in professionals; `3` accès très restreint is for
//! regulation and crisis management (SAMU), a role the portal does not have, so it is never shown.
//! A level that is not stated on an offer's contact is treated as `2` (the ROR makes it mandatory:
//! its absence is a defect, and the safe reading is the restricted one); the telephone of the
//! establishment itself (its FHIR `Organization.telecom`, the switchboard FINESS publishes) is
//! public when no level is stated.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use super::fhir::{FhirHealthcareService, FhirOrganization, HumanName, ServiceContact, Telecom};
use super::offers::Label;

/// Who may see a contact (DIR-4), ordered from the most open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone (`1` accès libre).
    Public,
    /// Logged-in professionals (`2` accès restreint, or no level stated on an offer's contact).
    Professionals,
    /// Regulation and crisis management only (`3` accès très restreint): never shown here.
    Regulation,
}

impl Access {
    /// The access of a TRE_R283 code; a code outside the table counts as restricted.
    fn of_code(code: &str) -> Self {
        match code {
            "1" => Access::Public,
            "3" => Access::Regulation,
            _ => Access::Professionals,
        }
    }

    /// The level as the sheet names it.
    pub fn label(self) -> &'static str {
        match self {
            Access::Public => "Accès libre",
            Access::Professionals => "Réservé aux professionnels",
            Access::Regulation => "Réservé à la régulation",
        }
    }
}

/// One telephone, e-mail address or website of an offer or of its site.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ContactPoint {
    /// Nature or function of the contact (« Standard », « Secrétariat »…), as labelled.
    pub nature: Option<String>,
    /// Whether the nature or the function is coded (the ANS completeness rule asks for it).
    pub nature_coded: bool,
    /// The person's name, when the contact is a person.
    pub name: Option<String>,
    /// `phone`, `email`, `url`, `fax`, or what the source says.
    pub system: Option<String>,
    /// Channel code (TRE_R200), when given.
    pub channel: Option<String>,
    /// The number or address.
    pub value: String,
    /// Level stated on the telecom itself (TRE_R283 code).
    pub telecom_level: Option<String>,
    /// Level stated on the whole contact (TRE_R283 code).
    pub contact_level: Option<String>,
    /// Borne by the site (the establishment's switchboard), not by the offer.
    pub from_site: bool,
}

impl ContactPoint {
    /// Who may see it: the strictest level stated on the contact or its telecom (see the module).
    pub fn access(&self) -> Access {
        let stated = [&self.telecom_level, &self.contact_level].into_iter().flatten().map(|c| Access::of_code(c)).max();
        match stated {
            Some(a) => a,
            None if self.from_site => Access::Public,
            None => Access::Professionals,
        }
    }

    /// What kind of contact it is, in French.
    pub fn kind_label(&self) -> &'static str {
        match self.system.as_deref() {
            Some("phone") => "Téléphone",
            Some("email") => "Adresse e-mail",
            Some("url") => "Site internet",
            Some("fax") => "Télécopie",
            _ => "Contact",
        }
    }

    /// The link target of the value (`tel:`, `mailto:`, or the website when it is http(s)).
    pub fn href(&self) -> Option<String> {
        match self.system.as_deref() {
            Some("phone") => Some(format!("tel:{}", self.value.replace(' ', ""))),
            Some("email") => Some(format!("mailto:{}", self.value)),
            Some("url") if self.value.starts_with("https://") || self.value.starts_with("http://") => {
                Some(self.value.clone())
            }
            _ => None,
        }
    }

    /// Whether it meets the contact criterion of the ANS completeness rule: a coded nature or
    /// function, a channel, a value and a confidentiality level on the telecom.
    pub fn meets_ans_rule(&self) -> bool {
        !self.from_site
            && self.nature_coded
            && (self.channel.is_some() || self.system.is_some())
            && !self.value.trim().is_empty()
            && self.telecom_level.is_some()
    }
}

/// One opening slot (`availableTime`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OpeningSlot {
    /// FHIR days, `mon` … `sun`.
    pub days: Vec<String>,
    /// Open all day.
    pub all_day: bool,
    /// Opening time.
    pub start: Option<NaiveTime>,
    /// Closing time.
    pub end: Option<NaiveTime>,
    /// Kind of slot (« Horaire d'ouverture »…), when labelled.
    pub kind: Option<String>,
    /// First day it applies.
    pub from: Option<NaiveDate>,
    /// Last day it applies.
    pub until: Option<NaiveDate>,
}

impl OpeningSlot {
    /// « Du lundi au vendredi, de 9 h 00 à 17 h 00 », « Tous les jours, 24 h sur 24 ».
    pub fn describe(&self) -> String {
        const DAYS: [(&str, &str); 7] = [
            ("mon", "lundi"),
            ("tue", "mardi"),
            ("wed", "mercredi"),
            ("thu", "jeudi"),
            ("fri", "vendredi"),
            ("sat", "samedi"),
            ("sun", "dimanche"),
        ];
        let idx: Vec<usize> =
            DAYS.iter().enumerate().filter(|(_, d)| self.days.iter().any(|x| x == d.0)).map(|(i, _)| i).collect();
        let contiguous = idx.windows(2).all(|w| w[1] == w[0] + 1);
        let days = match idx.as_slice() {
            [] => "Jours non précisés".to_owned(),
            [one] => format!("Le {}", DAYS[*one].1),
            all if all.len() == 7 => "Tous les jours".to_owned(),
            [first, .., last] if contiguous => format!("Du {} au {}", DAYS[*first].1, DAYS[*last].1),
            some => {
                let names: Vec<&str> = some.iter().map(|i| DAYS[*i].1).collect();
                let (last, rest) = names.split_last().expect("at least two days");
                let mut s = format!("Le {} et le {last}", rest.join(", le "));
                if let Some(first) = s.get(..1) {
                    s = format!("{}{}", first.to_uppercase(), &s[1..]);
                }
                s
            }
        };
        let hm = |t: NaiveTime| t.format("%H h %M").to_string();
        let hours = match (self.all_day, self.start, self.end) {
            (true, _, _) => "24 h sur 24".to_owned(),
            (false, Some(a), Some(b)) => format!("de {} à {}", hm(a), hm(b)),
            (false, Some(a), None) => format!("à partir de {}", hm(a)),
            (false, None, Some(b)) => format!("jusqu'à {}", hm(b)),
            (false, None, None) => "horaires non précisés".to_owned(),
        };
        format!("{days}, {hours}")
    }
}

/// One capacity record of the place of an offer (DOMAIN.md §1.4): always shown with its date.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct CapacityRow {
    /// « Lit » or « Place ».
    pub nature: String,
    /// « Installé », « Disponible »…
    pub status: String,
    /// Temporality, when labelled.
    pub temporality: Option<String>,
    /// How many.
    pub count: u32,
    /// When the count was given (`capacityUpdateDate`, UTC).
    pub updated_at: Option<NaiveDateTime>,
}

/// The sheet data of an offer (the `details` column).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OfferDetails {
    /// Name of the legal entity (EJ).
    pub entity: Option<String>,
    /// Name of the unit providing the offer, when it is not the site itself.
    pub unit: Option<String>,
    /// Champ d'activité code (TRE_R227).
    pub activity_field_code: Option<String>,
    /// Types d'offre / catégories d'organisation (TRE_R244).
    pub offer_categories: Vec<Label>,
    /// Contacts of the offer, then of its site.
    pub contacts: Vec<ContactPoint>,
    /// Opening hours.
    pub opening_hours: Vec<OpeningSlot>,
    /// Intervention zone (commune, département… codes and labels).
    pub zones: Vec<Label>,
    /// Capacities of its place: not stored here any more (the rows of `dir_capacities` are, see
    /// [`super::capacities`]); the sheet fills it from them.
    pub capacities: Vec<CapacityRow>,
    /// Start of a closure.
    pub closed_from: Option<NaiveDate>,
    /// Planned reopening.
    pub reopening_on: Option<NaiveDate>,
}

impl OfferDetails {
    /// The stored JSON, read (an unreadable or empty value gives empty details).
    pub fn parse(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The first telephone anyone may see: the public one of search results.
    pub fn public_phone(&self) -> Option<String> {
        self.contacts
            .iter()
            .find(|c| c.system.as_deref() == Some("phone") && c.access() == Access::Public)
            .map(|c| c.value.clone())
    }
}

fn name_text(n: &HumanName) -> Option<String> {
    n.text.clone().or_else(|| {
        let parts: Vec<&str> =
            n.prefix.iter().chain(n.given.iter()).map(String::as_str).chain(n.family.as_deref()).collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

fn point(t: &Telecom, contact: Option<&ServiceContact>, from_site: bool) -> ContactPoint {
    let nature = contact.and_then(|c| c.purpose.as_ref().or(c.function.as_ref()));
    ContactPoint {
        nature: nature.map(|n| n.display.clone().unwrap_or_else(|| n.code.clone())),
        nature_coded: nature.is_some_and(|n| !n.code.is_empty()),
        name: contact.and_then(|c| c.name.as_ref()).and_then(name_text),
        system: t.system.clone(),
        channel: t.channel.as_ref().map(|c| c.code.clone()),
        value: t.value.clone(),
        telecom_level: t.confidentiality.as_ref().map(|c| c.code.clone()),
        contact_level: contact.and_then(|c| c.confidentiality.as_ref()).map(|c| c.code.clone()),
        from_site,
    }
}

/// The sources an offer's details come from.
pub(super) struct Sources<'a> {
    /// The offer.
    pub service: &'a FhirHealthcareService,
    /// The organisation providing it (EG or OI).
    pub provider: Option<&'a FhirOrganization>,
    /// Its site (the EG).
    pub site: Option<&'a FhirOrganization>,
    /// The site's legal entity (EJ).
    pub entity: Option<&'a FhirOrganization>,
}

/// Builds the details; `label` names a coding (its display, else the NOS label, else the code).
pub(super) fn from_fhir(src: &Sources<'_>, label: &dyn Fn(&super::fhir::Coding) -> String) -> OfferDetails {
    let s = src.service;
    let labels = |codings: &[super::fhir::Coding]| -> Vec<Label> {
        codings.iter().map(|c| Label { code: c.code.clone(), label: label(c) }).collect()
    };
    let contacts = s
        .telecoms
        .iter()
        .map(|t| point(t, None, false))
        .chain(s.contacts.iter().flat_map(|c| c.telecoms.iter().map(move |t| point(t, Some(c), false))))
        .chain(src.site.map(|o| o.telecoms.as_slice()).unwrap_or(&[]).iter().map(|t| point(t, None, true)))
        .collect();
    let opening_hours = s
        .available_times
        .iter()
        .map(|t| OpeningSlot {
            days: t.days_of_week.clone(),
            all_day: t.all_day.unwrap_or(false),
            start: t.start,
            end: t.end,
            kind: t.time_type.as_ref().and_then(|c| c.display.clone()),
            from: t.effective_from,
            until: t.effective_until,
        })
        .collect();
    let unit = src.provider.filter(|p| src.site.is_none_or(|site| site.id != p.id)).and_then(|p| p.name.clone());
    OfferDetails {
        entity: src.entity.and_then(|e| e.name.clone()),
        unit,
        activity_field_code: s.activity_fields.first().map(|c| c.code.clone()),
        offer_categories: labels(&s.categories),
        contacts,
        opening_hours,
        zones: s
            .intervention_zones
            .iter()
            .map(|z| Label {
                code: z.code.code.clone(),
                label: z.code.display.clone().unwrap_or_else(|| z.code.code.clone()),
            })
            .collect(),
        capacities: Vec::new(),
        closed_from: s.closed_from,
        reopening_on: s.reopening_on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(telecom: Option<&str>, contact: Option<&str>, from_site: bool) -> ContactPoint {
        ContactPoint {
            system: Some("phone".into()),
            value: "0199000000".into(),
            telecom_level: telecom.map(str::to_owned),
            contact_level: contact.map(str::to_owned),
            from_site,
            ..Default::default()
        }
    }

    #[test]
    fn the_strictest_stated_level_wins_and_silence_is_restricted_except_for_the_site() {
        assert_eq!(contact(Some("1"), None, false).access(), Access::Public);
        assert_eq!(contact(Some("1"), Some("2"), false).access(), Access::Professionals);
        assert_eq!(contact(Some("3"), Some("1"), false).access(), Access::Regulation);
        assert_eq!(contact(Some("9"), None, false).access(), Access::Professionals);
        assert_eq!(contact(None, None, false).access(), Access::Professionals);
        assert_eq!(contact(None, None, true).access(), Access::Public);
        assert_eq!(contact(Some("2"), None, true).access(), Access::Professionals);
    }

    #[test]
    fn opening_slots_read_as_french_sentences() {
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0);
        let days = |d: &[&str]| d.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let slot =
            |d: &[&str], all_day, start, end| OpeningSlot { days: days(d), all_day, start, end, ..Default::default() };
        assert_eq!(
            slot(&["mon", "tue", "wed", "thu", "fri"], false, t(9), t(17)).describe(),
            "Du lundi au vendredi, de 09 h 00 à 17 h 00"
        );
        let week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        assert_eq!(slot(&week, true, None, None).describe(), "Tous les jours, 24 h sur 24");
        assert_eq!(slot(&["sat"], false, t(8), None).describe(), "Le samedi, à partir de 08 h 00");
        assert_eq!(
            slot(&["mon", "wed", "fri"], false, t(14), t(18)).describe(),
            "Le lundi, le mercredi et le vendredi, de 14 h 00 à 18 h 00"
        );
    }
}
