//! Directory rows: sites (establishments) and the change feed.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::pg::{CopyFormat, PgConnection};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::pg_copy::{self, BinaryRows};
use crate::db::schema::{dir_changes, dir_sites};

/// A site as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dir_sites)]
pub struct Site {
    /// Id.
    pub id: i64,
    /// Its legal entity, when known.
    pub organization_id: Option<i64>,
    /// Where the record comes from: `finess`, `ror`, `annuaire`, `local`.
    pub source: String,
    /// Its key in that source (FINESS ET number, FHIR id).
    pub source_key: String,
    /// FINESS ET number.
    pub finess_et: Option<String>,
    /// FINESS EJ number of its legal entity.
    pub finess_ej: Option<String>,
    /// Short name.
    pub name: String,
    /// Long name.
    pub long_name: Option<String>,
    /// Category code system.
    pub category_system: Option<String>,
    /// Category code (TRE_R66 for FINESS).
    pub category_code: Option<String>,
    /// Category label as the source printed it.
    pub category_label: Option<String>,
    /// Street address.
    pub address_line: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Town.
    pub city: Option<String>,
    /// INSEE commune code.
    pub commune_insee: Option<String>,
    /// INSEE département code (`92`, `2A`, `971`).
    pub departement: Option<String>,
    /// Latitude (WGS84).
    pub lat: Option<f64>,
    /// Longitude (WGS84).
    pub lon: Option<f64>,
    /// Switchboard telephone.
    pub phone: Option<String>,
    /// SIRET.
    pub siret: Option<String>,
    /// `active` or `closed`.
    pub status: String,
    /// Opening date.
    pub opened_on: Option<NaiveDate>,
    /// Closing date.
    pub closed_on: Option<NaiveDate>,
    /// Last change in the source.
    pub source_updated_on: Option<NaiveDate>,
    /// Digest of the source record.
    pub content_hash: String,
    /// Created here.
    pub created_at: NaiveDateTime,
    /// Last changed here.
    pub updated_at: NaiveDateTime,
}

/// The columns an import writes.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = dir_sites, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct SiteValues {
    /// See [`Site`].
    pub source: String,
    /// See [`Site`].
    pub source_key: String,
    /// See [`Site`].
    pub finess_et: Option<String>,
    /// See [`Site`].
    pub finess_ej: Option<String>,
    /// See [`Site`].
    pub name: String,
    /// See [`Site`].
    pub long_name: Option<String>,
    /// See [`Site`].
    pub category_system: Option<String>,
    /// See [`Site`].
    pub category_code: Option<String>,
    /// See [`Site`].
    pub category_label: Option<String>,
    /// See [`Site`].
    pub address_line: Option<String>,
    /// See [`Site`].
    pub postal_code: Option<String>,
    /// See [`Site`].
    pub city: Option<String>,
    /// See [`Site`].
    pub commune_insee: Option<String>,
    /// See [`Site`].
    pub departement: Option<String>,
    /// See [`Site`].
    pub lat: Option<f64>,
    /// See [`Site`].
    pub lon: Option<f64>,
    /// See [`Site`].
    pub phone: Option<String>,
    /// See [`Site`].
    pub siret: Option<String>,
    /// See [`Site`].
    pub status: String,
    /// See [`Site`].
    pub opened_on: Option<NaiveDate>,
    /// See [`Site`].
    pub closed_on: Option<NaiveDate>,
    /// See [`Site`].
    pub source_updated_on: Option<NaiveDate>,
    /// See [`Site`].
    pub content_hash: String,
    /// Last changed here.
    pub updated_at: NaiveDateTime,
}

/// What an import needs to know of the sites already stored from one source.
#[derive(Debug, Clone, Queryable)]
pub struct StoredKey {
    /// Id.
    pub id: i64,
    /// Key in the source.
    pub source_key: String,
    /// Digest of the stored record.
    pub content_hash: String,
    /// `active` or `closed`.
    pub status: String,
    /// INSEE département.
    pub departement: Option<String>,
    /// INSEE commune.
    pub commune_insee: Option<String>,
}

