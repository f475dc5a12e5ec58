-- The SSVNetwork implementation's version, from the sentry's getVersion()
-- call on each Upgraded log of the proxy ('' until an upgrade with a
-- known version): an upgrade to v2 also sets v2_block, so that clusters
-- created from that block on pay in ETH even before an event only v2
-- emits.
ALTER TABLE ssv_networks ADD COLUMN contract_version TEXT NOT NULL DEFAULT '';
ALTER TABLE ssv_networks ADD COLUMN version_block BIGINT NOT NULL DEFAULT 0;
