-- A round's failed sends, per nominator ({count, last, error, gave_up}),
-- so that the bound on retries (and their back-off) survives a restart,
-- and why the round failed when it did.
ALTER TABLE polkadot_rounds ADD COLUMN attempts TEXT NOT NULL DEFAULT '{}';
ALTER TABLE polkadot_rounds ADD COLUMN reason TEXT NOT NULL DEFAULT '';
