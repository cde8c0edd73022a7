//! The detail sheet of a directory entry (DIR-2): an offer of the ROR, with the other offers of
//! its site, or an establishment of FINESS; and what each viewer may see of it (DIR-4, CGU §5.3.1
//! and §6 « accès de l'annuaire via un compte sécurisé »):
//!
//! - a sensitive unit (`uniteSensible`) is shown to logged-in accounts only, in the sheet, in the
//!   list of its site's offers and in search results;
//! - a contact is shown by its confidentiality level ([`Access`]): public contacts to anyone,
//!   restricted ones to logged-in accounts, regulation-only ones to nobody;
//! - professionals are listed with their public directory data only (the import keeps no telecom
//!   that is not stated « accès libre »), which needs no journal entry;
//! - every view of restricted data by a logged-in account is journaled by the caller, in the
//!   transaction of the read ([`Visible::consulted`], journal object [`JOURNAL_OFFER`]).

use std::collections::HashMap;

use diesel::prelude::*;

use super::capacities;
use super::completeness::{self, Completeness, KnownCodes};
use super::details::{Access, ContactPoint, OfferDetails};
use super::model::{self, Site};
use super::offers::{self, Offer};
use super::practitioners::{self, SheetPractitioner};
use super::search::text::fold_words;
use crate::db::DbConn;
use crate::db::schema::{dir_offers, dir_sites};

/// The journal object kind of an offer whose restricted data was consulted.
pub const JOURNAL_OFFER: &str = "dir_offer";

/// Other offers of a site listed on a sheet, at most.
const MAX_SIBLINGS: i64 = 100;

/// An entry of the directory as its URL names it: `offre-12`, `etablissement-34`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryRef {
    /// An offer (`dir_offers`).
    Offer(i64),
    /// An establishment (`dir_sites`).
    Site(i64),
}

impl EntryRef {
    /// Reads the last segment of a sheet's URL.
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, id) = s.split_once('-')?;
        if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let id: i64 = id.parse().ok().filter(|n| *n > 0)?;
        match kind {
            "offre" => Some(Self::Offer(id)),
            "etablissement" => Some(Self::Site(id)),
            _ => None,
        }
    }

    /// The entry of a search result (`kind` is `offer` or `site`).
    pub fn of_kind(kind: &str, id: i64) -> Option<Self> {
        match kind {
            "offer" => Some(Self::Offer(id)),
            "site" => Some(Self::Site(id)),
            _ => None,
        }
    }

    /// The URL of its sheet.
    pub fn href(self) -> String {
        match self {
            Self::Offer(id) => format!("/annuaire/offre-{id}"),
            Self::Site(id) => format!("/annuaire/etablissement-{id}"),
        }
    }

    /// `offer` or `site`, as stored with a report.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Offer(_) => "offer",
            Self::Site(_) => "site",
        }
    }

    /// The id in its table.
    pub fn id(self) -> i64 {
        match self {
            Self::Offer(id) | Self::Site(id) => id,
        }
    }
}

/// The sheet of an offer.
#[derive(Debug, Clone)]
pub struct OfferSheet {
    /// The offer.
    pub offer: Offer,
    /// Its details.
    pub details: OfferDetails,
    /// The other offers of its site, by name (sensitive ones included: see [`OfferSheet::visible_to`]).
    pub siblings: Vec<Offer>,
    /// The professionals whose role links to the offer or to the organization providing it.
    pub practitioners: Vec<SheetPractitioner>,
    /// Its completeness (ANS unit rule).
    pub completeness: Completeness,
}

/// The sheet of an establishment.
#[derive(Debug, Clone)]
pub struct SiteSheet {
    /// The establishment.
    pub site: Site,
    /// Its completeness (the portal's establishment rule).
    pub completeness: Completeness,
}

/// A sheet.
#[derive(Debug, Clone)]
pub enum Sheet {
    /// Of an offer.
    Offer(Box<OfferSheet>),
    /// Of an establishment.
    Site(Box<SiteSheet>),
}

/// Loads the sheet of an entry, closed ones included; `None` if there is no such entry.
pub fn load(conn: &mut DbConn, entry: EntryRef) -> QueryResult<Option<Sheet>> {
    match entry {
        EntryRef::Site(id) => Ok(model::find_site(conn, id)?.map(|site| {
            let completeness = completeness::of_site(&site);
            Sheet::Site(Box::new(SiteSheet { site, completeness }))
        })),
        EntryRef::Offer(id) => {
            let Some(offer) = offers::find_offer(conn, id)? else { return Ok(None) };
            let mut details = offer.details();
            details.capacities = capacities::of_offer(conn, offer.id)?.iter().map(capacities::Capacity::row).collect();
            let provided_by = offer.ror_details().provided_by;
            let practitioners =
                practitioners::of_offer(conn, &offer.source, &offer.source_key, provided_by.as_deref())?;
            let mut siblings = match &offer.site_key {
                Some(key) => dir_offers::table
                    .filter(dir_offers::source.eq(&offer.source))
                    .filter(dir_offers::site_key.eq(key))
                    .filter(dir_offers::id.ne(offer.id))
                    .order((dir_offers::name.asc(), dir_offers::id.asc()))
                    .limit(MAX_SIBLINGS)
                    .select(Offer::as_select())
                    .load(conn)?,
                None => Vec::new(),
            };
            // By name as people read it: « Équipe » with the E's, not after the Z's.
            siblings.sort_by_cached_key(|o| fold_words(&o.name).join(" "));
            let known = KnownCodes::of_offer(conn, &offer, &details)?;
            let completeness = completeness::of_offer(&offer, &details, &known);
            Ok(Some(Sheet::Offer(Box::new(OfferSheet { offer, details, siblings, practitioners, completeness }))))
        }
    }
}

