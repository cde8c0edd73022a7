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
        civility -> Nullable<Text>,
        profession -> Nullable<Text>,
        rpps -> Nullable<Text>,
        structure -> Text,
        phone -> Text,
        organisation_id -> Nullable<BigInt>,
        email_verified_at -> Nullable<Timestamp>,
        approved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        totp_secret -> Nullable<Text>,
        totp_pending_secret -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    organisations (id) {
        id -> BigInt,
        name -> Text,
        siret -> Nullable<Text>,
        finess -> Nullable<Text>,
        address -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    account_tokens (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        purpose -> Text,
        new_email -> Nullable<Text>,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    legal_documents (id) {
        id -> BigInt,
        kind -> Text,
        feature_key -> Text,
        version -> Integer,
        major -> Bool,
        title -> Text,
        summary -> Text,
        body -> Text,
        published_at -> Nullable<Timestamp>,
        published_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    legal_acceptances (id) {
        id -> BigInt,
        document_id -> BigInt,
        user_id -> BigInt,
        accepted_at -> Timestamp,
        source -> Text,
        source_ip -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(legal_acceptances -> legal_documents (document_id));
diesel::joinable!(legal_acceptances -> users (user_id));

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        pending_mfa -> Bool,
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

diesel::table! {
    nomenclature_codes (system, code) {
        system -> Text,
        code -> Text,
        label -> Text,
        retired -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dir_organizations (id) {
        id -> BigInt,
        source -> Text,
        source_key -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dir_sites (id) {
        id -> BigInt,
        organization_id -> Nullable<BigInt>,
        source -> Text,
        source_key -> Text,
        finess_et -> Nullable<Text>,
        finess_ej -> Nullable<Text>,
        name -> Text,
        long_name -> Nullable<Text>,
        category_system -> Nullable<Text>,
        category_code -> Nullable<Text>,
        category_label -> Nullable<Text>,
        address_line -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        commune_insee -> Nullable<Text>,
        departement -> Nullable<Text>,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        phone -> Nullable<Text>,
        siret -> Nullable<Text>,
        status -> Text,
        opened_on -> Nullable<Date>,
        closed_on -> Nullable<Date>,
        source_updated_on -> Nullable<Date>,
        content_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dir_changes (id) {
        id -> BigInt,
        entity_type -> Text,
        entity_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dir_imports (id) {
        id -> BigInt,
        format -> Text,
        file_name -> Text,
        scope -> Nullable<Text>,
        actor_id -> Nullable<BigInt>,
        created_count -> Integer,
        updated_count -> Integer,
        unchanged_count -> Integer,
        closed_count -> Integer,
        skipped_count -> Integer,
        rejected_count -> Integer,
        report -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dir_offers (id) {
        id -> BigInt,
        source -> Text,
        source_key -> Text,
        site_key -> Nullable<Text>,
        site_name -> Nullable<Text>,
        name -> Text,
        category_code -> Nullable<Text>,
        category_label -> Nullable<Text>,
        activity_field -> Nullable<Text>,
        activities -> Text,
        care_modes -> Text,
        publics -> Text,
        age_min -> Nullable<Integer>,
        age_max -> Nullable<Integer>,
        address_line -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        commune_insee -> Nullable<Text>,
        departement -> Nullable<Text>,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        phone -> Nullable<Text>,
        sensitive -> Bool,
        status -> Text,
        source_updated_at -> Nullable<Timestamp>,
        content_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        details -> Text,
        ror_details -> Text,
        local_details -> Text,
        updated_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    dir_reports (id) {
        id -> BigInt,
        entry_kind -> Text,
        entry_id -> BigInt,
        kind -> Text,
        message -> Text,
        contact_email -> Nullable<Text>,
        reporter_id -> Nullable<BigInt>,
        status -> Text,
        handled_by -> Nullable<BigInt>,
        handled_at -> Nullable<Timestamp>,
        handling_note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dir_practitioners (id) {
        id -> BigInt,
        source -> Text,
        source_key -> Text,
        rpps -> Nullable<Text>,
        identifier_system -> Nullable<Text>,
        identifier -> Nullable<Text>,
        civility -> Nullable<Text>,
        family_name -> Nullable<Text>,
        given_names -> Nullable<Text>,
        profession_system -> Nullable<Text>,
        profession_code -> Nullable<Text>,
        profession_label -> Nullable<Text>,
        status -> Text,
        content_hash -> Text,
        source_updated_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dir_practitioner_roles (id) {
        id -> BigInt,
        source -> Text,
        source_key -> Text,
        practitioner_key -> Nullable<Text>,
        practitioner_id -> Nullable<BigInt>,
        family_name -> Nullable<Text>,
        given_names -> Nullable<Text>,
        organization_key -> Nullable<Text>,
        organization_identifier -> Nullable<Text>,
        profession_system -> Nullable<Text>,
        profession_code -> Nullable<Text>,
        profession_label -> Nullable<Text>,
        role_system -> Nullable<Text>,
        role_code -> Nullable<Text>,
        role_label -> Nullable<Text>,
        specialty_system -> Nullable<Text>,
        specialty_code -> Nullable<Text>,
        specialty_label -> Nullable<Text>,
        codings -> Text,
        public_telecoms -> Text,
        status -> Text,
        content_hash -> Text,
        source_updated_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dir_practitioner_role_offers (id) {
        id -> BigInt,
        role_id -> BigInt,
        offer_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dir_capacities (id) {
        id -> BigInt,
        offer_id -> BigInt,
        location_key -> Nullable<Text>,
        nature_system -> Text,
        nature_code -> Text,
        nature_label -> Text,
        status_system -> Text,
        status_code -> Text,
        status_label -> Text,
        temporality_system -> Nullable<Text>,
        temporality_code -> Nullable<Text>,
        temporality_label -> Nullable<Text>,
        count -> Integer,
        updated_on -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(dir_sites -> dir_organizations (organization_id));
diesel::joinable!(dir_practitioner_roles -> dir_practitioners (practitioner_id));
diesel::joinable!(dir_practitioner_role_offers -> dir_practitioner_roles (role_id));
diesel::joinable!(dir_capacities -> dir_offers (offer_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    journal_entries,
    journal_head,
    job_leases,
    mail_outbox,
    nomenclature_codes,
    dir_organizations,
    dir_sites,
    dir_offers,
    dir_changes,
    dir_imports,
    dir_reports,
    dir_practitioners,
    dir_practitioner_roles,
    dir_practitioner_role_offers,
    dir_capacities,
    organisations,
    account_tokens,
    recovery_codes,
    legal_documents,
    legal_acceptances,
);
