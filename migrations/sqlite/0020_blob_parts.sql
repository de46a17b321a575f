-- A blob larger than one part (1 MiB) keeps its first part in `blobs.bytes` and the rest here,
-- in order (issue 20): storing a 50 MB mail in one value made SQLite and sqlx hold four copies
-- of it at once (the bound value, its owned copy, the record, the page cache), 5× the mail in
-- memory. Parts are written and read one at a time. Purged with their blob (retention).
CREATE TABLE blob_parts (
    org     TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    n       BIGINT NOT NULL,  -- 1, 2, …: the part after the one in blobs.bytes
    bytes   BLOB NOT NULL,
    PRIMARY KEY (org, sha256, n)
);