/// The stored keys of one source, read by pages of 20,000 along the `(source, source_key)`
/// index (a million rows never sit in one result set, and no page sorts the table).
pub fn for_each_key(conn: &mut DbConn, source: &str, mut f: impl FnMut(StoredKey)) -> QueryResult<()> {
    // Every key sorts after the empty string (keys are never empty).
    let mut after = String::new();
    loop {
        let page: Vec<StoredKey> = dir_sites::table
            .filter(dir_sites::source.eq(source))
            .filter(dir_sites::source_key.gt(&after))
            .order(dir_sites::source_key.asc())
            .limit(20_000)
            .select((
                dir_sites::id,
                dir_sites::source_key,
                dir_sites::content_hash,
                dir_sites::status,
                dir_sites::departement,
                dir_sites::commune_insee,
            ))
            .load(conn)?;
        let Some(last) = page.last() else { return Ok(()) };
        after = last.source_key.clone();
        page.into_iter().for_each(&mut f);
    }
}

/// Inserts new sites; returns their ids, in the order of `rows`.
pub fn insert_sites(conn: &mut DbConn, rows: &[SiteValues], now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    match conn {
        DbConn::Pg(c) => copy_sites(c, rows, now),
        DbConn::Sqlite(c) => {
            let mut ids = Vec::with_capacity(rows.len());
            // One statement per few hundred rows: under SQLite's bound-parameter limit (32,766).
            for chunk in rows.chunks(500) {
                let values: Vec<_> = chunk.iter().map(|r| (r, dir_sites::created_at.eq(now))).collect();
                let mut got: Vec<i64> =
                    diesel::insert_into(dir_sites::table).values(values).returning(dir_sites::id).get_results(c)?;
                ids.append(&mut got);
            }
            Ok(ids)
        }
    }
}

