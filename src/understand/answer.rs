//! What a staff member writes to steer `doorstroom` by mail: an answer to one of our notices
//! ("dossier VD-2026-0008", "soort: zorg", "negeren", …) and a question to the shared mailbox
//! ("dossier El Amrani", "overzicht CAW Antwerpen", "quarantaine").
//!
//! Pure: the new text of the mail in (quotes and signature already cut off by
//! [`super::text::split_body`]), commands out. Who may steer (verified staff only) and what a
//! command does to a case is decided above, in `intake::correct`; this module only reads words,
//! in the Dutch (Flemish) people write and their usual variants, case- and accent-insensitively.

use super::thread::{folded, Tags};
use super::{Decision, MailKind};

/// One thing a staff member asks in an answer to a notice about a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `dossier VD-2026-0008`: the mail belongs to that case.
    Place(String),
    /// `soort: contactwijziging`: decide the mail again as this kind.
    Kind(MailKind),
    /// `nieuw dossier`: open a case from the mail (it is a referral).
    NewCase,
    /// `negeren`: file the mail, nothing to do.
    Ignore,
    /// `sa: naam@…`: this social assistant (sociaal assistent) is responsible for the case.
    SocialAssistant(String),
    /// `vrijgeven`: the reader vouches for a quarantined mail; decide it as if its sender were
    /// verified.
    Release,
    /// `overdracht: caw-antwerpen vanaf 2027-03-01`: the guidance of the mail's case moves to
    /// this partner (its config id), from that date (none: at once). `003` §4.
    Handover {
        partner: String,
        from: Option<chrono::NaiveDate>,
    },
}

impl Command {
    /// The name in the corrections table and `mails corrections`.
    pub fn action(&self) -> &'static str {
        match self {
            Command::Place(_) => "move",
            Command::Kind(_) => "redecide",
            Command::NewCase => "new_case",
            Command::Ignore => "ignore",
            Command::SocialAssistant(_) => "assign_sa",
            Command::Release => "release",
            Command::Handover { .. } => "handover",
        }
    }
}

/// An answer read: the commands in the order written, and the lines that were neither a
/// command nor a greeting (named back to the writer, so that a typo is never silently lost).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub commands: Vec<Command>,
    pub unknown: Vec<String>,
}

impl Answer {
    /// Commands that cannot go together ("dossier X" and "nieuw dossier", two cases, two
    /// kinds, "negeren" with anything that changes the mail), as a Dutch sentence.
    pub fn conflict(&self) -> Option<String> {
        let count = |f: fn(&Command) -> bool| self.commands.iter().filter(|c| f(c)).count();
        let places = count(|c| matches!(c, Command::Place(_)));
        let kinds = count(|c| matches!(c, Command::Kind(_)));
        let new = count(|c| matches!(c, Command::NewCase));
        let ignore = count(|c| matches!(c, Command::Ignore));
        let sas = count(|c| matches!(c, Command::SocialAssistant(_)));
        let handovers = count(|c| matches!(c, Command::Handover { .. }));
        if handovers > 1 {
            return Some("er staan meerdere overdrachten in het antwoord; noem er één".into());
        }
        if handovers > 0 && (kinds > 0 || new > 0) {
            return Some(
                "\"overdracht: …\" gaat niet samen met \"soort: …\" of \"nieuw dossier\"".into(),
            );
        }
        if places > 1 {
            return Some("er staan meerdere dossiers in het antwoord; noem er één".into());
        }
        if kinds > 1 {
            return Some("er staan meerdere soorten in het antwoord; noem er één".into());
        }
        if sas > 1 {
            return Some(
                "er staan meerdere sociaal assistenten in het antwoord; noem er één".into(),
            );
        }
        if new > 0 && places > 0 {
            return Some("\"nieuw dossier\" en \"dossier …\" gaan niet samen".into());
        }
        if ignore > 0 && self.commands.len() > ignore {
            return Some("\"negeren\" gaat niet samen met een andere opdracht".into());
        }
        None
    }
}

