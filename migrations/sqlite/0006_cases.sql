-- Cases and the guidance timeline (issue 6): what the foundation schema lacked.
-- Forward-only; every column has a default so existing rows stay valid.

-- Sum of all extensions (verlengingen) in months: the plan is recomputed from it.
ALTER TABLE cases ADD COLUMN extension_months BIGINT NOT NULL DEFAULT 0;
-- stopzetting date, and the date the eindverslag is expected by when it did not come with it.
ALTER TABLE cases ADD COLUMN stopped_on TEXT;
ALTER TABLE cases ADD COLUMN report_due TEXT;

ALTER TABLE milestones ADD COLUMN counsellor_attends BIGINT NOT NULL DEFAULT 0;
ALTER TABLE milestones ADD COLUMN discuss_at_meeting BIGINT NOT NULL DEFAULT 0;
CREATE INDEX milestones_case ON milestones (case_id);

-- A document present but empty or unreadable does not count as the required document.
ALTER TABLE documents ADD COLUMN usable BIGINT NOT NULL DEFAULT 1;
ALTER TABLE documents ADD COLUMN note TEXT;

CREATE INDEX concerns_case ON concerns (case_id);
CREATE INDEX counsellors_case ON counsellors (case_id);
CREATE INDEX cases_referred ON cases (org, partner, referred_at);
CREATE INDEX mails_case_ref ON mails (org, case_ref);
