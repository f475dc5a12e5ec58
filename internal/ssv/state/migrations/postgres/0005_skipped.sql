-- The contract logs the sentry could not decode (an unknown topic,
-- malformed data, an event its own checks refuse): recorded from their
-- block's marker, with the start of their data, so that a gap in the
-- registry can be traced to the log that caused it. A reorg deletes the
-- rows of the blocks it rolls back; the prune of old empty blocks keeps
-- blocks with skipped logs.
CREATE TABLE ssv_skipped (
    network    TEXT   NOT NULL,
    block      BIGINT NOT NULL,
    log_index  BIGINT NOT NULL,
    block_hash TEXT   NOT NULL,
    tx_hash    TEXT   NOT NULL,
    topic0     TEXT   NOT NULL, -- '' for a log without topics
    reason     TEXT   NOT NULL,
    data       TEXT   NOT NULL, -- 0x-hex, the first events.MaxSkippedData bytes
    data_len   BIGINT NOT NULL, -- the whole data's length in bytes
    PRIMARY KEY (network, block, log_index)
);
