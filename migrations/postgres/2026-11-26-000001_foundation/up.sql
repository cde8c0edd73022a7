-- foundation: users (minimal, extended by the accounts area), the access journal,
-- job leases and the mail outbox. postgresql flavour; keep in step with ../../sqlite.
-- times are naive utc (timestamp without time zone), written by the application clock.

create table users (
    id bigserial primary key,
    email text not null,
    -- canonical form (nfkc + lowercase), computed once in rust, see the sqlite tree.
    email_canonical text not null,
    given_name text not null,
    family_name text not null,
    role text not null check (role in ('professional', 'organisation_manager', 'administrator')),
    status text not null check (status in ('pending', 'active', 'disabled', 'closed')),
    password_hash text,
    must_change_password boolean not null default false,
    last_login_at timestamp,
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index users_email_canonical_key on users (email_canonical);

-- the access journal (spec jnl-1, jnl-2). append-only: no updated_at by design.
create table journal_entries (
    id bigint primary key,
    occurred_at timestamp not null,
    actor_id bigint,
    actor_role text not null,
    action text not null,
    object_type text not null,
    object_id text,
    outcome text not null,
    source_ip text,
    request_id text,
    prev_hash text not null,
    hash text not null,
    created_at timestamp not null
);
create index journal_entries_object on journal_entries (object_type, object_id);
create index journal_entries_actor on journal_entries (actor_id);

-- refuse update, delete and truncate for every role, the table owner included.
create function journal_entries_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'journal_entries is append-only' using errcode = 'insufficient_privilege';
end;
$$;
create trigger journal_entries_no_update before update or delete on journal_entries
    for each row execute function journal_entries_append_only();
create trigger journal_entries_no_truncate before truncate on journal_entries
    for each statement execute function journal_entries_append_only();

-- the head of the hash chain, see the sqlite tree.
create table journal_head (
    id integer primary key check (id = 1),
    last_id bigint not null,
    last_hash text not null,
    base_id bigint not null,
    base_hash text not null,
    created_at timestamp not null,
    updated_at timestamp not null
);
insert into journal_head (id, last_id, last_hash, base_id, base_hash, created_at, updated_at)
values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0,
        '0000000000000000000000000000000000000000000000000000000000000000',
        now() at time zone 'utc', now() at time zone 'utc');

create table job_leases (
    name text primary key,
    holder text,
    lease_until timestamp,
    last_started_at timestamp,
    last_finished_at timestamp,
    last_outcome text,
    created_at timestamp not null,
    updated_at timestamp not null
);

create table mail_outbox (
    id bigserial primary key,
    recipient text not null,
    subject text not null,
    body_text text not null,
    status text not null check (status in ('pending', 'sent', 'written')),
    attempts integer not null default 0,
    next_attempt_at timestamp not null,
    last_error text,
    sent_at timestamp,
    created_at timestamp not null,
    updated_at timestamp not null
);
create index mail_outbox_due on mail_outbox (status, next_attempt_at);
