-- The missed-vote analyzer's late-vote re-check reads only the votes
-- stored since its previous pass. stored_seq orders them: the sink takes
-- the next values of cosmos_vote_seq's single row for each batch of votes,
-- holding that row's lock until its transaction commits, so batches commit
-- in the order of their values and a reader that has seen value s will
-- never see a later commit below it (a sequence or a clock would not
-- promise that: see internal/cosmos/sink). Rows stored before this
-- migration keep 0: the analyzer re-checks every height of its late-vote
-- window once when it starts, which covers them; the index leaves them out.
ALTER TABLE cosmos_votes ADD COLUMN stored_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cosmos_votes_stored ON cosmos_votes (chain, stored_seq) WHERE stored_seq > 0;
CREATE TABLE cosmos_vote_seq (
    id  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL -- the highest stored_seq handed out
);
INSERT INTO cosmos_vote_seq (id, seq) VALUES (1, 0);
