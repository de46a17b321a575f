-- What the running daemon reports about itself (intake connected since, last error, …), read by
-- `doorstroom status` and the health job. One row per (org, key), overwritten.
CREATE TABLE health (
    org         TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (org, key)
);
