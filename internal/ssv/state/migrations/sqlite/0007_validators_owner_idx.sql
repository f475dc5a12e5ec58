-- The owner filter (REST validators?owner=, the SSV node's
-- /v1/validators?owners=) pages by index: WHERE owner = … ORDER BY idx
-- LIMIT n. With an index on (network, owner) only, SQLite's planner walks
-- ssv_validators_idx in idx order to spare the sort and tests every row's
-- owner — at 150,000 validators tens of ms for one owner's hundred.
-- (network, owner, idx) gives an owner's validators already in idx order,
-- so both dialects read just those rows; it covers every lookup the
-- (network, owner) index served, which is dropped.
CREATE INDEX ssv_validators_owner_idx ON ssv_validators (network, owner, idx);
DROP INDEX ssv_validators_owner;
