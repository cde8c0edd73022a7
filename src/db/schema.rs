//! Table definitions shared by both backends (written by hand: the two migration trees must
//! agree with this file, which `tests/db.rs` checks by migrating both).

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        email_canonical -> Text,
        given_name -> Text,
        family_name -> Text,
        role -> Text,
        status -> Text,
        password_hash -> Nullable<Text>,
        must_change_password -> Bool,
        last_login_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        failed_logins -> Integer,
        login_blocked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));

diesel::table! {
    journal_entries (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor_role -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<Text>,
        outcome -> Text,
        source_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    journal_head (id) {
        id -> Integer,
        last_id -> BigInt,
        last_hash -> Text,
        base_id -> BigInt,
        base_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_started_at -> Nullable<Timestamp>,
        last_finished_at -> Nullable<Timestamp>,
        last_outcome -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, sessions, journal_entries, journal_head, job_leases, mail_outbox);
