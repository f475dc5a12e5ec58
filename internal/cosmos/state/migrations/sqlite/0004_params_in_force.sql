-- The x/slashing parameters the missed-vote analyzer used for a chain, and
-- where they came from: 'config' (--cosmos-slashing), 'lcd', 'abci'
-- (abci_query over the RPC), or '' when they are unknown (then
-- blocks_to_jail and time_to_jail_ms of cosmos_validator_stats are -2, and
-- signed_blocks_window here is the length of the window counters, not the
-- chain's). The API and the alert rules read these, so that a configured
-- value and a value read from the chain are used alike.
--
-- cosmos_validator_stats.blocks_to_jail and time_to_jail_ms: ≥ 0 the
-- projection; -1 not in the set; -2 unknown (no slashing parameters);
-- -3 never (min_signed_per_window lets the whole window be missed, e.g. 0).
ALTER TABLE cosmos_chains ADD COLUMN signed_blocks_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cosmos_chains ADD COLUMN min_signed_per_window REAL NOT NULL DEFAULT 0;
ALTER TABLE cosmos_chains ADD COLUMN params_source TEXT NOT NULL DEFAULT '';
