drop table dir_imports;
drop table dir_changes;
drop table dir_sites;
drop table dir_organizations;
drop table nomenclature_codes;
