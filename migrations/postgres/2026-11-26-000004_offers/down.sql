drop table dir_offers;
