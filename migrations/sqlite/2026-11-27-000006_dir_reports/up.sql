-- the detail sheet of the directory (dir-2, dir-4) and error reports on its entries (dir-5).
-- sqlite flavour; keep in step with ../../postgres.

-- what the sheet of an offer shows beyond the searchable columns, as json text (see
-- src/directory/details.rs): legal entity and unit names, type d'offre, every contact with its
-- confidentiality level (dir-4: shown by level), opening hours, intervention zone, capacities
-- with their update date, closing dates. one column keeps the table under diesel's 32 columns.
-- offers stored before this migration get it at their next import (their digest changed).
alter table dir_offers add column details text not null default '{}';

-- « signaler une erreur » on a sheet (dir-5): queued for the administrators, who mark each one
-- handled. an anonymous reporter may leave an e-mail address; a logged-in one is linked by id.
create table dir_reports (
    id integer primary key autoincrement,
    -- the sheet reported: an offer or a site, by id (entries are closed, never deleted).
    entry_kind text not null check (entry_kind in ('offer', 'site')),
    entry_id integer not null,
    kind text not null check (kind in ('adresse', 'telephone', 'horaires', 'offre_fermee', 'autre')),
    message text not null,
    contact_email text,
    reporter_id integer references users (id) on delete set null,
    status text not null check (status in ('new', 'handled')),
    handled_by integer references users (id) on delete set null,
    handled_at timestamp,
    handling_note text,
    created_at timestamp not null,
    updated_at timestamp not null
);
create index dir_reports_status on dir_reports (status, created_at);
