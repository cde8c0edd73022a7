-- the directory of the regional offer (spec dir), ror-shaped. postgresql flavour; keep in step
-- with ../../sqlite. coded fields are stored as (system, code, label at import): labels drift
-- between versions of a source (domain.md §3.3).

-- national nomenclatures (nos code systems), loaded as data. retired codes stay (old records
-- point at them) but pickers hide them.
create table nomenclature_codes (
    system text not null,
    code text not null,
    label text not null,
    retired boolean not null default false,
    created_at timestamp not null,
    updated_at timestamp not null,
    primary key (system, code)
);

-- legal entities (finess ej, ror organization of type ej).
create table dir_organizations (
    id bigserial primary key,
    source text not null,
    source_key text not null,
    name text not null,
    status text not null check (status in ('active', 'closed')),
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index dir_organizations_source on dir_organizations (source, source_key);

-- geographic entities: establishments and sites (finess et, ror organization of type eg).
create table dir_sites (
    id bigserial primary key,
    organization_id bigint references dir_organizations (id),
    source text not null,
    source_key text not null,
    finess_et text,
    finess_ej text,
    name text not null,
    long_name text,
    category_system text,
    category_code text,
    category_label text,
    address_line text,
    postal_code text,
    city text,
    commune_insee text,
    departement text,
    lat double precision,
    lon double precision,
    phone text,
    siret text,
    status text not null check (status in ('active', 'closed')),
    opened_on date,
    closed_on date,
    -- when the source last changed the record (freshness shown to users, §8.5).
    source_updated_on date,
    -- digest of the parsed source record: an unchanged record is not rewritten.
    content_hash text not null,
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index dir_sites_source on dir_sites (source, source_key);
create index dir_sites_commune on dir_sites (commune_insee);
create index dir_sites_category on dir_sites (category_code);

-- change feed: every node's search indexer applies it to its own index.
create table dir_changes (
    id bigserial primary key,
    entity_type text not null,
    entity_id bigint not null,
    created_at timestamp not null
);

-- import history, with the report of rejected records.
create table dir_imports (
    id bigserial primary key,
    format text not null,
    file_name text not null,
    scope text,
    actor_id bigint references users (id),
    created_count integer not null,
    updated_count integer not null,
    unchanged_count integer not null,
    closed_count integer not null,
    skipped_count integer not null,
    rejected_count integer not null,
    report text not null,
    created_at timestamp not null,
    updated_at timestamp not null
);
