-- The program file's nominator accounts as the runner last recorded them,
-- so that every configured nominator is known (and listed) before its
-- first nomination. One the file no longer lists is marked removed, not
-- deleted: its nominations and announcements still name it.
CREATE TABLE polkadot_nominators (
    chain       TEXT    NOT NULL,
    account     TEXT    NOT NULL, -- the bonded account, in the chain's prefix
    proxy       BOOLEAN NOT NULL, -- signs through a staking proxy
    proxy_delay BIGINT  NOT NULL, -- the proxy's announcement delay, blocks (0 none)
    delegate    TEXT    NOT NULL, -- the proxy's account, '' unknown (learnt from the key only when sending) or no proxy
    added       BIGINT  NOT NULL, -- unix ms first recorded
    updated     BIGINT  NOT NULL, -- unix ms last changed
    removed     BIGINT  NOT NULL DEFAULT 0, -- unix ms the file dropped it, 0 while configured
    PRIMARY KEY (chain, account)
);
