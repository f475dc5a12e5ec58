-- Who evaluates which chain's alerts (internal/cosmos/alerts): every alert
-- pass of a chain refreshes its process's row with expires_at = now + a TTL
-- of several alert intervals. The retirer of a process that names its
-- chains (--cosmos) resolves the open alerts of a chain outside its own
-- only when no other holder's row of that chain is live, so consumers that
-- share a store and watch different chains leave each other's alerts
-- alone. holder is the process's host and absolute data directory (stable
-- across its restarts). Times are unix milliseconds; the passes delete
-- expired rows, so the table holds about one row per live (chain, process).
CREATE TABLE cosmos_alert_watchers (
    chain      TEXT    NOT NULL,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (chain, holder)
);
CREATE INDEX cosmos_alert_watchers_expires ON cosmos_alert_watchers (expires_at);
