-- Alerts (internal/cosmos/alerts). Times are unix milliseconds (INTEGER);
-- 0 means "not yet". One row per occurrence of an alert: a key (rule/chain,
-- rule/chain/address) has at most one open row (pending or firing) and any
-- number of resolved ones (the history). The state lives here, not in
-- memory, so that a restarted process resolves what fired before it.
CREATE TABLE cosmos_alerts (
    id                INTEGER PRIMARY KEY,
    alert_key         TEXT    NOT NULL,
    rule              TEXT    NOT NULL,
    chain             TEXT    NOT NULL,
    validator_address TEXT    NOT NULL, -- '' for a chain-level rule
    moniker           TEXT    NOT NULL,
    status            TEXT    NOT NULL, -- pending | firing | resolved
    severity          TEXT    NOT NULL, -- info | warning | critical
    value             REAL    NOT NULL,
    threshold         REAL    NOT NULL,
    unit              TEXT    NOT NULL,
    summary           TEXT    NOT NULL,
    since             INTEGER NOT NULL, -- the condition first held
    fired_at          INTEGER NOT NULL,
    clear_since       INTEGER NOT NULL, -- the condition first seen clear while firing (0: it holds)
    resolved_at       INTEGER NOT NULL,
    notified_at       INTEGER NOT NULL, -- the last trigger, severity change or reminder
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX cosmos_alerts_open ON cosmos_alerts (alert_key) WHERE status <> 'resolved';
CREATE INDEX cosmos_alerts_chain ON cosmos_alerts (chain, status, id);

-- What each channel must receive for an alert and what it has received: a
-- notification is due while sent_seq < want_seq. Written in the transaction
-- that changes the alert, so a restart re-sends what was not delivered
-- (an undelivered resolve above all).
CREATE TABLE cosmos_alert_deliveries (
    alert_id    INTEGER NOT NULL REFERENCES cosmos_alerts (id) ON DELETE CASCADE,
    channel     TEXT    NOT NULL,
    want_seq    INTEGER NOT NULL,
    want_status TEXT    NOT NULL, -- firing | resolved
    want_kind   TEXT    NOT NULL, -- trigger | update | reminder | resolve
    sent_seq    INTEGER NOT NULL DEFAULT 0,
    sent_status TEXT    NOT NULL DEFAULT '',
    sent_at     INTEGER NOT NULL DEFAULT 0,
    gaveup_seq  INTEGER NOT NULL DEFAULT 0, -- the last seq given up on (retried after a restart)
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '', -- redacted
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (alert_id, channel)
);
CREATE INDEX cosmos_alert_deliveries_due ON cosmos_alert_deliveries (alert_id) WHERE sent_seq < want_seq;
