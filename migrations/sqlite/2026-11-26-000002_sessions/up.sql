-- server-side sessions and per-account login throttling. sqlite flavour.

-- the cookie holds a random 256-bit token; only its sha-256 is stored, so a copy of the
-- database does not let anyone ride a session.
create table sessions (
    token_hash text primary key,
    user_id integer not null references users (id) on delete cascade,
    csrf_token text not null,
    expires_at timestamp not null,
    last_seen_at timestamp not null,
    created_at timestamp not null,
    updated_at timestamp not null
);
create index sessions_user on sessions (user_id);

-- consecutive failed logins, and the time before which no password is checked (a growing
-- delay rather than a lock an attacker could use against the owner).
alter table users add column failed_logins integer not null default 0;
alter table users add column login_blocked_until timestamp;
