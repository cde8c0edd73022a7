//! Local entries of the directory (issue 4): offers a DAC's administrators enter and edit
//! themselves (source `local`: an association, a support group, a resource the ROR does not
//! list). They live in `dir_offers` beside the imported offers, so that search, sheets and the
//! index treat them alike; imports only ever touch their own source (`ror`), and an imported
//! offer is never edited here (the next import would overwrite the edit).
//!
//! Every create, edit, close and reopen is journaled and fed to the change feed in the
//! transaction that writes it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::details::{ContactPoint, OfferDetails};
use super::geo::haversine_km;
use super::nomenclature::{self, CATEGORY_SYSTEM};
use super::offers::{Label, Offer, RorDetails};
use super::search::places::Places;
use super::search::text::fold_words;
use super::sheet::JOURNAL_OFFER;
use crate::accounts::profile::{FieldErrors, normalise_phone};
use crate::db::DbConn;
use crate::db::schema::dir_offers;
use crate::journal::{self, AccessContext, Action, Object, Outcome};

/// The source name of local entries.
pub const LOCAL: &str = "local";

/// Activités opérationnelles (TRE_R211).
pub const ACTIVITY_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R211-ActiviteOperationnelle/FHIR/TRE-R211-ActiviteOperationnelle";
/// Modes de prise en charge (TRE_R213).
pub const CARE_MODE_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R213-ModePriseEnCharge/FHIR/TRE-R213-ModePriseEnCharge";
/// Champs d'activité (TRE_R227).
pub const ACTIVITY_FIELD_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R227-ChampActivite/FHIR/TRE-R227-ChampActivite";
/// Publics pris en charge (TRE_R239).
pub const PUBLIC_SYSTEM: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R239-PublicPrisEnCharge/FHIR/TRE-R239-PublicPrisEnCharge";

/// A position given by hand farther than this from its commune's centre is refused (a typo, or
/// latitude and longitude swapped).
const MAX_KM_FROM_COMMUNE: f64 = 30.0;

/// What only a local entry has (column `local_details`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LocalDetails {
    /// Who the entry is for, what it offers.
    pub description: Option<String>,
    /// Opening hours, as the administrator wrote them.
    pub opening_hours: Option<String>,
    /// Telephone, as normalised (also in the contacts).
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Whether the telephone and e-mail are public (else for logged-in professionals, DIR-4).
    pub contact_public: bool,
    /// Latitude and longitude were given by hand (else the commune's centre).
    pub position_given: bool,
}

