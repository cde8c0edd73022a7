//! The integration tests: one binary, modules by area. Every test gets its own database:
//! a temporary SQLite file, or a fresh PostgreSQL database when `ATOMES_TEST_DATABASE_URL`
//! is set (`.ci/run` runs the suite once for each).

mod support;

mod account;
mod admin;
mod cli;
mod db;
mod directory;
mod directory_people;
mod directory_sheet;
mod fhir_api;
mod imports;
mod jobs;
mod journal;
mod local_entries;
mod mail;
mod mfa;
mod people;
mod ratelimit;
mod registration;
mod search;
mod security;
mod terms;
mod web;