/// The kinds a mail can be decided again as, with the words staff use for them (first the
/// word shown in our notices). The English names of `triage --json` are accepted too.
pub const KIND_WORDS: &[(MailKind, &[&str])] = &[
    (MailKind::Referral, &["aanmelding", "verwijzing"]),
    (
        MailKind::ContactChange,
        &[
            "contactwijziging",
            "wijziging contactgegevens",
            "nieuwe contactgegevens",
            "contactgegevens",
            "nieuwe begeleider",
            "andere begeleider",
        ],
    ),
    (
        MailKind::Concern,
        &["zorg", "zorgmelding", "bezorgdheid", "probleem", "melding"],
    ),
    (
        MailKind::UrgentConcern,
        &[
            "dringend",
            "dringende zorg",
            "urgent",
            "veiligheid",
            "veiligheidsrisico",
        ],
    ),
    (
        MailKind::FinalReport,
        &[
            "eindverslag",
            "stopzetting",
            "stop",
            "einde begeleiding",
            "afsluiting",
        ],
    ),
    (
        MailKind::ReplyToCase,
        &["antwoord", "aanvulling", "reactie", "document", "bijlage"],
    ),
    (
        MailKind::DiscussionRequest,
        &[
            "bespreking",
            "bespreken",
            "agendapunt",
            "vraag tot bespreking",
        ],
    ),
    (
        MailKind::LeaseStart,
        &[
            "ingang huur",
            "ingang huurovereenkomst",
            "start huur",
            "huurstart",
            "toewijzing",
        ],
    ),
    (
        MailKind::MeetingConclusions,
        &["conclusies", "verslag overleg"],
    ),
    (
        MailKind::PreventiveRequest,
        &[
            "preventief",
            "preventieve begeleiding",
            "vraag preventieve begeleiding",
        ],
    ),
];

/// The kind a word names (Dutch or the English contract name), if a mail can be decided again
/// as it.
pub fn kind_word(word: &str) -> Option<MailKind> {
    let word = folded(word.trim().trim_end_matches(['.', '!']));
    let word = word.split_whitespace().collect::<Vec<_>>().join(" ");
    KIND_WORDS
        .iter()
        .find(|(kind, words)| kind.as_str() == word || words.contains(&word.as_str()))
        .map(|(kind, _)| *kind)
        .or_else(|| (word == "referral_incomplete").then_some(MailKind::ReferralIncomplete))
}

/// The Dutch word for a kind in our messages (`soort: …`).
pub fn kind_dutch(kind: MailKind) -> &'static str {
    KIND_WORDS
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, words)| words.first().copied())
        .unwrap_or(match kind {
            MailKind::ReferralIncomplete => "aanmelding",
            _ => "andere",
        })
}

/// Lines that are courtesy, not content: skipped without being named.
fn is_courtesy(line: &str) -> bool {
    const OPENERS: &[&str] = &[
        "dag",
        "hallo",
        "hoi",
        "hey",
        "beste",
        "goedemorgen",
        "goeiemorgen",
        "goedemiddag",
        "goeiemiddag",
        "ok",
        "oke",
        "okay",
        "bedankt",
        "dank",
        "dank u",
        "dank je",
        "dankjewel",
        "dankuwel",
        "merci",
        "alvast bedankt",
        "groeten",
        "groetjes",
        "mvg",
        "vriendelijke groeten",
        "met vriendelijke groeten",
        "met vriendelijke groet",
    ];
    let words: Vec<&str> = line
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let text = words.join(" ");
    OPENERS
        .iter()
        .any(|o| text == *o || (text.starts_with(&format!("{o} ")) && words.len() <= 4))
}

/// The value after a keyword: `soort: zorg`, `soort zorg`, `soort = zorg`.
fn after<'a>(line: &'a str, keywords: &[&str]) -> Option<&'a str> {
    keywords.iter().find_map(|k| {
        let rest = line.strip_prefix(k)?;
        let starts_clean = rest.is_empty() || rest.starts_with([' ', ':', '=', '\t']);
        starts_clean.then(|| rest.trim_start_matches([' ', ':', '=', '\t']).trim())
    })
}

