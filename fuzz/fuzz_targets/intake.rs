//! Intake as a state machine: random interleavings of arrivals (referrals, replies, concerns,
//! spoofs, robots, the same bytes again), intake passes, crashes at each point a kill can land
//! (after the bytes are stored, after the decision committed, after the file moved), and a
//! person moving a handled mail back into the inbox. Over the real library: the Maildir source,
//! the pipeline and an SQLite store (one database file in a temp dir, an organisation per input).
//!
//! After a final clean pass: the inbox is empty, every mail file has exactly one row, decided
//! and moved, and what came out (mail decisions, cases, outgoing mail) is exactly what a run
//! without crashes and without the person's moves gives for the same arrivals.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use doorstroom::config::{Config, Mailbox, MaildirMailbox};
use doorstroom::context::Context;
use doorstroom::intake::maildir::Maildir;
use doorstroom::intake::pipeline::{self, Incoming};
use doorstroom::store::{MailBytes, MailState, NewMail, Store};
use libfuzzer_sys::fuzz_target;
use tokio_util::sync::CancellationToken;

struct World {
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    db: String,
    config: Config,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let text = include_str!("../../tests/corpus/doorstroom-noauth.toml").replace(
            "dir = \"mail-templates\"",
            concat!("dir = \"", env!("CARGO_MANIFEST_DIR"), "/../mail-templates\""),
        );
        let config = Config::parse(&text, Path::new("tests/corpus/doorstroom-noauth.toml"))
            .unwrap_or_else(|e| panic!("corpus config: {e}"));
        // Memory-backed when the machine has it: the store's fsyncs are not what is tested.
        let dir = tempfile::Builder::new()
            .prefix("doorstroom-fuzz-intake")
            .tempdir_in(if Path::new("/dev/shm").is_dir() {
                "/dev/shm"
            } else {
                "/tmp"
            })
            .unwrap();
        let db = format!("sqlite://{}", dir.path().join("fuzz.db").display());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        World {
            rt,
            dir,
            db,
            config,
        }
    })
}

const PARTNERS: [(&str, &str); 3] = [
    ("caw-antwerpen", "els.wouters@caw-antwerpen.example"),
    ("ocmw-antwerpen", "lies.maes@ocmw-antwerpen.example"),
    ("bw-kempen", "els.dewit.bw@gmail.com"),
];
const NAMES: [&str; 6] = [
    "Jan Claes",
    "Fatima El Amrani",
    "Pieter Janssens",
    "Noor Bouzid",
    "Karel Aerts",
    "Lotte Peeters",
];

/// One mail the input asks for; `n` makes its Message-ID unique.
fn mail(kind: u8, a: u8, b: u8, n: usize) -> Vec<u8> {
    let (_, from) = PARTNERS[usize::from(a) % PARTNERS.len()];
    let name = NAMES[usize::from(b) % NAMES.len()];
    let case = format!("VD-2026-{:04}", 1 + usize::from(b) % 8);
    let head = |from: &str, subject: &str, extra: &str| {
        format!(
            "From: {from}\r\nTo: versneldedoorstroom@woonhaven.example\r\nSubject: {subject}\r\n\
             Date: Mon, 16 Nov 2026 09:12:00 +0100\r\nMessage-ID: <fuzz-{n}@fuzz.example>\r\n{extra}\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        )
    };
    let text = match kind % 8 {
        0 | 1 => head(from, &format!("Aanmelding versnelde doorstroom - {name}"), "")
            + &format!(
                "Beste,\r\n\r\nHierbij meld ik {name} aan voor versnelde doorstroom.\r\n\
                 Inschrijvingsnummer CIR: 2024-{:06}.\r\nIn bijlage het ondertekend addendum en het uitgebreid sociaal verslag.\r\n",
                100_000 + usize::from(b)
            ),
        2 => head(from, &format!("Re: {case} {name}"), "")
            + &format!("Beste,\r\n\r\nIk maak me zorgen over de begeleiding van {name} ({case}): geen medewerking.\r\n"),
        3 => head(from, &format!("{case} nieuwe woonbegeleider"), "")
            + "Beste,\r\n\r\nVanaf nu ben ik de woonbegeleider. Nieuwe contactgegevens: 0470 11 22 33.\r\n",
        4 => head(from, &format!("Dringend {case}"), "")
            + &format!("Beste,\r\n\r\n{name} heeft gedreigd met een mes. Dringend, veiligheid in gevaar.\r\n"),
        5 => head(
            "onbekend@elders.example",
            &format!("Vraag over {case} {name}"),
            "",
        ) + "Hoe staat het met dit dossier?\r\n",
        6 => head(
            from,
            "Automatisch antwoord: afwezig",
            "Auto-Submitted: auto-replied\r\n",
        ) + "Ik ben afwezig tot maandag.\r\n",
        _ => head(from, &format!("Re: {case}"), "")
            + &format!("Dank u, ik lees het na. Groeten over {name}.\r\n"),
    };
    text.into_bytes()
}

/// What a run left: per arrival its decision, then the cases and the outgoing mail.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    decisions: Vec<(String, Option<String>, Option<String>, Option<String>)>,
    cases: Vec<(String, String, String, String)>,
    outbox: Vec<(String, Option<String>, Vec<String>)>,
}