/// PostgreSQL: the ids are taken from the table's sequence first (as `bigserial` would, in
/// the order of `rows`), then every row goes in one `COPY` with its id.
fn copy_sites(c: &mut PgConnection, rows: &[SiteValues], now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Reserved {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let mut ids: Vec<i64> = diesel::sql_query(
        "select nextval(pg_get_serial_sequence('dir_sites', 'id')) as id from generate_series(1, $1)",
    )
    .bind::<diesel::sql_types::BigInt, _>(n)
    .load::<Reserved>(c)?
    .into_iter()
    .map(|r| r.id)
    .collect();
    // Ascending, like the ids a multi-row INSERT hands out in row order.
    ids.sort_unstable();
    use dir_sites::dsl as s;
    let columns = (
        s::id,
        s::source,
        s::source_key,
        s::finess_et,
        s::finess_ej,
        s::name,
        s::long_name,
        s::category_system,
        s::category_code,
        s::category_label,
        s::address_line,
        s::postal_code,
        s::city,
        s::commune_insee,
        s::departement,
        s::lat,
        s::lon,
        s::phone,
        s::siret,
        s::status,
        s::opened_on,
        s::closed_on,
        s::source_updated_on,
        s::content_hash,
        s::created_at,
        s::updated_at,
    );
    let write = |out: &mut dyn std::io::Write| -> std::io::Result<()> {
        let mut w = BinaryRows::new(out, 26);
        for (id, r) in ids.iter().zip(rows) {
            w.row()?;
            w.int8(*id)?;
            w.text(Some(&r.source))?;
            w.text(Some(&r.source_key))?;
            w.text(r.finess_et.as_deref())?;
            w.text(r.finess_ej.as_deref())?;
            w.text(Some(&r.name))?;
            w.text(r.long_name.as_deref())?;
            w.text(r.category_system.as_deref())?;
            w.text(r.category_code.as_deref())?;
            w.text(r.category_label.as_deref())?;
            w.text(r.address_line.as_deref())?;
            w.text(r.postal_code.as_deref())?;
            w.text(r.city.as_deref())?;
            w.text(r.commune_insee.as_deref())?;
            w.text(r.departement.as_deref())?;
            w.float8(r.lat)?;
            w.float8(r.lon)?;
            w.text(r.phone.as_deref())?;
            w.text(r.siret.as_deref())?;
            w.text(Some(&r.status))?;
            w.date(r.opened_on)?;
            w.date(r.closed_on)?;
            w.date(r.source_updated_on)?;
            w.text(Some(&r.content_hash))?;
            w.timestamp(now)?;
            w.timestamp(r.updated_at)?;
        }
        w.finish()
    };
    diesel::copy_from(dir_sites::table)
        .from_raw_data(columns, |out| write(out).map_err(pg_copy::io_error))
        .with_format(CopyFormat::Binary)
        .execute(c)?;
    Ok(ids)
}

/// Rewrites a changed site.
pub fn update_site(conn: &mut DbConn, id: i64, row: &SiteValues) -> QueryResult<()> {
    diesel::update(dir_sites::table.find(id)).set(row).execute(conn)?;
    Ok(())
}

/// Marks sites closed (they vanished from their source): kept, never deleted.
pub fn close_sites(conn: &mut DbConn, ids: &[i64], now: NaiveDateTime) -> QueryResult<()> {
    for chunk in ids.chunks(500) {
        diesel::update(dir_sites::table.filter(dir_sites::id.eq_any(chunk)))
            .set((dir_sites::status.eq("closed"), dir_sites::closed_on.eq(now.date()), dir_sites::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}

/// Appends changed ids of one kind (`site`, `offer`) to the change feed read by the search indexers.
pub fn feed_changes(conn: &mut DbConn, kind: &str, ids: &[i64], now: NaiveDateTime) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Pg(c) => {
            // One COPY, in the order of `ids` (the feed's own ids follow it).
            use dir_changes::dsl as f;
            let write = |out: &mut dyn std::io::Write| -> std::io::Result<()> {
                let mut w = BinaryRows::new(out, 3);
                for id in ids {
                    w.row()?;
                    w.text(Some(kind))?;
                    w.int8(*id)?;
                    w.timestamp(now)?;
                }
                w.finish()
            };
            diesel::copy_from(dir_changes::table)
                .from_raw_data((f::entity_type, f::entity_id, f::created_at), |out| {
                    write(out).map_err(pg_copy::io_error)
                })
                .with_format(CopyFormat::Binary)
                .execute(c)?;
        }
        DbConn::Sqlite(c) => {
            for chunk in ids.chunks(1000) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|id| {
                        (
                            dir_changes::entity_type.eq(kind),
                            dir_changes::entity_id.eq(*id),
                            dir_changes::created_at.eq(now),
                        )
                    })
                    .collect();
                diesel::insert_into(dir_changes::table).values(rows).execute(c)?;
            }
        }
    }
    Ok(())
}

/// One site by id.
pub fn find_site(conn: &mut DbConn, id: i64) -> QueryResult<Option<Site>> {
    dir_sites::table.find(id).select(Site::as_select()).first(conn).optional()
}

/// One site by source key.
pub fn find_site_by_key(conn: &mut DbConn, source: &str, key: &str) -> QueryResult<Option<Site>> {
    dir_sites::table
        .filter(dir_sites::source.eq(source))
        .filter(dir_sites::source_key.eq(key))
        .select(Site::as_select())
        .first(conn)
        .optional()
}

/// Number of sites per status.
pub fn count_sites(conn: &mut DbConn, status: &str) -> QueryResult<i64> {
    dir_sites::table.filter(dir_sites::status.eq(status)).count().get_result(conn)
}

/// Number of entries in the change feed.
pub fn count_changes(conn: &mut DbConn) -> QueryResult<i64> {
    dir_changes::table.count().get_result(conn)
}

/// A place to search around: a commune, from the sites the directory holds there.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Town name as the sources print it.
    pub name: String,
    /// INSEE code.
    pub insee: String,
    /// Latitude of the centre of its sites.
    pub lat: f64,
    /// Longitude of the centre of its sites.
    pub lon: f64,
}
