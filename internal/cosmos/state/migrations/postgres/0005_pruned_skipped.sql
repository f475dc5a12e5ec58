-- Heights the sentry found pruned on every endpoint (event pruned_heights):
-- one row per range it gave up, from_height..to_height inclusive, never
-- expanded to a row per height (a node may have pruned millions). Heights
-- of a range that were stored anyway (seen live) keep their data; the
-- missed-vote analyzer skips the others at once instead of waiting.
CREATE TABLE cosmos_pruned_heights (
    chain            TEXT    NOT NULL,
    from_height      BIGINT  NOT NULL,
    to_height        BIGINT  NOT NULL,
    lowest_available BIGINT  NOT NULL, -- the lowest height any endpoint still held
    endpoints        INTEGER NOT NULL, -- how many endpoints said so
    endpoint         TEXT    NOT NULL,
    sentry_id        TEXT    NOT NULL,
    seen_at          BIGINT  NOT NULL,
    PRIMARY KEY (chain, from_height, to_height)
);

-- Heights the missed-vote analyzer passed without analysing them, one row
-- per run of consecutive heights given up on for one reason in one pass:
-- pruned (the sentry found them pruned everywhere), block_missing,
-- commit_missing, validator_set_not_stored, no_validator_set,
-- signatures_set_mismatch. No cosmos_heights or cosmos_misses row exists
-- for them: nobody is charged with a miss there. The API's
-- /heights/{height} gives the reason.
CREATE TABLE cosmos_skipped_heights (
    chain       TEXT    NOT NULL,
    from_height BIGINT  NOT NULL,
    to_height   BIGINT  NOT NULL,
    reason      TEXT    NOT NULL,
    skipped_at  BIGINT  NOT NULL,
    PRIMARY KEY (chain, from_height)
);
