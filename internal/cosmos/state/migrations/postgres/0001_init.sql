-- The Cosmos domain's tables. Times are unix milliseconds (BIGINT); a chain
-- is the name given to --cosmos. Vote and commit codes:
--   vote type      1 prevote, 2 precommit (CometBFT SignedMsgType)
--   vote value     -1 unknown (votes not observed), 0 absent, 1 for the block, 2 nil
--   commit flag    1 absent, 2 commit, 3 nil (CometBFT BlockIDFlag); 0 in cosmos_misses:
--                  not in the height's set (cause not_in_set, validator_index -1)
--   miss cause     observer_gap, no_vote, prevote_only, prevote_not_seen, nil_vote,
--                  precommit_not_included, not_in_set, missed_proposal (only a proposer
--                  turn that made no block)

-- What the sentries observed (one row per vote, round, step, block, commit;
-- the first observer wins).
CREATE TABLE cosmos_votes (
    chain             TEXT     NOT NULL,
    height            BIGINT   NOT NULL,
    round             INTEGER  NOT NULL,
    type              SMALLINT NOT NULL,
    validator_address TEXT     NOT NULL,
    validator_index   INTEGER  NOT NULL,
    block_hash        TEXT     NOT NULL, -- '' for a nil vote
    timestamp         BIGINT   NOT NULL,
    signature         TEXT     NOT NULL,
    endpoint          TEXT     NOT NULL,
    seen_at           BIGINT   NOT NULL,
    PRIMARY KEY (chain, height, round, type, validator_address)
);

CREATE TABLE cosmos_rounds (
    chain            TEXT    NOT NULL,
    height           BIGINT  NOT NULL,
    round            INTEGER NOT NULL,
    proposer_address TEXT    NOT NULL,
    proposer_index   INTEGER NOT NULL,
    endpoint         TEXT    NOT NULL,
    seen_at          BIGINT  NOT NULL,
    PRIMARY KEY (chain, height, round)
);

CREATE TABLE cosmos_steps (
    chain    TEXT    NOT NULL,
    height   BIGINT  NOT NULL,
    round    INTEGER NOT NULL,
    step     TEXT    NOT NULL,
    endpoint TEXT    NOT NULL,
    seen_at  BIGINT  NOT NULL,
    PRIMARY KEY (chain, height, round, step)
);

CREATE TABLE cosmos_blocks (
    chain            TEXT    NOT NULL,
    height           BIGINT  NOT NULL,
    time             BIGINT  NOT NULL,
    hash             TEXT    NOT NULL,
    proposer_address TEXT    NOT NULL,
    num_txs          INTEGER NOT NULL,
    validators_hash  TEXT    NOT NULL,
    votes_observed   BOOLEAN NOT NULL, -- ORed over copies: any observer watched the height
    source           TEXT    NOT NULL,
    endpoint         TEXT    NOT NULL,
    seen_at          BIGINT  NOT NULL,
    PRIMARY KEY (chain, height)
);

-- The canonical commit of a height; flags has one character per validator
-- index of the height's set: 'A' absent, 'C' commit, 'N' nil.
CREATE TABLE cosmos_commits (
    chain      TEXT    NOT NULL,
    height     BIGINT  NOT NULL,
    round      INTEGER NOT NULL,
    block_hash TEXT    NOT NULL,
    flags      TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    endpoint   TEXT    NOT NULL,
    seen_at    BIGINT  NOT NULL,
    PRIMARY KEY (chain, height)
);

-- Validator sets, stored at the heights where they changed: the set of
-- height H is the one with the greatest height <= H.
CREATE TABLE cosmos_validator_sets (
    chain       TEXT    NOT NULL,
    height      BIGINT  NOT NULL,
    size        INTEGER NOT NULL,
    total_power BIGINT  NOT NULL,
    PRIMARY KEY (chain, height)
);

CREATE TABLE cosmos_set_members (
    chain             TEXT    NOT NULL,
    height            BIGINT  NOT NULL,
    idx               INTEGER NOT NULL,
    address           TEXT    NOT NULL,
    voting_power      BIGINT  NOT NULL,
    proposer_priority BIGINT  NOT NULL,
    PRIMARY KEY (chain, height, idx)
);

-- Additions, removals and voting-power changes between consecutive stored sets.
CREATE TABLE cosmos_validator_changes (
    chain     TEXT   NOT NULL,
    height    BIGINT NOT NULL,
    address   TEXT   NOT NULL,
    change    TEXT   NOT NULL, -- added | removed | power
    old_power BIGINT NOT NULL,
    new_power BIGINT NOT NULL,
    PRIMARY KEY (chain, height, address)
);

