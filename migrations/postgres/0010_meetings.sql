-- The monthly meeting of one partner (issue 7): what was sent for it and what happened to it.
-- One row per (org, partner, month), written in the transaction that queues the agenda,
-- invitation or cancellation, so each goes out once per partner and month, also across restarts.
CREATE TABLE meetings (
    org                 TEXT NOT NULL,
    partner             TEXT NOT NULL,
    month               TEXT NOT NULL,     -- YYYY-MM
    state               TEXT NOT NULL,     -- skipped | called | cancelled
    sequence            BIGINT NOT NULL,   -- iCalendar SEQUENCE of the last invitation sent
    agenda_message_id   TEXT,              -- Message-ID of the last agenda mail queued
    called_for          TEXT NOT NULL DEFAULT '[]',  -- JSON: case refs on the last agenda sent
    responses           TEXT NOT NULL DEFAULT '[]',  -- JSON: calendar replies of attendees
    reminded_at         TEXT,              -- conclusions reminder queued
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (org, partner, month)
);
