-- The SSV domain's tables. A network is the name given to --ssv. Blocks are
-- execution-layer block numbers; uint64 values (ids, indexes, blocks) are
-- stored bit-cast into BIGINT (store.U64); uint256 amounts (fees, balances,
-- DAO values) as decimal TEXT. Addresses are EIP-55 0x-hex, validator public
-- keys lower-case 0x-hex, operator id lists their sorted decimal ids joined
-- by ',' ("1,2,3,4").
--
-- How the tables relate: contract events arrive before their block's
-- marker and wait in ssv_pending; the marker applies them, in log order, to
-- the registry tables (operators … network params, invalid) and moves them
-- to ssv_events, the applied-event log, from which a reorg rebuilds the
-- registry. ssv_blocks are the processed blocks (the last one is the sync
-- cursor), ssv_changes what /stream announces.

-- One row per network: its counters. The row is updated by every batch,
-- which on PostgreSQL serialises concurrent writers of one network.
CREATE TABLE ssv_networks (
    network         TEXT   PRIMARY KEY,
    next_index      BIGINT NOT NULL DEFAULT 1, -- the next validator index
    next_seq        BIGINT NOT NULL DEFAULT 1, -- the next change seq
    reorgs          BIGINT NOT NULL DEFAULT 0,
    skipped_logs    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE ssv_operators (
    network               TEXT    NOT NULL,
    id                    BIGINT  NOT NULL,
    owner                 TEXT    NOT NULL,
    public_key            TEXT    NOT NULL,
    fee                   TEXT    NOT NULL,
    pending_fee           TEXT    NOT NULL DEFAULT '',
    pending_fee_block     BIGINT  NOT NULL DEFAULT 0,
    private               BOOLEAN NOT NULL DEFAULT FALSE,
    whitelisting_contract TEXT    NOT NULL DEFAULT '',
    removed               BOOLEAN NOT NULL DEFAULT FALSE,
    added_block           BIGINT  NOT NULL,
    updated_block         BIGINT  NOT NULL,
    PRIMARY KEY (network, id)
);

CREATE TABLE ssv_operator_whitelist (
    network     TEXT   NOT NULL,
    operator_id BIGINT NOT NULL,
    address     TEXT   NOT NULL,
    PRIMARY KEY (network, operator_id, address)
);

-- A registration of a public key by an owner; the same key under two owners
-- is two rows. idx is valtrack's sequence (1, 2, … in chain order); a key
-- its owner removed and registers again keeps its row and index.
CREATE TABLE ssv_validators (
    network       TEXT    NOT NULL,
    public_key    TEXT    NOT NULL,
    owner         TEXT    NOT NULL,
    idx           BIGINT  NOT NULL,
    operator_ids  TEXT    NOT NULL,
    cluster_id    TEXT    NOT NULL,
    status        TEXT    NOT NULL, -- active | exited | removed
    liquidated    BOOLEAN NOT NULL DEFAULT FALSE,
    added_block   BIGINT  NOT NULL,
    updated_block BIGINT  NOT NULL,
    PRIMARY KEY (network, public_key, owner)
);
CREATE UNIQUE INDEX ssv_validators_idx ON ssv_validators (network, idx);
CREATE INDEX ssv_validators_owner ON ssv_validators (network, owner);
CREATE INDEX ssv_validators_cluster ON ssv_validators (network, cluster_id);

-- The operators of each validator, for the operator filter and counts.
CREATE TABLE ssv_validator_operators (
    network       TEXT   NOT NULL,
    operator_id   BIGINT NOT NULL,
    validator_idx BIGINT NOT NULL,
    PRIMARY KEY (network, operator_id, validator_idx)
);

-- The latest snapshot of each cluster, as the last event carrying its
-- tuple gave it.
CREATE TABLE ssv_clusters (
    network           TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    owner             TEXT    NOT NULL,
    operator_ids      TEXT    NOT NULL,
    validator_count   BIGINT  NOT NULL,
    network_fee_index BIGINT  NOT NULL,
    idx               BIGINT  NOT NULL,
    active            BOOLEAN NOT NULL,
    balance           TEXT    NOT NULL,
    updated_block     BIGINT  NOT NULL,
    PRIMARY KEY (network, id)
);
CREATE INDEX ssv_clusters_owner ON ssv_clusters (network, owner);

-- nonce: the owner's ValidatorAdded events so far, valid or not.
CREATE TABLE ssv_owners (
    network       TEXT   NOT NULL,
    address       TEXT   NOT NULL,
    nonce         BIGINT NOT NULL DEFAULT 0,
    fee_recipient TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (network, address)
);

-- Network fee and DAO values by parameter name (network_fee,
-- operator_fee_increase_limit, declare_operator_fee_period, …).
CREATE TABLE ssv_network_params (
    network TEXT   NOT NULL,
    name    TEXT   NOT NULL,
    value   TEXT   NOT NULL,
    block   BIGINT NOT NULL,
    PRIMARY KEY (network, name)
);

-- ValidatorAdded events the checks refused.
CREATE TABLE ssv_invalid (
    network      TEXT   NOT NULL,
    block        BIGINT NOT NULL,
    log_index    BIGINT NOT NULL,
    tx_hash      TEXT   NOT NULL,
    owner        TEXT   NOT NULL,
    public_key   TEXT   NOT NULL,
    operator_ids TEXT   NOT NULL,
    nonce        BIGINT NOT NULL,
    reason       TEXT   NOT NULL,
    PRIMARY KEY (network, block, log_index)
);

-- The applied-event log: every contract event of a processed block, in
-- order, with what applying it did (outcome: '' applied, else why not).
-- stateless is a ValidatorAdded's stateless check verdict ('' passed), kept
-- so that a rebuild after a reorg does not verify signatures again.
CREATE TABLE ssv_events (
    network    TEXT   NOT NULL,
    block      BIGINT NOT NULL,
    log_index  BIGINT NOT NULL,
    block_hash TEXT   NOT NULL,
    tx_hash    TEXT   NOT NULL,
    tx_index   BIGINT NOT NULL,
    name       TEXT   NOT NULL,
    args       TEXT   NOT NULL,
    stateless  TEXT,
    outcome    TEXT   NOT NULL,
    PRIMARY KEY (network, block, log_index)
);

-- Contract events whose block marker has not been applied yet.
CREATE TABLE ssv_pending (
    network    TEXT   NOT NULL,
    block_hash TEXT   NOT NULL,
    log_index  BIGINT NOT NULL,
    block      BIGINT NOT NULL,
    tx_hash    TEXT   NOT NULL,
    tx_index   BIGINT NOT NULL,
    name       TEXT   NOT NULL,
    args       TEXT   NOT NULL,
    PRIMARY KEY (network, block_hash, log_index)
);
CREATE INDEX ssv_pending_block ON ssv_pending (network, block);

-- Processed blocks; the greatest is the sync cursor. Blocks with events
-- are kept, empty ones for the last 4096 blocks.
CREATE TABLE ssv_blocks (
    network     TEXT   NOT NULL,
    number      BIGINT NOT NULL,
    hash        TEXT   NOT NULL,
    parent_hash TEXT   NOT NULL,
    time        BIGINT NOT NULL, -- unix ms
    events      BIGINT NOT NULL,
    skipped     BIGINT NOT NULL,
    PRIMARY KEY (network, number)
);

-- The sentry's latest status.
CREATE TABLE ssv_sync (
    network   TEXT   PRIMARY KEY,
    contract  TEXT   NOT NULL,
    mode      TEXT   NOT NULL,
    head      BIGINT NOT NULL,
    processed BIGINT NOT NULL,
    endpoints TEXT   NOT NULL, -- JSON array of registry.Endpoint
    status_at BIGINT NOT NULL  -- unix ms
);

-- Reorgs applied (a redelivered one is recognised and changes nothing).
CREATE TABLE ssv_reorgs (
    network    TEXT   NOT NULL,
    from_block BIGINT NOT NULL,
    old_hash   TEXT   NOT NULL,
    new_hash   TEXT   NOT NULL,
    PRIMARY KEY (network, from_block, old_hash, new_hash)
);

-- Registry changes in the order applied (kind operator | validator; id the
-- operator id or validator index), for /stream.
CREATE TABLE ssv_changes (
    network TEXT   NOT NULL,
    seq     BIGINT NOT NULL,
    kind    TEXT   NOT NULL,
    id      BIGINT NOT NULL,
    PRIMARY KEY (network, seq)
);
