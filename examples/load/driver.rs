//! The load run of `examples/load` (and, small, of `cargo test --test integration load`): a
//! landlord with many partners and running cases, a month of their traffic through the real
//! intake (a Maildir, the pipeline, the store), the outbox sender (`.eml` files), and the monthly
//! agenda of every partner composed and sent.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use doorstroom::calendar::Month;
use doorstroom::config::{Config, Mailbox, MaildirMailbox, Partner, Smtp};
use doorstroom::context::Context;
use doorstroom::intake::maildir::Maildir;
use doorstroom::intake::pipeline;
use doorstroom::outbox::send::Sender;
use doorstroom::store::{MailState, Store};
use tokio_util::sync::CancellationToken;

/// How big a run is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub partners: usize,
    /// Running cases (in guidance): referred, then their lease started.
    pub cases: usize,
}

/// One step's figures.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    pub items: usize,
    pub took: Duration,
}

impl Step {
    pub fn per_second(&self) -> f64 {
        self.items as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// What a run did and found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub steps: Vec<Step>,
    pub mails: usize,
    pub undecided: usize,
    pub quarantined: usize,
    pub running_cases: usize,
    pub sent: usize,
    pub not_sent: usize,
    pub agendas: usize,
    /// Agendas that name a case of another partner (must be 0).
    pub agendas_naming_others: usize,
}

fn partner(i: usize) -> Partner {
    Partner {
        id: format!("partner-{i:03}"),
        name: format!("Partner {i:03} vzw"),
        domains: vec![format!("partner{i:03}.example")],
        addresses: vec![],
        agenda_to: vec![format!("overleg@partner{i:03}.example")],
        monthly_quota: Some(4),
        programme: "vivendo".into(),
        teams_link: None,
        meeting_place: None,
    }
}

/// The example config with `size.partners` partners, a Maildir and `.eml` output in `dir`, and
/// the database of `database_url` (SQLite in `dir` when `None`).
pub fn config(size: Size, dir: &Path, database_url: Option<&str>) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/doorstroom.example.toml");
    let text = std::fs::read_to_string(&path).expect("example config");
    let text = text.replace(
        "dir = \"mail-templates\"",
        &format!("dir = \"{}/mail-templates\"", env!("CARGO_MANIFEST_DIR")),
    );
    let mut config = Config::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    config.partners = (0..size.partners).map(partner).collect();
    let Mailbox::Maildir(m) = &config.mailbox else {
        panic!("the example config reads a Maildir");
    };
    config.mailbox = Mailbox::Maildir(MaildirMailbox {
        path: dir.join("mail"),
        seed_from: None,
        ..m.clone()
    });
    config.smtp = Smtp::File {
        path: dir.join("sent"),
        retry_for: Duration::from_secs(3 * 86_400),
    };
    config.database.url = database_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("doorstroom.db").display()));
    config
}

/// A distinct candidate per number (36 × 36 × 36 names).
pub fn candidate(n: usize) -> String {
    const A: [&str; 36] = [
        "Jan", "An", "Els", "Tom", "Sofie", "Bram", "Lotte", "Karel", "Fatima", "Mohamed", "Nadia",
        "Pieter", "Lies", "Koen", "Sara", "Youssef", "Ines", "Wout", "Eva", "Milan", "Noor",
        "Arne", "Hanne", "Jonas", "Emma", "Lucas", "Lina", "Ruben", "Amira", "Stijn", "Julie",
        "Dries", "Marie", "Omar", "Kato", "Senne",
    ];
    const B: [&str; 36] = [
        "Van", "De", "Ver", "Op", "Ter", "Den", "Ooster", "Wester", "Noord", "Zuid", "Hoog",
        "Laag", "Groot", "Klein", "Bos", "Berg", "Dal", "Veld", "Beek", "Meer", "Hof", "Brug",
        "Kerk", "Molen", "Steen", "Water", "Linde", "Eik", "Wilg", "Roos", "Vos", "Haas", "Valk",
        "Zwaan", "Kraai", "Mees",
    ];
    const C: [&str; 36] = [
        "man", "mans", "sen", "kens", "hout", "dijk", "straete", "velde", "broeck", "hove",
        "berghe", "acker", "donck", "gem", "voort", "weghe", "linden", "camp", "hage", "rode",
        "bosch", "holt", "lo", "meersch", "putte", "schoot", "winkel", "zande", "heyde", "aert",
        "elst", "horst", "kamp", "lede", "mere", "oven",
    ];
    format!("{} {}{}", A[n % 36], B[(n / 36) % 36], C[(n / 1296) % 36])
}

fn partner_mail(size: Size, n: usize, subject: &str, body: &str, extra: &str) -> Vec<u8> {
    let p = n % size.partners;
    format!(
        "From: Begeleider {c} <begeleider{c}@partner{p:03}.example>\r\nTo: versneldedoorstroom@woonhaven.example\r\n\
         Subject: {subject}\r\nMessage-ID: <load-{n}-{tag}@partner{p:03}.example>\r\n{extra}\
         Date: Mon, 2 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        c = n % 7,
        tag = subject.len() + body.len(),
    )
    .into_bytes()
}

