-- A blob larger than one part (1 MiB) keeps its first part in `blobs.bytes` and the rest here,
-- in order (issue 20): storing a 50 MB mail in one value made the driver and the server hold
-- several copies of it at once. Parts are written and read one at a time, stored uncompressed
-- like blobs (0014). Purged with their blob (retention).
CREATE TABLE blob_parts (
    org     TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    n       BIGINT NOT NULL,  -- 1, 2, …: the part after the one in blobs.bytes
    bytes   BYTEA NOT NULL,
    PRIMARY KEY (org, sha256, n)
);
ALTER TABLE blob_parts ALTER COLUMN bytes SET STORAGE EXTERNAL;
