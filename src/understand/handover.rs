//! Reading a handover of the guidance to another organisation (overdracht, `003` §4) from a
//! partner's mail: which organisation takes over, from when, and with which counsellor.
//!
//! The words alone do not make a handover: "neemt de begeleiding over" is also how a colleague
//! of the same organisation is announced (a contact change). A handover needs another
//! organisation: a configured partner named or writing, an address of an unknown organisation, or
//! an organisation's name ("CAW Oost-Brabant", "OCMW Mechelen"). Strong words ("overdracht van de
//! begeleiding", "wij kunnen de begeleiding niet verderzetten") make it a handover even without
//! one; then the coordinator is asked who takes over. Pure.

use std::sync::OnceLock;

use regex::Regex;

use super::text;
use super::{Contact, HandoverFact};
use crate::config::Config;

/// Words that mark a handover even when no organisation is named.
fn strong(words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| w.contains("overdracht") || w.contains("niet") || w.contains("overgedragen"))
}

/// Words that make a capitalised run an organisation rather than a person.
const ORGANISATION_MARKS: [&str; 14] = [
    "vzw",
    "caw",
    "ocmw",
    "dienst",
    "centrum",
    "wonen",
    "zorg",
    "huis",
    "team",
    "organisatie",
    "psychiatrisch",
    "beschermd",
    "begeleiding",
    "thuisbegeleiding",
];

/// An organisation's name after "volgt", "neemt … over", "door", "naar", "bij": a run of
/// capitalised words (with "van", "de", "der" inside). Only a run with an organisation's mark
/// (an acronym or a word of [`ORGANISATION_MARKS`]) unless `any` is set.
pub fn organisation_name(new: &str, any: bool) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?:\b(?:volgt|neemt|nemen|door|naar|bij|organisatie)\s+)((?:[A-Z][\w'’\-]*)(?:\s+(?:[A-Z][\w'’\-]*|van|de|der|vzw))*)",
        )
        .expect("valid regex")
    });
    for c in re.captures_iter(new) {
        let Some(m) = c.get(1) else { continue };
        let name = m
            .as_str()
            .trim()
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_string();
        // Trailing "van", "de" belong to the sentence, not the name.
        let mut words: Vec<&str> = name.split_whitespace().collect();
        while words
            .last()
            .is_some_and(|w| matches!(*w, "van" | "de" | "der"))
        {
            words.pop();
        }
        if words.is_empty() || matches!(words[0], "De" | "Het" | "Een" | "Wij" | "We" | "Ik") {
            continue;
        }
        let name = words.join(" ");
        let marked = words.iter().any(|w| {
            (w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase()))
                || ORGANISATION_MARKS.contains(&w.to_lowercase().as_str())
        });
        if marked || any {
            return Some(name);
        }
    }
    None
}

