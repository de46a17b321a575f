//! Realistic partner traffic for the proofs under faults (issue 28), deterministic from a seed:
//! referrals with the addendum and the social report attached as PDFs (or one of them missing),
//! replies on those threads, concerns (some urgent), out-of-office answers, bounces (DSN) of mails
//! we sent, forged partner mails, and staff corrections answering a notice we sent.
//!
//! Every mail carries our MX's verdict on its From domain (`Authentication-Results: mx…;
//! dmarc=…`), so a config with `authserv_id = "mx.woonhaven.example"` ([`MX`]) believes partners
//! and staff as production does and sees the forgeries for what they are. Message-IDs start with
//! `<tr-` so that a test tells the generated mails from the proof copies of what the daemon sent.
//!
//! The same seed gives the same mails, byte for byte; the mix follows [`Traffic::next`].

use std::collections::BTreeMap;

use base64::Engine;

use crate::mailstack::{COORDINATOR, SHARED_MAILBOX};
use crate::setup;

/// The landlord's MX, whose verdicts the config trusts (`authserv_id`).
pub const MX: &str = "mx.woonhaven.example";

/// The partners of the example config, with a counsellor each writes from.
pub const PARTNERS: [(&str, &str); 2] = [
    ("caw-antwerpen", "Els Wouters"),
    ("ocmw-antwerpen", "Koen Hermans"),
];

/// What a generated mail is meant to be; the daemon decides for itself what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A referral with both documents attached.
    Referral,
    /// A referral with one document missing.
    ReferralIncomplete,
    /// A counsellor answering on a referral's thread.
    Reply,
    /// A concern about how guidance goes.
    Concern,
    /// A safety risk: tell the social assistant and the coordinator now.
    Urgent,
    /// An out-of-office robot answering one of our mails.
    OutOfOffice,
    /// A delivery status notification for a mail we sent.
    Bounce,
    /// A partner's address forged (DMARC fails at our MX), naming a candidate.
    Spoof,
    /// A coordinator answering one of our notices with a steering word.
    Correction,
}

/// One mail, with what a test needs to count it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub kind: Kind,
    /// With angle brackets, as stored.
    pub message_id: String,
    /// Envelope sender.
    pub from: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    pub raw: Vec<u8>,
    /// For referrals: the candidate's CIR number, unique per referral.
    pub cir: Option<String>,
}

/// A candidate referred earlier in the traffic, whom later mails are about.
#[derive(Debug, Clone)]
struct Referred {
    partner: usize,
    name: String,
    message_id: String,
}

/// A deterministic source of traffic.
pub struct Traffic {
    rng: SplitMix,
    seed: u64,
    n: u64,
    referrals: u64,
    referred: Vec<Referred>,
    /// Share of each kind in a thousand (see [`Traffic::new`]).
    mix: Vec<(Kind, u32)>,
}

impl Traffic {
    /// The default mix: a quarter referrals, then replies and concerns, a few of everything else.
    pub fn new(seed: u64) -> Traffic {
        Traffic {
            rng: SplitMix(seed ^ 0x9e37_79b9_7f4a_7c15),
            seed,
            n: 0,
            referrals: 0,
            referred: Vec::new(),
            mix: vec![
                (Kind::Referral, 200),
                (Kind::ReferralIncomplete, 60),
                (Kind::Reply, 300),
                (Kind::Concern, 170),
                (Kind::Urgent, 30),
                (Kind::OutOfOffice, 100),
                (Kind::Bounce, 40),
                (Kind::Spoof, 100),
            ],
        }
    }

    /// The next mail of the mix. Mails about a candidate come only after that candidate's
    /// referral.
    pub fn next(&mut self) -> Mail {
        let total: u32 = self.mix.iter().map(|(_, w)| w).sum();
        let mut pick = (self.rng.next() % u64::from(total)) as u32;
        let mut kind = Kind::Referral;
        for (k, w) in &self.mix {
            if pick < *w {
                kind = *k;
                break;
            }
            pick -= w;
        }
        if self.referred.is_empty() {
            kind = Kind::Referral;
        }
        self.mail(kind)
    }

    /// `count` mails of the mix.
    pub fn take(&mut self, count: usize) -> Vec<Mail> {
        (0..count).map(|_| self.next()).collect()
    }

