-- Guidance that continues with another organisation (`003` §4): a handover announced but not in
-- effect yet (waiting for its date, or for the organisation to be added to the config), as JSON
-- (`case::model::PlannedHandover`); NULL when none. Once it takes effect the case row's partner
-- and counsellor change and a new `counsellors` period opens with the new partner.
ALTER TABLE cases ADD COLUMN handover TEXT;