/// One line of an answer read as a command, or `Err` with why not when it looks like one.
fn command(line: &str, tags: &Tags) -> Option<Result<Command, String>> {
    let l = folded(line);
    let l = l.trim().trim_end_matches(['.', '!']).trim();
    const RELEASE: &[&str] = &[
        "vrijgeven",
        "vrijgave",
        "geef vrij",
        "geef ze vrij",
        "mag vrijgegeven worden",
        "vrij geven",
    ];
    const IGNORE: &[&str] = &[
        "negeren",
        "negeer",
        "niets doen",
        "geen actie",
        "klasseren",
        "archiveren",
        "mag weg",
    ];
    const NEW_CASE: &[&str] = &[
        "nieuw dossier",
        "nieuwe aanmelding",
        "maak een dossier",
        "maak dossier",
        "open een dossier",
        "open dossier",
        "nieuw dossier aanmaken",
    ];
    if RELEASE.contains(&l) {
        return Some(Ok(Command::Release));
    }
    if IGNORE.contains(&l) {
        return Some(Ok(Command::Ignore));
    }
    if NEW_CASE.contains(&l) {
        return Some(Ok(Command::NewCase));
    }
    if let Some(value) = after(
        l,
        &[
            "overdracht aan",
            "overdragen aan",
            "overdracht",
            "overdragen",
        ],
    ) {
        return Some(handover_command(value));
    }
    if let Some(value) = after(l, &["soort", "type", "kind"]) {
        return Some(kind_word(value).map(Command::Kind).ok_or_else(|| {
            format!(
                "onbekende soort \"{value}\" (bekend: {})",
                KIND_WORDS
                    .iter()
                    .map(|(_, w)| w[0])
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
    }
    if let Some(value) = after(
        l,
        &[
            "sa",
            "sociaal assistent",
            "sociaal assistente",
            "sociale assistent",
            "sociale assistente",
            "maatschappelijk assistent",
        ],
    ) {
        let address = value
            .trim_matches(['<', '>'])
            .trim_start_matches("mailto:")
            .to_string();
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
        });
        return Some(if valid {
            Ok(Command::SocialAssistant(address))
        } else {
            Err(format!(
                "\"{}\" is geen mailadres (schrijf sa: naam@…)",
                value
            ))
        });
    }
    let place = after(
        l,
        &[
            "dossier",
            "dossiernummer",
            "hoort bij",
            "hoort bij dossier",
            "plaats in",
            "plaatsen in",
            "verplaats naar",
            "verplaatsen naar",
            "zet in",
            "bij dossier",
        ],
    );
    let found = tags.find(line);
    // Only the reference after the keyword: a line that goes on ("dossier VD-2026-0008  plaats
    // de mail …", our own list quoted back) is no command.
    let only_tag = |rest: &str| tags.remove(rest).trim_matches(['.', ' ', ':']).is_empty();
    match (place, found.as_slice()) {
        (Some(rest), [one]) if only_tag(rest) => Some(Ok(Command::Place(one.clone()))),
        (Some(_), [_]) => Some(Err("schrijf enkel het dossiernummer na \"dossier\"".into())),
        (Some(value), []) => Some(Err(format!(
            "\"{value}\" is geen dossiernummer (schrijf dossier VD-2026-0008)"
        ))),
        (Some(_), _) => Some(Err("noem één dossiernummer per regel".into())),
        // A line that is only a reference: "VD-2026-0008".
        (None, [one]) if tags.remove(l).trim().is_empty() => Some(Ok(Command::Place(one.clone()))),
        _ => None,
    }
}

/// `caw-antwerpen vanaf 2027-03-01` (or `… vanaf 1 maart 2027`, `… 01/03/2027`, or no date: at
/// once): the partner's config id first.
fn handover_command(value: &str) -> Result<Command, String> {
    let mut words = value.split_whitespace();
    let Some(partner) = words
        .next()
        .map(|w| w.trim_matches([',', ';', '.', '<', '>']))
        .filter(|w| !w.is_empty() && !w.contains('@'))
    else {
        return Err(
            "schrijf de partner na \"overdracht:\" (overdracht: caw-antwerpen vanaf 2027-03-01)"
                .into(),
        );
    };
    let rest: Vec<&str> = words.collect();
    let rest = rest.join(" ");
    let rest = rest.trim();
    let from = if rest.is_empty() {
        None
    } else {
        match super::dates::find_dates(rest, None).first() {
            Some(f) => Some(f.date),
            None => {
                return Err(format!(
                    "\"{rest}\" is geen datum (schrijf overdracht: {partner} vanaf 2027-03-01)"
                ))
            }
        }
    };
    Ok(Command::Handover {
        partner: partner.to_string(),
        from,
    })
}

/// Read the new text of an answer. Quoted lines (`>`) are skipped as well, should the caller
/// not have cut them off; reading stops at a closing greeting (the signature follows).
pub fn parse_answer(new_text: &str, tags: &Tags) -> Answer {
    let mut answer = Answer::default();
    for raw in new_text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('>') {
            continue;
        }
        let plain = folded(line);
        // Our own list of answers, quoted back without quote marks: the answer ended above it.
        if plain.starts_with("---") || plain.starts_with("antwoorden kan") {
            break;
        }
        if is_courtesy(&plain) {
            if is_closing(&plain) {
                break;
            }
            continue;
        }
        match command(line, tags) {
            Some(Ok(c)) => {
                if !answer.commands.contains(&c) {
                    answer.commands.push(c);
                }
            }
            Some(Err(why)) => answer.unknown.push(format!("{line} ({why})")),
            None => answer.unknown.push(line.to_string()),
        }
    }
    answer
}

fn is_closing(folded_line: &str) -> bool {
    ["groet", "mvg", "dank", "bedankt", "merci"]
        .iter()
        .any(|w| folded_line.contains(w))
}

/// A question a staff member mails to the shared mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// `dossier VD-2026-0008`, `dossier El Amrani`, `dossier 1234567`: the dossier of the case
    /// with that reference, candidate name or CIR.
    Dossier(String),
    /// `overzicht` or `overzicht CAW Antwerpen`: the open cases per partner.
    Overview(Option<String>),
    /// `quarantaine`: the mails waiting for a person.
    Quarantine,
}

