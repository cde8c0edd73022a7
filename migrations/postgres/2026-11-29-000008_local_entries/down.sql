drop index dir_offers_source_name;
alter table dir_offers drop column updated_by;
alter table dir_offers drop column local_details;
