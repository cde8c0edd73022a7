//! Atomes: the portal of a territorial health coordination service (DAC).
//!
//! Table of contents:
//! - [`cli`] — the `atomes` command line (serve, demo, migrate, admin, journal, jobs).
//! - [`config`], [`app`] — typed configuration and the shared application state.
//! - [`clock`] — the injectable clock.
//! - [`db`] — SQLite or PostgreSQL behind one Diesel connection type, migrations.
//! - [`directory`] — the directory of the regional offer: FINESS parsers, reprojection (SPEC DIR).
//! - [`web`] — router, middleware, error pages, extractors, page structs.
//! - [`journal`] — the tamper-evident access journal (SPEC JNL).
//! - [`accounts`] — accounts and their credentials (SPEC ACC).
//! - [`terms`] — terms of use and legal documents (SPEC CGU).
//! - [`mail`], [`jobs`] — the mail outbox and the periodic jobs runner.
//! - [`ops`] — metrics.

pub mod accounts;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod directory;
pub mod jobs;
pub mod journal;
pub mod mail;
pub mod ops;
pub mod terms;
pub mod web;
