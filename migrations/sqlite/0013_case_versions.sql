-- A counter per organisation that every change to a case or its children moves on, whoever
-- makes it (intake, a job, an admin's command in another process). Intake keeps the open cases
-- it has read from one batch to the next as long as the counter is where its own last batch
-- left it (SQLite has one writer at a time, so nothing can slip in between). PostgreSQL has
-- concurrent writers and no such table: there intake reads the cases again for every batch.
CREATE TABLE case_versions (
    org      TEXT PRIMARY KEY,
    version  BIGINT NOT NULL DEFAULT 0
);

CREATE TRIGGER cases_versioned_insert AFTER INSERT ON cases BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER cases_versioned_update AFTER UPDATE ON cases BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER cases_versioned_delete AFTER DELETE ON cases BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (OLD.org);
    UPDATE case_versions SET version = version + 1 WHERE org = OLD.org;
END;

CREATE TRIGGER counsellors_versioned_insert AFTER INSERT ON counsellors BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER counsellors_versioned_update AFTER UPDATE ON counsellors BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER counsellors_versioned_delete AFTER DELETE ON counsellors BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (OLD.org);
    UPDATE case_versions SET version = version + 1 WHERE org = OLD.org;
END;

CREATE TRIGGER documents_versioned_insert AFTER INSERT ON documents BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER documents_versioned_update AFTER UPDATE ON documents BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER documents_versioned_delete AFTER DELETE ON documents BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (OLD.org);
    UPDATE case_versions SET version = version + 1 WHERE org = OLD.org;
END;

CREATE TRIGGER milestones_versioned_insert AFTER INSERT ON milestones BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER milestones_versioned_update AFTER UPDATE ON milestones BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER milestones_versioned_delete AFTER DELETE ON milestones BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (OLD.org);
    UPDATE case_versions SET version = version + 1 WHERE org = OLD.org;
END;

CREATE TRIGGER concerns_versioned_insert AFTER INSERT ON concerns BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER concerns_versioned_update AFTER UPDATE ON concerns BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (NEW.org);
    UPDATE case_versions SET version = version + 1 WHERE org = NEW.org;
END;
CREATE TRIGGER concerns_versioned_delete AFTER DELETE ON concerns BEGIN
    INSERT OR IGNORE INTO case_versions (org) VALUES (OLD.org);
    UPDATE case_versions SET version = version + 1 WHERE org = OLD.org;
END;
