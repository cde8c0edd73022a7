-- local entries of the directory: offers a dac's administrators enter and edit themselves
-- (source 'local'; an association, a support group absent from the ror). two columns, which
-- brings dir_offers to diesel's 32: what only a local entry has, as json (description, opening
-- hours as free text, e-mail, website, whether its contact is public), and the account that last
-- changed it (imports leave both alone). sqlite flavour; keep in step with ../../postgres.
alter table dir_offers add column local_details text not null default '{}';
-- updated_by is a users.id, without a foreign key so that sqlite can drop the column again.
alter table dir_offers add column updated_by integer;
-- the back office lists local entries by name.
create index dir_offers_source_name on dir_offers (source, name);
