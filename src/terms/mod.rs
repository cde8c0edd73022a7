//! Terms of use, privacy policy, legal notice and the complementary conditions of features
//! (SPEC CGU-1..3). Each is a versioned Markdown document ([`LegalDoc`]): administrators write
//! a draft and publish it; a published version is never changed and stays consultable.
//! Professionals accept the terms (a major version must be accepted again, a minor one is
//! announced) and the conditions of a feature before its first use; each acceptance is
//! recorded as proof ([`accept`]) and journaled. Administrators are not asked to accept the
//! terms: they write and publish them (decision 0003).
//!
//! - [`model`]: documents, drafts, publication.
//! - [`acceptance`]: acceptances, the gate ([`pending_terms`], [`pending_feature`]), figures.
//! - [`initial`]: version 1 from the shipped texts and the configuration.
//! - [`cache`]: the rendered documents each node keeps.
//! - [`render`]: Markdown to safe HTML.

pub mod acceptance;
pub mod cache;
pub mod initial;
pub mod model;
pub mod render;

pub use acceptance::{
    Acceptance, AcceptanceStats, Gate, Pending, accept, acceptance_stats, find_acceptance, list_acceptances,
    pending_feature, pending_terms,
};
pub use cache::{Published, PublishedCache, load_published};
pub use initial::{ensure_initial_versions, legal_notice_markdown};
pub use model::{
    DraftInput, LegalDoc, LegalDocument, TermsError, VersionInfo, create_draft, delete_draft, find, find_current,
    find_draft, find_published, list_published, list_versions, publish, update_draft,
};
pub use render::{Rendered, render_body, render_markdown};