/// The referral of case `n` (partner `n % partners`).
fn referral(size: Size, n: usize) -> Vec<u8> {
    let name = candidate(n);
    partner_mail(
        size,
        n,
        &format!("Aanmelding versnelde doorstroom - {name}"),
        &format!(
            "Beste,\r\n\r\nHierbij meld ik {name} aan voor versnelde doorstroom.\r\n\
             Inschrijvingsnummer CIR: 2025-{n:06}. Ingeschreven voor alle regio's.\r\n\r\nGroeten"
        ),
        "",
    )
}

/// The coordinator's mail that case `case_ref`'s lease starts on the first of `month`.
fn lease_start(n: usize, case_ref: &str, name: &str, month: u32) -> Vec<u8> {
    const MONTHS: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    format!(
        "From: An Peeters <an.peeters@woonhaven.example>\r\nTo: versneldedoorstroom@woonhaven.example\r\n\
         Subject: Ingang huurovereenkomst {case_ref}\r\nMessage-ID: <load-lease-{n}@woonhaven.example>\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Dag collega's,\r\n\r\nDe huurovereenkomst van {name} ({case_ref}) gaat in op 1 {} 2026.\r\n\r\nAn Peeters\r\n",
        MONTHS[(month - 1) as usize]
    )
    .into_bytes()
}

/// A month of a partner's traffic about its running cases `own` (references with names):
/// replies, concerns, a discussion request, a contact change, out-of-office answers, an urgent
/// concern now and then, two new referrals.
fn month_of_traffic(
    size: Size,
    cases: &[(String, String, String)],
    first_new: usize,
) -> Vec<Vec<u8>> {
    let mut mails = Vec::new();
    for (p, _) in (0..size.partners).map(|p| (p, ())) {
        let own: Vec<&(String, String, String)> = cases
            .iter()
            .filter(|(_, partner, _)| *partner == format!("partner-{p:03}"))
            .collect();
        if own.is_empty() {
            continue;
        }
        let pick = |k: usize| own[(k * 7 + p) % own.len()];
        let mail = |k: usize, subject: String, body: String, extra: &str| {
            // n ≡ p (mod partners), so the mail comes from partner p.
            partner_mail(
                size,
                p + size.partners * (100_000 + k),
                &subject,
                &body,
                extra,
            )
        };
        for k in 0..12 {
            let (r, _, name) = pick(k);
            mails.push(mail(k, format!("Re: {r}"), format!("Beste,\r\n\r\nEven een update over {name}: het gaat goed, het huisbezoek is gepland."), ""));
        }
        for k in 12..15 {
            let (r, _, name) = pick(k);
            mails.push(mail(
                k,
                format!("Zorgen over {name} ({r})"),
                format!("Beste,\r\n\r\n{name} werkt niet mee en er is overlast bij de buren."),
                "",
            ));
        }
        if p % 10 == 0 {
            let (r, _, name) = pick(15);
            mails.push(mail(15, format!("Dringend {r}"), format!("Beste,\r\n\r\n{name} heeft de buren bedreigd met een mes. Veiligheid in gevaar."), ""));
        }
        let (r, _, name) = pick(16);
        mails.push(mail(
            16,
            format!("Bespreken {r}"),
            format!("Kunnen we {name} ({r}) op de agenda van het overleg zetten?"),
            "",
        ));
        let (r, _, name) = pick(17);
        mails.push(mail(17, format!("{r} nieuwe woonbegeleider"), format!("Vanaf nu is de woonbegeleider van {name}: Kim Vos, kim.vos{p}@partner{p:03}.example, 0470 11 22 33."), ""));
        for k in 18..20 {
            mails.push(mail(
                k,
                "Automatisch antwoord: afwezig".into(),
                "Ik ben afwezig tot maandag.".into(),
                "Auto-Submitted: auto-replied\r\n",
            ));
        }
        for k in 0..2 {
            let n = first_new + p + size.partners * k;
            mails.push(referral(size, n));
        }
    }
    mails
}

/// Deliver `mails` into the Maildir and run intake passes until the inbox is empty.
async fn intake(ctx: &Context, maildir: &Maildir, m: &MaildirMailbox, mails: &[Vec<u8>]) -> usize {
    for (i, mail) in mails.iter().enumerate() {
        maildir.deliver(mail, &format!("l{i:06}")).expect("deliver");
    }
    let stop = CancellationToken::new();
    let mut handled = 0;
    while !maildir.pending().unwrap().is_empty() {
        handled += pipeline::maildir_pass(ctx, maildir, m, &stop)
            .await
            .expect("an intake pass");
    }
    handled
}

async fn timed<T>(
    report: &mut Report,
    name: &'static str,
    items: usize,
    f: impl std::future::Future<Output = T>,
) -> T {
    let began = Instant::now();
    let out = f.await;
    report.steps.push(Step {
        name,
        items,
        took: began.elapsed(),
    });
    out
}