impl LocalDetails {
    /// The stored JSON, read.
    pub fn parse(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// The form of a local entry, as typed (kept as is to show it again with its errors).
#[derive(Debug, Clone, Default)]
pub struct LocalInput {
    /// Name of the offer.
    pub name: String,
    /// Name of the structure.
    pub site_name: String,
    /// Category (TRE_R66 code).
    pub category: String,
    /// Champ d'activité (TRE_R227 code).
    pub activity_field: String,
    /// Activités (TRE_R211 codes).
    pub activities: Vec<String>,
    /// Modes de prise en charge (TRE_R213 codes).
    pub care_modes: Vec<String>,
    /// Publics (TRE_R239 codes).
    pub publics: Vec<String>,
    /// Youngest age.
    pub age_min: String,
    /// Oldest age.
    pub age_max: String,
    /// Street address.
    pub address: String,
    /// Postal code.
    pub postal_code: String,
    /// Commune: name or INSEE code.
    pub commune: String,
    /// Latitude, optional.
    pub lat: String,
    /// Longitude, optional.
    pub lon: String,
    /// Telephone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// Website.
    pub website: String,
    /// Description.
    pub description: String,
    /// Opening hours, free text.
    pub opening_hours: String,
    /// Sensitive unit.
    pub sensitive: bool,
    /// Public contact.
    pub contact_public: bool,
}

impl LocalInput {
    /// Reads an urlencoded form (multi-valued fields repeat their name).
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut i = Self::default();
        for (k, v) in pairs {
            let v = v.clone();
            match k.as_str() {
                "name" => i.name = v,
                "site_name" => i.site_name = v,
                "category" => i.category = v,
                "activity_field" => i.activity_field = v,
                "activities" => i.activities.push(v),
                "care_modes" => i.care_modes.push(v),
                "publics" => i.publics.push(v),
                "age_min" => i.age_min = v,
                "age_max" => i.age_max = v,
                "address" => i.address = v,
                "postal_code" => i.postal_code = v,
                "commune" => i.commune = v,
                "lat" => i.lat = v,
                "lon" => i.lon = v,
                "phone" => i.phone = v,
                "email" => i.email = v,
                "website" => i.website = v,
                "description" => i.description = v,
                "opening_hours" => i.opening_hours = v,
                "sensitive" => i.sensitive = v == "1",
                "contact_public" => i.contact_public = v == "1",
                _ => {}
            }
        }
        i.activities.retain(|c| !c.is_empty());
        i.care_modes.retain(|c| !c.is_empty());
        i.publics.retain(|c| !c.is_empty());
        i
    }

    /// The form of a stored entry.
    pub fn of_offer(o: &Offer) -> Self {
        let local = LocalDetails::parse(&o.local_details);
        let details = o.details();
        let codes = |json: &str| Offer::labels(json).into_iter().map(|l| l.code).collect();
        let num = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
        let coord = |x: Option<f64>| {
            if local.position_given { x.map(|x| x.to_string()).unwrap_or_default() } else { String::new() }
        };
        Self {
            name: o.name.clone(),
            site_name: o.site_name.clone().unwrap_or_default(),
            category: o.category_code.clone().unwrap_or_default(),
            activity_field: details.activity_field_code.clone().unwrap_or_default(),
            activities: codes(&o.activities),
            care_modes: codes(&o.care_modes),
            publics: codes(&o.publics),
            age_min: num(o.age_min),
            age_max: num(o.age_max),
            address: o.address_line.clone().unwrap_or_default(),
            postal_code: o.postal_code.clone().unwrap_or_default(),
            commune: o.city.clone().unwrap_or_default(),
            lat: coord(o.lat),
            lon: coord(o.lon),
            phone: local.phone.clone().unwrap_or_default(),
            email: local.email.clone().unwrap_or_default(),
            website: local.website.clone().unwrap_or_default(),
            description: local.description.clone().unwrap_or_default(),
            opening_hours: local.opening_hours.clone().unwrap_or_default(),
            sensitive: o.sensitive,
            contact_public: local.contact_public,
        }
    }
}

/// The codes the pickers offer: retired codes are never listed (nor accepted).
#[derive(Debug, Clone, Default)]
pub struct Pickers {
    /// Categories (TRE_R66).
    pub categories: Vec<(String, String)>,
    /// Champs d'activité (TRE_R227).
    pub activity_fields: Vec<(String, String)>,
    /// Activités (TRE_R211).
    pub activities: Vec<(String, String)>,
    /// Modes de prise en charge (TRE_R213).
    pub care_modes: Vec<(String, String)>,
    /// Publics (TRE_R239).
    pub publics: Vec<(String, String)>,
}

impl Pickers {
    /// The active codes of the five systems, sorted by label.
    pub fn load(c: &mut DbConn) -> QueryResult<Self> {
        let mut list = |system: &str| -> QueryResult<Vec<(String, String)>> {
            let mut v = nomenclature::list_active(c, system)?;
            v.sort_by_cached_key(|(code, label)| (fold_words(label).join(" "), code.clone()));
            Ok(v)
        };
        Ok(Self {
            categories: list(CATEGORY_SYSTEM)?,
            activity_fields: list(ACTIVITY_FIELD_SYSTEM)?,
            activities: list(ACTIVITY_SYSTEM)?,
            care_modes: list(CARE_MODE_SYSTEM)?,
            publics: list(PUBLIC_SYSTEM)?,
        })
    }
}

fn label_in(list: &[(String, String)], code: &str) -> Option<Label> {
    list.iter().find(|(c, _)| c == code).map(|(c, l)| Label { code: c.clone(), label: l.clone() })
}

/// The columns a local entry writes.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = dir_offers, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct LocalValues {
    site_name: Option<String>,
    name: String,
    category_code: Option<String>,
    category_label: Option<String>,
    activity_field: Option<String>,
    activities: String,
    care_modes: String,
    publics: String,
    age_min: Option<i32>,
    age_max: Option<i32>,
    address_line: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    commune_insee: Option<String>,
    departement: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    phone: Option<String>,
    sensitive: bool,
    source_updated_at: Option<NaiveDateTime>,
    content_hash: String,
    updated_at: NaiveDateTime,
    details: String,
    ror_details: String,
    local_details: String,
    updated_by: Option<i64>,
}

