-- Each registered validator's beacon-chain state, as the beacon node given
-- to --ssv-beacon last reported it (written by the ssv beacon analyzer,
-- keyed by public key: both owners of a key registered twice share it).
-- uint64 values bit-cast into BIGINT (store.U64); FAR_FUTURE_EPOCH is
-- 2^64-1. updated_at is Unix milliseconds.
CREATE TABLE ssv_beacon_validators (
    network          TEXT    NOT NULL,
    public_key       TEXT    NOT NULL,
    beacon_index     BIGINT  NOT NULL,
    status           TEXT    NOT NULL,
    balance_gwei     BIGINT  NOT NULL,
    slashed          BOOLEAN NOT NULL,
    activation_epoch BIGINT  NOT NULL,
    exit_epoch       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    PRIMARY KEY (network, public_key)
);
CREATE INDEX ssv_beacon_validators_index ON ssv_beacon_validators (network, beacon_index);
