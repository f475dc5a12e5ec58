-- Block markers the registry holds instead of applying: one whose events
-- are not all in ssv_pending (it announces another number than arrived:
-- an event was lost or refused on the way), and every marker after it,
-- so that no block is applied past an incomplete one — applying the later
-- blocks would leave a hole no replay could fill. A missing event that
-- arrives (a redelivery, a replay of the dead letters) completes the
-- first held block, which is then applied with the held ones after it, in
-- order. A reorg deletes the held markers of the blocks it rolls back.
CREATE TABLE ssv_held (
    network   TEXT   NOT NULL,
    number    BIGINT NOT NULL,
    hash      TEXT   NOT NULL,
    marker    TEXT   NOT NULL, -- the events.Block, JSON
    announced BIGINT NOT NULL, -- events the marker announces
    received  BIGINT NOT NULL, -- events in when last tried (-1: not tried, a block before it is held)
    held_at   BIGINT NOT NULL, -- unix ms
    PRIMARY KEY (network, hash)
);
CREATE INDEX ssv_held_order ON ssv_held (network, number);
