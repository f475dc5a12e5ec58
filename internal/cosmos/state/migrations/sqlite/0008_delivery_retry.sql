-- A notification given up on after its attempts (a channel down for
-- minutes) is offered again on a slow timer rather than only after a
-- restart: retry_at is when (unix ms), gaveup_rounds how many times its
-- current seq was given up on (the backoff's exponent; fires stop after a
-- bound, resolves never do, so that an alert always resolves).
ALTER TABLE cosmos_alert_deliveries ADD COLUMN gaveup_rounds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cosmos_alert_deliveries ADD COLUMN retry_at INTEGER NOT NULL DEFAULT 0;
