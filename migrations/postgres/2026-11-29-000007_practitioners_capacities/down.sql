drop table dir_capacities;
drop table dir_practitioner_role_offers;
drop table dir_practitioner_roles;
drop table dir_practitioners;
