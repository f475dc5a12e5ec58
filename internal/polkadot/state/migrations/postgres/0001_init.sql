-- The Polkadot domain's tables. A chain is the name given to the sentry
-- (polkadot, kusama, westend…). Blocks and eras are stored in BIGINT
-- (blocks bit-cast with store.U64); times are unix milliseconds in BIGINT
-- (they come from the bus that way and the program compares them as such);
-- balances are decimal TEXT (a u128 fits no integer column). Records whose
-- shape belongs to another package (events.*, program.*) are kept whole as
-- JSON in TEXT columns, with the columns queries filter or sort on beside
-- them: the payload types can grow without a migration.
--
-- Two groups: what the sentry observed (chains, validators, eras,
-- era_points, faults, telemetry), written by the sink; and the program's
-- state (candidates … meta), written by the runner, all of it persisted so
-- a restart resumes mid-round.

-- The latest events.Chain per chain.
CREATE TABLE polkadot_chains (
    chain       TEXT   PRIMARY KEY,
    block       BIGINT NOT NULL,
    block_hash  TEXT   NOT NULL,
    active_era  BIGINT NOT NULL,
    current_era BIGINT NOT NULL,
    session     BIGINT NOT NULL,
    data        TEXT   NOT NULL, -- events.Chain JSON
    seen_at     BIGINT NOT NULL
);

-- The merged latest events.Validator per stash: each fact merged with the
-- stored one (events.Fact.Merge), so a failed read keeps the last value.
CREATE TABLE polkadot_validators (
    chain   TEXT    NOT NULL,
    stash   TEXT    NOT NULL,
    block   BIGINT  NOT NULL,
    active  BOOLEAN NOT NULL,
    data    TEXT    NOT NULL, -- events.Validator JSON (merged)
    seen_at BIGINT  NOT NULL,
    PRIMARY KEY (chain, stash)
);

-- One era's validator set and points; a complete record overrides an
-- incomplete one, never the reverse.
CREATE TABLE polkadot_eras (
    chain      TEXT    NOT NULL,
    era        BIGINT  NOT NULL,
    validators TEXT    NOT NULL, -- JSON array of stashes
    total      BIGINT  NOT NULL,
    complete   BOOLEAN NOT NULL,
    block      BIGINT  NOT NULL,
    seen_at    BIGINT  NOT NULL,
    PRIMARY KEY (chain, era)
);