/// The handover a partner's mail announces, if it is one. `sender_partner` wrote it;
/// `case_partner` guides the case it is about (when found); `words` are the handover words
/// found in its new text.
#[allow(clippy::too_many_arguments)]
pub fn read(
    config: &Config,
    sender_partner: &str,
    sender: Option<&str>,
    case_partner: Option<&str>,
    new: &str,
    signature: &str,
    words: &[&str],
    mail_date: Option<chrono::NaiveDate>,
) -> Option<HandoverFact> {
    let lower = text::normalise(new);
    let anchors: Vec<String> = ["vanaf", "met ingang van", "overdracht", "volgt", "over"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let from = super::dates::date_near(new, &anchors, mail_date);
    let mut fact = HandoverFact {
        from,
        ..HandoverFact::default()
    };
    let addresses: Vec<String> = text::emails(new)
        .into_iter()
        .filter(|e| Some(e.as_str()) != sender && !config.is_staff(e))
        .collect();
    if let Some(owner) = case_partner.filter(|p| *p != sender_partner) {
        // The new organisation writes about a case another partner guides.
        let _ = owner;
        fact.to_partner = Some(sender_partner.to_string());
        fact.announced_by = "new_partner".into();
    } else {
        fact.announced_by = "old_partner".into();
        let named = config
            .partners
            .iter()
            .filter(|p| p.id != sender_partner)
            .find(|p| {
                let name = text::normalise(&p.name);
                text::matches(&lower, std::slice::from_ref(&name), false).len() == 1
                    || text::matches(&lower, std::slice::from_ref(&p.id), false).len() == 1
                    || addresses.iter().any(|a| p.owns_address(a))
            });
        if let Some(p) = named {
            fact.to_partner = Some(p.id.clone());
            fact.organisation = Some(p.name.clone());
        } else {
            let own = config.partner(sender_partner);
            let foreign = addresses
                .iter()
                .find(|a| !own.is_some_and(|p| p.owns_address(a)));
            let domain = foreign
                .and_then(|a| a.rsplit_once('@'))
                .map(|(_, d)| d.to_string());
            let name = organisation_name(new, domain.is_some() || strong(words));
            match (name, domain) {
                (None, None) if strong(words) => {}
                (None, None) => return None,
                (name, domain) => {
                    fact.organisation = name.or_else(|| domain.clone());
                    fact.domain = domain;
                }
            }
        }
    }
    // The new counsellor: a contact in the text that belongs to the new organisation.
    let exclude: Vec<String> = std::iter::once(config.organisation.shared_mailbox.clone())
        .chain(sender.map(str::to_string))
        .collect();
    if let Some(contact) = text::new_contact(new, signature, &exclude) {
        let belongs = |e: &str| match (&fact.to_partner, &fact.domain) {
            (Some(p), _) => config.partner(p).is_some_and(|p| p.owns_address(e)),
            (None, Some(d)) => e.ends_with(&format!("@{d}")),
            _ => false,
        };
        let email = contact.email.filter(|e| belongs(e));
        if email.is_some() || fact.announced_by == "new_partner" {
            fact.counsellor = Some(Contact {
                name: contact.name,
                email: email.or_else(|| {
                    (fact.announced_by == "new_partner")
                        .then(|| sender.map(str::to_string))
                        .flatten()
                }),
                phone: contact.phone,
            });
        }
    } else if fact.announced_by == "new_partner" {
        fact.counsellor = Some(Contact {
            name: None,
            email: sender.map(str::to_string),
            phone: None,
        });
    }
    Some(fact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            include_str!("../../config/doorstroom.example.toml"),
            std::path::Path::new("example.toml"),
        )
        .expect("example config")
    }

    fn read_as(sender_partner: &str, case_partner: &str, new: &str) -> Option<HandoverFact> {
        let config = config();
        let lexicon = text::Lexicon::new(&config.triage);
        let norm = text::normalise(new);
        let found = lexicon.scan(&norm);
        let words = found.of(&config.triage.handover, false);
        if words.is_empty() {
            return None;
        }
        read(
            &config,
            sender_partner,
            Some("els.wouters@caw-antwerpen.example"),
            Some(case_partner),
            new,
            "",
            &words,
            chrono::NaiveDate::from_ymd_opt(2027, 2, 10),
        )
    }

    #[test]
    fn the_old_partner_names_a_configured_partner_and_a_date() {
        let f = read_as(
            "caw-antwerpen",
            "caw-antwerpen",
            "Wij kunnen de begeleiding niet verderzetten. Vanaf 1 maart volgt OCMW Antwerpen de begeleiding op.",
        )
        .unwrap();
        assert_eq!(f.to_partner.as_deref(), Some("ocmw-antwerpen"));
        assert_eq!(f.from, chrono::NaiveDate::from_ymd_opt(2027, 3, 1));
        assert_eq!(f.announced_by, "old_partner");
    }

    #[test]
    fn an_unknown_organisation_is_named_with_its_domain() {
        let f = read_as(
            "caw-antwerpen",
            "caw-antwerpen",
            "Overdracht van de begeleiding: vanaf 1 maart neemt CAW Oost-Brabant de begeleiding over, contact tine.goossens@caw-oost.example.",
        )
        .unwrap();
        assert_eq!(f.to_partner, None);
        assert_eq!(f.organisation.as_deref(), Some("CAW Oost-Brabant"));
        assert_eq!(f.domain.as_deref(), Some("caw-oost.example"));
        assert_eq!(
            f.counsellor.and_then(|c| c.email).as_deref(),
            Some("tine.goossens@caw-oost.example")
        );
    }

    #[test]
    fn a_colleague_taking_over_is_no_handover() {
        assert_eq!(
            read_as(
                "caw-antwerpen",
                "caw-antwerpen",
                "Mijn collega Karel Mertens neemt de begeleiding over, karel.mertens@caw-antwerpen.example."
            ),
            None
        );
    }

    #[test]
    fn the_new_partner_writing_is_a_handover_it_announces() {
        let f = read_as(
            "ocmw-antwerpen",
            "caw-antwerpen",
            "Wij nemen de begeleiding over vanaf 1 maart.",
        )
        .unwrap();
        assert_eq!(f.to_partner.as_deref(), Some("ocmw-antwerpen"));
        assert_eq!(f.announced_by, "new_partner");
    }
}
