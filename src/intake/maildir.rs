//! A local Maildir as the shared mailbox: the embedded default, and the way an admin replays
//! exported mail.
//!
//! The inbox is the top folder's `new/` and `cur/`; handled mail is renamed into the Maildir++
//! sub-folders `.Verwerkt/cur/` and `.Quarantaine/cur/` (names from the config). A rename is
//! atomic on one file system, so a mail is always in exactly one place; its flags are kept, none
//! is added (the coordinator's client still shows unread mail as unread).

use std::io;
use std::path::{Path, PathBuf};

/// One mail file waiting in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildirEntry {
    pub path: PathBuf,
    /// The unique part of the file name (before `:2,flags`): stable when a client moves the
    /// file from `new/` to `cur/` or changes its flags.
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Maildir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Is `path` a Maildir (has `new/` and `cur/`)?
    pub fn is_maildir(path: &Path) -> bool {
        path.join("new").is_dir() && path.join("cur").is_dir()
    }

    /// Create the Maildir and its processed/quarantine folders when missing. Returns true when
    /// the inbox was created just now (then the caller may seed it).
    pub fn ensure(&self, folders: &[&str]) -> io::Result<bool> {
        let created = !self.root.join("new").is_dir();
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(self.root.join(sub))?;
            for folder in folders {
                std::fs::create_dir_all(self.folder(folder).join(sub))?;
            }
        }
        Ok(created)
    }

    fn folder(&self, name: &str) -> PathBuf {
        self.root.join(format!(".{name}"))
    }

    /// Copy every `.eml` file of `from` into `new/`, in name order (the example mails of the
    /// embedded default). Returns how many were copied.
    pub fn seed(&self, from: &Path) -> io::Result<usize> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(from)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        for (i, file) in files.iter().enumerate() {
            let bytes = std::fs::read(file)?;
            self.deliver(&bytes, &format!("seed{i:04}"))?;
        }
        Ok(files.len())
    }

    /// Write a mail into `new/` the Maildir way (tmp/ then rename), under a unique name.
    pub fn deliver(&self, bytes: &[u8], tag: &str) -> io::Result<PathBuf> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!(
            "{}.M{}P{}_{tag}.doorstroom",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id()
        );
        let tmp = self.root.join("tmp").join(&name);
        std::fs::write(&tmp, bytes)?;
        let dest = self.root.join("new").join(&name);
        std::fs::rename(&tmp, &dest)?;
        Ok(dest)
    }

    /// The mails waiting in the inbox, oldest first: Maildir names start with the delivery time,
    /// `SECONDS.M<microseconds>P<pid>…`, whose numbers are not zero-padded, so they are compared
    /// as numbers (as text, `…M99P…` would come after `…M100000P…` of the same second).
    pub fn pending(&self) -> io::Result<Vec<MaildirEntry>> {
        let mut entries = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.root.join(sub);
            let read = match std::fs::read_dir(&dir) {
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in read {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || !entry.file_type()?.is_file() {
                    continue;
                }
                entries.push(MaildirEntry {
                    key: unique_part(&name).to_string(),
                    path: entry.path(),
                });
            }
        }
        entries.sort_by(|a, b| delivery_order(&a.key).cmp(&delivery_order(&b.key)));
        Ok(entries)
    }

    /// Find a waiting mail by its key (it may have moved between `new/` and `cur/`).
    pub fn find(&self, key: &str) -> io::Result<Option<MaildirEntry>> {
        Ok(self.pending()?.into_iter().find(|e| e.key == key))
    }

    /// Move a mail out of the inbox into `folder` (keeping its name and flags).
    pub fn move_to(&self, entry: &MaildirEntry, folder: &str) -> io::Result<PathBuf> {
        let name = entry
            .path
            .file_name()
            .ok_or_else(|| io::Error::other("mail path without a file name"))?;
        let dest = self.folder(folder).join("cur").join(name);
        std::fs::create_dir_all(self.folder(folder).join("cur"))?;
        std::fs::rename(&entry.path, &dest)?;
        Ok(dest)
    }
}

/// The sort key of a Maildir name: its seconds and microseconds as numbers, then the name.
/// A name of another shape sorts by its text after those with a time.
fn delivery_order(key: &str) -> (u64, u64, &str) {
    let number = |s: &str| -> Option<u64> {
        let digits = s
            .find(|c: char| !c.is_ascii_digit())
            .map_or(s, |end| &s[..end]);
        digits.parse().ok()
    };
    let Some((secs, rest)) = key.split_once('.') else {
        return (u64::MAX, u64::MAX, key);
    };
    let Ok(secs) = secs.parse::<u64>() else {
        return (u64::MAX, u64::MAX, key);
    };
    let micros = rest.strip_prefix('M').and_then(number).unwrap_or(u64::MAX);
    (secs, micros, key)
}

/// `1700000000.M1P2.host:2,S` → `1700000000.M1P2.host`.
fn unique_part(name: &str) -> &str {
    name.split_once(":2,").map_or(name, |(unique, _)| unique)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_moved_out_of_the_inbox_keeps_its_flags_and_is_no_longer_pending() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::new(dir.path().join("mail"));
        assert!(maildir.ensure(&["Verwerkt"]).unwrap());
        assert!(!maildir.ensure(&["Verwerkt"]).unwrap(), "created only once");
        maildir.deliver(b"Subject: a\r\n\r\nx", "a").unwrap();
        let seen = maildir.root().join("cur").join("1.M1P1_x.host:2,S");
        std::fs::write(&seen, b"Subject: b\r\n\r\ny").unwrap();
        let pending = maildir.pending().unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(
            pending[0].key, "1.M1P1_x.host",
            "oldest first, flags stripped from the key"
        );
        let moved = maildir.move_to(&pending[0], "Verwerkt").unwrap();
        assert!(moved.exists());
        assert!(moved.ends_with(".Verwerkt/cur/1.M1P1_x.host:2,S"));
        assert_eq!(maildir.pending().unwrap().len(), 1);
    }

    /// Seen while writing the stateful intake fuzz target: two mails delivered in the same second, the
    /// first at microsecond 99 and the second at 100000, were read second first (names compared
    /// as text), so a reply could be decided before the referral it answers.
    #[test]
    fn mails_delivered_in_the_same_second_are_read_in_delivery_order() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = Maildir::new(dir.path().join("mail"));
        maildir.ensure(&[]).unwrap();
        for name in [
            "1700000000.M100000P7.host",
            "1700000000.M99P7.host",
            "1700000001.M5P7.host:2,S",
            "1699999999.M999999P7.host",
            "odd-name",
        ] {
            let sub = if name.contains(":2,") { "cur" } else { "new" };
            std::fs::write(maildir.root().join(sub).join(name), b"Subject: x\r\n\r\n").unwrap();
        }
        let keys: Vec<String> = maildir
            .pending()
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(
            keys,
            [
                "1699999999.M999999P7.host",
                "1700000000.M99P7.host",
                "1700000000.M100000P7.host",
                "1700000001.M5P7.host",
                "odd-name",
            ]
        );
    }
}
