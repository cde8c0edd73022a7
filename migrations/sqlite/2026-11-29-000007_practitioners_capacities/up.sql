-- health professionals and their roles (ror and annuaire santé practitioner / practitionerrole,
-- domain.md §1.2, §2.2), and the capacities of the place of each offer as rows (domain.md §1.4).
-- sqlite flavour; keep in step with ../../postgres. every coded field is kept as (system, code,
-- label at import). like offers, nothing is deleted: a record that vanishes from a full extract
-- is marked closed.

-- a professional. source_key is the fhir id (not stable across annuaire santé versions, domain.md
-- §2.2): the business identifier (rpps, else the first identifier) is kept beside it.
create table dir_practitioners (
    id integer primary key autoincrement,
    -- 'ror' or 'annuaire-sante'.
    source text not null,
    source_key text not null,
    -- 11-digit rpps number, when the source gives one (rpps identifier, or idnps "8" + rpps).
    rpps text,
    -- the first business identifier as given (idnps, or another system), with its system.
    identifier_system text,
    identifier text,
    -- civility or title (« Dr », « M. »…), as given.
    civility text,
    family_name text,
    given_names text,
    profession_system text,
    profession_code text,
    profession_label text,
    status text not null check (status in ('active', 'closed')),
    content_hash text not null,
    source_updated_at timestamp,
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index dir_practitioners_source on dir_practitioners (source, source_key);
create index dir_practitioners_rpps on dir_practitioners (rpps);

-- a professional's role in an organization or offer. the practitioner, organization and offers
-- are referenced by their fhir ids in the same source (practitioner_id is filled when the
-- practitioner is stored). the annuaire santé puts the name on the role itself.
create table dir_practitioner_roles (
    id integer primary key autoincrement,
    source text not null,
    source_key text not null,
    practitioner_key text,
    practitioner_id integer references dir_practitioners (id),
    family_name text,
    given_names text,
    -- fhir id of the organization, or its business identifier (idnst) when referenced by it.
    organization_key text,
    organization_identifier text,
    profession_system text,
    profession_code text,
    profession_label text,
    -- fonction, genre d'activité, mode d'exercice…: the first code that is not the profession.
    role_system text,
    role_code text,
    role_label text,
    specialty_system text,
    specialty_code text,
    specialty_label text,
    -- every code and specialty, json [{"system", "code", "label"}].
    codings text not null,
    -- telecoms whose access level is stated « accès libre » only (dir-4), json [{"system", "value"}].
    public_telecoms text not null,
    status text not null check (status in ('active', 'closed')),
    content_hash text not null,
    source_updated_at timestamp,
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index dir_practitioner_roles_source on dir_practitioner_roles (source, source_key);
create index dir_practitioner_roles_practitioner on dir_practitioner_roles (practitioner_id);
create index dir_practitioner_roles_organization on dir_practitioner_roles (source, organization_key);

-- the offers a role takes part in (healthcareservice ids), replaced with the role.
create table dir_practitioner_role_offers (
    id integer primary key autoincrement,
    role_id integer not null references dir_practitioner_roles (id),
    offer_key text not null,
    created_at timestamp not null,
    updated_at timestamp not null
);
create index dir_practitioner_role_offers_role on dir_practitioner_role_offers (role_id);
create index dir_practitioner_role_offers_offer on dir_practitioner_role_offers (offer_key);

-- one capacity record of the place of an offer: nature (tre_r329) × status (tre_r330) ×
-- temporality (tre_r331) × count, with the date the count was given (capacityupdatedate, always
-- shown). replaced with the offer whenever its content changes.
create table dir_capacities (
    id integer primary key autoincrement,
    offer_id integer not null references dir_offers (id),
    location_key text,
    nature_system text not null,
    nature_code text not null,
    nature_label text not null,
    status_system text not null,
    status_code text not null,
    status_label text not null,
    temporality_system text,
    temporality_code text,
    temporality_label text,
    count integer not null,
    updated_on timestamp,
    created_at timestamp not null,
    updated_at timestamp not null
);
create index dir_capacities_offer on dir_capacities (offer_id);
create index dir_capacities_status on dir_capacities (status_code, temporality_code);