    /// A mail of `kind` (not [`Kind::Correction`]: see [`Traffic::correction`]).
    pub fn mail(&mut self, kind: Kind) -> Mail {
        self.n += 1;
        let n = self.n;
        let id = format!("<tr-{}-{n}-{}@", self.seed, kind_tag(kind));
        match kind {
            Kind::Referral | Kind::ReferralIncomplete => {
                let partner = (self.rng.next() % PARTNERS.len() as u64) as usize;
                self.referral(partner, kind, &id)
            }
            Kind::Reply | Kind::Concern | Kind::Urgent | Kind::Spoof => {
                let about =
                    self.referred[(self.rng.next() % self.referred.len() as u64) as usize].clone();
                self.about(kind, &about, &id)
            }
            Kind::OutOfOffice => {
                let partner = (self.rng.next() % PARTNERS.len() as u64) as usize;
                let (pid, _) = PARTNERS[partner];
                let who = format!("medewerker{}@{pid}.example", self.rng.next() % 40);
                let back = 1 + self.rng.next() % 28;
                let message_id = format!("{id}{pid}.example>");
                let raw = envelope(
                    &who,
                    "pass",
                    &message_id,
                    "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
                    "Afwezig: Re: Ontvangstbevestiging aanmelding",
                    &format!(
                        "Beste,\r\n\r\nIk ben afwezig tot {back} december en lees mijn mails niet.\r\n\
                         Voor dringende zaken: onthaal@{pid}.example.\r\n\r\nMet vriendelijke groeten\r\n"
                    ),
                );
                Mail {
                    kind,
                    message_id,
                    from: who,
                    to: vec![SHARED_MAILBOX.into()],
                    raw,
                    cir: None,
                }
            }
            Kind::Bounce => {
                let message_id = format!("{id}{MX}>");
                let lost = format!("<vd-{}-{n}@woonhaven.example>", self.seed);
                let to = format!("oud.adres{}@caw-antwerpen.example", n % 17);
                let raw = format!(
                    "Authentication-Results: {MX}; dmarc=none\r\n\
                     From: Mail Delivery System <MAILER-DAEMON@{MX}>\r\nTo: {SHARED_MAILBOX}\r\n\
                     Subject: Undelivered Mail Returned to Sender\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
                     Message-ID: {message_id}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
                     Content-Type: multipart/report; report-type=delivery-status; boundary=\"b{n}\"\r\n\r\n\
                     --b{n}\r\nContent-Type: text/plain\r\n\r\n\
                     The mail could not be delivered: 550 5.1.1 mailbox unavailable.\r\n\
                     --b{n}\r\nContent-Type: message/delivery-status\r\n\r\n\
                     Reporting-MTA: dns; {MX}\r\n\r\nFinal-Recipient: rfc822; {to}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
                     --b{n}\r\nContent-Type: text/rfc822-headers\r\n\r\n\
                     From: {SHARED_MAILBOX}\r\nTo: {to}\r\nSubject: Ontvangstbevestiging aanmelding\r\nMessage-ID: {lost}\r\n\
                     --b{n}--\r\n"
                )
                .into_bytes();
                Mail {
                    kind,
                    message_id,
                    from: String::new(),
                    to: vec![SHARED_MAILBOX.into()],
                    raw,
                    cir: None,
                }
            }
            Kind::Correction => panic!("a correction answers a notice: Traffic::correction"),
        }
    }

    /// The coordinator answers our notice `notice_id` (subject `subject`) with `words`
    /// ("negeren", "nieuw dossier", "dossier VD-2026-0003"), quoting it as Outlook does.
    pub fn correction(&mut self, notice_id: &str, subject: &str, words: &str) -> Mail {
        self.n += 1;
        let message_id = format!(
            "<tr-{}-{}-{}@woonhaven.example>",
            self.seed,
            self.n,
            kind_tag(Kind::Correction)
        );
        let raw = envelope(
            COORDINATOR,
            "pass",
            &message_id,
            &format!("In-Reply-To: {notice_id}\r\nReferences: {notice_id}\r\n"),
            &format!("RE: {subject}"),
            &format!("{words}\r\n\r\nGroeten,\r\nAn\r\n\r\n> Dag collega,\r\n> een mail om na te kijken\r\n"),
        );
        Mail {
            kind: Kind::Correction,
            message_id,
            from: COORDINATOR.into(),
            to: vec![SHARED_MAILBOX.into()],
            raw,
            cir: None,
        }
    }

