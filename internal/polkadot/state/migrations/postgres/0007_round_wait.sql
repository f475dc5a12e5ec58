-- Why a due round is not started ('' when none waits): the runner writes it
-- when the inputs a round is sized on are unknown (a nominator's balance
-- never read, no elected stakes), and clears it when the round starts.
ALTER TABLE polkadot_meta ADD COLUMN round_wait TEXT NOT NULL DEFAULT '';
