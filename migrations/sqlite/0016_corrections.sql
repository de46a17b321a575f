-- Corrections (issue 24): a staff member's answer to a notice, or an admin's command, that
-- placed a mail in another case, decided it again as another kind, opened a case from it,
-- filed it, assigned a social assistant or released it from quarantine. One row per mail
-- corrected per answer: the answer's Message-ID (NULL for the command line, and NULLs never
-- collide in a unique index) makes an answer delivered twice apply once.
CREATE TABLE corrections (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org             TEXT NOT NULL,
    mail_id         BIGINT NOT NULL REFERENCES mails (id),  -- the mail corrected
    answer_mail_id  BIGINT REFERENCES mails (id),           -- the staff answer; NULL for an admin
    answer_key      TEXT,                                   -- the answer's Message-ID
    by_whom         TEXT NOT NULL,                          -- the staff address, or 'admin'
    action          TEXT NOT NULL,                          -- move | redecide | new_case | ignore | assign_sa | release
    original_kind   TEXT,
    original_case   TEXT,
    corrected_kind  TEXT,
    corrected_case  TEXT,
    detail          TEXT NOT NULL,                          -- the answer's words, as written
    at              TEXT NOT NULL,
    UNIQUE (org, answer_key, mail_id)
);
CREATE INDEX corrections_at ON corrections (org, at);
