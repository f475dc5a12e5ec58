-- When the next round is due (1KV's nextNomination): its era, and the
-- estimated unix ms at which that era starts (0 unknown), written by the
-- runner each pass.
ALTER TABLE polkadot_meta ADD COLUMN next_nomination_era BIGINT NOT NULL DEFAULT 0;
ALTER TABLE polkadot_meta ADD COLUMN next_nomination BIGINT NOT NULL DEFAULT 0;
