-- Mail and documents are stored as they came: mostly base64 and PDF, which PostgreSQL's default
-- TOAST compression (pglz) tries and fails to shrink, at five times the cost of the write itself
-- (a backfill of 10,000 mails spent 7 of its seconds there). Stored out of line, uncompressed,
-- as SQLite stores them. Only new values are affected; nothing is rewritten.
ALTER TABLE blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;
