-- The rank log was rewritten every pass from an 84-era window, so ranks
-- stopped at 84 periods (21 on Kusama) and older rows were renumbered.
-- It is append-only now and counts the whole stored history; the rows
-- written the old way are dropped, to be rebuilt by the runner's next
-- pass from the stored eras (never deleted).
DELETE FROM polkadot_rank_log;
