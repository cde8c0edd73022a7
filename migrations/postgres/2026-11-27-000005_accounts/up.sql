-- accounts (acc-1..acc-6), organisations, single-use links, mfa, versioned documents and
-- their acceptances (cgu-1..cgu-3). postgresql flavour, see the sqlite tree.

-- an organisation (legal person) whose managers administer their members' accounts (acc-4).
create table organisations (
    id bigserial primary key,
    name text not null,
    siret text,
    finess text,
    address text not null default '',
    status text not null check (status in ('pending', 'active', 'disabled')),
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index organisations_siret_key on organisations (siret) where siret is not null;

-- identity and contact of a professional (acc-1), and the state of the account.
alter table users add column civility text;
alter table users add column profession text;
alter table users add column rpps text;
alter table users add column structure text not null default '';
alter table users add column phone text not null default '';
alter table users add column organisation_id bigint references organisations (id);
-- null until the address is proved by a single-use link.
alter table users add column email_verified_at timestamp;
-- set when an administrator (or the setting) lets the account in.
alter table users add column approved_at timestamp;
alter table users add column closed_at timestamp;
-- totp (rfc 6238): the base32 secret once confirmed, and the last time step used, so that a
-- code works once.
alter table users add column totp_secret text;
alter table users add column totp_pending_secret text;
alter table users add column totp_last_step bigint;
create index users_organisation on users (organisation_id);

-- single-use links sent by e-mail: only their sha-256 is stored.
create table account_tokens (
    token_hash text primary key,
    user_id bigint not null references users (id) on delete cascade,
    purpose text not null check (purpose in ('verify_email', 'reset_password', 'change_email', 'invitation')),
    -- the address being verified (a change of e-mail is verified before it is applied).
    new_email text,
    expires_at timestamp not null,
    used_at timestamp,
    created_at timestamp not null,
    updated_at timestamp not null
);
create index account_tokens_user on account_tokens (user_id, purpose);

-- recovery codes of the second factor: sha-256 of each (they carry 50 bits, from a csprng).
create table recovery_codes (
    id bigserial primary key,
    user_id bigint not null references users (id) on delete cascade,
    code_hash text not null,
    used_at timestamp,
    created_at timestamp not null,
    updated_at timestamp not null
);
create index recovery_codes_user on recovery_codes (user_id);

-- versioned documents: terms, privacy policy, legal notice, and the complementary conditions
-- of a feature or third-party service (feature_key). a draft has no published_at; a published
-- version is never edited.
create table legal_documents (
    id bigserial primary key,
    kind text not null check (kind in ('terms', 'privacy', 'legal_notice', 'feature')),
    feature_key text not null default '',
    version integer not null,
    major boolean not null,
    title text not null,
    summary text not null default '',
    body text not null,
    published_at timestamp,
    published_by bigint references users (id),
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index legal_documents_version on legal_documents (kind, feature_key, version);

-- proof of acceptance (cgu-2): who, which version, when, from where.
create table legal_acceptances (
    id bigserial primary key,
    document_id bigint not null references legal_documents (id),
    user_id bigint not null references users (id) on delete cascade,
    accepted_at timestamp not null,
    source text not null,
    source_ip text,
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index legal_acceptances_once on legal_acceptances (document_id, user_id);
create index legal_acceptances_user on legal_acceptances (user_id);

-- a session opened by a password whose second factor is still to be given: it can reach only
-- the second-factor page (the session id changes when the second factor is accepted).
alter table sessions add column pending_mfa boolean not null default false;
