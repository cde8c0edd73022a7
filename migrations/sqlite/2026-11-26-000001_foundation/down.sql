drop table mail_outbox;
drop table job_leases;
drop table journal_head;
drop trigger journal_entries_no_delete;
drop trigger journal_entries_no_update;
drop table journal_entries;
drop table users;