struct Run {
    ctx: Context,
    maildir: Maildir,
    mailbox: MaildirMailbox,
    /// Arrival number → Maildir key.
    keys: Vec<String>,
}

async fn open(tag: &str) -> Run {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let w = world();
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let org = format!("fuzz-{tag}-{n}");
    let root: PathBuf = w.dir.path().join(&org);
    let mut config = w.config.clone();
    let Mailbox::Maildir(m) = &config.mailbox else {
        panic!("the corpus config reads a Maildir");
    };
    let mut mailbox = m.clone();
    mailbox.path = root.clone();
    mailbox.seed_from = None;
    config.mailbox = Mailbox::Maildir(mailbox.clone());
    let store = Store::open(&w.db, &org, 2).await.expect("store");
    let maildir = Maildir::new(&root);
    maildir
        .ensure(&[&mailbox.processed, &mailbox.quarantine])
        .unwrap();
    Run {
        ctx: Context::fixed(store, config).expect("templates"),
        maildir,
        mailbox,
        keys: Vec::new(),
    }
}

impl Run {
    fn arrive(&mut self, bytes: &[u8]) {
        let path = self
            .maildir
            .deliver(bytes, &format!("a{:05}", self.keys.len()))
            .unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        self.keys.push(name);
    }

    async fn pass(&self) {
        pipeline::maildir_pass(
            &self.ctx,
            &self.maildir,
            &self.mailbox,
            &CancellationToken::new(),
        )
        .await
        .expect("a clean pass");
    }

    fn incoming(&self, take: usize) -> Vec<(doorstroom::intake::maildir::MaildirEntry, Incoming)> {
        let source = doorstroom::intake::maildir_source(&self.mailbox);
        self.maildir
            .pending()
            .unwrap()
            .into_iter()
            .take(take)
            .map(|entry| {
                let raw = std::fs::read(&entry.path).unwrap();
                let incoming = Incoming {
                    source: NewMail {
                        source: source.clone(),
                        source_key: entry.key.clone(),
                        message_id: None,
                        received_at: pipeline::file_arrival(&entry.path),
                    },
                    raw,
                    file: entry.path.display().to_string(),
                };
                (entry, incoming)
            })
            .collect()
    }

