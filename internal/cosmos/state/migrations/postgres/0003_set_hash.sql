-- The validators_hash a stored set was fetched for (the header field of the
-- heights it is in effect at; '' for a set stored before this column or
-- published without it). The missed-vote analyzer analyses a height only
-- against the set whose hash its block names, so that a set change that
-- arrives late (a backfill, a slow indexer) is never read as the old set.
ALTER TABLE cosmos_validator_sets ADD COLUMN validators_hash TEXT NOT NULL DEFAULT '';