async fn send_all(ctx: &Context, config: &Arc<Config>) -> usize {
    let sender = Sender::from_config(ctx.store.clone(), config.clone(), ctx.outbox(), None);
    let mut sent = 0;
    loop {
        let pass = sender.run_once(Utc::now()).await.expect("a sender pass");
        sent += pass.sent;
        if pass.sent == 0 {
            return sent;
        }
    }
}

/// The whole run in `dir`.
pub async fn run(size: Size, dir: &Path, database_url: Option<&str>, org: &str) -> Report {
    let config = Arc::new(config(size, dir, database_url));
    let store = Store::open(&config.database.url, org, 4)
        .await
        .expect("store");
    let ctx = Context::fixed(store.clone(), (*config).clone()).expect("templates");
    let Mailbox::Maildir(m) = &config.mailbox else {
        unreachable!()
    };
    let maildir = Maildir::new(&m.path);
    maildir.ensure(&[&m.processed, &m.quarantine]).unwrap();
    let mut report = Report::default();

    // The register: every case referred, then its lease started (this year, months 1–11).
    let referrals: Vec<Vec<u8>> = (0..size.cases).map(|n| referral(size, n)).collect();
    timed(
        &mut report,
        "intake: referrals",
        referrals.len(),
        intake(&ctx, &maildir, m, &referrals),
    )
    .await;
    let cases = store.cases(&Default::default()).await.unwrap();
    let leases: Vec<Vec<u8>> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| lease_start(i, &c.case_ref, &c.candidate, 1 + (i % 11) as u32))
        .collect();
    timed(
        &mut report,
        "intake: lease starts",
        leases.len(),
        intake(&ctx, &maildir, m, &leases),
    )
    .await;
    timed(
        &mut report,
        "outbox: register's mail",
        0,
        send_all(&ctx, &config),
    )
    .await;

    // A month of traffic, then its mail.
    let running: Vec<(String, String, String)> = store
        .cases(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.lease_start.is_some())
        .map(|c| (c.case_ref, c.partner, c.candidate))
        .collect();
    report.running_cases = running.len();
    let month = month_of_traffic(size, &running, size.cases);
    timed(
        &mut report,
        "intake: a month of traffic",
        month.len(),
        intake(&ctx, &maildir, m, &month),
    )
    .await;
    let sent = timed(
        &mut report,
        "outbox: the month's mail",
        0,
        send_all(&ctx, &config),
    )
    .await;
    if let Some(step) = report.steps.last_mut() {
        step.items = sent;
    }

    // The monthly agenda of every partner, composed and queued, then sent.
    let now = Utc::now();
    let next = Month::of(now.date_naive().with_day(1).unwrap()).next();
    let agendas = timed(
        &mut report,
        "agenda: compose and queue",
        size.partners,
        async {
            let mut n = 0;
            for partner in &config.partners {
                let done = doorstroom::jobs::agenda::pass_partner(&ctx, partner, next, now, true)
                    .await
                    .expect("an agenda");
                n += usize::from(done.is_some());
            }
            n
        },
    )
    .await;
    report.agendas = agendas;
    let sent = timed(
        &mut report,
        "outbox: the agendas",
        0,
        send_all(&ctx, &config),
    )
    .await;
    if let Some(step) = report.steps.last_mut() {
        step.items = sent;
    }

    // What came of it.
    let rows = store.list_mails(false, 1_000_000).await.unwrap();
    report.mails = rows.len();
    report.undecided = rows.iter().filter(|r| r.state == MailState::Stored).count();
    report.quarantined = rows
        .iter()
        .filter(|r| r.state == MailState::Quarantined)
        .count();
    let outbox = store.list_outbox(false, 1_000_000).await.unwrap();
    report.sent = outbox.iter().filter(|o| o.sent_at.is_some()).count();
    report.not_sent = outbox.len() - report.sent;
    let all = store.cases(&Default::default()).await.unwrap();
    let files = doorstroom::outbox::send::FileTransport::new(dir.join("sent"));
    for row in outbox.iter().filter(|o| o.kind == "agenda") {
        let bytes = std::fs::read(files.path_for(&row.message_id)).unwrap_or_default();
        let Some(parsed) = mail_parser::MessageParser::default().parse(&bytes) else {
            report.agendas_naming_others += 1;
            continue;
        };
        let text = format!(
            "{}\n{}",
            parsed.body_text(0).unwrap_or_default(),
            parsed.body_html(0).unwrap_or_default()
        );
        let Some(owner) = row
            .recipients
            .first()
            .and_then(|r| config.partner_of_address(r))
        else {
            continue;
        };
        if all
            .iter()
            .any(|c| c.partner != owner.id && text.contains(&c.case_ref))
        {
            report.agendas_naming_others += 1;
        }
    }
    store.close().await;
    report
}

/// The peak resident memory of this process so far (getrusage `ru_maxrss`), in MiB.
pub fn peak_rss_mib() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}
