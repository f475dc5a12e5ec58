-- uint64 counters are stored bit-cast into BIGINT; subnet lists are JSON
-- text (the subnet filter uses subnet_mask, so no JSON operator is needed).
CREATE TABLE peers (
    network             TEXT        NOT NULL,
    peer_id             TEXT        NOT NULL,
    node_id             TEXT        NOT NULL DEFAULT '',
    enr                 TEXT        NOT NULL DEFAULT '',
    enr_seq             BIGINT      NOT NULL DEFAULT 0,
    multiaddr           TEXT        NOT NULL DEFAULT '',
    ip                  TEXT        NOT NULL DEFAULT '',
    port                INTEGER     NOT NULL DEFAULT 0,
    direction           TEXT        NOT NULL DEFAULT '',
    fork_digest         TEXT        NOT NULL DEFAULT '',
    head_slot           BIGINT      NOT NULL DEFAULT 0,
    last_epoch          BIGINT      NOT NULL DEFAULT 0,
    seq                 BIGINT      NOT NULL DEFAULT 0,
    attnets             TEXT        NOT NULL DEFAULT '',
    syncnets            TEXT        NOT NULL DEFAULT '',
    cgc                 BIGINT,
    subscribed_subnets  TEXT        NOT NULL DEFAULT '[]',
    subscribed_syncnets TEXT        NOT NULL DEFAULT '[]',
    -- bit i set: subscribed to, or long-lived on, attestation subnet i.
    subnet_mask         BIGINT      NOT NULL DEFAULT 0,
    client_version      TEXT        NOT NULL DEFAULT '',
    client_name         TEXT        NOT NULL DEFAULT '',
    client_version_num  TEXT        NOT NULL DEFAULT '',
    same_network        BOOLEAN     NOT NULL DEFAULT FALSE,
    handshaken          BOOLEAN     NOT NULL DEFAULT FALSE,
    first_seen          TIMESTAMPTZ NOT NULL,
    last_seen           TIMESTAMPTZ NOT NULL,
    last_observation_at TIMESTAMPTZ,
    PRIMARY KEY (network, peer_id)
);
CREATE INDEX peers_network_last_seen ON peers (network, last_seen);
CREATE INDEX peers_ip ON peers (ip);

-- discoveries keep only what idempotency (Applied) and retention need; the
-- discovered fields themselves live in peers.
CREATE TABLE discoveries (
    msg_id    TEXT        NOT NULL PRIMARY KEY,
    network   TEXT        NOT NULL,
    peer_id   TEXT        NOT NULL,
    enr_seq   BIGINT      NOT NULL,
    sentry_id TEXT        NOT NULL,
    time      TIMESTAMPTZ NOT NULL
);
CREATE INDEX discoveries_time ON discoveries (time);

CREATE TABLE observations (
    id                  BIGSERIAL   PRIMARY KEY,
    msg_id              TEXT        NOT NULL UNIQUE,
    network             TEXT        NOT NULL,
    peer_id             TEXT        NOT NULL,
    node_id             TEXT        NOT NULL,
    enr                 TEXT        NOT NULL,
    multiaddr           TEXT        NOT NULL,
    ip                  TEXT        NOT NULL,
    port                INTEGER     NOT NULL,
    direction           TEXT        NOT NULL,
    epoch               BIGINT      NOT NULL,
    head_slot           BIGINT      NOT NULL,
    fork_digest         TEXT        NOT NULL,
    seq                 BIGINT      NOT NULL,
    attnets             TEXT        NOT NULL,
    syncnets            TEXT        NOT NULL,
    cgc                 BIGINT,
    subscribed_subnets  TEXT        NOT NULL,
    subscribed_syncnets TEXT        NOT NULL,
    client_version      TEXT        NOT NULL,
    client_name         TEXT        NOT NULL,
    client_version_num  TEXT        NOT NULL,
    sentry_id           TEXT        NOT NULL,
    time                TIMESTAMPTZ NOT NULL
);
CREATE INDEX observations_peer_time ON observations (network, peer_id, time);
CREATE INDEX observations_network_time ON observations (network, time);

CREATE TABLE subscription_changes (
    id         BIGSERIAL   PRIMARY KEY,
    msg_id     TEXT        NOT NULL UNIQUE,
    network    TEXT        NOT NULL,
    peer_id    TEXT        NOT NULL,
    kind       TEXT        NOT NULL,
    subnet     INTEGER     NOT NULL,
    subscribed BOOLEAN     NOT NULL,
    epoch      BIGINT      NOT NULL,
    sentry_id  TEXT        NOT NULL,
    time       TIMESTAMPTZ NOT NULL
);
CREATE INDEX subscription_changes_peer_time ON subscription_changes (network, peer_id, time);
CREATE INDEX subscription_changes_network_time ON subscription_changes (network, time);

CREATE TABLE ip_info (
    ip           TEXT             NOT NULL PRIMARY KEY,
    country      TEXT             NOT NULL DEFAULT '',
    country_code TEXT             NOT NULL DEFAULT '',
    region       TEXT             NOT NULL DEFAULT '',
    city         TEXT             NOT NULL DEFAULT '',
    latitude     DOUBLE PRECISION NOT NULL DEFAULT 0,
    longitude    DOUBLE PRECISION NOT NULL DEFAULT 0,
    asn          BIGINT           NOT NULL DEFAULT 0,
    as_org       TEXT             NOT NULL DEFAULT '',
    class        TEXT             NOT NULL DEFAULT '',
    updated_at   TIMESTAMPTZ      NOT NULL
);

CREATE TABLE estimates (
    network    TEXT             NOT NULL,
    peer_id    TEXT             NOT NULL,
    validators INTEGER          NOT NULL,
    low        INTEGER          NOT NULL,
    high       INTEGER          NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    method     TEXT             NOT NULL,
    heuristic  INTEGER          NOT NULL,
    epochs     INTEGER          NOT NULL,
    updated_at TIMESTAMPTZ      NOT NULL,
    PRIMARY KEY (network, peer_id)
);
