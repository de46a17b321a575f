-- Undoing a wrong decision (issue 24): when staff correct what a mail was decided as, what that
-- decision changed inside a case is undone. One row per case a mail's decision changed: the case
-- as it was before (NULL when the mail opened it) and just after, as JSON (row, milestones,
-- concerns; documents carry their mail themselves). A correction restores each field the mail
-- changed and nobody changed since, then marks the row undone. Deleted with the personal data
-- when retention anonymises the case.
CREATE TABLE case_undo (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org        TEXT NOT NULL,
    mail_id    BIGINT NOT NULL,                       -- the mail whose decision changed the case
    case_id    BIGINT NOT NULL REFERENCES cases (id),
    before     TEXT,                                  -- NULL: the mail opened the case
    after      TEXT NOT NULL,
    at         TEXT NOT NULL,
    undone_at  TEXT                                   -- set once a correction undid it
);
CREATE INDEX case_undo_mail ON case_undo (org, mail_id);

-- An event of a decision that staff corrected stays in the timeline, marked as undone by whom.
ALTER TABLE case_events ADD COLUMN undone_by TEXT;
