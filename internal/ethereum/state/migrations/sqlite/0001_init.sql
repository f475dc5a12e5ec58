-- Times are unix microseconds (INTEGER) so that comparisons and ordering are
-- numeric; uint64 counters are stored bit-cast into INTEGER.
CREATE TABLE peers (
    network             TEXT    NOT NULL,
    peer_id             TEXT    NOT NULL,
    node_id             TEXT    NOT NULL DEFAULT '',
    enr                 TEXT    NOT NULL DEFAULT '',
    enr_seq             INTEGER NOT NULL DEFAULT 0,
    multiaddr           TEXT    NOT NULL DEFAULT '',
    ip                  TEXT    NOT NULL DEFAULT '',
    port                INTEGER NOT NULL DEFAULT 0,
    direction           TEXT    NOT NULL DEFAULT '',
    fork_digest         TEXT    NOT NULL DEFAULT '',
    head_slot           INTEGER NOT NULL DEFAULT 0,
    last_epoch          INTEGER NOT NULL DEFAULT 0,
    seq                 INTEGER NOT NULL DEFAULT 0,
    attnets             TEXT    NOT NULL DEFAULT '',
    syncnets            TEXT    NOT NULL DEFAULT '',
    cgc                 INTEGER,
    subscribed_subnets  TEXT    NOT NULL DEFAULT '[]',
    subscribed_syncnets TEXT    NOT NULL DEFAULT '[]',
    -- bit i set: subscribed to, or long-lived on, attestation subnet i.
    subnet_mask         INTEGER NOT NULL DEFAULT 0,
    client_version      TEXT    NOT NULL DEFAULT '',
    client_name         TEXT    NOT NULL DEFAULT '',
    client_version_num  TEXT    NOT NULL DEFAULT '',
    same_network        BOOLEAN NOT NULL DEFAULT FALSE,
    handshaken          BOOLEAN NOT NULL DEFAULT FALSE,
    first_seen          INTEGER NOT NULL,
    last_seen           INTEGER NOT NULL,
    last_observation_at INTEGER,
    PRIMARY KEY (network, peer_id)
) WITHOUT ROWID;
CREATE INDEX peers_network_last_seen ON peers (network, last_seen);
CREATE INDEX peers_ip ON peers (ip);

-- discoveries keep only what idempotency (Applied) and retention need; the
-- discovered fields themselves live in peers.
CREATE TABLE discoveries (
    msg_id    TEXT        NOT NULL PRIMARY KEY,
    network   TEXT        NOT NULL,
    peer_id   TEXT        NOT NULL,
    enr_seq   INTEGER     NOT NULL,
    sentry_id TEXT        NOT NULL,
    time      INTEGER     NOT NULL
) WITHOUT ROWID;
CREATE INDEX discoveries_time ON discoveries (time);

CREATE TABLE observations (
    id                  INTEGER PRIMARY KEY,
    msg_id              TEXT    NOT NULL UNIQUE,
    network             TEXT    NOT NULL,
    peer_id             TEXT    NOT NULL,
    node_id             TEXT    NOT NULL,
    enr                 TEXT    NOT NULL,
    multiaddr           TEXT    NOT NULL,
    ip                  TEXT    NOT NULL,
    port                INTEGER NOT NULL,
    direction           TEXT    NOT NULL,
    epoch               INTEGER NOT NULL,
    head_slot           INTEGER NOT NULL,
    fork_digest         TEXT    NOT NULL,
    seq                 INTEGER NOT NULL,
    attnets             TEXT    NOT NULL,
    syncnets            TEXT    NOT NULL,
    cgc                 INTEGER,
    subscribed_subnets  TEXT    NOT NULL,
    subscribed_syncnets TEXT    NOT NULL,
    client_version      TEXT    NOT NULL,
    client_name         TEXT    NOT NULL,
    client_version_num  TEXT    NOT NULL,
    sentry_id           TEXT    NOT NULL,
    time                INTEGER NOT NULL
);
CREATE INDEX observations_peer_time ON observations (network, peer_id, time);
CREATE INDEX observations_network_time ON observations (network, time);

CREATE TABLE subscription_changes (
    id         INTEGER PRIMARY KEY,
    msg_id     TEXT    NOT NULL UNIQUE,
    network    TEXT    NOT NULL,
    peer_id    TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    subnet     INTEGER NOT NULL,
    subscribed BOOLEAN NOT NULL,
    epoch      INTEGER NOT NULL,
    sentry_id  TEXT    NOT NULL,
    time       INTEGER NOT NULL
);
CREATE INDEX subscription_changes_peer_time ON subscription_changes (network, peer_id, time);
CREATE INDEX subscription_changes_network_time ON subscription_changes (network, time);

CREATE TABLE ip_info (
    ip           TEXT    NOT NULL PRIMARY KEY,
    country      TEXT    NOT NULL DEFAULT '',
    country_code TEXT    NOT NULL DEFAULT '',
    region       TEXT    NOT NULL DEFAULT '',
    city         TEXT    NOT NULL DEFAULT '',
    latitude     REAL    NOT NULL DEFAULT 0,
    longitude    REAL    NOT NULL DEFAULT 0,
    asn          INTEGER NOT NULL DEFAULT 0,
    as_org       TEXT    NOT NULL DEFAULT '',
    class        TEXT    NOT NULL DEFAULT '',
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE estimates (
    network    TEXT    NOT NULL,
    peer_id    TEXT    NOT NULL,
    validators INTEGER NOT NULL,
    low        INTEGER NOT NULL,
    high       INTEGER NOT NULL,
    confidence REAL    NOT NULL,
    method     TEXT    NOT NULL,
    heuristic  INTEGER NOT NULL,
    epochs     INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (network, peer_id)
) WITHOUT ROWID;
