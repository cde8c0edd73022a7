drop table mail_outbox;
drop table job_leases;
drop table journal_head;
drop table journal_entries;
drop function journal_entries_append_only();
drop table users;
