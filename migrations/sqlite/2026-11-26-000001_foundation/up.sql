-- foundation: users (minimal, extended by the accounts area), the access journal,
-- job leases and the mail outbox. sqlite flavour; keep in step with ../../postgres.
-- times are naive utc ("yyyy-mm-dd hh:mm:ss.ffffff"), written by the application clock.

create table users (
    id integer primary key autoincrement,
    email text not null,
    -- canonical form (nfkc + lowercase), computed once in rust: uniqueness must not
    -- depend on the backend's own case folding (sqlite folds ascii only).
    email_canonical text not null,
    given_name text not null,
    family_name text not null,
    role text not null check (role in ('professional', 'organisation_manager', 'administrator')),
    status text not null check (status in ('pending', 'active', 'disabled', 'closed')),
    password_hash text,
    must_change_password boolean not null default 0,
    last_login_at timestamp,
    created_at timestamp not null,
    updated_at timestamp not null
);
create unique index users_email_canonical_key on users (email_canonical);

-- the access journal (spec jnl-1, jnl-2). append-only: no updated_at by design.
-- id is assigned by journal::record from journal_head, so the sequence has no gaps
-- and a removed entry is visible to `atomes journal verify`.
create table journal_entries (
    id integer primary key,
    occurred_at timestamp not null,
    actor_id integer,
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

create trigger journal_entries_no_update before update on journal_entries
begin
    select raise(abort, 'journal_entries is append-only');
end;
create trigger journal_entries_no_delete before delete on journal_entries
begin
    select raise(abort, 'journal_entries is append-only');
end;

-- the head of the hash chain: one row, locked by every append, which serialises
-- appends and hands each one its id and the previous hash.
-- base_id/base_hash anchor the chain when older entries move to the archive (ret-2).
create table journal_head (
    id integer primary key check (id = 1),
    last_id integer not null,
    last_hash text not null,
    base_id integer not null,
    base_hash text not null,
    created_at timestamp not null,
    updated_at timestamp not null
);
insert into journal_head (id, last_id, last_hash, base_id, base_hash, created_at, updated_at)
values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0,
        '0000000000000000000000000000000000000000000000000000000000000000',
        strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now'));

-- leases of periodic jobs: one node runs a job at a time.
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

-- outgoing mail. a row is never deleted by the sender: failures are retried with backoff.
create table mail_outbox (
    id integer primary key autoincrement,
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