/// The question of a staff mail: its one line of new text that is not courtesy, or, when the
/// text has none, its subject. A mail that says more than one thing is no question (it is mail
/// about a case, decided as ever).
pub fn parse_question(subject: &str, new_text: &str) -> Option<Question> {
    let mut lines = Vec::new();
    for line in new_text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('>') {
            continue;
        }
        let plain = folded(line);
        if is_courtesy(&plain) {
            if is_closing(&plain) {
                break;
            }
            continue;
        }
        lines.push(line);
    }
    match lines.as_slice() {
        [] => question(strip_reply_prefix(subject)),
        [one] => question(one),
        _ => None,
    }
}

fn strip_reply_prefix(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let cut = ["re:", "aw:", "antw:", "fw:", "fwd:", "tr:"]
            .iter()
            .find(|p| lower.starts_with(*p));
        match cut {
            Some(p) => s = s[p.len()..].trim_start(),
            None => return s,
        }
    }
}

fn question(line: &str) -> Option<Question> {
    let l = folded(line);
    let l = l.trim().trim_end_matches(['.', '?', '!']).trim();
    if matches!(
        l,
        "quarantaine" | "wat staat er in quarantaine" | "quarantaine?"
    ) {
        return Some(Question::Quarantine);
    }
    if let Some(rest) = after(l, &["overzicht", "overzicht van"]) {
        return Some(Question::Overview(
            Some(rest.to_string()).filter(|r| !r.is_empty()),
        ));
    }
    // The original spelling of what is asked after `dossier` (a name keeps its capitals).
    let rest = after(l, &["dossier", "dossier van"])?;
    // A name, a CIR or a reference: a few words, no sentence ("Dossier VD-2026-0008: ingang
    // huur 1/12" is mail about the case, not a question).
    if rest.contains(':') || rest.split_whitespace().count() > 5 {
        return None;
    }
    let original = line.trim().trim_end_matches(['.', '?', '!']).trim();
    let asked = original
        .get(original.len().saturating_sub(rest.len())..)
        .unwrap_or(rest)
        .trim();
    (!asked.is_empty()).then(|| Question::Dossier(asked.to_string()))
}

