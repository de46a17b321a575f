//! Staff steer `doorstroom` by mail (issue 24), over the real mail stack: a coordinator answers
//! a notice she received in her own mailbox, and the daemon corrects what it decided. The
//! landlord's own MX vouches for senders (`authserv_id`), so "verified staff" is what the
//! trust anchor says, as in production.

use std::sync::Arc;
use std::time::{Duration, Instant};

use doorstroom::store::{MailRecord, MailState, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::{self, Db};
use crate::mailstack::{MailStack, COORDINATOR, SHARED_MAILBOX};
use crate::setup;

const MX: &str = "mx.woonhaven.example";

/// The daemon on its own task; cancelled and awaited by `stop`.
pub(crate) struct Daemon {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    fn start(config: doorstroom::config::Config) -> Daemon {
        let shutdown = CancellationToken::new();
        let loaded = doorstroom::context::Loaded::new(config).expect("templates");
        let (tx, rx) = watch::channel(Arc::new(loaded));
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            let _keep = tx;
            doorstroom::daemon::run(rx, token).await
        });
        Daemon { shutdown, task }
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("daemon task")
            .expect("daemon ends cleanly");
    }
}

/// The mail stack, a daemon trusting our own MX's verdicts, and its store.
pub(crate) struct World {
    pub(crate) stack: MailStack,
    pub(crate) daemon: Daemon,
    pub(crate) store: Store,
    pub(crate) _dir: tempfile::TempDir,
    /// The daemon's config (commands run beside it with the same one).
    pub(crate) config: doorstroom::config::Config,
}

