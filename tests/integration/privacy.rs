//! Privacy over whole runs (issue 28): the guard's property (`outbox::guard`, one notice at a
//! time) taken through intake and the outbox together. A random register is built by verified
//! referrals from three partners, then random traffic arrives about any case, also about other
//! partners' cases: replies, concerns, urgent concerns, contact changes (some naming an outside
//! address), questions, final reports, from verified counsellors, from unverified senders at a
//! partner's domain, and from strangers, some with a `Reply-To` outside. Everything is decided by
//! the intake pipeline into SQLite and delivered by the sender as `.eml` files; then, reading
//! every delivered file:
//!
//! - no mail to an address of partner P contains the case reference, candidate name or CIR of a
//!   case of another partner;
//! - no mail to an unverified sender, a stranger or an address outside every partner contains any
//!   case's reference, candidate name or CIR;
//!
//! except what that very address wrote itself (an answer may quote the sender's own subject).
//! `PRIVACY_CASES=N` runs more cases than CI's 12.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

use doorstroom::config::{Config, Smtp};
use doorstroom::context::Context;
use doorstroom::intake::pipeline::{self, Incoming};
use doorstroom::outbox::send::{FileTransport, Sender};
use doorstroom::store::outbox::OutboxState;
use doorstroom::store::NewMail;
use proptest::prelude::*;

const DOMAINS: [&str; 3] = [
    "caw-antwerpen.example",
    "ocmw-antwerpen.example",
    "bw-kempen.example",
];
const NAMES: [&str; 12] = [
    "Xander Vanoverbeke",
    "Yasmina Oulad",
    "Quinten Verbruggen",
    "Wiebe Desmedt",
    "Rosalie Vanhecke",
    "Ilias Benali",
    "Femke Hooghe",
    "Gilles Vandamme",
    "Ophelie Stroobants",
    "Jorne Beckers",
    "Kiana Mahieu",
    "Matteo Verlinden",
];

fn cir(i: usize) -> String {
    format!("2025-{:06}", 731_000 + i * 17)
}

#[derive(Debug, Clone, Copy)]
enum Who {
    /// A counsellor of partner `.0`, vouched for by the landlord's MX.
    Verified(usize, u8),
    /// Someone writing as a counsellor of partner `.0`, without the MX's pass.
    Unverified(usize, u8),
    /// An address of no partner, vouched for (a real outsider).
    Stranger(u8),
}

impl Who {
    fn address(self) -> String {
        match self {
            Who::Verified(p, c) => format!("begeleider{c}@{}", DOMAINS[p]),
            Who::Unverified(p, c) => format!("onbevestigd{c}@{}", DOMAINS[p]),
            Who::Stranger(c) => format!("vreemde{c}@elders.example"),
        }
    }
}

#[derive(Debug, Clone)]
struct Traffic {
    who: Who,
    kind: u8,
    /// Which referral's case the mail is about (any partner's).
    case: usize,
    reply_to_outside: bool,
}

#[derive(Debug, Clone)]
struct World {
    /// Per referral: its partner and counsellor; candidate `NAMES[i]`, CIR `cir(i)`.
    referrals: Vec<(usize, u8)>,
    traffic: Vec<Traffic>,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => (0..3usize, 0..3u8).prop_map(|(p, c)| Who::Verified(p, c)),
        2 => (0..3usize, 0..3u8).prop_map(|(p, c)| Who::Unverified(p, c)),
        1 => (0..3u8).prop_map(Who::Stranger),
    ]
}

fn world() -> impl Strategy<Value = World> {
    proptest::collection::vec((0..3usize, 0..3u8), 1..7).prop_flat_map(|referrals| {
        let n = referrals.len();
        let traffic = (who(), 0..7u8, 0..n, proptest::bool::weighted(0.2)).prop_map(
            |(who, kind, case, reply_to_outside)| Traffic {
                who,
                kind,
                case,
                reply_to_outside,
            },
        );
        (Just(referrals), proptest::collection::vec(traffic, 0..14))
            .prop_map(|(referrals, traffic)| World { referrals, traffic })
    })
}