/// Turn a decision into the one staff asked for. `case_partner` is the partner of the case a
/// `Place` names (the caller checked that it exists). `Ignore`, `SocialAssistant` and `Release`
/// leave the decision as it is: they act on the mail or the case, not on what the mail is.
/// A corrected decision is certain: a person decided it.
pub fn steer(decision: &mut Decision, command: &Command, case_partner: Option<&str>, by: &str) {
    match command {
        Command::Place(case_ref) => {
            decision.case_ref = Some(case_ref.clone());
            if let Some(partner) = case_partner {
                decision.partner = Some(partner.to_string());
            }
            // Mail that opens a case, or that could not be placed, is about this case now.
            if matches!(
                decision.kind,
                MailKind::Referral
                    | MailKind::ReferralIncomplete
                    | MailKind::PreventiveRequest
                    | MailKind::UnknownSender
                    | MailKind::CrossPartner
                    | MailKind::Malformed
            ) {
                decision.kind = MailKind::ReplyToCase;
            }
        }
        Command::Kind(kind) => {
            decision.kind = match (kind, decision.missing.is_empty()) {
                (MailKind::Referral, false) => MailKind::ReferralIncomplete,
                _ => *kind,
            };
            if matches!(kind, MailKind::Referral | MailKind::ReferralIncomplete) {
                decision.case_ref = None;
            }
        }
        Command::NewCase => {
            decision.kind = if decision.missing.is_empty() {
                MailKind::Referral
            } else {
                MailKind::ReferralIncomplete
            };
            decision.case_ref = None;
        }
        Command::Handover { partner, from } => {
            decision.kind = MailKind::Handover;
            // What the mail itself said of the counsellor stays, when it named this partner.
            let counsellor = decision
                .handover
                .as_ref()
                .filter(|h| h.to_partner.as_deref() == Some(partner.as_str()))
                .and_then(|h| h.counsellor.clone());
            decision.handover = Some(super::HandoverFact {
                to_partner: Some(partner.clone()),
                organisation: None,
                domain: None,
                from: *from,
                counsellor,
                announced_by: "staff".into(),
            });
            decision.must_auto_reply = false;
        }
        Command::Ignore | Command::SocialAssistant(_) | Command::Release => return,
    }
    decision.confidence = 1.0;
    decision.confidence_reasons.clear();
    decision
        .reasons
        .push(format!("corrected by {by}: {}", command.action()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReferenceFormat;

    fn tags() -> Tags {
        Tags::new(&ReferenceFormat {
            prefix: "VD".into(),
            width: 4,
        })
    }

    #[test]
    fn a_handover_answer_names_the_partner_and_the_date() {
        let read = parse_answer(
            "overdracht: ocmw-antwerpen vanaf 2027-03-01\nOverdracht aan caw-oost 01/04/2027\noverdracht: vanaf morgen",
            &tags(),
        );
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day);
        assert_eq!(
            read.commands,
            [
                Command::Handover {
                    partner: "ocmw-antwerpen".into(),
                    from: d(2027, 3, 1)
                },
                Command::Handover {
                    partner: "caw-oost".into(),
                    from: d(2027, 4, 1)
                },
            ]
        );
        assert_eq!(read.unknown.len(), 1, "{:?}", read.unknown);
        assert!(read.conflict().is_some(), "two handovers in one answer");
        let mut decision = decision(MailKind::ReplyToCase, Some("VD-2026-0001"), false);
        steer(
            &mut decision,
            &read.commands[0],
            None,
            "an.peeters@woonhaven.example",
        );
        assert_eq!(decision.kind, MailKind::Handover);
        let h = decision.handover.expect("the handover fact");
        assert_eq!(h.to_partner.as_deref(), Some("ocmw-antwerpen"));
        assert_eq!(h.announced_by, "staff");
    }

    #[test]
    fn answers_are_read_as_commands() {
        let cases: &[(&str, &[Command], &[&str])] = &[
            (
                "dossier VD-2026-0008",
                &[Command::Place("VD-2026-0008".into())],
                &[],
            ),
            (
                "Dossier: vd 2026 8",
                &[Command::Place("VD-2026-0008".into())],
                &[],
            ),
            (
                "hoort bij VD-2026-0012.",
                &[Command::Place("VD-2026-0012".into())],
                &[],
            ),
            (
                "VD-2026-0003",
                &[Command::Place("VD-2026-0003".into())],
                &[],
            ),
            (
                "soort: contactwijziging",
                &[Command::Kind(MailKind::ContactChange)],
                &[],
            ),
            ("Soort zorg", &[Command::Kind(MailKind::Concern)], &[]),
            (
                "soort: DRINGEND",
                &[Command::Kind(MailKind::UrgentConcern)],
                &[],
            ),
            (
                "type = eindverslag",
                &[Command::Kind(MailKind::FinalReport)],
                &[],
            ),
            (
                "soort: final_report",
                &[Command::Kind(MailKind::FinalReport)],
                &[],
            ),
            ("Nieuw dossier", &[Command::NewCase], &[]),
            ("negeren", &[Command::Ignore], &[]),
            ("Vrijgeven!", &[Command::Release], &[]),
            (
                "sa: sofie.maes@woonhaven.example",
                &[Command::SocialAssistant(
                    "sofie.maes@woonhaven.example".into(),
                )],
                &[],
            ),
            (
                "Sociaal assistent: <bram.janssens@woonhaven.example>",
                &[Command::SocialAssistant(
                    "bram.janssens@woonhaven.example".into(),
                )],
                &[],
            ),
            (
                "Dag An,\n\nvrijgeven\ndossier VD-2026-0008\n\nGroeten,\nBram\nsociaal assistent",
                &[Command::Release, Command::Place("VD-2026-0008".into())],
                &[],
            ),
            (
                "negeren\n> dossier VD-2026-0001\n> soort: zorg",
                &[Command::Ignore],
                &[],
            ),
            (
                "dossier VD-2026-0008\nkan jij dit even nakijken",
                &[Command::Place("VD-2026-0008".into())],
                &["kan jij dit even nakijken"],
            ),
            ("soort: vakantie", &[], &["soort: vakantie"]),
            (
                "negeren\n\n---\nAntwoorden kan: schrijf bovenaan uw antwoord, één per regel:\n  dossier VD-2026-0008     plaats de mail in dat dossier\n  vrijgeven",
                &[Command::Ignore],
                &[],
            ),
            (
                "dossier VD-2026-0008     plaats de mail in dat dossier",
                &[],
                &["dossier VD-2026-0008"],
            ),
            ("sa: bram", &[], &["sa: bram"]),
            ("dossier El Amrani", &[], &["dossier El Amrani"]),
        ];
        for (text, commands, unknown) in cases {
            let answer = parse_answer(text, &tags());
            assert_eq!(answer.commands, *commands, "{text:?}");
            assert_eq!(answer.unknown.len(), unknown.len(), "{text:?}: {answer:?}");
            for (got, want) in answer.unknown.iter().zip(*unknown) {
                assert!(got.starts_with(want), "{text:?}: {got:?}");
            }
        }
    }

    /// README "Voor coördinatoren" is true to the code: every answer it lists is read as a
    /// command, every question as a question, and every kind `soort:` takes is named in it.
    #[test]
    fn the_readme_for_coordinators_lists_what_the_code_reads() {
        let readme = include_str!("../../README.md");
        let start = readme.find("## Voor coördinatoren").expect("the section");
        let section = &readme[start..];
        let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
        // The first column of each table row: `answer` or `question`, `another`, …
        let rows = |table_head: &str| -> Vec<String> {
            let at = section.find(table_head).expect(table_head);
            section[at..]
                .lines()
                .skip(2)
                .take_while(|l| l.starts_with('|'))
                .flat_map(|l| {
                    let first = l.split('|').nth(1).unwrap_or_default();
                    first
                        .split('`')
                        .skip(1)
                        .step_by(2)
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let answers = rows("| antwoord | wat er gebeurt |");
        assert!(answers.len() >= 6, "{answers:?}");
        for a in &answers {
            let a = a.replace("naam@woonhaven.be", "naam@woonhaven.example");
            let read = parse_answer(&a, &tags());
            assert_eq!(
                read.commands.len(),
                1,
                "README answer {a:?} is not read: {read:?}"
            );
        }
        for command in [
            "Place",
            "Kind",
            "NewCase",
            "Ignore",
            "SocialAssistant",
            "Release",
        ] {
            let listed = answers.iter().any(|a| {
                let read = parse_answer(&a.replace("naam@woonhaven.be", "n@w.example"), &tags());
                read.commands
                    .first()
                    .is_some_and(|c| format!("{c:?}").starts_with(command))
            });
            assert!(listed, "README lists no answer for {command}");
        }
        let questions = rows("| vraag | antwoord |");
        assert!(questions.len() >= 4, "{questions:?}");
        for q in &questions {
            assert!(parse_question(q, "").is_some(), "README question {q:?}");
        }
        for (kind, words) in KIND_WORDS {
            assert!(
                section.contains(&format!("`{}`", words[0])),
                "README does not name soort {:?} ({kind:?})",
                words[0]
            );
        }
    }

    /// Every kind there is, and how a coordinator reaches it by answer: a kind that acts on a
    /// case has a word for `soort:`; a kind that needs nothing done is reached by `negeren`
    /// (filed without action). Exhaustive: a new kind fails to compile here until it is sorted.
    fn has_word(kind: MailKind) -> bool {
        use MailKind::*;
        match kind {
            Referral | ReferralIncomplete | ContactChange | Concern | UrgentConcern
            | FinalReport | DiscussionRequest | LeaseStart | MeetingConclusions | ReplyToCase
            | PreventiveRequest => true,
            AutoReply | Bounce | Bulk | CalendarResponse | SpamOrSpoof | CrossPartner
            | UnknownSender | Malformed | Duplicate | OwnCopy => false,
            // Needs the new partner and a date: reached by `overdracht: PARTNER vanaf DATE`.
            Handover => false,
        }
    }

    const ALL_KINDS: [MailKind; 22] = [
        MailKind::Referral,
        MailKind::ReferralIncomplete,
        MailKind::ContactChange,
        MailKind::Concern,
        MailKind::UrgentConcern,
        MailKind::FinalReport,
        MailKind::DiscussionRequest,
        MailKind::LeaseStart,
        MailKind::MeetingConclusions,
        MailKind::ReplyToCase,
        MailKind::PreventiveRequest,
        MailKind::AutoReply,
        MailKind::Bounce,
        MailKind::Bulk,
        MailKind::CalendarResponse,
        MailKind::SpamOrSpoof,
        MailKind::CrossPartner,
        MailKind::UnknownSender,
        MailKind::Malformed,
        MailKind::Duplicate,
        MailKind::OwnCopy,
        MailKind::Handover,
    ];

    #[test]
    fn every_kind_that_acts_has_a_word_for_soort() {
        for kind in ALL_KINDS {
            if has_word(kind) {
                let word = kind_dutch(kind);
                let read = parse_answer(&format!("soort: {word}"), &tags());
                let Some(Command::Kind(got)) = read.commands.first() else {
                    panic!("{kind:?} has no word for soort: ({word:?}, {read:?})");
                };
                let referral = [MailKind::Referral, MailKind::ReferralIncomplete];
                assert!(
                    *got == kind || (referral.contains(got) && referral.contains(&kind)),
                    "soort: {word} reads as {got:?}, not {kind:?}"
                );
            } else {
                assert_eq!(parse_answer("negeren", &tags()).commands, [Command::Ignore]);
            }
        }
    }

    /// The golden and held-out corpora, mail by mail: whatever a coordinator finds wrong in a
    /// decision — its kind, its case, or that it needed nothing — one answer fixes it: for each
    /// other kind and each case the corpora use, the answer is read as a command and steering
    /// the decision by it gives that kind and that case.
    #[test]
    fn every_wrong_decision_in_the_corpora_is_fixed_by_one_answer() {
        let tags = tags();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut decisions = Vec::new();
        for dir in [
            root.clone(),
            root.join("varied/heldout"),
            root.join("varied/tune"),
        ] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                // `register.json` is the corpus's case register, not a decision.
                let decision_file = path.extension().is_some_and(|e| e == "json")
                    && path.with_extension("eml").exists();
                if decision_file {
                    let v: serde_json::Value =
                        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                    decisions.push((path, v));
                }
            }
        }
        assert!(decisions.len() > 100, "the corpora are read");
        let kind_of = |name: &str| {
            ALL_KINDS
                .into_iter()
                .find(|k| k.as_str() == name)
                .unwrap_or_else(|| panic!("unknown kind {name} in the corpus"))
        };
        let mut kinds: Vec<MailKind> = decisions
            .iter()
            .map(|(_, v)| kind_of(v["kind"].as_str().unwrap()))
            .collect();
        kinds.sort_by_key(|k| k.as_str());
        kinds.dedup();
        let mut cases: Vec<String> = decisions
            .iter()
            .filter_map(|(_, v)| v["case_ref"].as_str().map(str::to_string))
            .collect();
        cases.sort();
        cases.dedup();
        assert!(!cases.is_empty());
        let by = "an.peeters@woonhaven.example";
        let referral = [MailKind::Referral, MailKind::ReferralIncomplete];
        let mut fixes = 0;
        for (path, v) in &decisions {
            let was = kind_of(v["kind"].as_str().unwrap());
            let missing = v["missing"].as_array().is_some_and(|m| !m.is_empty());
            let case_ref = v["case_ref"].as_str();
            for want in kinds.iter().copied().filter(|k| *k != was) {
                if !has_word(want) {
                    let read = parse_answer("negeren", &tags);
                    assert_eq!(read.commands, [Command::Ignore], "{path:?} → {want:?}");
                    fixes += 1;
                    continue;
                }
                let text = format!("soort: {}", kind_dutch(want));
                let read = parse_answer(&text, &tags);
                assert!(read.unknown.is_empty(), "{path:?}: {text} {read:?}");
                let [command] = read.commands.as_slice() else {
                    panic!("{path:?}: {text} gives {read:?}");
                };
                let mut d = decision(was, case_ref, missing);
                steer(&mut d, command, None, by);
                assert!(
                    d.kind == want || (referral.contains(&d.kind) && referral.contains(&want)),
                    "{path:?}: {text} gives {:?}, not {want:?}",
                    d.kind
                );
                fixes += 1;
            }
            for target in &cases {
                let text = format!("dossier {target}");
                let read = parse_answer(&text, &tags);
                assert_eq!(read.commands, [Command::Place(target.clone())], "{path:?}");
                let mut d = decision(was, case_ref, missing);
                steer(&mut d, &read.commands[0], Some("caw-antwerpen"), by);
                assert_eq!(d.case_ref.as_deref(), Some(target.as_str()), "{path:?}");
                assert!(!referral.contains(&d.kind), "placed mail opens no case");
                fixes += 1;
            }
            let read = parse_answer("nieuw dossier", &tags);
            let mut d = decision(was, case_ref, missing);
            steer(&mut d, &read.commands[0], None, by);
            assert!(
                referral.contains(&d.kind) && d.case_ref.is_none(),
                "{path:?}"
            );
        }
        assert!(fixes > decisions.len(), "the fixes ran");
    }

    #[test]
    fn answers_that_contradict_themselves_are_named() {
        let read = |t: &str| parse_answer(t, &tags()).conflict();
        assert!(read("dossier VD-2026-0001\nnieuw dossier").is_some());
        assert!(read("dossier VD-2026-0001\ndossier VD-2026-0002").is_some());
        assert!(read("negeren\nsoort: zorg").is_some());
        assert!(read("soort: zorg\nsoort: stop").is_some());
        assert_eq!(read("vrijgeven\ndossier VD-2026-0001"), None);
        assert_eq!(
            read("dossier VD-2026-0001\nsa: bram.janssens@woonhaven.example"),
            None
        );
    }

    #[test]
    fn questions_are_read_from_the_subject_or_the_first_line() {
        let cases: &[(&str, &str, Option<Question>)] = &[
            (
                "dossier VD-2026-0008",
                "",
                Some(Question::Dossier("VD-2026-0008".into())),
            ),
            (
                "vraag",
                "Dag,\n\ndossier El Amrani?\n\nGroeten",
                Some(Question::Dossier("El Amrani".into())),
            ),
            ("Overzicht", "", Some(Question::Overview(None))),
            (
                "RE: overzicht CAW Antwerpen",
                "",
                Some(Question::Overview(Some("caw antwerpen".into()))),
            ),
            ("quarantaine", "", Some(Question::Quarantine)),
            ("Quarantaine?", "", Some(Question::Quarantine)),
            ("Aanmelding Jan Peeters", "Beste, in bijlage…", None),
            ("Dossier VD-2026-0008: ingang huur 1/12/2026", "", None),
            (
                "dossier VD-2026-0008",
                "De huur gaat in op 1 december.\nDe sleutels zijn overhandigd.",
                None,
            ),
        ];
        for (subject, text, want) in cases {
            assert_eq!(parse_question(subject, text), *want, "{subject:?} {text:?}");
        }
    }

    #[test]
    fn every_kind_word_names_its_kind_and_the_first_word_is_shown() {
        for (kind, words) in KIND_WORDS {
            for w in *words {
                assert_eq!(kind_word(w), Some(*kind), "{w}");
            }
            assert_eq!(kind_word(kind.as_str()), Some(*kind));
            assert_eq!(kind_dutch(*kind), words[0]);
        }
        assert_eq!(kind_word("Contactwijziging"), Some(MailKind::ContactChange));
        assert_eq!(
            kind_word("spam_or_spoof"),
            None,
            "never a kind to decide as"
        );
    }

    fn decision(kind: MailKind, case_ref: Option<&str>, missing: bool) -> Decision {
        serde_json::from_value(serde_json::json!({
            "file": "", "kind": kind.as_str(), "partner": null, "case_ref": case_ref,
            "candidate": null, "cir": null, "documents": [],
            "missing": if missing { serde_json::json!(["addendum"]) } else { serde_json::json!([]) },
            "must_auto_reply": false, "notify": [], "lease_start": null, "conclusions": {},
            "new_contact": null, "duplicate_of": null, "reasons": [],
            "confidence": 0.4, "confidence_reasons": ["a guess"],
        }))
        .expect("a decision")
    }

    /// kind, case, documents missing, command → kind, case.
    type SteerCase = (
        MailKind,
        Option<&'static str>,
        bool,
        Command,
        MailKind,
        Option<&'static str>,
    );

    #[test]
    fn a_steered_decision_is_the_one_asked_for_and_certain() {
        let by = "an.peeters@woonhaven.example";
        let cases: &[SteerCase] = &[
            (
                MailKind::ReplyToCase,
                Some("VD-2026-0001"),
                false,
                Command::Place("VD-2026-0002".into()),
                MailKind::ReplyToCase,
                Some("VD-2026-0002"),
            ),
            (
                MailKind::UnknownSender,
                None,
                false,
                Command::Place("VD-2026-0002".into()),
                MailKind::ReplyToCase,
                Some("VD-2026-0002"),
            ),
            (
                MailKind::Concern,
                Some("VD-2026-0001"),
                false,
                Command::Place("VD-2026-0002".into()),
                MailKind::Concern,
                Some("VD-2026-0002"),
            ),
            (
                MailKind::ReplyToCase,
                Some("VD-2026-0001"),
                false,
                Command::Kind(MailKind::ContactChange),
                MailKind::ContactChange,
                Some("VD-2026-0001"),
            ),
            (
                MailKind::ReplyToCase,
                Some("VD-2026-0001"),
                true,
                Command::NewCase,
                MailKind::ReferralIncomplete,
                None,
            ),
            (
                MailKind::Concern,
                None,
                false,
                Command::Kind(MailKind::Referral),
                MailKind::Referral,
                None,
            ),
        ];
        for (kind, case_ref, missing, command, want_kind, want_case) in cases {
            let mut d = decision(*kind, *case_ref, *missing);
            steer(&mut d, command, Some("caw-antwerpen"), by);
            assert_eq!(d.kind, *want_kind, "{command:?}");
            assert_eq!(d.case_ref.as_deref(), *want_case, "{command:?}");
            assert_eq!(d.confidence, 1.0);
            assert!(d.confidence_reasons.is_empty());
            assert!(d.reasons.last().unwrap().contains(by));
        }
        let mut d = decision(MailKind::Concern, Some("VD-2026-0001"), false);
        steer(&mut d, &Command::Ignore, None, by);
        assert_eq!(
            d.confidence, 0.4,
            "ignoring changes nothing about what the mail is"
        );
    }
}
