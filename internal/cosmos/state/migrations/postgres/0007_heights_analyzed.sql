-- The missed-vote analyzer re-checks for late votes the heights it analysed
-- within --cosmos-late-votes, chosen by analyzed_at rather than by height
-- (a catch-up analyses many batches of heights within that time): this
-- index finds them without reading every analysed height.
CREATE INDEX cosmos_heights_analyzed ON cosmos_heights (chain, analyzed_at);
