-- nazorg (`002` §5.6): a preventive case reopened after a relapse is a new episode, a new case
-- linked to the closed one it continues (its case_ref; NULL for a first episode).
ALTER TABLE cases ADD COLUMN previous_case TEXT;
