-- cosmos_pruned_heights also holds the heights whose validator sets every
-- endpoint had pruned (event pruned_heights with what 'validator_set'),
-- found when the set of from_height was asked for (its header's
-- validators_hash in validators_hash); their blocks may still be stored.
-- The missed-vote analyzer skips those of them whose set is not stored at
-- once (reason validator_set_pruned). Rows written before are ranges of
-- pruned blocks and commits (what 'blocks'). A range of sets and one of
-- blocks may cover the same heights, so what is part of the key (SQLite
-- cannot change a primary key: the table is copied).
--
-- Neither this table nor cosmos_skipped_heights is pruned: they are kept as
-- long as the heights they describe (no cosmos_* table of observed or
-- analysed heights has a retention), one row per range or skipped run.
CREATE TABLE cosmos_pruned_heights_v6 (
    chain            TEXT    NOT NULL,
    what             TEXT    NOT NULL DEFAULT 'blocks', -- 'blocks' | 'validator_set'
    from_height      INTEGER NOT NULL,
    to_height        INTEGER NOT NULL,
    lowest_available INTEGER NOT NULL, -- the lowest height any endpoint still held
    endpoints        INTEGER NOT NULL, -- how many endpoints said so
    validators_hash  TEXT    NOT NULL DEFAULT '', -- of from_height, for sets ('' unknown)
    endpoint         TEXT    NOT NULL,
    sentry_id        TEXT    NOT NULL,
    seen_at          INTEGER NOT NULL,
    PRIMARY KEY (chain, what, from_height, to_height)
);
INSERT INTO cosmos_pruned_heights_v6 (chain, what, from_height, to_height, lowest_available, endpoints, validators_hash, endpoint, sentry_id, seen_at)
    SELECT chain, 'blocks', from_height, to_height, lowest_available, endpoints, '', endpoint, sentry_id, seen_at FROM cosmos_pruned_heights;
DROP TABLE cosmos_pruned_heights;
ALTER TABLE cosmos_pruned_heights_v6 RENAME TO cosmos_pruned_heights;