    /// Killed after the first `take` waiting mails were stored and their attempt counted,
    /// before any was decided.
    async fn crash_after_storing(&self, take: usize) {
        let mails = self.incoming(take);
        if mails.is_empty() {
            return;
        }
        let hashes: Vec<String> = mails
            .iter()
            .map(|(_, m)| doorstroom::store::sha256_hex(&m.raw))
            .collect();
        let batch: Vec<MailBytes> = mails
            .iter()
            .zip(&hashes)
            .map(|((_, m), sha256)| MailBytes {
                mail: &m.source,
                raw: &m.raw,
                sha256,
            })
            .collect();
        let mut tx = self.ctx.store.begin_bulk().await.unwrap();
        let records = tx.record_mails(&batch).await.unwrap();
        let stored: Vec<i64> = records
            .iter()
            .filter(|(r, _)| r.state == MailState::Stored)
            .map(|(r, _)| r.id)
            .collect();
        tx.count_attempts(&stored).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// Killed after the decisions of the first `take` waiting mails committed; with `moved`,
    /// also after their files were moved, before the rows say so.
    async fn crash_after_deciding(&self, take: usize, moved: bool) {
        let (entries, incoming): (Vec<_>, Vec<_>) = self.incoming(take).into_iter().unzip();
        if incoming.is_empty() {
            return;
        }
        let loaded = self.ctx.loaded();
        let results = pipeline::handle_batch(&self.ctx, &loaded, incoming)
            .await
            .expect("a batch");
        if moved {
            for (entry, result) in entries.iter().zip(results) {
                let Ok(done) = result else { continue };
                let folder = if done.state == MailState::Quarantined {
                    &self.mailbox.quarantine
                } else {
                    &self.mailbox.processed
                };
                self.maildir.move_to(entry, folder).unwrap();
            }
        }
    }

    /// A person drags a handled mail back into the inbox.
    fn move_back(&self, pick: u8) {
        let mut handled = Vec::new();
        for folder in [&self.mailbox.processed, &self.mailbox.quarantine] {
            let cur = self.maildir.root().join(format!(".{folder}")).join("cur");
            if let Ok(read) = std::fs::read_dir(cur) {
                handled.extend(read.filter_map(|e| e.ok().map(|e| e.path())));
            }
        }
        handled.sort();
        if handled.is_empty() {
            return;
        }
        let from = &handled[usize::from(pick) % handled.len()];
        let to = self
            .maildir
            .root()
            .join("cur")
            .join(from.file_name().unwrap());
        std::fs::rename(from, to).unwrap();
    }

    async fn outcome(&self) -> Outcome {
        let store = &self.ctx.store;
        let rows = store.list_mails(false, 100_000).await.unwrap();
        let by_key: BTreeMap<&str, _> = rows.iter().map(|r| (r.source_key.as_str(), r)).collect();
        assert_eq!(by_key.len(), rows.len(), "one row per mail file");
        assert_eq!(rows.len(), self.keys.len(), "every mail file has its row");
        assert!(self.maildir.pending().unwrap().is_empty(), "the inbox is empty");
        let mut decisions = Vec::new();
        for key in &self.keys {
            let r = by_key.get(key.as_str()).expect("a row for every arrival");
            assert!(r.state != MailState::Stored, "{key} undecided: {r:?}");
            assert!(r.moved, "{key} not marked moved: {r:?}");
            decisions.push((
                format!("{:?}", r.state),
                r.kind.clone(),
                r.partner.clone(),
                r.case_ref.clone(),
            ));
        }
        let mut cases: Vec<_> = store
            .cases(&Default::default())
            .await
            .unwrap()
            .into_iter()
            .map(|c| {
                (
                    c.case_ref.clone(),
                    c.partner.clone(),
                    c.candidate.clone(),
                    format!("{:?}", c.status),
                )
            })
            .collect();
        cases.sort();
        let mut outbox: Vec<_> = store
            .list_outbox(false, 100_000)
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.kind, o.case_ref, o.recipients))
            .collect();
        outbox.sort();
        Outcome {
            decisions,
            cases,
            outbox,
        }
    }

    async fn close(self) {
        self.ctx.store.close().await;
        let _ = std::fs::remove_dir_all(self.maildir.root());
    }
}

fuzz_target!(|data: &[u8]| {
    // At most 24 steps of 4 bytes: a run stays small enough to explore many.
    let steps: Vec<&[u8]> = data.chunks_exact(4).take(24).collect();
    if steps.is_empty() {
        return;
    }
    world().rt.block_on(async {
        let mut run = open("steps").await;
        let mut arrivals: Vec<Vec<u8>> = Vec::new();
        // One kill between storing and deciding per run: two in a row on one mail set it aside
        // as poison (`MAX_ATTEMPTS_ALONE`), which a clean run cannot match by design.
        let mut stored_crash = false;
        for step in &steps {
            let [op, a, b, c] = [step[0], step[1], step[2], step[3]];
            match op % 8 {
                0..=2 => {
                    let bytes = if op % 8 == 2 && !arrivals.is_empty() && c % 4 == 0 {
                        // The same bytes again (a copy in the mailbox, another relay).
                        arrivals[usize::from(a) % arrivals.len()].clone()
                    } else {
                        mail(c, a, b, arrivals.len())
                    };
                    run.arrive(&bytes);
                    arrivals.push(bytes);
                }
                3 => run.pass().await,
                4 if !stored_crash => {
                    stored_crash = true;
                    run.crash_after_storing(1 + usize::from(a % 4)).await;
                }
                4 | 5 => run.crash_after_deciding(1 + usize::from(a % 4), false).await,
                6 => run.crash_after_deciding(1 + usize::from(a % 4), true).await,
                _ => run.move_back(a),
            }
        }
        run.pass().await;
        let got = run.outcome().await;
        run.close().await;

        // The same arrivals, without crashes or moves, one pass at the end.
        let mut clean = open("clean").await;
        for bytes in &arrivals {
            clean.arrive(bytes);
        }
        clean.pass().await;
        let want = clean.outcome().await;
        clean.close().await;
        assert_eq!(got, want, "crashes and moves changed what intake decided");
    });
});
