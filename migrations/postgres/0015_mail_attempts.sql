-- How many times intake began deciding a stored mail without finishing (issue 20): counted in
-- its own commit before the decision, so that a mail whose deciding crashes the daemon is
-- recognised on restart and quarantined after its second attempt instead of stopping intake.
ALTER TABLE mails ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
