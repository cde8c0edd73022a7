//! What every page shares: the base template's data (portal identity, navigation, assets),
//! and the error page.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use chrono::{Datelike, NaiveDate};

use super::session::Viewer;
use crate::app::AppState;
use crate::config::Config;

/// A link of the main navigation.
pub struct NavItem {
    /// Key compared with `Layout::current`.
    pub key: &'static str,
    /// Label shown.
    pub label: &'static str,
    /// Target.
    pub href: &'static str,
}

/// The portal's services, in the header (the order of the ATOMES portal).
pub const NAV: &[NavItem] = &[
    NavItem { key: "annuaire", label: "Annuaire", href: "/annuaire" },
    NavItem { key: "actualites", label: "Actualités", href: "/actualites" },
    NavItem { key: "evenements", label: "Évènements", href: "/evenements" },
    NavItem { key: "adhesion", label: "Adhésion", href: "/adhesion" },
    NavItem { key: "applications", label: "Applications", href: "/applications" },
    NavItem { key: "contact", label: "Contact", href: "/contact" },
];

/// Data of `base.html`, a field of every page struct.
pub struct Layout {
    /// The configuration (portal, association, territory).
    pub config: Arc<Config>,
    /// URL of the stylesheet, with its content hash.
    pub css_url: String,
    /// URL of the logo.
    pub logo_url: String,
    /// URL of the favicon.
    pub icon_url: String,
    /// The navigation key of the current page, if it is in the navigation.
    pub current: Option<&'static str>,
    /// The page's own title (before the portal's name).
    pub title: String,
    /// Who is asking (header: name, logout, back office link).
    pub viewer: Viewer,
    /// The date of a minor version of the terms the account has not accepted yet, announced by
    /// a banner until it does (CGU-2); pages about the terms themselves clear it.
    pub terms_notice: Option<String>,
}

impl Layout {
    /// The layout of a page titled `title`.
    pub fn new(state: &AppState, viewer: &Viewer, current: Option<&'static str>, title: &str) -> Self {
        Self {
            config: state.config.clone(),
            css_url: state.assets.url("atomes.css"),
            logo_url: state.assets.url("logo.svg"),
            icon_url: state.assets.url("favicon.svg"),
            current,
            title: title.to_owned(),
            viewer: viewer.clone(),
            terms_notice: viewer.0.as_ref().and_then(|c| c.terms.notice()).map(|p| french_date(p.published_at.date())),
        }
    }

    /// "Prénom Nom" of the logged-in account, if any.
    pub fn user_name(&self) -> Option<String> {
        self.viewer.0.as_ref().map(|c| c.user.display_name())
    }

    /// Whether the logged-in account manages an organisation.
    pub fn is_org_manager(&self) -> bool {
        self.viewer.0.as_ref().is_some_and(|c| c.user.role() == crate::accounts::Role::OrganisationManager)
    }

    /// Whether the viewer is an administrator.
    pub fn is_admin(&self) -> bool {
        self.viewer.0.as_ref().is_some_and(|c| c.user.role() == crate::accounts::Role::Administrator)
    }

    /// The CSRF token for the header's logout form.
    pub fn csrf(&self) -> &str {
        self.viewer.csrf().unwrap_or("")
    }

    /// The navigation links.
    pub fn nav(&self) -> &'static [NavItem] {
        NAV
    }

    /// Whether `key` is the current page (for `aria-current`).
    pub fn is_current(&self, key: &str) -> bool {
        self.current == Some(key)
    }

    /// The `<title>`: the page, then the portal.
    pub fn document_title(&self) -> String {
        format!("{} – {}", self.title, self.config.portal.name)
    }
}

/// A date in French words: "15 janvier 2027" ("1er" for the first of the month).
pub fn french_date(d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let day = if d.day() == 1 { "1er".to_owned() } else { d.day().to_string() };
    format!("{day} {} {}", MONTHS[d.month0() as usize], d.year())
}

/// An error page.
#[derive(Template, WebTemplate)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    /// Layout.
    pub layout: Layout,
    /// HTTP status.
    pub status: u16,
    /// Title.
    pub title: &'static str,
    /// Explanation.
    pub text: &'static str,
    /// A more specific message, if any.
    pub message: Option<String>,
    /// The request id, shown on server errors so that support can find the log line.
    pub request_id: Option<String>,
}

/// A UTC time as French users read it: Paris time (CET/CEST, EU rule: from the last Sunday of
/// March to the last Sunday of October, 01:00 UTC), `26/11/2026 à 12 h 53`.
pub fn paris_time(utc: impl std::borrow::Borrow<chrono::NaiveDateTime>) -> String {
    let utc = *utc.borrow();
    use chrono::{Datelike, Duration, NaiveDate, Weekday};
    fn last_sunday(year: i32, month: u32) -> chrono::NaiveDateTime {
        let mut d = NaiveDate::from_ymd_opt(year, month, 31).expect("March and October have 31 days");
        while d.weekday() != Weekday::Sun {
            d = d.pred_opt().expect("a valid date");
        }
        d.and_hms_opt(1, 0, 0).expect("a valid time")
    }
    let y = utc.year();
    let summer = utc >= last_sunday(y, 3) && utc < last_sunday(y, 10);
    let local = utc + Duration::hours(if summer { 2 } else { 1 });
    local.format("%d/%m/%Y à %H h %M").to_string()
}

#[cfg(test)]
mod tests {
    use super::paris_time;
    use chrono::NaiveDateTime;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn paris_time_follows_summer_time() {
        assert_eq!(paris_time(t("2026-11-26 11:53")), "26/11/2026 à 12 h 53");
        assert_eq!(paris_time(t("2026-07-14 10:00")), "14/07/2026 à 12 h 00");
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(paris_time(t("2026-03-29 00:59")), "29/03/2026 à 01 h 59");
        assert_eq!(paris_time(t("2026-03-29 01:00")), "29/03/2026 à 03 h 00");
        assert_eq!(paris_time(t("2026-10-25 00:59")), "25/10/2026 à 02 h 59");
        assert_eq!(paris_time(t("2026-10-25 01:00")), "25/10/2026 à 02 h 00");
    }
}