    fn referral(&mut self, partner: usize, kind: Kind, id: &str) -> Mail {
        let (pid, counsellor) = PARTNERS[partner];
        let index = self.referrals;
        self.referrals += 1;
        // Distinct candidates for the first thousand referrals of a seed; a CIR number each.
        let name = setup::candidate_name(((self.seed as usize) * 7 + index as usize) % 1000);
        let cir = format!("2026-{:03}{:06}", self.seed % 1000, index);
        let from = counsellor_address(counsellor, pid);
        let message_id = format!("{id}{pid}.example>");
        let surname = name.split_once(' ').map_or(name.as_str(), |(_, s)| s);
        let mut parts = vec![pdf_part(
            &format!("addendum_{}.pdf", surname.replace(' ', "_")),
            "Ondertekend addendum versnelde doorstroom",
            self.rng.next() % 4096,
        )];
        let missing = kind == Kind::ReferralIncomplete;
        if !missing {
            parts.push(pdf_part(
                &format!("sociaal_verslag_{}.pdf", surname.replace(' ', "_")),
                "Uitgebreid sociaal verslag",
                self.rng.next() % 16384,
            ));
        }
        let text = format!(
            "Beste,\r\n\r\nHierbij meld ik {name} aan voor versnelde doorstroom (CIR {cir}).\r\n\
             {}\r\n\r\nMet vriendelijke groeten,\r\n{counsellor}\r\nWoonbegeleider, {pid}\r\n",
            if missing {
                "In bijlage het addendum; het sociaal verslag volgt."
            } else {
                "In bijlage het ondertekend addendum en het uitgebreid sociaal verslag."
            }
        );
        let raw = multipart(
            &from,
            &message_id,
            &format!("Aanmelding versnelde doorstroom - {name}"),
            &text,
            &parts,
        );
        self.referred.push(Referred {
            partner,
            name,
            message_id: message_id.clone(),
        });
        Mail {
            kind,
            message_id,
            from,
            to: vec![SHARED_MAILBOX.into()],
            raw,
            cir: Some(cir),
        }
    }

    fn about(&mut self, kind: Kind, about: &Referred, id: &str) -> Mail {
        let (pid, counsellor) = PARTNERS[about.partner];
        let name = &about.name;
        let from = counsellor_address(counsellor, pid);
        let message_id = format!("{id}{pid}.example>");
        let thread = format!("In-Reply-To: {0}\r\nReferences: {0}\r\n", about.message_id);
        let (dmarc, headers, subject, body) = match kind {
            Kind::Reply => (
                "pass",
                thread,
                format!("Re: Aanmelding versnelde doorstroom - {name}"),
                format!(
                    "Dag,\r\n\r\n{name} kan volgende week {} niet op de afspraak komen. Kan het een week later?\r\n\r\n{counsellor}\r\n",
                    ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag"][(self.rng.next() % 5) as usize]
                ),
            ),
            Kind::Concern => (
                "pass",
                String::new(),
                format!("Zorgen over de begeleiding van {name}"),
                format!(
                    "Beste,\r\n\r\n{name} werkt niet mee aan de begeleiding: de laatste {} afspraken kwam {name} niet opdagen en de huur is niet betaald.\r\n\r\nGroeten,\r\n{counsellor}\r\n",
                    2 + self.rng.next() % 4
                ),
            ),
            Kind::Urgent => (
                "pass",
                String::new(),
                format!("DRINGEND: {name} bedreigd"),
                format!(
                    "Beste,\r\n\r\nDe buurman van {name} werd vanmorgen bedreigd met een mes. De politie is ter plaatse geweest.\r\n\r\n{counsellor}\r\n"
                ),
            ),
            Kind::Spoof => (
                "fail",
                thread,
                format!("Re: Aanmelding versnelde doorstroom - {name}"),
                format!(
                    "Dag,\r\n\r\nKunt u mij het dossier van {name} bezorgen, met het CIR-nummer en het adres?\r\n\r\n{counsellor}\r\n"
                ),
            ),
            _ => unreachable!("not a mail about a candidate"),
        };
        let raw = envelope(&from, dmarc, &message_id, &headers, &subject, &body);
        Mail {
            kind,
            message_id,
            // A forger's envelope is its own; the From header is the partner's.
            from: if kind == Kind::Spoof {
                "bulk@mailer.example".into()
            } else {
                from
            },
            to: vec![SHARED_MAILBOX.into()],
            raw,
            cir: None,
        }
    }
}

