-- Mails name cases by reference in any letter case ("vd-2026-7"); looking them up by
-- UPPER(case_ref) scanned every case for every mail.
CREATE INDEX cases_ref_upper ON cases (org, UPPER(case_ref));
