-- Outbox delivery: what the sender and the loop protection need beyond the foundation's columns.
ALTER TABLE outbox ADD COLUMN case_ref TEXT;            -- the case tag, also when the case row is absent
ALTER TABLE outbox ADD COLUMN urgent BIGINT NOT NULL DEFAULT 0;
-- At most one acknowledgement per sender per case per day: 'ack:<case>:<sender>:<date>', NULL for
-- every other mail (NULLs never collide in a unique index, in SQLite and PostgreSQL alike).
ALTER TABLE outbox ADD COLUMN ack_key TEXT;
-- When the current attempt started; a row still 'sending' long after this is ambiguous (a crash
-- between the server's acceptance and 'sent') and is resolved through the sent copy.
ALTER TABLE outbox ADD COLUMN sending_since TEXT;
-- Start of the retry window (`smtp.retry_for`): created_at, or the moment an admin retried.
ALTER TABLE outbox ADD COLUMN retry_from TEXT;
CREATE UNIQUE INDEX outbox_ack ON outbox (org, ack_key);
CREATE INDEX outbox_sent ON outbox (org, state, sent_at);
