alter table dir_offers drop column ror_details;
