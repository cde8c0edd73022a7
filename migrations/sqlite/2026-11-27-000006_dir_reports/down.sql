drop table dir_reports;
alter table dir_offers drop column details;