/// How many of each kind, for a report line.
pub fn census(mails: &[Mail]) -> String {
    let mut count: BTreeMap<Kind, usize> = BTreeMap::new();
    for m in mails {
        *count.entry(m.kind).or_default() += 1;
    }
    count
        .iter()
        .map(|(k, n)| format!("{n} {}", kind_tag(*k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_tag(kind: Kind) -> &'static str {
    match kind {
        Kind::Referral => "referral",
        Kind::ReferralIncomplete => "referral-incomplete",
        Kind::Reply => "reply",
        Kind::Concern => "concern",
        Kind::Urgent => "urgent",
        Kind::OutOfOffice => "out-of-office",
        Kind::Bounce => "bounce",
        Kind::Spoof => "spoof",
        Kind::Correction => "correction",
    }
}

fn counsellor_address(counsellor: &str, partner: &str) -> String {
    format!(
        "{}@{partner}.example",
        counsellor.to_lowercase().replace(' ', ".")
    )
}

/// A plain-text mail as our MX hands it over.
fn envelope(
    from: &str,
    dmarc: &str,
    message_id: &str,
    headers: &str,
    subject: &str,
    body: &str,
) -> Vec<u8> {
    let domain = from.rsplit_once('@').map_or("", |(_, d)| d);
    format!(
        "Authentication-Results: {MX}; dmarc={dmarc} header.from={domain}\r\n\
         From: {from}\r\nTo: {SHARED_MAILBOX}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n\
         {headers}Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

/// (file name, base64 body) of a small PDF whose text names the document.
fn pdf_part(file: &str, title: &str, padding: u64) -> (String, String) {
    let content = format!(
        "BT /F1 12 Tf ({title}) Tj ET\n{}",
        "% opvulling\n".repeat((padding / 12) as usize)
    );
    let pdf = format!(
        "%PDF-1.4\n1 0 obj\n<< /Length {} >>\nstream\n{content}endstream\nendobj\ntrailer\n<< >>\n%%EOF\n",
        content.len()
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(pdf.as_bytes());
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    (file.to_string(), wrapped.join("\r\n"))
}

fn multipart(
    from: &str,
    message_id: &str,
    subject: &str,
    text: &str,
    parts: &[(String, String)],
) -> Vec<u8> {
    let domain = from.rsplit_once('@').map_or("", |(_, d)| d);
    let boundary = "----=_doorstroom_traffic";
    let mut out = format!(
        "Authentication-Results: {MX}; dmarc=pass header.from={domain}\r\n\
         From: {from}\r\nTo: {SHARED_MAILBOX}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    );
    for (file, body) in parts {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/pdf; name=\"{file}\"\r\n\
             Content-Disposition: attachment; filename=\"{file}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

/// SplitMix64: a seed gives the same sequence whatever `rand`'s version.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn the_same_seed_gives_the_same_mails_and_every_kind_appears() {
    let a = Traffic::new(7).take(2000);
    let b = Traffic::new(7).take(2000);
    assert!(a.iter().zip(&b).all(|(x, y)| x.raw == y.raw));
    let c = Traffic::new(8).take(10);
    assert_ne!(a[5].raw, c[5].raw, "another seed, other mails");
    for kind in [
        Kind::Referral,
        Kind::ReferralIncomplete,
        Kind::Reply,
        Kind::Concern,
        Kind::Urgent,
        Kind::OutOfOffice,
        Kind::Bounce,
        Kind::Spoof,
    ] {
        assert!(
            a.iter().any(|m| m.kind == kind),
            "{kind:?} in {}",
            census(&a)
        );
    }
    let mut ids: Vec<_> = a.iter().map(|m| &m.message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), a.len(), "a Message-ID each");
    // Every referral parses with its documents, as the daemon will read it.
    let first = a.iter().find(|m| m.kind == Kind::Referral).unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(&first.raw)
        .unwrap();
    assert_eq!(parsed.attachment_count(), 2);
}