/// The name of an entry and whether it is a sensitive unit; `None` if there is no such entry.
pub fn find_title(conn: &mut DbConn, entry: EntryRef) -> QueryResult<Option<(String, bool)>> {
    match entry {
        EntryRef::Offer(id) => {
            dir_offers::table.find(id).select((dir_offers::name, dir_offers::sensitive)).first(conn).optional()
        }
        EntryRef::Site(id) => {
            Ok(dir_sites::table.find(id).select(dir_sites::name).first::<String>(conn).optional()?.map(|n| (n, false)))
        }
    }
}

/// The names of entries, for lists: one query per kind.
pub fn titles(conn: &mut DbConn, entries: &[EntryRef]) -> QueryResult<HashMap<EntryRef, String>> {
    let ids = |offers: bool| -> Vec<i64> {
        entries.iter().filter(|e| matches!(e, EntryRef::Offer(_)) == offers).map(|e| e.id()).collect()
    };
    let offers: Vec<(i64, String)> = dir_offers::table
        .filter(dir_offers::id.eq_any(ids(true)))
        .select((dir_offers::id, dir_offers::name))
        .load(conn)?;
    let sites: Vec<(i64, String)> = dir_sites::table
        .filter(dir_sites::id.eq_any(ids(false)))
        .select((dir_sites::id, dir_sites::name))
        .load(conn)?;
    Ok(offers
        .into_iter()
        .map(|(id, n)| (EntryRef::Offer(id), n))
        .chain(sites.into_iter().map(|(id, n)| (EntryRef::Site(id), n)))
        .collect())
}

/// What one viewer may see of an offer's sheet.
#[derive(Debug, Clone, Default)]
pub struct Visible {
    /// The whole sheet is withheld: a sensitive unit, and the viewer is not logged in.
    pub hidden: bool,
    /// The contacts shown.
    pub contacts: Vec<ContactPoint>,
    /// Contacts withheld until the viewer logs in.
    pub withheld: usize,
    /// Contacts for regulation only, withheld from everyone.
    pub regulation_only: usize,
    /// The other offers of the site shown.
    pub siblings: Vec<Offer>,
    /// Offers whose restricted data (sensitive unit, restricted contact) the view holds: each
    /// is a consultation to journal.
    pub consulted: Vec<i64>,
}

impl Sheet {
    /// The offers whose restricted data a logged-in viewer consults on this sheet.
    pub fn consulted_when_logged_in(&self) -> Vec<i64> {
        match self {
            Sheet::Offer(o) => o.visible_to(true).consulted,
            Sheet::Site(_) => Vec::new(),
        }
    }
}

impl OfferSheet {
    /// What a viewer sees (logged in or not).
    pub fn visible_to(&self, logged_in: bool) -> Visible {
        let mut v = Visible::default();
        if self.offer.sensitive && !logged_in {
            v.hidden = true;
            return v;
        }
        for c in &self.details.contacts {
            match (c.access(), logged_in) {
                (Access::Public, _) => v.contacts.push(c.clone()),
                (Access::Professionals, true) => v.contacts.push(c.clone()),
                (Access::Professionals, false) => v.withheld += 1,
                (Access::Regulation, _) => v.regulation_only += 1,
            }
        }
        let restricted_contact = v.contacts.iter().any(|c| c.access() != Access::Public);
        if self.offer.sensitive || restricted_contact {
            v.consulted.push(self.offer.id);
        }
        v.siblings = self.siblings.iter().filter(|o| logged_in || !o.sensitive).cloned().collect();
        v.consulted.extend(v.siblings.iter().filter(|o| o.sensitive).map(|o| o.id));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_urls_round_trip_and_nothing_else_parses() {
        for e in [EntryRef::Offer(12), EntryRef::Site(3)] {
            assert_eq!(EntryRef::parse(e.href().rsplit('/').next().unwrap()), Some(e));
        }
        for bad in [
            "offre-",
            "offre-0",
            "offre-+5",
            "offre--5",
            "offre-1x",
            "site-4",
            "12",
            "etablissement-99999999999999999999",
        ] {
            assert_eq!(EntryRef::parse(bad), None, "{bad}");
        }
    }
}
