-- When the next round is due (1KV's nextNomination): its era, and the
-- estimated unix ms at which that era starts (0 unknown), written by the
-- runner each pass.
ALTER TABLE polkadot_meta ADD COLUMN next_nomination_era BIGINT NOT NULL DEFAULT 0;
ALTER TABLE polkadot_meta ADD COLUMN next_nomination BIGINT NOT NULL DEFAULT 0;
-- An announcement's failed executions ({count, last, error, gave_up}), so
-- the bound on them (and their back-off) survives a restart.
ALTER TABLE polkadot_proxy_txs ADD COLUMN attempts TEXT NOT NULL DEFAULT '{}';
