-- server-side sessions and per-account login throttling. postgresql flavour, see the sqlite tree.
create table sessions (
    token_hash text primary key,
    user_id bigint not null references users (id) on delete cascade,
    csrf_token text not null,
    expires_at timestamp not null,
    last_seen_at timestamp not null,
    created_at timestamp not null,
    updated_at timestamp not null
);
create index sessions_user on sessions (user_id);

alter table users add column failed_logins integer not null default 0;
alter table users add column login_blocked_until timestamp;
