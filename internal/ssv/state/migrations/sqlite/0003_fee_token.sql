-- SSVNetwork v2.0.0 has clusters pay fees in ETH: clusters created once
-- the contract is v2, and legacy SSV clusters from their
-- ClusterMigratedToETH on; the others keep paying in SSV. A cluster's
-- balance is wei of its fee token. The token is contract state, not in
-- the events, so the sink derives it: v2_block is the first block with an
-- event only v2 emits (0: none yet).
ALTER TABLE ssv_clusters ADD COLUMN fee_token TEXT NOT NULL DEFAULT '';
ALTER TABLE ssv_networks ADD COLUMN v2_block BIGINT NOT NULL DEFAULT 0;
-- Networks synced before this migration are rebuilt from their event log
-- once, by the sink, so that every cluster gets its token; new networks
-- rebuild an empty log.
ALTER TABLE ssv_networks ADD COLUMN rebuild BOOLEAN NOT NULL DEFAULT TRUE;