-- Every validator ever seen in a set of the chain, with its name.
CREATE TABLE cosmos_validators (
    chain            TEXT    NOT NULL,
    address          TEXT    NOT NULL,
    pub_key_type     TEXT    NOT NULL DEFAULT '',
    pub_key          TEXT    NOT NULL DEFAULT '',
    moniker          TEXT    NOT NULL DEFAULT '',
    moniker_source   TEXT    NOT NULL DEFAULT '',
    operator_address TEXT    NOT NULL DEFAULT '',
    jailed           BOOLEAN NOT NULL DEFAULT FALSE,
    voting_power     BIGINT  NOT NULL DEFAULT 0,
    in_set           BOOLEAN NOT NULL DEFAULT FALSE, -- in the latest stored set
    first_height     BIGINT  NOT NULL DEFAULT 0,
    updated_at       BIGINT  NOT NULL,
    PRIMARY KEY (chain, address)
);

CREATE TABLE cosmos_endpoints (
    chain             TEXT    NOT NULL,
    endpoint          TEXT    NOT NULL,
    sentry_id         TEXT    NOT NULL,
    healthy           BOOLEAN NOT NULL,
    reason            TEXT    NOT NULL,
    height            BIGINT  NOT NULL,
    latest_block_time BIGINT  NOT NULL,
    catching_up       BOOLEAN NOT NULL,
    node_version      TEXT    NOT NULL,
    moniker           TEXT    NOT NULL,
    updated_at        BIGINT  NOT NULL, -- seen_at of the latest status
    healthy_at        BIGINT  NOT NULL, -- seen_at of the latest healthy status (0: never)
    PRIMARY KEY (chain, endpoint)
);

CREATE TABLE cosmos_params (
    chain                 TEXT             NOT NULL PRIMARY KEY,
    signed_blocks_window  BIGINT           NOT NULL,
    min_signed_per_window DOUBLE PRECISION NOT NULL,
    source                TEXT             NOT NULL,
    updated_at            BIGINT           NOT NULL
);

-- What the missed-vote analyzer derived. cosmos_heights has one row per
-- analysed height; cosmos_misses one row per height and validator with
-- anything to say (a miss of any kind, a missed proposer turn): a validator
-- of the set without a row at an analysed height signed everything.
CREATE TABLE cosmos_heights (
    chain            TEXT    NOT NULL,
    height           BIGINT  NOT NULL,
    time             BIGINT  NOT NULL,
    round            INTEGER NOT NULL, -- the round that committed the block
    proposer_address TEXT    NOT NULL,
    votes_observed   BOOLEAN NOT NULL,
    validators       INTEGER NOT NULL,
    total_power      BIGINT  NOT NULL,
    signed_power     BIGINT  NOT NULL, -- power of commit (and nil) signatures
    missed           INTEGER NOT NULL, -- validators whose signature is absent
    interval_ms      BIGINT  NOT NULL, -- since the previous block
    incident         TEXT    NOT NULL, -- '' or why the height was a network incident: round, stall
    analyzed_at      BIGINT  NOT NULL,
    PRIMARY KEY (chain, height)
);

CREATE TABLE cosmos_misses (
    chain             TEXT     NOT NULL,
    height            BIGINT   NOT NULL,
    validator_address TEXT     NOT NULL,
    validator_index   INTEGER  NOT NULL,
    voting_power      BIGINT   NOT NULL,
    prevote           SMALLINT NOT NULL,
    precommit         SMALLINT NOT NULL,
    commit_flag       SMALLINT NOT NULL,
    missed_prevote    BOOLEAN  NOT NULL,
    missed_precommit  BOOLEAN  NOT NULL,
    missed_signature  BOOLEAN  NOT NULL,
    missed_proposals  INTEGER  NOT NULL, -- rounds of the height it proposed that made no block
    cause             TEXT     NOT NULL,
    solo              BOOLEAN  NOT NULL,
    incident          BOOLEAN  NOT NULL,
    PRIMARY KEY (chain, height, validator_address)
);
CREATE INDEX cosmos_misses_validator ON cosmos_misses (chain, validator_address, height);

-- The analyzer's running state per validator (incremental: each pass adds
-- the heights analysed since the last one).
CREATE TABLE cosmos_validator_stats (
    chain              TEXT   NOT NULL,
    address            TEXT   NOT NULL,
    signed             BIGINT NOT NULL,
    missed             BIGINT NOT NULL,
    missed_prevote     BIGINT NOT NULL,
    missed_precommit   BIGINT NOT NULL,
    solo_missed        BIGINT NOT NULL,
    proposed           BIGINT NOT NULL,
    missed_proposals   BIGINT NOT NULL,
    consecutive_missed BIGINT NOT NULL,
    window_size        BIGINT NOT NULL,
    window_missed      BIGINT NOT NULL,
    blocks_to_jail     BIGINT NOT NULL, -- -1: not in the set
    time_to_jail_ms    BIGINT NOT NULL,
    last_height        BIGINT NOT NULL,
    last_signed_height BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (chain, address)
);

CREATE TABLE cosmos_chains (
    chain           TEXT   NOT NULL PRIMARY KEY,
    analyzed_height BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