-- The points of each stash in an era (from polkadot_eras' record), for
-- per-stash history without parsing every era.
CREATE TABLE polkadot_era_points (
    chain  TEXT   NOT NULL,
    era    BIGINT NOT NULL,
    stash  TEXT   NOT NULL,
    points BIGINT NOT NULL,
    PRIMARY KEY (chain, stash, era)
);

-- Faults, append-only: a republished fault has the same id.
CREATE TABLE polkadot_faults (
    chain   TEXT   NOT NULL,
    id      TEXT   NOT NULL,
    stash   TEXT   NOT NULL,
    kind    TEXT   NOT NULL,
    reason  TEXT   NOT NULL,
    era     BIGINT NOT NULL,
    session BIGINT NOT NULL,
    block   BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (chain, id)
);
CREATE INDEX polkadot_faults_stash ON polkadot_faults (chain, stash, at);

-- The latest events.Telemetry per node name (IP not kept).
CREATE TABLE polkadot_telemetry (
    chain  TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    online BOOLEAN NOT NULL,
    at     BIGINT  NOT NULL,
    data   TEXT    NOT NULL, -- events.Telemetry JSON
    PRIMARY KEY (chain, name)
);

-- The program's candidates with their latest evaluation; validity's checks
-- are the Prev of the next evaluation.
CREATE TABLE polkadot_candidates (
    chain           TEXT             NOT NULL,
    stash           TEXT             NOT NULL,
    name            TEXT             NOT NULL,
    entry           TEXT             NOT NULL, -- program.Entry JSON
    status          TEXT             NOT NULL, -- valid | invalid | unknown
    validity        TEXT             NOT NULL, -- program.Validity JSON
    match_node      TEXT             NOT NULL, -- the matched telemetry name, '' none
    telemetry_match TEXT             NOT NULL, -- program.Match JSON
    rank            BIGINT           NOT NULL,
    faults          BIGINT           NOT NULL,
    inclusion       DOUBLE PRECISION NOT NULL,
    span_inclusion  DOUBLE PRECISION NOT NULL,
    nominated_at    BIGINT           NOT NULL,
    updated         BIGINT           NOT NULL,
    PRIMARY KEY (chain, stash)
);

-- One scoring of the valid set (program.Snapshot without its scores).
CREATE TABLE polkadot_score_snapshots (
    chain   TEXT   NOT NULL,
    id      BIGINT NOT NULL,
    era     BIGINT NOT NULL,
    session BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    seed    BIGINT NOT NULL,
    weights TEXT   NOT NULL, -- JSON
    stats   TEXT   NOT NULL, -- JSON map of program.Stats
    PRIMARY KEY (chain, id)
);

CREATE TABLE polkadot_scores (
    chain       TEXT             NOT NULL,
    snapshot_id BIGINT           NOT NULL,
    stash       TEXT             NOT NULL,
    name        TEXT             NOT NULL,
    total       DOUBLE PRECISION NOT NULL,
    aggregate   DOUBLE PRECISION NOT NULL,
    randomness  DOUBLE PRECISION NOT NULL,
    components  TEXT             NOT NULL, -- JSON array of program.Component
    PRIMARY KEY (chain, snapshot_id, stash)
);
CREATE INDEX polkadot_scores_stash ON polkadot_scores (chain, stash, snapshot_id);

-- The rank log: one row per candidate and era period.
CREATE TABLE polkadot_rank_log (
    chain  TEXT    NOT NULL,
    stash  TEXT    NOT NULL,
    period BIGINT  NOT NULL, -- the first era of the period
    eras   TEXT    NOT NULL, -- JSON array of the period's eras
    active BOOLEAN NOT NULL,
    rank   BIGINT  NOT NULL,
    at     BIGINT  NOT NULL,
    PRIMARY KEY (chain, stash, period)
);

-- Nomination rounds.
CREATE TABLE polkadot_rounds (
    chain       TEXT    NOT NULL,
    id          BIGINT  NOT NULL,
    era         BIGINT  NOT NULL,
    started     BIGINT  NOT NULL,
    dry_run     BOOLEAN NOT NULL,
    assignments TEXT    NOT NULL, -- JSON array of program.Assignment
    status      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL, -- JSON: how each target fared
    updated     BIGINT  NOT NULL,
    PRIMARY KEY (chain, id)
);

-- Nominations made (or, dry run, that would have been).
CREATE TABLE polkadot_nominations (
    chain      TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    round_id   BIGINT  NOT NULL,
    nominator  TEXT    NOT NULL,
    era        BIGINT  NOT NULL,
    targets    TEXT    NOT NULL, -- JSON array of stashes
    at         BIGINT  NOT NULL,
    block_hash TEXT    NOT NULL,
    tx_hash    TEXT    NOT NULL,
    dry_run    BOOLEAN NOT NULL,
    PRIMARY KEY (chain, id)
);
CREATE INDEX polkadot_nominations_nominator ON polkadot_nominations (chain, nominator, at);

-- Time-delay proxy announcements and their fate; state only moves forward
-- (announced → executed | cancelled | failed).
CREATE TABLE polkadot_proxy_txs (
    chain           TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    round_id        BIGINT NOT NULL,
    nominator       TEXT   NOT NULL, -- the real (bonded) account
    delegate        TEXT   NOT NULL,
    call_hash       TEXT   NOT NULL,
    targets         TEXT   NOT NULL, -- JSON array
    announced_block BIGINT NOT NULL,
    execute_after   BIGINT NOT NULL,
    state           TEXT   NOT NULL,
    reason          TEXT   NOT NULL,
    tx_hashes       TEXT   NOT NULL, -- JSON array: announce, then execute or cancel
    created         BIGINT NOT NULL,
    updated         BIGINT NOT NULL,
    PRIMARY KEY (chain, id)
);
CREATE INDEX polkadot_proxy_txs_state ON polkadot_proxy_txs (chain, state);

-- The program's position per chain.
CREATE TABLE polkadot_meta (
    chain              TEXT   PRIMARY KEY,
    last_nominated_era BIGINT NOT NULL DEFAULT 0,
    last_round_id      BIGINT NOT NULL DEFAULT 0,
    release            TEXT   NOT NULL DEFAULT '', -- program.Release JSON, '' unknown
    updated            BIGINT NOT NULL DEFAULT 0
);