/// A checked local entry, ready to store.
#[derive(Debug, Clone)]
pub struct LocalEntry {
    values: LocalValues,
}

/// A text field: trimmed, spaces collapsed (or lines kept), no control characters, capped.
fn text(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    max: usize,
    the_field: &str,
    multiline: bool,
) -> Option<String> {
    let t = raw.trim();
    if t.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        errors.push((field, format!("{the_field} contient des caractères non autorisés.")));
        return None;
    }
    if t.chars().count() > max {
        errors.push((field, format!("{the_field} ne peut dépasser {max} caractères.")));
        return None;
    }
    let cleaned = if multiline {
        t.replace("\r\n", "\n")
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        t.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    Some(cleaned).filter(|s| !s.is_empty())
}

/// A decimal number typed with a point or a comma.
fn decimal(raw: &str) -> Option<f64> {
    raw.trim().replace(',', ".").parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The commune typed: an INSEE code, or a name (disambiguated by the postal code when several
/// communes share it), among the communes the directory knows.
fn find_commune(places: &Places, raw: &str, postal_code: Option<&str>) -> Result<String, String> {
    let raw = raw.trim();
    if raw.len() == 5 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) && places.place_of(raw).is_some() {
        return Ok(raw.to_owned());
    }
    let folded = fold_words(raw).join(" ");
    let named = places.codes_named(&folded);
    match named.as_slice() {
        [] => Err(format!(
            "La commune « {raw} » est inconnue de l'annuaire : indiquez son nom exact (exemple : Colombes) ou son code INSEE."
        )),
        [one] => Ok((*one).to_owned()),
        several => {
            match postal_code.and_then(|p| several.iter().find(|i| places.postal_codes_of(i).iter().any(|x| x == p))) {
                Some(i) => Ok((*i).to_owned()),
                None => Err(format!(
                    "Plusieurs communes s'appellent « {raw} » : indiquez son code INSEE ou un code postal qui la distingue."
                )),
            }
        }
    }
}

/// Checks every field of the form and reports all problems at once, in the order of the form.
pub fn validate(input: &LocalInput, pickers: &Pickers, places: &Places) -> Result<LocalEntry, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = text(&mut errors, "name", &input.name, 200, "Le nom", false);
    if name.is_none() && !errors.iter().any(|(f, _)| *f == "name") {
        errors.push(("name", "Indiquez le nom de la ressource.".into()));
    }
    let site_name = text(&mut errors, "site_name", &input.site_name, 200, "Le nom de la structure", false);
    let category = match input.category.trim() {
        "" => None,
        c => match label_in(&pickers.categories, c) {
            Some(l) => Some(l),
            None => {
                errors.push(("category", "Choisissez une catégorie dans la liste.".into()));
                None
            }
        },
    };
    let activity_field = match input.activity_field.trim() {
        "" => None,
        c => match label_in(&pickers.activity_fields, c) {
            Some(l) => Some(l),
            None => {
                errors.push(("activity_field", "Choisissez un champ d'activité dans la liste.".into()));
                None
            }
        },
    };
    if input.category.trim().is_empty() && input.activity_field.trim().is_empty() {
        errors.push(("category", "Choisissez une catégorie ou un champ d'activité.".into()));
    }
    let mut multi = |field: &'static str, codes: &[String], list: &[(String, String)], what: &str| -> Vec<Label> {
        let mut out: Vec<Label> = Vec::new();
        for c in codes {
            match label_in(list, c.trim()) {
                Some(l) if !out.contains(&l) => out.push(l),
                Some(_) => {}
                None => {
                    errors.push((field, format!("Choisissez {what} dans la liste proposée.")));
                    return Vec::new();
                }
            }
        }
        if out.len() > 50 {
            errors.push((field, format!("Choisissez au plus 50 {what}.")));
        }
        out
    };
    let activities = multi("activities", &input.activities, &pickers.activities, "les activités");
    let care_modes = multi("care_modes", &input.care_modes, &pickers.care_modes, "les modes de prise en charge");
    let publics = multi("publics", &input.publics, &pickers.publics, "les publics");
    let mut age = |field: &'static str, raw: &str, which: &str| -> Option<i32> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<i32>() {
            Ok(n) if (0..=120).contains(&n) && raw.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                errors.push((field, format!("L'âge {which} est un nombre entier d'années, entre 0 et 120.")));
                None
            }
        }
    };
    let age_min = age("age_min", &input.age_min, "minimum");
    let age_max = age("age_max", &input.age_max, "maximum");
    if let (Some(a), Some(b)) = (age_min, age_max) {
        if a > b {
            errors.push(("age_max", "L'âge maximum doit être supérieur ou égal à l'âge minimum.".into()));
        }
    }
    let address = text(&mut errors, "address", &input.address, 200, "L'adresse", false);
    let postal_code = match input.postal_code.trim() {
        "" => None,
        p if p.len() == 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.to_owned()),
        _ => {
            errors.push(("postal_code", "Le code postal est composé de 5 chiffres (exemple : 92700).".into()));
            None
        }
    };
    let commune = if input.commune.trim().is_empty() {
        errors.push(("commune", "Indiquez la commune (son nom ou son code INSEE).".into()));
        None
    } else {
        match find_commune(places, &input.commune, postal_code.as_deref()) {
            Ok(insee) => places.place_of(&insee),
            Err(e) => {
                errors.push(("commune", e));
                None
            }
        }
    };
    if let (Some(c), Some(p)) = (&commune, &postal_code) {
        let known = places.postal_codes_of(&c.insee);
        if !known.is_empty() && !known.contains(p) {
            errors.push((
                "postal_code",
                format!("Le code postal {p} ne correspond pas à la commune {} ({}).", c.name, known.join(", ")),
            ));
        }
    }
    let position = match (input.lat.trim(), input.lon.trim()) {
        ("", "") => None,
        (lat, lon) => match (decimal(lat), decimal(lon)) {
            (Some(lat), Some(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {
                match &commune {
                    Some(c) if haversine_km((lat, lon), (c.lat, c.lon)) > MAX_KM_FROM_COMMUNE => {
                        errors.push((
                            "lat",
                            format!(
                                "La position est à plus de {MAX_KM_FROM_COMMUNE:.0} km de {} : vérifiez la latitude et la longitude (ou laissez-les vides).",
                                c.name
                            ),
                        ));
                        None
                    }
                    _ => Some((lat, lon)),
                }
            }
            _ => {
                errors.push((
                    "lat",
                    "Indiquez la latitude et la longitude en degrés décimaux (exemple : 48,9226 et 2,2544), ou laissez-les vides.".into(),
                ));
                None
            }
        },
    };
    let phone = match input.phone.trim() {
        "" => None,
        raw => match normalise_phone(raw) {
            Some(p) => Some(p),
            None => {
                errors.push((
                    "phone",
                    "Le numéro de téléphone n'est pas valide (exemple : 01 23 45 67 89 ou +33 1 23 45 67 89).".into(),
                ));
                None
            }
        },
    };
    let email = match input.email.trim() {
        "" => None,
        raw => match crate::accounts::canonical_email(raw) {
            Ok(_) => Some(raw.to_owned()),
            Err(e) => {
                errors.push(("email", e.to_string()));
                None
            }
        },
    };
    let website = match input.website.trim() {
        "" => None,
        raw => match url::Url::parse(raw) {
            Ok(u)
                if matches!(u.scheme(), "https" | "http")
                    && u.host_str().is_some_and(|h| h.contains('.'))
                    && raw.len() <= 500 =>
            {
                Some(raw.to_owned())
            }
            _ => {
                errors.push((
                    "website",
                    "L'adresse du site internet doit commencer par https:// (exemple : https://www.exemple.fr).".into(),
                ));
                None
            }
        },
    };
    let description = text(&mut errors, "description", &input.description, 2000, "La description", true);
    let opening_hours = text(&mut errors, "opening_hours", &input.opening_hours, 500, "Les horaires", true);
    if !errors.is_empty() {
        const ORDER: [&str; 18] = [
            "name",
            "site_name",
            "category",
            "activity_field",
            "activities",
            "care_modes",
            "publics",
            "age_min",
            "age_max",
            "address",
            "postal_code",
            "commune",
            "lat",
            "phone",
            "email",
            "website",
            "description",
            "opening_hours",
        ];
        errors.sort_by_key(|(f, _)| ORDER.iter().position(|o| o == f).unwrap_or(ORDER.len()));
        return Err(errors);
    }
    let commune = commune.expect("checked");
    let (lat, lon) = position.unwrap_or((commune.lat, commune.lon));
    let level = if input.contact_public { "1" } else { "2" };
    let contact = |system: &str, value: &Option<String>, level: &str| {
        value.as_ref().map(|v| ContactPoint {
            nature: Some("Accueil".into()),
            system: Some(system.into()),
            value: v.clone(),
            telecom_level: Some(level.into()),
            ..Default::default()
        })
    };
    let contacts: Vec<ContactPoint> =
        [contact("phone", &phone, level), contact("email", &email, level), contact("url", &website, "1")]
            .into_iter()
            .flatten()
            .collect();
    let details = OfferDetails {
        activity_field_code: activity_field.as_ref().map(|l| l.code.clone()),
        contacts,
        ..Default::default()
    };
    let ror = RorDetails { activity_field: activity_field.clone(), ..Default::default() };
    let local = LocalDetails {
        description,
        opening_hours,
        phone: phone.clone(),
        email,
        website,
        contact_public: input.contact_public,
        position_given: position.is_some(),
    };
    let json = |v: &[Label]| serde_json::to_string(v).expect("serialisable labels");
    let insee = commune.insee.clone();
    let departement = insee.get(..if insee.starts_with("97") { 3 } else { 2 }).map(str::to_owned);
    let values = LocalValues {
        site_name,
        name: name.expect("checked"),
        category_code: category.as_ref().map(|c| c.code.clone()),
        category_label: category.map(|c| c.label),
        activity_field: activity_field.map(|l| l.label),
        activities: json(&activities),
        care_modes: json(&care_modes),
        publics: json(&publics),
        age_min,
        age_max,
        address_line: address,
        postal_code: postal_code.or_else(|| places.postal_codes_of(&insee).first().cloned()),
        city: Some(commune.name.clone()),
        commune_insee: Some(insee),
        departement,
        lat: Some(lat),
        lon: Some(lon),
        // The public telephone of search results: only when the contact is public (DIR-4).
        phone: phone.filter(|_| input.contact_public),
        sensitive: input.sensitive,
        source_updated_at: None,
        content_hash: String::new(),
        updated_at: NaiveDateTime::default(),
        details: serde_json::to_string(&details).expect("serialisable details"),
        ror_details: serde_json::to_string(&ror).expect("serialisable details"),
        local_details: serde_json::to_string(&local).expect("serialisable details"),
        updated_by: None,
    };
    Ok(LocalEntry { values })
}

impl LocalEntry {
    /// The values, stamped with the time and the author.
    fn stamped(&self, ctx: &AccessContext) -> LocalValues {
        let now = ctx.at.naive_utc();
        let mut v = self.values.clone();
        v.source_updated_at = Some(now);
        v.updated_at = now;
        v.updated_by = ctx.actor.id;
        let digest = Sha256::new()
            .chain_update(b"local-v1")
            .chain_update(&v.name)
            .chain_update(&v.details)
            .chain_update(&v.local_details)
            .chain_update(&v.activities)
            .chain_update(&v.publics)
            .chain_update(&v.care_modes);
        v.content_hash = hex::encode(digest.finalize());
        v
    }
}

/// Why an entry cannot be changed here.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// No such offer.
    #[error("no such offer")]
    NotFound,
    /// An imported offer: the import owns it.
    #[error("imported offer")]
    NotLocal,
    /// Database error.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Stores a new local entry, journals it and feeds it to the index; call inside a write
/// transaction. Returns its id.
pub fn create(c: &mut DbConn, ctx: &AccessContext, entry: &LocalEntry) -> QueryResult<i64> {
    let v = entry.stamped(ctx);
    let now = ctx.at.naive_utc();
    let key = format!("local-{}", &crate::accounts::random_token()[..16]);
    let id: i64 = diesel::insert_into(dir_offers::table)
        .values((
            &v,
            dir_offers::source.eq(LOCAL),
            dir_offers::source_key.eq(&key),
            dir_offers::status.eq("active"),
            dir_offers::created_at.eq(now),
        ))
        .returning(dir_offers::id)
        .get_result(c)?;
    journal::record(c, ctx, Action::Creation, Object::new(JOURNAL_OFFER, id), Outcome::Success)?;
    super::model::feed_changes(c, "offer", &[id], now)?;
    Ok(id)
}

/// The local entry `id`, or why it is not one.
pub fn find_local(c: &mut DbConn, id: i64) -> Result<Offer, LocalError> {
    let offer = super::offers::find_offer(c, id)?.ok_or(LocalError::NotFound)?;
    if offer.source != LOCAL {
        return Err(LocalError::NotLocal);
    }
    Ok(offer)
}

/// Replaces a local entry's fields; call inside a write transaction.
pub fn update(c: &mut DbConn, ctx: &AccessContext, id: i64, entry: &LocalEntry) -> Result<(), LocalError> {
    find_local(c, id)?;
    diesel::update(dir_offers::table.find(id)).set(&entry.stamped(ctx)).execute(c)?;
    journal::record(c, ctx, Action::Modification, Object::new(JOURNAL_OFFER, id), Outcome::Success)?;
    super::model::feed_changes(c, "offer", &[id], ctx.at.naive_utc())?;
    Ok(())
}

/// Closes (`closed = true`: hidden from search, kept) or reopens a local entry; call inside a
/// write transaction. Returns whether anything changed.
pub fn set_closed(c: &mut DbConn, ctx: &AccessContext, id: i64, closed: bool) -> Result<bool, LocalError> {
    let offer = find_local(c, id)?;
    let status = if closed { "closed" } else { "active" };
    if offer.status == status {
        return Ok(false);
    }
    let now = ctx.at.naive_utc();
    diesel::update(dir_offers::table.find(id))
        .set((
            dir_offers::status.eq(status),
            dir_offers::updated_at.eq(now),
            dir_offers::source_updated_at.eq(Some(now)),
            dir_offers::updated_by.eq(ctx.actor.id),
        ))
        .execute(c)?;
    journal::record(c, ctx, Action::Modification, Object::new(JOURNAL_OFFER, id), Outcome::Success)?;
    super::model::feed_changes(c, "offer", &[id], now)?;
    Ok(true)
}

/// Local entries, open ones first then by name, whose name, structure or commune contains
/// every word of `query` (accents and case ignored); at most `limit`.
pub fn list(c: &mut DbConn, query: &str, limit: usize) -> QueryResult<Vec<Offer>> {
    let mut all: Vec<Offer> =
        dir_offers::table.filter(dir_offers::source.eq(LOCAL)).select(Offer::as_select()).load(c)?;
    let words = fold_words(query);
    if !words.is_empty() {
        all.retain(|o| {
            let hay = fold_words(&format!(
                "{} {} {}",
                o.name,
                o.site_name.as_deref().unwrap_or(""),
                o.city.as_deref().unwrap_or("")
            ))
            .join(" ");
            words.iter().all(|w| hay.contains(w.as_str()))
        });
    }
    all.sort_by_cached_key(|o| (o.status != "active", fold_words(&o.name).join(" "), o.id));
    all.truncate(limit);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places::from_rows(
            [
                (Some("92025".into()), Some("Colombes".into()), Some("92700".into()), Some(48.92), Some(2.25), 3),
                (
                    Some("92004".into()),
                    Some("Asnières-sur-Seine".into()),
                    Some("92600".into()),
                    Some(48.91),
                    Some(2.28),
                    2,
                ),
            ]
            .into_iter(),
        )
    }

    fn pickers() -> Pickers {
        Pickers {
            categories: vec![("354".into(), "Service de soins infirmiers à domicile".into())],
            activity_fields: vec![("03".into(), "Social".into())],
            activities: vec![("0001".into(), "Accueil".into())],
            care_modes: vec![],
            publics: vec![("1".into(), "Adultes".into())],
        }
    }

    fn valid() -> LocalInput {
        LocalInput {
            name: "  Groupe de parole   des aidants ".into(),
            activity_field: "03".into(),
            commune: "colombes".into(),
            postal_code: "92700".into(),
            phone: "01.23.45.67.89".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_entry_is_cleaned_and_placed_at_its_commune() {
        let e = validate(&valid(), &pickers(), &places()).unwrap();
        assert_eq!(e.values.name, "Groupe de parole des aidants");
        assert_eq!(e.values.commune_insee.as_deref(), Some("92025"));
        assert_eq!(e.values.departement.as_deref(), Some("92"));
        assert!(e.values.lat.is_some_and(|lat| (lat - 48.92).abs() < 1e-9), "{:?}", e.values.lat);
        // A restricted contact gives no public telephone.
        assert_eq!(e.values.phone, None);
        assert_eq!(LocalDetails::parse(&e.values.local_details).phone.as_deref(), Some("01 23 45 67 89"));
    }

    #[test]
    fn every_wrong_field_has_its_french_message() {
        let input = LocalInput {
            name: " ".into(),
            category: "999".into(),
            activities: vec!["nope".into()],
            age_min: "70".into(),
            age_max: "12".into(),
            postal_code: "92600".into(),
            commune: "Colombes".into(),
            lat: "2,25".into(),
            lon: "48,9".into(),
            phone: "12345".into(),
            email: "pas une adresse".into(),
            website: "javascript:alert(1)".into(),
            ..Default::default()
        };
        let errors = validate(&input, &pickers(), &places()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["name", "category", "activities", "age_max", "postal_code", "lat", "phone", "email", "website"]
        );
        assert!(errors[4].1.contains("ne correspond pas à la commune Colombes"), "{}", errors[4].1);
    }

    #[test]
    fn an_unknown_commune_is_refused() {
        let input = LocalInput { commune: "Gotham".into(), ..valid() };
        let errors = validate(&input, &pickers(), &places()).unwrap_err();
        assert_eq!(errors[0].0, "commune");
        assert!(errors[0].1.contains("inconnue"));
    }
}
