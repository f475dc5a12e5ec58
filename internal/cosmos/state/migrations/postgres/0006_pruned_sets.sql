-- cosmos_pruned_heights also holds the heights whose validator sets every
-- endpoint had pruned (event pruned_heights with what 'validator_set'),
-- found when the set of from_height was asked for (its header's
-- validators_hash in validators_hash); their blocks may still be stored.
-- The missed-vote analyzer skips those of them whose set is not stored at
-- once (reason validator_set_pruned). Rows written before are ranges of
-- pruned blocks and commits (what 'blocks'). A range of sets and one of
-- blocks may cover the same heights, so what is part of the key.
--
-- Neither this table nor cosmos_skipped_heights is pruned: they are kept as
-- long as the heights they describe (no cosmos_* table of observed or
-- analysed heights has a retention), one row per range or skipped run.
ALTER TABLE cosmos_pruned_heights ADD COLUMN what TEXT NOT NULL DEFAULT 'blocks';
ALTER TABLE cosmos_pruned_heights ADD COLUMN validators_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE cosmos_pruned_heights DROP CONSTRAINT cosmos_pruned_heights_pkey;
ALTER TABLE cosmos_pruned_heights ADD PRIMARY KEY (chain, what, from_height, to_height);
