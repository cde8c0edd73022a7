-- offers (ror healthcareservice, « offre opérationnelle »): the searchable unit of the ror.
-- sqlite flavour; keep in step with ../../postgres. the site and location an offer belongs to
-- are copied into it at import (search shows them; the ror's ids are not stable across
-- versions, domain.md §7). coded lists are json text of [{"code", "label"}].
create table dir_offers (
    id integer primary key autoincrement,
    source text not null,
    source_key text not null,
    site_key text,
    site_name text,
    name text not null,
    category_code text,
    category_label text,
    activity_field text,
    activities text not null,
    care_modes text not null,
    publics text not null,
    age_min integer,
    age_max integer,
    address_line text,
    postal_code text,
    city text,
    commune_insee text,
    departement text,
    lat double precision,
    lon double precision,
    -- a contact whose confidentiality level is « accès libre » only (dir-4).
    phone text,
    -- a sensitive unit is never shown to visitors (dir-4).
    sensitive boolean not null,
    status text not null check (status in ('active', 'closed')),
    source_updated_at timestamp,
    content_hash text not null,
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index dir_offers_source on dir_offers (source, source_key);
create index dir_offers_commune on dir_offers (commune_insee);