pub(crate) async fn world() -> World {
    let stack = MailStack::start();
    let dir = tempfile::tempdir().unwrap();
    let text = setup::imap_config_text(&stack, Db::Sqlite, &dir).replacen(
        "\ntrust = \"none\"",
        &format!("\nauthserv_id = \"{MX}\""),
        1,
    );
    let config = doorstroom::config::Config::parse(&text, std::path::Path::new("test.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let daemon = Daemon::start(config.clone());
    let store = Store::open(&db::url(Db::Sqlite, &dir), &config.organisation.id, 1)
        .await
        .unwrap();
    World {
        stack,
        daemon,
        store,
        _dir: dir,
        config,
    }
}

/// A mail as our MX hands it over: its verdict on the From domain on top.
pub(crate) fn mail(
    from: &str,
    dmarc: &str,
    id: &str,
    headers: &str,
    subject: &str,
    body: &str,
) -> Vec<u8> {
    let domain = from.rsplit_once('@').map_or("", |(_, d)| d);
    format!(
        "Authentication-Results: {MX}; dmarc={dmarc} header.from={domain}\r\n\
         From: {from}\r\nTo: {SHARED_MAILBOX}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         {headers}Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n{}\r\n",
        body.replace('\n', "\r\n")
    )
    .into_bytes()
}

pub(crate) fn referral(n: u32, name: &str, partner: &str) -> Vec<u8> {
    mail(
        &format!("els.wouters@{partner}.example"),
        "pass",
        &format!("steer-ref-{n}@{partner}.example"),
        "",
        &format!("Aanmelding versnelde doorstroom - {name}"),
        &format!(
            "Beste,\n\nHierbij meld ik {name} aan voor versnelde doorstroom.\n\nMet vriendelijke groeten,\nEls Wouters"
        ),
    )
}

/// Wait until the mail with this Message-ID is decided; returns its row.
pub(crate) async fn decided(store: &Store, message_id: &str) -> MailRecord {
    wait_for(store, message_id, |m| m.state != MailState::Stored).await
}

async fn wait_for(
    store: &Store,
    message_id: &str,
    done: impl Fn(&MailRecord) -> bool,
) -> MailRecord {
    let id = format!("<{message_id}>");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mails = store.list_mails(false, 1000).await.unwrap();
        if let Some(m) = mails
            .iter()
            .find(|m| m.message_id.as_deref() == Some(&id) && done(m))
        {
            return m.clone();
        }
        assert!(
            Instant::now() < deadline,
            "mail {message_id} not as expected: {:?}",
            mails.iter().find(|m| m.message_id.as_deref() == Some(&id))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The notice of `kind` the daemon sent the coordinator about `case_ref` (or about no case),
/// as delivered into her mailbox: its Message-ID and subject.
async fn notice_to_coordinator(w: &World, kind: &str, case_ref: Option<&str>) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let row = loop {
        let rows = w.store.list_outbox(false, 1000).await.unwrap();
        if let Some(row) = rows.into_iter().find(|r| {
            r.kind == kind
                && r.case_ref.as_deref() == case_ref
                && r.recipients.iter().any(|a| a == COORDINATOR)
        }) {
            break row;
        }
        assert!(Instant::now() < deadline, "no {kind} to the coordinator");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let delivered = w
        .stack
        .wait_for_mail(
            COORDINATOR,
            "INBOX",
            |m| String::from_utf8_lossy(&m.bytes).contains(&row.message_id),
            Duration::from_secs(60),
        )
        .await;
    let text = String::from_utf8_lossy(&delivered.bytes).into_owned();
    assert!(
        text.contains("Antwoorden kan"),
        "the notice lists what she can answer"
    );
    (row.message_id, row.subject)
}

/// The coordinator answers a notice from her own mailbox (verified by our MX unless `dmarc`
/// says otherwise), quoting it below her words as Outlook does.
async fn answer(
    w: &World,
    from: &str,
    dmarc: &str,
    id: &str,
    notice: &(String, String),
    words: &str,
) {
    let (notice_id, subject) = notice;
    let raw = mail(
        from,
        dmarc,
        id,
        &format!("In-Reply-To: {notice_id}\r\nReferences: {notice_id}\r\n"),
        &format!("RE: {subject}"),
        &format!(
            "{words}\n\nGroeten,\nAn\n\n> Dag collega,\n> dossier VD-2026-0001\n> soort: zorg\n"
        ),
    );
    w.stack.submit(from, &[SHARED_MAILBOX], &raw).await;
}

/// The plain text of a delivered mail, decoded.
fn text_of(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}

pub(crate) async fn case_of(store: &Store, message_id: &str) -> Option<String> {
    decided(store, message_id).await.case_ref
}

pub(crate) async fn event_kinds(store: &Store, case_ref: &str) -> Vec<String> {
    let case = store.case(case_ref).await.unwrap().expect("the case");
    store
        .case_events(case.id.unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// Two referrals of CAW Antwerpen and a reply about the second candidate, filed under the
/// first case (its tag in the subject): returns (first case, second case, the reply's id).
async fn misplaced(w: &World) -> (String, String, &'static str) {
    for (n, name) in [(1, "Jan Peeters"), (2, "Fatima Bouzid")] {
        w.stack
            .submit(
                "els.wouters@caw-antwerpen.example",
                &[SHARED_MAILBOX],
                &referral(n, name, "caw-antwerpen"),
            )
            .await;
        decided(&w.store, &format!("steer-ref-{n}@caw-antwerpen.example")).await;
    }
    let first = case_of(&w.store, "steer-ref-1@caw-antwerpen.example")
        .await
        .expect("a case");
    let second = case_of(&w.store, "steer-ref-2@caw-antwerpen.example")
        .await
        .expect("a case");
    let reply = "steer-reply@caw-antwerpen.example";
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &mail(
                "els.wouters@caw-antwerpen.example",
                "pass",
                reply,
                "",
                &format!("Re: [{first}] afspraak"),
                "Dag,\n\nMevrouw Bouzid kan volgende week niet op de afspraak komen.\n\nEls",
            ),
        )
        .await;
    assert_eq!(
        case_of(&w.store, reply).await.as_deref(),
        Some(first.as_str())
    );
    (first, second, reply)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinators_reply_moves_a_misplaced_mail_and_the_same_reply_twice_applies_once() {
    let w = world().await;
    let (first, second, reply) = misplaced(&w).await;
    let notice = notice_to_coordinator(&w, "forwarded_mail", Some(&first)).await;

    let raw_answer_id = "steer-answer-1@woonhaven.example";
    answer(
        &w,
        COORDINATOR,
        "pass",
        raw_answer_id,
        &notice,
        &format!("dossier {second}"),
    )
    .await;
    let answered = decided(&w.store, raw_answer_id).await;
    assert_eq!(answered.kind.as_deref(), Some("staff_answer"));
    let moved = wait_for(&w.store, reply, |m| {
        m.case_ref.as_deref() == Some(second.as_str())
    })
    .await;
    assert_eq!(moved.state, MailState::Processed);
    assert_eq!(moved.kind.as_deref(), Some("reply_to_case"));
    // Both timelines show it: the case it left and the case it went to.
    assert!(event_kinds(&w.store, &first)
        .await
        .contains(&"mail_moved".to_string()));
    assert!(event_kinds(&w.store, &second)
        .await
        .contains(&"correction".to_string()));
    let corrections = w.store.corrections().await.unwrap();
    assert_eq!(corrections.len(), 1, "{corrections:?}");
    assert_eq!(corrections[0].by, COORDINATOR);
    assert_eq!(
        corrections[0].original_case.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        corrections[0].corrected_case.as_deref(),
        Some(second.as_str())
    );
    // She hears, in one line, what was done.
    let confirmation = w
        .stack
        .wait_for_mail(
            COORDINATOR,
            "INBOX",
            |m| {
                let t = String::from_utf8_lossy(&m.bytes);
                t.contains("Toegepast") && t.contains(&second)
            },
            Duration::from_secs(60),
        )
        .await;
    assert!(String::from_utf8_lossy(&confirmation.bytes).contains(raw_answer_id));

    // The same answer delivered again (a resend, a second relay): nothing changes twice.
    answer(
        &w,
        COORDINATOR,
        "pass",
        raw_answer_id,
        &notice,
        &format!("dossier {second}"),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while setup::mails_with_prefix(&w.store, "<steer-answer-1@")
        .await
        .iter()
        .filter(|m| m.state != MailState::Stored)
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "the second copy was not decided");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(w.store.corrections().await.unwrap().len(), 1);
    let corrections_events = event_kinds(&w.store, &second)
        .await
        .into_iter()
        .filter(|k| k == "correction")
        .count();
    assert_eq!(corrections_events, 1);
    w.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_mail_released_by_a_coordinators_reply_is_decided() {
    let w = world().await;
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &referral(1, "Jan Peeters", "caw-antwerpen"),
        )
        .await;
    let case_ref = case_of(&w.store, "steer-ref-1@caw-antwerpen.example")
        .await
        .expect("a case");
    // The counsellor writes from her private address: nobody we know.
    let private = "steer-private@gmail-like.example";
    w.stack
        .submit(
            "els.wouters@gmail-like.example",
            &[SHARED_MAILBOX],
            &mail(
                "els.wouters@gmail-like.example",
                "pass",
                private,
                "",
                "Jan Peeters",
                "Dag,\n\nJan heeft een nieuw gsm-nummer: 0470 99 88 77.\n\nEls Wouters, CAW Antwerpen",
            ),
        )
        .await;
    let quarantined = decided(&w.store, private).await;
    assert_eq!(quarantined.state, MailState::Quarantined);
    let notice = notice_to_coordinator(&w, "unknown_sender_notice", None).await;

    let answer_id = "steer-release@woonhaven.example";
    answer(
        &w,
        COORDINATOR,
        "pass",
        answer_id,
        &notice,
        &format!("vrijgeven\ndossier {case_ref}"),
    )
    .await;
    let released = wait_for(&w.store, private, |m| m.state == MailState::Processed).await;
    assert_eq!(released.case_ref.as_deref(), Some(case_ref.as_str()));
    assert!(event_kinds(&w.store, &case_ref)
        .await
        .contains(&"correction".to_string()));
    let corrections = w.store.corrections().await.unwrap();
    assert_eq!(corrections.len(), 1);
    assert_eq!(corrections[0].action, "release+move");
    w.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_or_a_spoofed_reply_with_the_same_words_changes_nothing_and_gets_no_case_data() {
    let w = world().await;
    let (first, _second, reply) = misplaced(&w).await;
    // A case of another partner, which CAW Antwerpen must never see.
    w.stack
        .submit(
            "els.wouters@ocmw-antwerpen.example",
            &[SHARED_MAILBOX],
            &referral(3, "Karel Maes", "ocmw-antwerpen"),
        )
        .await;
    let other = case_of(&w.store, "steer-ref-3@ocmw-antwerpen.example")
        .await
        .expect("a case");
    let notice = notice_to_coordinator(&w, "forwarded_mail", Some(&first)).await;

    // The partner got hold of the notice's Message-ID and answers it with staff's words.
    let partner = "els.wouters@caw-antwerpen.example";
    answer(
        &w,
        partner,
        "pass",
        "steer-partner@caw-antwerpen.example",
        &notice,
        &format!("dossier {other}\nvrijgeven"),
    )
    .await;
    let from_partner = decided(&w.store, "steer-partner@caw-antwerpen.example").await;
    assert_ne!(from_partner.kind.as_deref(), Some("staff_answer"));
    // Someone forges the coordinator's address: our MX says DMARC failed.
    answer(
        &w,
        COORDINATOR,
        "fail",
        "steer-spoof@woonhaven.example",
        &notice,
        &format!("dossier {other}"),
    )
    .await;
    let spoof = decided(&w.store, "steer-spoof@woonhaven.example").await;
    assert_eq!(spoof.kind.as_deref(), Some("spam_or_spoof"));

    assert_eq!(
        case_of(&w.store, reply).await.as_deref(),
        Some(first.as_str())
    );
    assert!(w.store.corrections().await.unwrap().is_empty());
    assert!(!event_kinds(&w.store, &first)
        .await
        .contains(&"mail_moved".to_string()));
    // Nothing about the other partner's case went to the partner.
    for row in w.store.list_outbox(false, 1000).await.unwrap() {
        if row
            .recipients
            .iter()
            .any(|r| r.ends_with("@caw-antwerpen.example"))
        {
            assert_ne!(row.case_ref.as_deref(), Some(other.as_str()), "{row:?}");
            assert!(!row.subject.contains(&other), "{row:?}");
        }
        assert_ne!(
            row.kind, "staff_answer",
            "nobody is told a correction was applied"
        );
    }
    w.daemon.stop().await;
}

/// The same corrections from the command line, on SQLite and PostgreSQL: an admin finds a case
/// by what she remembers of it, moves a mail, decides one again and lists what was corrected.
#[test]
fn an_admin_finds_cases_by_name_or_cir_and_corrects_mails_from_the_command_line() {
    use crate::outbox::doorstroom;
    for backend in db::BOTH {
        let dir = tempfile::tempdir().unwrap();
        let text = setup::config_text(
            &format!(
                "[mailbox]\nkind = \"maildir\"\npath = \"{}/mail\"\n",
                dir.path().display()
            ),
            &format!(
                "[smtp]\ntransport = \"file\"\npath = \"{}/sent\"\n",
                dir.path().display()
            ),
            &db::url(backend, &dir),
            &db::unique_org("steer-cli"),
        );
        let config = dir.path().join("doorstroom.toml");
        std::fs::write(&config, text).unwrap();
        let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mail");
        let (code, out, err) = doorstroom(&config, &["ingest", "--json", examples]);
        assert_eq!(code, 0, "{out}{err}");
        let decided: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let concern = decided[2]["mail_id"].as_i64().unwrap();
        // A second candidate of CAW Antwerpen: VD-2026-0003.
        let extra = dir.path().join("extra.eml");
        std::fs::write(
            &extra,
            String::from_utf8(referral(9, "Élodie Peeters", "caw-antwerpen")).unwrap(),
        )
        .unwrap();
        let (code, out, err) = doorstroom(&config, &["ingest", extra.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(decided[2]["case_ref"], "VD-2026-0001", "{}", decided[2]);

        // Found by name (any case), by CIR written without its dash, by reference.
        let (_, out, _) = doorstroom(&config, &["cases", "--search", "elodie"]);
        assert!(out.contains("VD-2026-0003"), "accents ignored: {out}");
        for query in ["CLAES", "jan claes", "2024123456", "vd 2026 0001"] {
            let (code, out, err) = doorstroom(&config, &["cases", "--search", query, "--json"]);
            assert_eq!(code, 0, "{err}");
            let found: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
            let refs: Vec<&str> = found
                .iter()
                .map(|c| c["case_ref"].as_str().unwrap())
                .collect();
            assert_eq!(refs, ["VD-2026-0001"], "{backend:?} {query}");
        }
        let (_, out, _) = doorstroom(&config, &["cases", "--search", "nobody"]);
        assert!(out.contains("no case matches"), "{out}");

        // Refused, with the reason, and nothing changed.
        let id = concern.to_string();
        let (code, _, err) = doorstroom(&config, &["mails", "move", &id, "--case", "VD-2026-0099"]);
        assert_ne!(code, 0);
        assert!(err.contains("not in the register"), "{err}");
        let (code, _, err) = doorstroom(&config, &["mails", "redecide", &id, "--kind", "vakantie"]);
        assert_ne!(code, 0);
        assert!(err.contains("unknown kind"), "{err}");

        let (code, _, err) = doorstroom(&config, &["mails", "move", &id, "--case", "VD-2026-0002"]);
        assert_ne!(code, 0, "VD-2026-0002 is OCMW Antwerpen's");
        assert!(err.contains("another partner"), "{err}");
        let (code, out, err) =
            doorstroom(&config, &["mails", "move", &id, "--case", "VD-2026-0003"]);
        assert_eq!(code, 0, "{backend:?} {out}{err}");
        assert!(
            out.contains("concern in VD-2026-0001 -> concern in VD-2026-0003"),
            "{out}"
        );
        let (code, out, err) =
            doorstroom(&config, &["mails", "redecide", &id, "--kind", "antwoord"]);
        assert_eq!(code, 0, "{backend:?} {out}{err}");
        assert!(out.contains("-> reply_to_case in VD-2026-0003"), "{out}");

        let (code, out, _) = doorstroom(&config, &["mails", "corrections", "--json"]);
        assert_eq!(code, 0);
        let corrections: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(corrections.len(), 2, "{out}");
        assert_eq!(corrections[0]["action"], "move");
        assert_eq!(corrections[0]["original_case"], "VD-2026-0001");
        assert_eq!(corrections[0]["corrected_case"], "VD-2026-0003");
        assert_eq!(corrections[1]["action"], "redecide");
        assert_eq!(corrections[1]["original_kind"], "concern");
        assert_eq!(corrections[1]["corrected_kind"], "reply_to_case");
        assert_eq!(corrections[1]["by"], "admin");
        let export = dir.path().join("export");
        let (code, _, err) = doorstroom(
            &config,
            &["mails", "corrections", "--export", export.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{err}");
        let eml = std::fs::read(export.join("001-correction.eml")).unwrap();
        assert!(String::from_utf8_lossy(&eml).contains("03-concern@example.mail"));
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(export.join("001-correction.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(json["kind"], "reply_to_case");
        assert_eq!(json["case_ref"], "VD-2026-0003");

        // Both timelines show the move, with the command as its cause.
        let (_, out, _) = doorstroom(&config, &["case", "VD-2026-0001"]);
        assert!(out.contains("mail_moved"), "{out}");
        let (_, out, _) = doorstroom(&config, &["case", "VD-2026-0003"]);
        assert!(out.contains("correction"), "{out}");
        assert!(
            out.contains(&format!("admin: mails move {id} --case VD-2026-0003")),
            "{out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_by_mail_returns_the_dossier_to_staff_only() {
    let w = world().await;
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &referral(1, "Jan Peeters", "caw-antwerpen"),
        )
        .await;
    let case_ref = case_of(&w.store, "steer-ref-1@caw-antwerpen.example")
        .await
        .expect("a case");

    // The coordinator asks by name, from Outlook; and for the overview.
    let ask = |from: &str, dmarc: &str, id: &str, subject: &str| {
        mail(from, dmarc, id, "", subject, "Dag,\n\nGroeten,\nAn")
    };
    w.stack
        .submit(
            COORDINATOR,
            &[SHARED_MAILBOX],
            &ask(
                COORDINATOR,
                "pass",
                "steer-q1@woonhaven.example",
                "dossier jan peeters",
            ),
        )
        .await;
    let asked = decided(&w.store, "steer-q1@woonhaven.example").await;
    assert_eq!(asked.kind.as_deref(), Some("staff_question"), "{asked:?}");
    let dossier = w
        .stack
        .wait_for_mail(
            COORDINATOR,
            "INBOX",
            |m| String::from_utf8_lossy(&m.bytes).contains("In-Reply-To: <steer-q1@"),
            Duration::from_secs(60),
        )
        .await;
    let text = String::from_utf8_lossy(&dossier.bytes);
    assert!(text.contains("text/html"), "HTML and text");
    let body = text_of(&dossier.bytes);
    assert!(
        body.contains(&format!("Dossier {case_ref}: Jan Peeters")),
        "{body}"
    );
    assert!(body.contains("Laatste gebeurtenissen"), "{body}");
    w.stack
        .submit(
            COORDINATOR,
            &[SHARED_MAILBOX],
            &ask(
                COORDINATOR,
                "pass",
                "steer-q2@woonhaven.example",
                "overzicht CAW",
            ),
        )
        .await;
    w.stack
        .wait_for_mail(
            COORDINATOR,
            "INBOX",
            |m| {
                let t = text_of(&m.bytes);
                t.contains("De lopende dossiers per partner") && t.contains(&case_ref)
            },
            Duration::from_secs(60),
        )
        .await;

    // The partner asks the same, and a forger in the coordinator's name: nothing goes out.
    let partner = "els.wouters@caw-antwerpen.example";
    w.stack
        .submit(
            partner,
            &[SHARED_MAILBOX],
            &ask(
                partner,
                "pass",
                "steer-q3@caw-antwerpen.example",
                "dossier jan peeters",
            ),
        )
        .await;
    w.stack
        .submit(
            COORDINATOR,
            &[SHARED_MAILBOX],
            &ask(
                COORDINATOR,
                "fail",
                "steer-q4@woonhaven.example",
                "quarantaine",
            ),
        )
        .await;
    let partner_mail = decided(&w.store, "steer-q3@caw-antwerpen.example").await;
    assert_ne!(partner_mail.kind.as_deref(), Some("staff_question"));
    let forged = decided(&w.store, "steer-q4@woonhaven.example").await;
    assert_eq!(forged.kind.as_deref(), Some("spam_or_spoof"));
    let answers: Vec<_> = w
        .store
        .list_outbox(false, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "question_answer")
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    for row in &answers {
        assert_eq!(row.recipients, [COORDINATOR], "{row:?}");
    }
    w.daemon.stop().await;
}

/// Without a trust anchor (`trust = "none"`) no address is verified: a coordinator's answer is
/// refused, she is told why, and the mail stays where it was.
#[test]
fn without_a_trust_anchor_an_answer_is_refused_and_the_coordinator_told_why() {
    use crate::outbox::doorstroom;
    let dir = tempfile::tempdir().unwrap();
    let text = setup::config_text(
        &format!(
            "[mailbox]\nkind = \"maildir\"\npath = \"{}/mail\"\n",
            dir.path().display()
        ),
        &format!(
            "[smtp]\ntransport = \"file\"\npath = \"{}/sent\"\n",
            dir.path().display()
        ),
        &db::url(Db::Sqlite, &dir),
        "woonhaven",
    );
    let config = dir.path().join("doorstroom.toml");
    std::fs::write(&config, text).unwrap();
    let unknown = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/mail/04-unknown-sender.eml"
    );
    let (code, out, err) = doorstroom(&config, &["ingest", unknown]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, out, _) = doorstroom(&config, &["outbox", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let notice = rows
        .iter()
        .find(|r| r["kind"] == "unknown_sender_notice")
        .unwrap_or_else(|| panic!("{out}"));
    let notice_id = notice["message_id"].as_str().unwrap();
    let answer = dir.path().join("answer.eml");
    std::fs::write(
        &answer,
        mail(
            COORDINATOR,
            "pass",
            "steer-unverified@woonhaven.example",
            &format!("In-Reply-To: {notice_id}\r\n"),
            "RE: Onbekende afzender",
            "negeren\n\nGroeten,\nAn",
        ),
    )
    .unwrap();
    let (code, out, err) = doorstroom(&config, &["ingest", "--json", answer.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("refused"), "{out}");
    let (_, out, _) = doorstroom(&config, &["mails", "--json"]);
    let mails: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kind_of = |id: &str| {
        mails
            .iter()
            .find(|m| m["message_id"] == id)
            .map(|m| (m["kind"].clone(), m["state"].clone()))
            .unwrap()
    };
    assert_eq!(
        kind_of("<steer-unverified@woonhaven.example>").0,
        "staff_answer"
    );
    assert_eq!(
        kind_of("<04-unknown-sender@example.mail>").1,
        "quarantined",
        "the mail stays in quarantine"
    );
    let (_, out, _) = doorstroom(&config, &["mails", "corrections"]);
    assert!(out.contains("no corrections yet"), "{out}");
    let (_, out, _) = doorstroom(&config, &["outbox", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let refusal = rows
        .iter()
        .find(|r| r["kind"] == "staff_answer")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(refusal["recipients"], serde_json::json!([COORDINATOR]));
    let (_, shown, _) = doorstroom(&config, &["outbox", "show", &refusal["id"].to_string()]);
    assert!(
        text_of(shown.as_bytes()).contains("Niet toegepast"),
        "{shown}"
    );
    assert!(
        text_of(shown.as_bytes()).contains("niet geverifieerd"),
        "{shown}"
    );

    // An answer whose threading headers were lost is recognised by the case tag of its
    // subject: the newest notice about that case to her.
    let referral = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/mail/01-referral-complete.eml"
    );
    let (code, out, err) = doorstroom(&config, &["ingest", referral]);
    assert_eq!(code, 0, "{out}{err}");
    let untagged = dir.path().join("untagged.eml");
    std::fs::write(
        &untagged,
        mail(
            COORDINATOR,
            "pass",
            "steer-untagged@woonhaven.example",
            "",
            "RE: [VD-2026-0001] Nieuwe aanmelding van CAW Antwerpen",
            "negeren",
        ),
    )
    .unwrap();
    let (code, out, err) = doorstroom(&config, &["ingest", "--json", untagged.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("staff answer about mail #"), "{out}");
}

/// The corrections migration (0016) on a database one migration behind, with a quarantined
/// mail in it: the mail reads back as before, can be corrected, and one answer corrects it once.
#[tokio::test]
async fn the_corrections_migration_keeps_mails_stored_before_it() {
    for backend in db::BOTH {
        let dir = tempfile::tempdir().unwrap();
        let (url, kind) = match backend {
            Db::Sqlite => (db::url(backend, &dir), "sqlite"),
            Db::Postgres => {
                // A database of its own: the shared one has every migration applied already.
                let base = db::postgres_url();
                let name = format!("corr_mig_{}", std::process::id());
                sqlx::any::install_default_drivers();
                let admin = sqlx::AnyPool::connect(base).await.unwrap();
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&admin)
                    .await;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let (prefix, _) = base.rsplit_once('/').unwrap();
                (format!("{prefix}/{name}"), "postgres")
            }
        };
        // Every migration before 0016, as the previous release shipped them.
        let before = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(format!("migrations/{kind}")).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.as_str() < "0016" {
                std::fs::copy(entry.path(), before.path().join(&name)).unwrap();
            }
        }
        sqlx::any::install_default_drivers();
        let connect_url = if kind == "sqlite" {
            format!("{url}?mode=rwc")
        } else {
            url.clone()
        };
        let pool = sqlx::AnyPool::connect(&connect_url).await.unwrap();
        sqlx::migrate::Migrator::new(before.path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO mails (org, sha256, message_id, source, source_key, received_at, state, moved, kind, reason)
             VALUES ('old', 'abc', '<old@x.example>', 'file', 'old.eml', '2026-11-23T09:00:00.000000Z',
                     'quarantined', 1, 'unknown_sender', 'nobody we know')",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = Store::open(&url, "old", 2).await.unwrap();
        let mails = store.list_mails(true, 10).await.unwrap();
        assert_eq!(mails.len(), 1, "{backend:?}");
        assert_eq!(mails[0].reason.as_deref(), Some("nobody we know"));
        assert!(store.corrections().await.unwrap().is_empty());
        let at = chrono::Utc::now();
        let correction = doorstroom::store::NewCorrection {
            mail_id: mails[0].id,
            answer_mail_id: None,
            answer_key: Some("<answer@woonhaven.example>"),
            by: COORDINATOR,
            action: "ignore",
            original_kind: Some("unknown_sender"),
            original_case: None,
            corrected_kind: Some("unknown_sender"),
            corrected_case: None,
            detail: "negeren",
            at,
        };
        for (attempt, written) in [(1, true), (2, false)] {
            let mut tx = store.begin().await.unwrap();
            assert_eq!(
                tx.record_correction(&correction).await.unwrap(),
                written,
                "{backend:?} attempt {attempt}"
            );
            tx.commit().await.unwrap();
        }
        let corrections = store.corrections().await.unwrap();
        assert_eq!(corrections.len(), 1);
        assert_eq!(corrections[0].by, COORDINATOR);
        store.close().await;
        if kind == "postgres" {
            let admin = sqlx::AnyPool::connect(db::postgres_url()).await.unwrap();
            let name = url.rsplit('/').next().unwrap_or_default();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&admin)
                .await;
            admin.close().await;
        }
    }
}

/// The confirmation the coordinator gets for her answer `answer_id`: its plain text.
async fn confirmation(w: &World, answer_id: &str) -> String {
    let delivered = w
        .stack
        .wait_for_mail(
            COORDINATOR,
            "INBOX",
            |m| {
                let t = String::from_utf8_lossy(&m.bytes);
                t.contains(&format!("In-Reply-To: <{answer_id}>")) && t.contains("staff_answer")
                    || t.contains(&format!("In-Reply-To: <{answer_id}>"))
            },
            Duration::from_secs(60),
        )
        .await;
    text_of(&delivered.bytes)
}

/// A partner's mail that names no case and nothing triage recognises: nobody can place it, the
/// coordinator is told (`unplaced_mail`). Returns its Message-ID.
async fn unplaced(w: &World) -> &'static str {
    let id = "steer-unplaced@caw-antwerpen.example";
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &mail(
                "els.wouters@caw-antwerpen.example",
                "pass",
                id,
                "",
                "Vraag",
                "Dag,\n\nKunnen jullie Sarah Jacobs opnemen in de versnelde doorstroom? Haar CIR-nummer volgt.\n\nEls Wouters",
            ),
        )
        .await;
    decided(&w.store, id).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nieuw_dossier_in_an_answer_opens_a_case_from_an_unplaced_mail() {
    let w = world().await;
    let id = unplaced(&w).await;
    let before = decided(&w.store, id).await;
    assert_eq!(before.case_ref, None, "{before:?}");
    let notice = notice_to_coordinator(&w, "unplaced_mail", None).await;
    let answer_id = "steer-new-case@woonhaven.example";
    answer(&w, COORDINATOR, "pass", answer_id, &notice, "nieuw dossier").await;
    let placed = wait_for(&w.store, id, |m| m.case_ref.is_some()).await;
    assert_eq!(placed.state, MailState::Processed);
    assert!(
        matches!(
            placed.kind.as_deref(),
            Some("referral" | "referral_incomplete")
        ),
        "{placed:?}"
    );
    let case_ref = placed.case_ref.unwrap();
    let case = w.store.case(&case_ref).await.unwrap().expect("the case");
    assert_eq!(case.partner, "caw-antwerpen");
    let kinds = event_kinds(&w.store, &case_ref).await;
    assert!(kinds.contains(&"created".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"correction".to_string()), "{kinds:?}");
    let text = confirmation(&w, answer_id).await;
    assert!(text.contains("Toegepast"), "{text}");
    assert!(text.contains(&case_ref), "{text}");
    // The notice she answered was sent already: it stays sent, and she is told so.
    assert!(text.contains("al verstuurd"), "{text}");
    w.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sa_in_an_answer_assigns_the_social_assistant_who_then_gets_the_cases_notices_and_unknown_lines_are_named(
) {
    let w = world().await;
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &referral(1, "Jan Peeters", "caw-antwerpen"),
        )
        .await;
    let case_ref = case_of(&w.store, "steer-ref-1@caw-antwerpen.example")
        .await
        .expect("a case");
    let notice = notice_to_coordinator(&w, "referral_notice", Some(&case_ref)).await;
    let sa = crate::mailstack::SOCIAL_ASSISTANTS[1];
    let answer_id = "steer-sa@woonhaven.example";
    answer(
        &w,
        COORDINATOR,
        "pass",
        answer_id,
        &notice,
        &format!("sa: {sa}\nkan jij dit even nakijken"),
    )
    .await;
    let text = confirmation(&w, answer_id).await;
    assert!(text.contains("Toegepast"), "{text}");
    assert!(text.contains(sa), "{text}");
    // The line that is no answer is named back, so that nothing she wrote is lost silently.
    assert!(text.contains("kan jij dit even nakijken"), "{text}");
    let case = w.store.case(&case_ref).await.unwrap().unwrap();
    assert_eq!(case.social_assistant.as_deref(), Some(sa));
    // The partner raises a concern about the case: the social assistant is told, in her mailbox.
    let concern = "steer-concern@caw-antwerpen.example";
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &mail(
                "els.wouters@caw-antwerpen.example",
                "pass",
                concern,
                "",
                &format!("[{case_ref}] zorg"),
                "Dag,\n\nWe maken ons zorgen: Jan betaalt de huur niet en laat niemand binnen.\n\nEls",
            ),
        )
        .await;
    let decided_concern = decided(&w.store, concern).await;
    assert_eq!(
        decided_concern.kind.as_deref(),
        Some("concern"),
        "{decided_concern:?}"
    );
    w.stack
        .wait_for_mail(
            sa,
            "INBOX",
            |m| {
                let t = String::from_utf8_lossy(&m.bytes);
                t.contains(&case_ref)
            },
            Duration::from_secs(60),
        )
        .await;
    w.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negeren_in_an_answer_files_a_quarantined_mail_without_action_and_sends_nothing() {
    let w = world().await;
    let stranger = "steer-stranger@elders.example";
    w.stack
        .submit(
            "iemand@elders.example",
            &[SHARED_MAILBOX],
            &mail(
                "iemand@elders.example",
                "pass",
                stranger,
                "",
                "Jan Peeters",
                "Dag,\n\nKan iemand mij bellen over een woning?\n\nGroeten",
            ),
        )
        .await;
    assert_eq!(
        decided(&w.store, stranger).await.state,
        MailState::Quarantined
    );
    let notice = notice_to_coordinator(&w, "unknown_sender_notice", None).await;
    let last_before = w
        .store
        .list_outbox(false, 1000)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .max()
        .unwrap_or_default();
    let answer_id = "steer-ignore@woonhaven.example";
    answer(&w, COORDINATOR, "pass", answer_id, &notice, "negeren").await;
    let filed = wait_for(&w.store, stranger, |m| m.state == MailState::Processed).await;
    assert_eq!(filed.case_ref, None);
    let text = confirmation(&w, answer_id).await;
    assert!(text.contains("geklasseerd"), "{text}");
    // Nothing went out but the one-line confirmation to her.
    let rows = w.store.list_outbox(false, 1000).await.unwrap();
    let new: Vec<_> = rows.iter().filter(|r| r.id > last_before).collect();
    assert!(
        new.iter()
            .all(|r| r.kind == "staff_answer" && r.recipients == [COORDINATOR]),
        "{new:?}"
    );
    assert!(rows
        .iter()
        .all(|r| !r.recipients.iter().any(|a| a.ends_with("@elders.example"))));
    let corrections = w.store.corrections().await.unwrap();
    assert_eq!(corrections.len(), 1);
    assert_eq!(corrections[0].action, "ignore");
    w.daemon.stop().await;
}

/// A reply that triage took for a new referral opened a case of its own; the coordinator says
/// what it was. The wrong case is withdrawn (its timeline kept, every change an event with her
/// as cause), the mail becomes a concern in the right case, and she is told which mails had
/// gone out already.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soort_in_an_answer_decides_a_mail_again_and_withdraws_the_case_it_wrongly_opened() {
    let w = world().await;
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &referral(1, "Jan Peeters", "caw-antwerpen"),
        )
        .await;
    let right = case_of(&w.store, "steer-ref-1@caw-antwerpen.example")
        .await
        .expect("a case");
    w.stack
        .submit(
            "els.wouters@caw-antwerpen.example",
            &[SHARED_MAILBOX],
            &referral(2, "Fatima Bouzid", "caw-antwerpen"),
        )
        .await;
    let wrong = case_of(&w.store, "steer-ref-2@caw-antwerpen.example")
        .await
        .expect("a case");
    assert_ne!(right, wrong);
    let notice = notice_to_coordinator(&w, "referral_notice", Some(&wrong)).await;
    let answer_id = "steer-kind@woonhaven.example";
    answer(
        &w,
        COORDINATOR,
        "pass",
        answer_id,
        &notice,
        &format!("soort: zorg\ndossier {right}"),
    )
    .await;
    let redecided = wait_for(&w.store, "steer-ref-2@caw-antwerpen.example", |m| {
        m.case_ref.as_deref() == Some(right.as_str())
    })
    .await;
    assert_eq!(redecided.kind.as_deref(), Some("concern"));
    let withdrawn = w.store.case(&wrong).await.unwrap().unwrap();
    assert_eq!(
        withdrawn.status,
        doorstroom::case::Status::ClosedNegative,
        "{withdrawn:?}"
    );
    let events = w.store.case_events(withdrawn.id.unwrap()).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in ["created", "withdrawn", "undone", "mail_moved"] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    for e in events
        .iter()
        .filter(|e| e.kind == "withdrawn" || e.kind == "undone")
    {
        assert!(
            matches!(&e.cause, doorstroom::case::Cause::Staff { by, .. } if by == COORDINATOR),
            "{e:?}"
        );
    }
    let case = w.store.case(&right).await.unwrap().unwrap();
    assert_eq!(case.concerns.len(), 1, "{case:?}");
    let text = confirmation(&w, answer_id).await;
    assert!(text.contains("Toegepast"), "{text}");
    assert!(text.contains("ingetrokken"), "{text}");
    assert!(text.contains("al verstuurd"), "{text}");
    w.daemon.stop().await;
}

/// From the command line, before the outbox ran: a referral decided again as a reply to
/// another case withdraws the case it opened and cancels its mails not sent yet; the same
/// correction of a lease start puts the case back as it was.
#[test]
fn a_corrected_decision_cancels_its_unsent_mails_and_undoes_its_case_changes() {
    use crate::outbox::doorstroom;
    let dir = tempfile::tempdir().unwrap();
    let text = setup::config_text(
        &format!(
            "[mailbox]\nkind = \"maildir\"\npath = \"{}/mail\"\n",
            dir.path().display()
        ),
        &format!(
            "[smtp]\ntransport = \"file\"\npath = \"{}/sent\"\n",
            dir.path().display()
        ),
        &db::url(Db::Sqlite, &dir),
        "woonhaven",
    );
    let config = dir.path().join("doorstroom.toml");
    std::fs::write(&config, text).unwrap();
    let first = dir.path().join("first.eml");
    std::fs::write(&first, referral(1, "Jan Peeters", "caw-antwerpen")).unwrap();
    let second = dir.path().join("second.eml");
    std::fs::write(&second, referral(2, "Fatima Bouzid", "caw-antwerpen")).unwrap();
    let (code, out, err) = doorstroom(&config, &["ingest", "--json", first.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = doorstroom(&config, &["ingest", "--json", second.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let decided: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let id = decided["mail_id"].as_i64().unwrap().to_string();
    assert!(
        decided["done"][0]
            .as_str()
            .is_some_and(|d| d.contains("VD-2026-0002 created")),
        "{decided}"
    );
    let outbox = |dir: &std::path::Path| -> Vec<serde_json::Value> {
        let (_, out, _) = doorstroom(&dir.join("doorstroom.toml"), &["outbox", "--json"]);
        serde_json::from_str(&out).unwrap()
    };
    let queued: Vec<_> = outbox(dir.path())
        .into_iter()
        .filter(|r| r["case_ref"] == "VD-2026-0002")
        .collect();
    assert!(!queued.is_empty());
    assert!(queued.iter().all(|r| r["state"] == "queued"), "{queued:?}");

    let (code, out, err) = doorstroom(&config, &["mails", "move", &id, "--case", "VD-2026-0001"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ingetrokken"), "{out}");
    assert!(out.contains("niet meer verstuurd"), "{out}");
    let rows = outbox(dir.path());
    for r in rows.iter().filter(|r| r["case_ref"] == "VD-2026-0002") {
        assert_eq!(r["state"], "cancelled", "{r}");
    }
    // Regression: a withdrawn case still counted in the partner's monthly quota.
    let quota_count = || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = Store::open(&db::url(Db::Sqlite, &dir), "woonhaven", 1)
                .await
                .unwrap();
            let referred = store
                .case("VD-2026-0002")
                .await
                .unwrap()
                .unwrap()
                .referred_at;
            let month =
                doorstroom::case::quota::Month::of_instant(referred, chrono_tz::Europe::Brussels);
            let n = store
                .referrals_in_month("caw-antwerpen", month, chrono_tz::Europe::Brussels)
                .await
                .unwrap();
            store.close().await;
            n
        })
    };
    assert_eq!(quota_count(), 1, "only the referral that stands counts");
    // Regression: a withdrawn case still counted as referred (and closed) in the registration.
    let (code, out, err) = doorstroom(
        &config,
        &[
            "report",
            "--year",
            "2026",
            "--format",
            "csv",
            "--csv-style",
            "plain",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let row = out
        .lines()
        .find(|l| l.to_lowercase().contains("caw"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(row.split(',').nth(2), Some("1"), "{out}");
    let (_, out, _) = doorstroom(&config, &["case", "VD-2026-0002"]);
    assert!(out.contains("withdrawn"), "{out}");
    // The wrong decision's events stay in the timeline, marked as undone by the correction.
    assert!(out.contains("\"undone_by\":\"admin\""), "{out}");
    assert!(out.contains("closed_negative"), "{out}");

    // A lease start that was not one: the case goes back to where it was, plan and all.
    let lease = dir.path().join("lease.eml");
    std::fs::write(
        &lease,
        mail(
            COORDINATOR,
            "pass",
            "steer-lease@woonhaven.example",
            "",
            "[VD-2026-0001] Jan Peeters",
            "Ter info: start huur Jan Peeters op 1-11-26, sleutels zijn overhandigd.\n\nAn",
        ),
    )
    .unwrap();
    let (_, before, _) = doorstroom(&config, &["case", "VD-2026-0001", "--json"]);
    let (code, out, err) = doorstroom(&config, &["ingest", "--json", lease.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let decided: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(decided["kind"], "lease_start", "{decided}");
    let lease_id = decided["mail_id"].as_i64().unwrap().to_string();
    let (_, during, _) = doorstroom(&config, &["case", "VD-2026-0001", "--json"]);
    let (before, during): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&before).unwrap(),
        serde_json::from_str(&during).unwrap(),
    );
    assert_ne!(before["case"]["status"], during["case"]["status"]);
    let (code, out, err) = doorstroom(
        &config,
        &["mails", "redecide", &lease_id, "--kind", "antwoord"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (_, after, _) = doorstroom(&config, &["case", "VD-2026-0001", "--json"]);
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(after["case"]["status"], before["case"]["status"], "{after}");
    assert_eq!(after["case"]["lease_start"], before["case"]["lease_start"]);
    let pending = |v: &serde_json::Value| {
        v["case"]["milestones"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter(|m| m["superseded"] == false && m["done_on"].is_null())
                    .count()
            })
            .unwrap_or_default()
    };
    assert_eq!(pending(&after), pending(&before), "{after}");
    assert!(out.contains("status terug naar"), "{out}");
}

/// The undo migration (0024) on a database one migration behind, with a case decided before
/// it: the case and its events read back as before, and correcting that old mail undoes
/// nothing it cannot know (no row kept for it) instead of failing.
#[tokio::test]
async fn the_undo_migration_keeps_cases_decided_before_it() {
    for backend in db::BOTH {
        let dir = tempfile::tempdir().unwrap();
        let (url, kind) = match backend {
            Db::Sqlite => (db::url(backend, &dir), "sqlite"),
            Db::Postgres => {
                let base = db::postgres_url();
                let name = format!("undo_mig_{}", std::process::id());
                sqlx::any::install_default_drivers();
                let admin = sqlx::AnyPool::connect(base).await.unwrap();
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&admin)
                    .await;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let (prefix, _) = base.rsplit_once('/').unwrap();
                (format!("{prefix}/{name}"), "postgres")
            }
        };
        let before = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(format!("migrations/{kind}")).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.as_str() < "0024" {
                std::fs::copy(entry.path(), before.path().join(&name)).unwrap();
            }
        }
        sqlx::any::install_default_drivers();
        let connect_url = if kind == "sqlite" {
            format!("{url}?mode=rwc")
        } else {
            url.clone()
        };
        let pool = sqlx::AnyPool::connect(&connect_url).await.unwrap();
        sqlx::migrate::Migrator::new(before.path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        let at = "2026-11-23T09:00:00.000000Z";
        sqlx::query(
            "INSERT INTO cases (org, case_ref, partner, programme, status, candidate, referred_at, created_at, updated_at)
             VALUES ('old', 'VD-2026-0001', 'caw-antwerpen', 'versnelde-doorstroom', 'referred_incomplete', 'Jan Peeters', $1, $1, $1)",
        )
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO case_events (org, case_id, at, kind, detail, cause_kind, cause_ref)
             VALUES ('old', (SELECT id FROM cases WHERE case_ref = 'VD-2026-0001'), $1, 'created', '{}', 'mail', '1')",
        )
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = Store::open(&url, "old", 2).await.unwrap();
        let case = store.case("VD-2026-0001").await.unwrap().expect("the case");
        let events = store.case_events(case.id.unwrap()).await.unwrap();
        assert_eq!(events.len(), 1, "{backend:?}");
        let mut tx = store.begin().await.unwrap();
        let cause = doorstroom::case::Cause::Admin {
            command: "mails redecide 1 --kind zorg".into(),
        };
        let undone = tx
            .undo_mail(1, "admin", &cause, chrono::Utc::now())
            .await
            .unwrap();
        assert!(
            undone.is_empty(),
            "{backend:?}: nothing kept, nothing undone"
        );
        let (cancelled, sent) = tx.cancel_mail_outbox(1, "test").await.unwrap();
        assert!(cancelled.is_empty() && sent.is_empty());
        tx.commit().await.unwrap();
        assert_eq!(
            store.case("VD-2026-0001").await.unwrap().unwrap().status,
            doorstroom::case::Status::ReferredIncomplete
        );
        store.close().await;
        if kind == "postgres" {
            let admin = sqlx::AnyPool::connect(db::postgres_url()).await.unwrap();
            let name = url.rsplit('/').next().unwrap_or_default();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&admin)
                .await;
            admin.close().await;
        }
    }
}