fn raw_mail(n: usize, who: Who, reply_to_outside: bool, subject: &str, body: &str) -> String {
    let from = who.address();
    let domain = from.rsplit_once('@').unwrap().1.to_string();
    let verdict = match who {
        Who::Verified(..) | Who::Stranger(_) => format!(
            "Authentication-Results: mx.woonhaven.example; dkim=pass header.d={domain};\r\n\tdmarc=pass (policy=none) header.from={domain}\r\n"
        ),
        Who::Unverified(..) => format!(
            "Authentication-Results: mx.woonhaven.example; dkim=none; spf=softfail smtp.mailfrom={domain};\r\n\tdmarc=fail (policy=none) header.from={domain}\r\n"
        ),
    };
    let reply_to = if reply_to_outside {
        "Reply-To: ontvanger@buiten.example\r\n"
    } else {
        ""
    };
    format!(
        "{verdict}From: <{from}>\r\n{reply_to}To: versneldedoorstroom@woonhaven.example\r\nSubject: {subject}\r\n\
         Message-ID: <privacy-{n}@{domain}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

/// The mails of a world, in arrival order: the referrals first, then the traffic, which names
/// cases by the references they were given (`refs[i]` for referral `i`).
fn mails(w: &World, refs: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, &(p, c)) in w.referrals.iter().enumerate() {
        let who = Who::Verified(p, c);
        let name = NAMES[i];
        out.push((
            who.address(),
            raw_mail(
                i,
                who,
                false,
                &format!("Aanmelding versnelde doorstroom - {name}"),
                &format!(
                    "Beste,\r\n\r\nHierbij meld ik {name} aan voor versnelde doorstroom.\r\n\
                     Inschrijvingsnummer CIR: {}.\r\n\r\nGroeten",
                    cir(i)
                ),
            ),
        ));
    }
    for (k, t) in w.traffic.iter().enumerate() {
        let name = NAMES[t.case];
        let case_ref = refs.get(t.case).cloned().unwrap_or_default();
        let (subject, body) = match t.kind {
            0 => (
                format!("Re: {case_ref}"),
                format!("Beste,\r\n\r\nWat is de stand van zaken voor {name}?"),
            ),
            1 => (
                format!("Zorgen over {name} ({case_ref})"),
                format!("Beste,\r\n\r\nIk maak me zorgen over {name}: geen medewerking, overlast bij de buren."),
            ),
            2 => (
                format!("Dringend {case_ref}"),
                format!("Beste,\r\n\r\n{name} heeft de buren bedreigd met een mes. Veiligheid in gevaar."),
            ),
            3 => (
                format!("{case_ref} nieuwe woonbegeleider"),
                format!(
                    "Beste,\r\n\r\nVanaf nu is de woonbegeleider van {name}: Kim Vos, kim.vos@{}, 0470 11 22 33.",
                    if k % 2 == 0 { "buiten.example" } else { DOMAINS[t.case % 3] }
                ),
            ),
            4 => (
                format!("Vraag over dossier {name}"),
                format!("Beste,\r\n\r\nKan u mij de stand van zaken geven van {name}, CIR {}?", cir(t.case)),
            ),
            5 => (
                format!("Eindverslag {case_ref}"),
                format!("Beste,\r\n\r\nIn bijlage het eindverslag van de begeleiding van {name}. De begeleiding stopt."),
            ),
            _ => (
                format!("Re: {case_ref} agenda"),
                format!("Graag {name} ({case_ref}) bespreken op het volgende overleg."),
            ),
        };
        out.push((
            t.who.address(),
            raw_mail(100 + k, t.who, t.reply_to_outside, &subject, &body),
        ));
    }
    out
}

fn config(dir: &std::path::Path) -> Config {
    let mut config = crate::trust::config_with("authserv-id");
    config.smtp = Smtp::File {
        path: dir.join("sent"),
        retry_for: std::time::Duration::from_secs(3600),
    };
    config
}

/// The subject and every text and HTML part of a delivered mail.
fn readable(bytes: &[u8]) -> String {
    let message = mail_parser::MessageParser::default()
        .parse(bytes)
        .expect("a delivered mail parses");
    let mut text = message.subject().unwrap_or_default().to_string();
    for i in 0.. {
        let (plain, html) = (message.body_text(i), message.body_html(i));
        if plain.is_none() && html.is_none() {
            break;
        }
        for part in [plain, html].into_iter().flatten() {
            text.push('\n');
            text.push_str(&part);
        }
    }
    for attachment in message.attachments() {
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(attachment.contents()));
    }
    text
}

async fn ingest(ctx: &Context, batch: &[(String, String)], first: usize) {
    let loaded = ctx.loaded();
    let incoming = batch
        .iter()
        .enumerate()
        .map(|(i, (_, raw))| Incoming {
            source: NewMail {
                source: "privacy".into(),
                source_key: format!("{}", first + i),
                message_id: None,
                received_at: chrono::Utc::now(),
            },
            raw: raw.clone().into_bytes(),
            file: String::new(),
        })
        .collect();
    for result in pipeline::handle_batch(ctx, &loaded, incoming)
        .await
        .expect("a batch")
    {
        result.expect("every mail decided");
    }
}

