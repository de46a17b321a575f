-- The foundation schema. Every row belongs to an organisation (`org`), so several landlords can
-- share one database. Timestamps are RFC 3339 UTC text, dates are YYYY-MM-DD text: both sort as
-- text and read the same in SQLite and PostgreSQL.

-- Content-addressed bytes: raw mails and attachments, stored once per organisation.
CREATE TABLE blobs (
    org         TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    bytes       BLOB,              -- NULL once purged by retention; the hash stays as evidence
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org, sha256)
);

-- Every mail that came in, with where it came from and what was decided.
CREATE TABLE mails (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org           TEXT NOT NULL,
    sha256        TEXT NOT NULL,   -- the raw bytes, in blobs
    message_id    TEXT,
    body_hash     TEXT,            -- normalised body, for duplicates re-delivered via other relays
    source        TEXT NOT NULL,   -- 'imap:INBOX', 'maildir:/var/mail', 'file'
    source_key    TEXT NOT NULL,   -- 'UIDVALIDITY/UID', the Maildir unique name, or the path
    received_at   TEXT NOT NULL,
    state         TEXT NOT NULL,   -- stored | processed | quarantined
    moved         BIGINT NOT NULL DEFAULT 0, -- 1 once moved out of the inbox
    kind          TEXT,
    partner       TEXT,
    case_ref      TEXT,
    decision      TEXT,            -- the triage decision as JSON
    reason        TEXT,            -- why it was quarantined
    processed_at  TEXT,
    UNIQUE (org, source, source_key)
);
CREATE INDEX mails_message_id ON mails (org, message_id);
CREATE INDEX mails_state ON mails (org, state, moved);
CREATE INDEX mails_sha256 ON mails (org, source, sha256);

-- Case numbers are never reused: the last number per year.
CREATE TABLE case_counters (
    org     TEXT NOT NULL,
    year    BIGINT NOT NULL,
    last    BIGINT NOT NULL,
    PRIMARY KEY (org, year)
);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    org               TEXT NOT NULL,
    case_ref          TEXT NOT NULL,
    partner           TEXT NOT NULL,
    programme         TEXT NOT NULL,
    status            TEXT NOT NULL,
    candidate         TEXT NOT NULL,
    cir               TEXT,
    social_assistant  TEXT,
    counsellor_name   TEXT,
    counsellor_email  TEXT,
    counsellor_phone  TEXT,
    lease_start       TEXT,
    referred_at       TEXT NOT NULL,
    guidance_end      TEXT,          -- planned end, moved by extensions
    closed_at         TEXT,
    outcome           TEXT,          -- positive | negative | transferred
    goals_met         TEXT,          -- yes | partly | no
    eviction_avoided  BIGINT,
    other_guidance    BIGINT NOT NULL DEFAULT 0, -- asked by the landlord outside accelerated allocation
    anonymised_at     TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (org, case_ref)
);
CREATE INDEX cases_partner ON cases (org, partner, status);

-- The audit trail: every change to a case with its cause.
CREATE TABLE case_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org         TEXT NOT NULL,
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,     -- created, status, document, counsellor, lease_start, ...
    detail      TEXT NOT NULL,     -- JSON
    cause_kind  TEXT NOT NULL,     -- mail | job | admin | import
    cause_ref   TEXT NOT NULL      -- mail id, job run id, admin command line, import file
);
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE TABLE counsellors (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org         TEXT NOT NULL,
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    name        TEXT,
    email       TEXT,
    phone       TEXT,
    partner     TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_to    TEXT
);

CREATE TABLE documents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org          TEXT NOT NULL,
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    kind         TEXT NOT NULL,
    filename     TEXT NOT NULL,
    sha256       TEXT,
    size         BIGINT NOT NULL,
    mail_id      BIGINT REFERENCES mails (id),
    sender       TEXT,
    received_at  TEXT NOT NULL
);
CREATE INDEX documents_case ON documents (case_id);

CREATE TABLE milestones (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    org              TEXT NOT NULL,
    case_id          BIGINT NOT NULL REFERENCES cases (id),
    kind             TEXT NOT NULL,
    name             TEXT NOT NULL,
    due_on           TEXT NOT NULL,
    meeting_month    TEXT,          -- YYYY-MM of the meeting where it is discussed
    done_on          TEXT,
    escalation_step  BIGINT NOT NULL DEFAULT 0, -- how many escalation steps were sent
    superseded       BIGINT NOT NULL DEFAULT 0  -- replaced by a recomputed plan
);
CREATE INDEX milestones_due ON milestones (org, done_on, due_on);

CREATE TABLE concerns (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org          TEXT NOT NULL,
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    statement    TEXT NOT NULL,
    urgent       BIGINT NOT NULL DEFAULT 0,
    raised_at    TEXT NOT NULL,
    mail_id      BIGINT REFERENCES mails (id),
    resolved_at  TEXT
);

-- The transactional outbox: one row per mail to send, queued in the transaction of its cause.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    org              TEXT NOT NULL,
    message_id       TEXT NOT NULL,  -- deterministic, under the landlord's domain
    dedupe_key       TEXT NOT NULL,  -- the same effect is never queued twice
    kind             TEXT NOT NULL,
    case_id          BIGINT REFERENCES cases (id),
    recipients       TEXT NOT NULL,  -- JSON array
    subject          TEXT NOT NULL,
    body             BLOB NOT NULL,  -- the complete RFC 5322 message
    cause_kind       TEXT NOT NULL,
    cause_ref        TEXT NOT NULL,
    state            TEXT NOT NULL,  -- queued | sending | sent | failed
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    UNIQUE (org, message_id),
    UNIQUE (org, dedupe_key)
);
CREATE INDEX outbox_due ON outbox (org, state, next_attempt_at);

-- Runs of periodic jobs: a slot (e.g. the month of an agenda) runs once, also across restarts.
CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org          TEXT NOT NULL,
    job          TEXT NOT NULL,
    slot         TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    result       TEXT,
    UNIQUE (org, job, slot)
);

-- Leases: only one instance at a time reads a mailbox or runs an organisation's jobs.
CREATE TABLE leases (
    org         TEXT NOT NULL,
    resource    TEXT NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (org, resource)
);
