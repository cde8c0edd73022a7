-- what the fhir endpoint (/fhir/HealthcareService) republishes of an offer and search does not
-- use: its business identifier, the ror ids of its provider and location, the codes of its champ
-- d'activité and types d'offre, and its public telecoms (accès libre only, dir-4). one json text
-- column (the table stays within diesel's 32 columns). postgres flavour; keep in step with ../../sqlite.
-- offers imported before this migration get it filled at their next import (the content digest
-- of an offer now carries a version mark, so every offer counts as changed once).
alter table dir_offers add column ror_details text not null default '{}';
