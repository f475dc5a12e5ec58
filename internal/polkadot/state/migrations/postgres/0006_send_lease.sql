-- The send lease of each chain: only the process holding it (holder,
-- until expires) starts rounds and sends, so that two consumers with
-- sending on do not send one round twice. Taken or renewed by
-- UPDATE … WHERE holder = me OR expires < now.
CREATE TABLE polkadot_send_leases (
    chain   TEXT   NOT NULL PRIMARY KEY,
    holder  TEXT   NOT NULL, -- the process holding it ('' none yet)
    expires BIGINT NOT NULL, -- unix ms the lease lapses unless renewed
    updated BIGINT NOT NULL  -- unix ms last taken or renewed
);