/// One whole run; returns how many delivered mails to partners carried their own case's data
/// (so that a run in which nothing is ever told cannot pass unnoticed).
async fn run(w: &World) -> Result<usize, TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let (store, _db) = crate::db::open(crate::db::Db::Sqlite, "privacy").await;
    let ctx = Context::fixed(store.clone(), config.clone()).unwrap();

    // The register: the referrals, then the traffic naming the references they were given.
    let referrals = mails(w, &[]);
    let referrals = &referrals[..w.referrals.len()];
    ingest(&ctx, referrals, 0).await;
    let cases = store.cases(&Default::default()).await.unwrap();
    let refs: Vec<String> = (0..w.referrals.len())
        .map(|i| {
            cases
                .iter()
                .find(|c| c.candidate == NAMES[i])
                .map(|c| c.case_ref.clone())
                .unwrap_or_else(|| format!("VD-2026-99{i:02}"))
        })
        .collect();
    let all = mails(w, &refs);
    let traffic = &all[w.referrals.len()..];
    for (k, chunk) in traffic.chunks(4).enumerate() {
        ingest(&ctx, chunk, w.referrals.len() + 4 * k).await;
    }

    let sender = Sender::from_config(store.clone(), Arc::new(config.clone()), ctx.outbox(), None);
    let now = chrono::Utc::now();
    for minute in 0..5 {
        sender
            .run_once(now + chrono::Duration::minutes(minute))
            .await
            .unwrap();
    }

    // What each address wrote itself, and every case's identifying strings by partner.
    let mut wrote: BTreeMap<String, String> = BTreeMap::new();
    for (from, raw) in &all {
        wrote.entry(from.clone()).or_default().push_str(raw);
    }
    // Each case's strings, with the periods each partner guided it (a case handed over or
    // moved by a contact change is the new partner's from then on, the old one's before).
    type Periods = Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)>;
    let mut secrets: Vec<(Periods, Vec<String>)> = Vec::new();
    for case in store.cases(&Default::default()).await.unwrap() {
        let mut s = vec![case.case_ref.clone(), case.candidate.clone()];
        s.extend(case.cir.clone());
        if let Some(i) = NAMES.iter().position(|n| *n == case.candidate) {
            s.push(cir(i));
        }
        let mut periods: Periods = match case.id {
            Some(id) => store
                .counsellor_history(id)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.partner, p.valid_from, p.valid_to))
                .collect(),
            None => Vec::new(),
        };
        if periods.is_empty() {
            periods.push((case.partner.clone(), DateTime::<Utc>::MIN_UTC, None));
        }
        secrets.push((periods, s));
    }

    let files = FileTransport::new(dir.path().join("sent"));
    let mut own_data_told = 0;
    for row in store.list_outbox(false, 10_000).await.unwrap() {
        prop_assert_eq!(row.state, OutboxState::Sent, "{:?}", row);
        let bytes = std::fs::read(files.path_for(&row.message_id)).unwrap();
        let text = readable(&bytes);
        for r in &row.recipients {
            if config.is_staff(r) {
                continue;
            }
            let own = wrote.get(r).map(String::as_str).unwrap_or_default();
            let unverified = r.starts_with("onbevestigd");
            let partner = config
                .partner_of_address(r)
                .filter(|_| !unverified)
                .map(|p| p.id.clone());
            for (periods, strings) in &secrets {
                // Queued while that partner guided the case.
                let at = row.created_at;
                let allowed = periods.iter().any(|(p, from, to)| {
                    partner.as_ref() == Some(p) && *from <= at && to.is_none_or(|to| at < to)
                });
                let owner = periods
                    .iter()
                    .map(|(p, _, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(" then ");
                for s in strings {
                    if text.contains(s.as_str()) {
                        if allowed {
                            own_data_told += 1;
                        } else {
                            prop_assert!(
                                own.contains(s.as_str()),
                                "{} ({:?}) to {} ({}) names {} of a case of {}:\n{}",
                                row.kind,
                                row.case_ref,
                                r,
                                partner.as_deref().unwrap_or("no partner, or unverified"),
                                s,
                                owner,
                                text
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(own_data_told)
}

fn cases() -> u32 {
    std::env::var("PRIVACY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

#[test]
fn over_whole_runs_no_partner_or_unverified_sender_receives_another_partners_case_data() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let told = std::cell::Cell::new(0);
    let result = runner.run(&world(), |w| {
        told.set(told.get() + rt.block_on(run(&w))?);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        told.get() > 0,
        "not vacuous: partners were told about their own cases"
    );
}
