//! The Dutch a coordinator reads for the English reasons of a decision.
//!
//! Classification, the trust check and intake write their reasons in English: they are for the
//! logs, `triage`, `mails --json` and the admin. Where a reason reaches a coordinator (the notice
//! about an unknown sender or an unplaced mail, a bounce, the digest's quarantine and other-mail
//! lines) it goes through [`dutch_reasons`] first: each known reason becomes a Dutch sentence
//! that says what happened without config keys, header names or advice to edit a file the
//! coordinator cannot edit; bookkeeping reasons (which case a reference pointed to, which words
//! made the kind) are left out; and a reason this table does not know yet becomes one plain
//! line that says where the admin finds it, never the English itself.
//!
//! Pure. The reasons are stored as written (the database keeps the English), so this reads the
//! strings the code above writes; a test keeps each form and its rendering side by side.

/// What a coordinator reads for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dutch {
    /// Shown, in Dutch.
    Say(String),
    /// Bookkeeping the coordinator needs not read (which case, which words made the kind).
    Skip,
    /// Not known to this table: the admin finds it in the log.
    Unknown,
}

/// Shown when nothing of the reasons could be said in Dutch.
pub const UNKNOWN: &str =
    "de technische reden staat in het logboek van doorstroom; de beheerder kan ze opzoeken";

/// The reasons of one decision (or one `"; "`-joined stored reason), as one Dutch line for a
/// coordinator: the known ones in order, each once, joined with `"; "`.
pub fn dutch_reasons<'a>(reasons: impl IntoIterator<Item = &'a str>) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut unknown = false;
    for reason in reasons {
        for part in split_joined(reason) {
            match dutch(part) {
                Dutch::Say(s) if !said.contains(&s) => said.push(s),
                Dutch::Say(_) | Dutch::Skip => {}
                Dutch::Unknown => unknown = true,
            }
        }
    }
    if said.is_empty() {
        return if unknown {
            UNKNOWN.to_string()
        } else {
            "geen bijzondere reden".to_string()
        };
    }
    said.join("; ")
}

/// A stored reason is the decision's reasons joined with `"; "`; a `reason="a; b"` inside one
/// (an Authentication-Results quote) stays whole.
fn split_joined(joined: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let bytes = joined.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted && bytes.get(i + 1) == Some(&b' ') => {
                parts.push(joined[start..i].trim());
                start = i + 2;
            }
            _ => {}
        }
    }
    parts.push(joined[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// `text` without `prefix`, when it starts with it.
fn after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.strip_prefix(prefix)
}

/// The text between `start` and the following `end` (`end` empty: to the end).
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let rest = &text[from..];
    if end.is_empty() {
        return Some(rest);
    }
    rest.find(end).map(|to| &rest[..to])
}

/// The first `"…"` quoted in `text`.
fn quoted(text: &str) -> Option<&str> {
    between(text, "\"", "\"")
}

/// One reason in Dutch. Pure.
pub fn dutch(reason: &str) -> Dutch {
    let r = reason.trim();
    let say = |s: String| Dutch::Say(s);
    // Quarantine and spoofs: the cause, then what the trust check found.
    if let Some(why) = after(r, "spam_or_spoof: ") {
        return match dutch(why) {
            Dutch::Say(s) => say(format!("vervalste afzender: {s}")),
            _ => say("vervalste afzender: de mailserver bevestigt de afzender niet".into()),
        };
    }
    if let Some(why) = after(r, "looks like a copy of our own mail, but ") {
        if why.ends_with("does not vouch for it") {
            return say(
                "de mail lijkt een kopie van onze eigen mail, maar de mailserver bevestigt dat niet"
                    .into(),
            );
        }
        return match dutch(why) {
            Dutch::Say(s) => say(format!("de mail lijkt een kopie van onze eigen mail, maar {s}")),
            _ => say("de mail lijkt een kopie van onze eigen mail, maar de mailserver bevestigt dat niet".into()),
        };
    }
    if r.starts_with("own_copy: ") {
        return say("een kopie van een mail die doorstroom zelf verstuurde".into());
    }
    if let Some(from) = between(r, "no trust anchor configured", "")
        .and_then(|rest| between(rest, "the From address ", " is taken as given"))
    {
        return say(format!(
            "de afzender {from} wordt niet gecontroleerd: de controle door de mailserver is (nog) niet ingesteld"
        ));
    }
    if r.starts_with("no Authentication-Results") {
        if let Some(from) = between(r, "the sender ", " cannot be verified") {
            return say(format!(
                "de mailserver bevestigt niet dat de mail van {from} komt"
            ));
        }
    }
    if let Some(from) = between(
        r,
        "Exchange Online: sent inside the tenant, but From ",
        " is not",
    ) {
        return say(format!(
            "verstuurd binnen onze eigen Microsoft 365-omgeving, maar {from} is geen adres van ons"
        ));
    }
    if r.starts_with("Exchange Online: sent inside the tenant") {
        return say(
            "verstuurd door een van onze eigen medewerkers (bevestigd door Microsoft 365)".into(),
        );
    }
    if let Some(domain) = between(r, "dmarc=fail for ", " in the Authentication-Results") {
        return say(format!(
            "de mailserver stelt vast dat de mail niet van {domain} komt, al zegt ze dat wel"
        ));
    }
    if let Some(rest) = after(r, "compauth=fail ") {
        let domain = between(rest, " for ", " from ").unwrap_or("het afzenderdomein");
        return say(format!(
            "Microsoft 365 beschouwt de afzender als vervalst (de mail komt niet echt van {domain})"
        ));
    }
    if let Some(rest) = between(r, "was for ", "") {
        if r.starts_with("dmarc=") {
            let other = rest.split(", not for").next().unwrap_or(rest);
            let domain = between(rest, "the From domain ", " (").unwrap_or("het afzenderdomein");
            return say(format!(
                "de mailserver bevestigde {other}, niet het domein van de afzender {domain}"
            ));
        }
    }
    for method in [
        "dmarc=pass for ",
        "dmarc=bestguesspass for ",
        "dkim=pass aligned with ",
        "spf=pass aligned with ",
    ] {
        if let Some(rest) = after(r, method) {
            let domain = rest.split(' ').next().unwrap_or(rest);
            return say(format!(
                "de mailserver bevestigt dat de mail van {domain} komt"
            ));
        }
    }
    if let Some(domain) = between(r, "no aligned dmarc/dkim/spf pass for ", " from ") {
        return say(format!(
            "de mailserver kan niet bevestigen dat de mail van {domain} komt"
        ));
    }
    if let Some(from) = between(r, "the topmost Authentication-Results", "")
        .and_then(|rest| between(rest, "dmarc=fail for ", ""))
    {
        return say(format!(
            "de mailserver stelt vast dat de mail niet van {from} komt, al zegt ze dat wel"
        ));
    }
    if let Some(rest) = after(r, "From says our shared mailbox ") {
        let _ = rest;
        return say("de mail zegt van onze gedeelde mailbox te komen, maar doorstroom heeft ze niet gemaakt".into());
    }
    if let Some(rest) = after(r, "From says ") {
        let from = rest.split(' ').next().unwrap_or(rest);
        if let Some(envelope) = between(rest, "the envelope sender is ", "") {
            return say(format!(
                "de mail zegt van {from} (een van ons) te komen, maar werd verstuurd door {envelope}"
            ));
        }
        if let Some(reply_to) = between(rest, "replies go to ", "") {
            return say(format!(
                "de mail zegt van {from} (een van ons) te komen, maar antwoorden gaan naar {reply_to}"
            ));
        }
    }
    // Authentication failures: "spf=fail, dkim=fail for caw.be from mx.example".
    if let Some((methods, rest)) = r.split_once(" for ") {
        let failures = methods
            .split(", ")
            .all(|m| m.ends_with("=fail") || m.ends_with("=softfail") || m.ends_with("=permerror"));
        if failures && !methods.is_empty() && methods.contains('=') {
            let domain = rest.split(" from ").next().unwrap_or(rest);
            return say(format!(
                "de controle van de mailserver mislukte: de mail komt niet aantoonbaar van {domain}"
            ));
        }
    }

    // Mail that cannot be read or decided.
    if r.starts_with("quarantined: over budget") {
        return say("de mail is te groot of te ingewikkeld om veilig te lezen (ze overschrijdt een grens die de beheerder instelde)".into());
    }
    if let Some(times) = between(r, "deciding this mail stopped intake ", " times") {
        return say(format!(
            "het verwerken van deze mail liep {times} keer vast; ze wordt niet opnieuw geprobeerd"
        ));
    }
    if r.starts_with("malformed: the mail's structure") {
        return say("de mail is zo beschadigd dat doorstroom ze niet betrouwbaar kan lezen; de originele mail is bewaard".into());
    }
    if r.ends_with("no From address could be read") {
        return say("er staat geen leesbare afzender in de mail".into());
    }
    if r.starts_with("broken MIME: ") {
        return say(
            "de opbouw van de mail is beschadigd; ze werd gelezen voor zover dat ging".into(),
        );
    }
    if r.starts_with("cannot read the mail") || r.starts_with("the parser gave no result") {
        return say("doorstroom kon de mail niet lezen".into());
    }
    if r.starts_with("cannot decide the mail") {
        return say("doorstroom kon niet beslissen wat voor mail dit is".into());
    }
    if let Some(error) = after(r, "cannot apply the decision: ") {
        return say(format!(
            "de mail kon niet verwerkt worden: {}",
            case_error(error)
        ));
    }

    // What a mail is, where the coordinator is told about it.
    if let Some(rest) = after(r, "unknown_sender: ") {
        let domain = rest.split(' ').next().unwrap_or(rest);
        let sender = between(rest, "domain and ", " is no partner address").unwrap_or(domain);
        return say(format!(
            "{sender} is geen adres van een partner, en {domain} is geen domein van een partner"
        ));
    }
    if let Some(rest) = after(r, "cross_partner: ") {
        let case = rest.split(' ').next().unwrap_or(rest);
        return say(format!(
            "dossier {case} hoort bij een andere partner dan de afzender; de afzender kreeg geen bevestiging"
        ));
    }
    if r.starts_with("duplicate: ") {
        return say("een tweede exemplaar van een mail die al binnenkwam".into());
    }
    if r.starts_with("a copy with the same Message-ID came before, but this one holds more") {
        return say("een vollediger exemplaar van een mail die al binnenkwam".into());
    }
    if let Some(rest) = after(r, "it names case ") {
        let case = rest.split(':').next().unwrap_or(rest);
        return say(format!(
            "de mail noemt dossier {case}; ze is bij dat dossier bewaard, alleen voor de coördinator"
        ));
    }

    if r.starts_with("bounce: a delivery status report") {
        return say("een melding van de mailserver dat een mail niet afgeleverd kon worden".into());
    }
    if let Some(rest) = after(r, "bounce: from ") {
        let from = rest.split(' ').next().unwrap_or(rest);
        return say(format!(
            "een foutmelding van {from}{}",
            quoted(rest).map_or(String::new(), |s| format!(" (onderwerp \"{s}\")"))
        ));
    }
    if let Some(case) =
        between(r, "the bounced mail ", "").and_then(|rest| between(rest, " belongs to ", ""))
    {
        return say(format!("de niet afgeleverde mail hoort bij dossier {case}"));
    }
    if let Some(rest) = after(r, "calendar_response: ") {
        return say(format!(
            "een antwoord op een uitnodiging{}",
            quoted(rest).map_or(String::new(), |s| format!(" (\"{s}\")"))
        ));
    }
    if let Some(rest) = after(r, "auto_reply: ") {
        if rest.starts_with("an out-of-office") {
            return say(format!(
                "een afwezigheidsbericht{}",
                quoted(rest).map_or(String::new(), |s| format!(" (\"{s}\")"))
            ));
        }
        if let Some(subject) = after(rest, "subject ") {
            return say(format!("een automatisch antwoord (onderwerp {subject})"));
        }
        return say(
            "een automatisch antwoord (zo gemarkeerd door de mailserver van de afzender)".into(),
        );
    }
    if r.starts_with("bulk: ") {
        return say("een nieuwsbrief of mailing".into());
    }
    if r.starts_with("preventive words, but the mail is addressed to several partners") {
        return say("een vraag tot preventieve woonbegeleiding aan meer dan één partner: beslis zelf welke partner ze opneemt".into());
    }
    if r.starts_with("reply_to_case: nothing else recognised and no case found") {
        return say("er werd niets specifieks in herkend en geen dossier gevonden".into());
    }
    if r.starts_with("the conclusions went only to our own addresses") {
        return say(
            "de conclusies gingen alleen naar onze eigen adressen; de partner moet ze ook krijgen"
                .into(),
        );
    }
    if r.starts_with("no tenant name found in the request") {
        return say("in de vraag staat geen naam van een huurder".into());
    }

    // Bookkeeping: why this kind, which case, who the sender is.
    const BOOKKEEPING: &[&str] = &[
        "doubt: ",
        "case ",
        "sender ",
        "forwarded ",
        "referral: ",
        "reply_to_case: ",
        "concern: ",
        "urgent_concern: ",
        "contact_change: ",
        "final_report: ",
        "discussion_request: ",
        "meeting_conclusions: ",
        "lease_start: ",
        "preventive_request: ",
        "confidence ",
        "the eindverslag is not attached",
        "it brings referral documents",
        "the ",
    ];
    if BOOKKEEPING.iter().any(|p| r.starts_with(p)) || r.ends_with(" is one of our own staff") {
        return Dutch::Skip;
    }
    Dutch::Unknown
}

/// What a coordinator reads for a mail server's answer to a mail we sent (an SMTP reply such as
/// `550 5.1.1 mailbox unavailable`, or a connection error): what it means, by its enhanced
/// status code (RFC 3463) or its reply code, with the code itself kept for the admin.
pub fn smtp_error_dutch(error: &str) -> String {
    let words: Vec<&str> = error.split_whitespace().collect();
    let code = |w: &str| w.len() == 3 && w.chars().all(|c| c.is_ascii_digit());
    let enhanced = |w: &str| {
        let parts: Vec<&str> = w.trim_end_matches([',', ':', ';']).split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    let status = words
        .iter()
        .find(|w| enhanced(w))
        .map(|w| w.trim_end_matches([',', ':', ';']));
    let reply = words.iter().find(|w| code(w)).copied();
    let meaning = match (status, reply) {
        (Some(s), _) if s.ends_with(".1.1") || s.ends_with(".1.2") || s.ends_with(".1.10") => {
            "het adres bestaat niet (meer)"
        }
        (Some(s), _) if s.ends_with(".2.2") => "de mailbox van de ontvanger is vol",
        (Some(s), _) if s.ends_with(".2.1") => "de mailbox van de ontvanger is afgesloten",
        (Some(s), _) if s.ends_with(".3.4") => "de mail is te groot voor de ontvanger",
        (Some(s), _) if s.starts_with("5.7") => "de server van de ontvanger weigert mail van ons",
        (Some(s), _) if s.starts_with('4') => "een tijdelijk probleem bij de ontvanger",
        (None, Some(r)) if r.starts_with('4') => "een tijdelijk probleem bij de ontvanger",
        (Some(_), _) | (None, Some(_)) => "de server van de ontvanger weigerde de mail",
        (None, None) => "de mailserver was niet bereikbaar",
    };
    match status.or(reply) {
        Some(code) => format!("{meaning} (code {code})"),
        None => meaning.to_string(),
    }
}

/// Why a decision is unsure (its `confidence_reasons`), one Dutch phrase each, for the
/// coordinator who is asked to confirm it; a reason this table does not know is left out.
/// Pure.
pub fn dutch_doubts<'a>(reasons: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in reasons {
        let r = r.trim();
        let number = |text: &str| {
            text.split_whitespace()
                .find(|w| w.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_string)
        };
        let case = r
            .strip_prefix("case ")
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("?");
        let dutch = if r.starts_with("the mail's MIME is broken") {
            Some("de opbouw van de mail is beschadigd".to_string())
        } else if r.starts_with("the name fits ") {
            number(r).map(|n| format!("de naam past bij {n} dossiers"))
        } else if r.starts_with("a loosely written name fits ") {
            number(r)
                .map(|n| format!("een naam die niet precies overeenkomt, past bij {n} dossiers"))
        } else if r.ends_with("found by a loosely written name") {
            Some(format!(
                "dossier {case} gevonden via een naam die niet precies overeenkomt"
            ))
        } else if r.ends_with("found by its counsellor only") {
            Some(format!(
                "dossier {case} alleen gevonden via de woonbegeleider (geen referentie of naam in de mail)"
            ))
        } else if let Some(rest) = r.strip_prefix("no reference or name, and ") {
            let who = rest.split(' ').next().unwrap_or(rest);
            number(rest).map(|n| {
                format!("geen referentie of naam in de mail, en {who} begeleidt {n} dossiers")
            })
        } else if let Some(kinds) = r.strip_prefix("words of several kinds: ") {
            let dutch: Vec<&str> = kinds
                .split(", ")
                .map(|k| match k {
                    "urgent" => "dringende zorg",
                    "final report" => "stopzetting of eindverslag",
                    "contact change" => "nieuwe contactgegevens",
                    "concern" => "zorg",
                    "referral" => "aanmelding",
                    _ => "iets anders",
                })
                .collect();
            Some(format!(
                "de mail bevat woorden van meer dan één soort melding ({})",
                dutch.join(", ")
            ))
        } else if r.starts_with("good news (") {
            Some("goed nieuws en woorden van een nieuwe zorg in dezelfde mail".to_string())
        } else if r.starts_with("nothing specific recognised and no case found") {
            Some("niets specifieks herkend en geen dossier gevonden".to_string())
        } else if r.starts_with("no candidate name found in the referral") {
            Some("geen naam van de kandidaat gevonden in de aanmelding".to_string())
        } else {
            None
        };
        if let Some(d) = dutch.filter(|d| !out.contains(d)) {
            out.push(d);
        }
    }
    out
}

/// A case error (`CaseError`'s English message) in Dutch.
fn case_error(error: &str) -> String {
    if let Some(rest) = after(error, "case ") {
        let case = rest.split([' ', ':']).next().unwrap_or(rest);
        if rest.contains("belongs to another partner") {
            return format!("dossier {case} hoort bij een andere partner dan de afzender");
        }
        if rest.ends_with("is not in the register") {
            return format!("dossier {case} bestaat niet");
        }
        if rest.contains("has no lease start yet") {
            return format!("dossier {case} heeft nog geen ingangsdatum van de huurovereenkomst");
        }
        if let Some(kind) = between(rest, "no pending milestone `", "`") {
            return format!("dossier {case} heeft geen openstaande stap {kind}");
        }
        return format!("deze stap kan niet in dossier {case} in de fase waarin het nu is");
    }
    if let Some(what) = after(error, "the mail does not say which ") {
        return match what {
            "case" => "de mail zegt niet over welk dossier het gaat",
            "partner" => "er is niet uit te maken voor welke partner de mail is",
            "new case reference" => "er kon geen nieuw dossiernummer gegeven worden",
            "new contact details" => "de mail noemt geen nieuwe contactgegevens",
            "lease start date" => "de mail noemt geen ingangsdatum van de huurovereenkomst",
            "decision of a conclusion" => {
                "bij een conclusie staat geen beslissing die doorstroom herkent"
            }
            "case in the conclusions" => "de conclusies noemen geen dossier",
            _ => "de mail mist een gegeven dat nodig is",
        }
        .to_string();
    }
    if let Some(rest) = after(error, "an extension must be a positive multiple of ") {
        let step = rest.split(' ').next().unwrap_or("3");
        let months = rest.rsplit(' ').next().unwrap_or("?");
        return format!("een verlenging moet een veelvoud van {step} maanden zijn, niet {months}");
    }
    if error.starts_with("partner `") || error.starts_with("programme `") {
        return "de partner of het programma staat niet (meer) in de configuratie".into();
    }
    UNKNOWN.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reason a coordinator can meet, as the code above writes it, and what she reads.
    #[test]
    fn each_reason_reads_in_dutch() {
        let table: &[(&str, &str)] = &[
            (
                "it names case VD-2026-0004: kept with that case for the coordinator only",
                "de mail noemt dossier VD-2026-0004; ze is bij dat dossier bewaard, alleen voor de coördinator",
            ),
            (
                "a copy with the same Message-ID came before, but this one holds more (another text or attachments): it is read as the complete delivery",
                "een vollediger exemplaar van een mail die al binnenkwam",
            ),
            (
                "no trust anchor configured (trust = \"none\"): the From address x@y.be is taken as given",
                "de afzender x@y.be wordt niet gecontroleerd: de controle door de mailserver is (nog) niet ingesteld",
            ),
            (
                "no Authentication-Results from our own server `mx.wh.be`: the sender x@y.be cannot be verified",
                "de mailserver bevestigt niet dat de mail van x@y.be komt",
            ),
            (
                "no Authentication-Results from Exchange Online on top: the sender x@y.be cannot be verified",
                "de mailserver bevestigt niet dat de mail van x@y.be komt",
            ),
            (
                "spam_or_spoof: dmarc=fail for caw.be in the Authentication-Results of mx.wh.be",
                "vervalste afzender: de mailserver stelt vast dat de mail niet van caw.be komt, al zegt ze dat wel",
            ),
            (
                "spam_or_spoof: compauth=fail reason=000 for caw.be from Exchange Online (Microsoft considers the sender spoofed)",
                "vervalste afzender: Microsoft 365 beschouwt de afzender als vervalst (de mail komt niet echt van caw.be)",
            ),
            (
                "dmarc=pass was for evil.example, not for the From domain caw.be (a pass for another domain is no pass)",
                "de mailserver bevestigde evil.example, niet het domein van de afzender caw.be",
            ),
            ("dmarc=pass for caw.be (mx.wh.be)", "de mailserver bevestigt dat de mail van caw.be komt"),
            ("spf=pass aligned with caw.be (mx.wh.be)", "de mailserver bevestigt dat de mail van caw.be komt"),
            (
                "no aligned dmarc/dkim/spf pass for caw.be from mx.wh.be",
                "de mailserver kan niet bevestigen dat de mail van caw.be komt",
            ),
            (
                "spf=fail, dkim=fail for caw.be from mx.wh.be",
                "de controle van de mailserver mislukte: de mail komt niet aantoonbaar van caw.be",
            ),
            (
                "spam_or_spoof: From says jan@wh.be (our own) but the envelope sender is x@evil.example",
                "vervalste afzender: de mail zegt van jan@wh.be (een van ons) te komen, maar werd verstuurd door x@evil.example",
            ),
            (
                "spam_or_spoof: looks like a copy of our own mail, but exchange-online does not vouch for it",
                "vervalste afzender: de mail lijkt een kopie van onze eigen mail, maar de mailserver bevestigt dat niet",
            ),
            (
                "unknown_sender: voorbeeld.example is not a partner domain and iemand@voorbeeld.example is no partner address",
                "iemand@voorbeeld.example is geen adres van een partner, en voorbeeld.example is geen domein van een partner",
            ),
            (
                "quarantined: over budget (size 30 MB > 25 MB (limits.max_mail_bytes)); read as far as the budget goes, it seemed referral",
                "de mail is te groot of te ingewikkeld om veilig te lezen (ze overschrijdt een grens die de beheerder instelde)",
            ),
            (
                "quarantined: deciding this mail stopped intake 3 times, 2 of them on its own (poison mail); it is not tried again",
                "het verwerken van deze mail liep 3 keer vast; ze wordt niet opnieuw geprobeerd",
            ),
            (
                "cannot apply the decision: case VD-2026-0001 belongs to another partner than the sender's (ocmw)",
                "de mail kon niet verwerkt worden: dossier VD-2026-0001 hoort bij een andere partner dan de afzender",
            ),
            (
                "cannot apply the decision: the mail does not say which case",
                "de mail kon niet verwerkt worden: de mail zegt niet over welk dossier het gaat",
            ),
            (
                "cannot apply the decision: an extension must be a positive multiple of 3 months, not 4",
                "de mail kon niet verwerkt worden: een verlenging moet een veelvoud van 3 maanden zijn, niet 4",
            ),
            (
                "auto_reply: an out-of-office in its words (\"ben afwezig tot\"), without auto-reply headers",
                "een afwezigheidsbericht (\"ben afwezig tot\")",
            ),
            ("auto_reply: Auto-Submitted: auto-replied", "een automatisch antwoord (zo gemarkeerd door de mailserver van de afzender)"),
            ("bulk: Precedence: bulk", "een nieuwsbrief of mailing"),
            (
                "calendar_response: an answer to a meeting invitation (\"Aanvaard: Overleg\")",
                "een antwoord op een uitnodiging (\"Aanvaard: Overleg\")",
            ),
            (
                "bounce: a delivery status report (multipart/report)",
                "een melding van de mailserver dat een mail niet afgeleverd kon worden",
            ),
            ("the bounced mail <a@b> belongs to VD-2026-0003", "de niet afgeleverde mail hoort bij dossier VD-2026-0003"),
        ];
        for (english, dutch_text) in table {
            assert_eq!(
                dutch(english),
                Dutch::Say(dutch_text.to_string()),
                "{english}"
            );
        }
    }

    #[test]
    fn why_a_decision_is_unsure_reads_in_dutch() {
        let doubts = dutch_doubts([
            "case VD-2026-0001 found by its counsellor only",
            "words of several kinds: concern, contact change",
            "the name fits 2 cases; the coordinator decides which",
            "no reference or name, and lies@caw.example guides 3 cases",
            "good news (\"is opgelost\") and words of a concern (\"schade\") in one mail",
            "something new",
        ]);
        assert_eq!(
            doubts,
            [
                "dossier VD-2026-0001 alleen gevonden via de woonbegeleider (geen referentie of naam in de mail)",
                "de mail bevat woorden van meer dan één soort melding (zorg, nieuwe contactgegevens)",
                "de naam past bij 2 dossiers",
                "geen referentie of naam in de mail, en lies@caw.example begeleidt 3 dossiers",
                "goed nieuws en woorden van een nieuwe zorg in dezelfde mail",
            ]
        );
    }

    #[test]
    fn a_mail_servers_refusal_reads_in_dutch_with_its_code() {
        for (error, dutch_text) in [
            (
                "550 5.1.1 mailbox unavailable",
                "het adres bestaat niet (meer) (code 5.1.1)",
            ),
            (
                "452 4.2.2 Mailbox full",
                "de mailbox van de ontvanger is vol (code 4.2.2)",
            ),
            (
                "550 5.7.1 Relaying denied",
                "de server van de ontvanger weigert mail van ons (code 5.7.1)",
            ),
            (
                "421 Service not available",
                "een tijdelijk probleem bij de ontvanger (code 421)",
            ),
            (
                "554 no thanks",
                "de server van de ontvanger weigerde de mail (code 554)",
            ),
            ("connection refused", "de mailserver was niet bereikbaar"),
        ] {
            assert_eq!(smtp_error_dutch(error), dutch_text, "{error}");
        }
    }

    #[test]
    fn bookkeeping_is_left_out_and_an_unknown_reason_is_never_shown_in_english() {
        for skipped in [
            "case VD-2026-0001: reference written in the mail",
            "sender a@caw.be speaks for partner caw",
            "doubt: case VD-2026-0001 found by its counsellor only",
            "referral: referral documents attached",
            "jan@wh.be is one of our own staff",
            "confidence 0.40 is below 0.6: the coordinator confirms",
        ] {
            assert_eq!(dutch(skipped), Dutch::Skip, "{skipped}");
        }
        assert_eq!(
            dutch("something new the table does not know"),
            Dutch::Unknown
        );
        assert_eq!(dutch_reasons(["something new"]), UNKNOWN);
    }

    #[test]
    fn a_joined_stored_reason_reads_as_one_dutch_line_each_part_once() {
        let stored = "broken MIME: bad boundary; broken MIME: bad charset; doubt: the mail's MIME is broken; read as far as it could be; no trust anchor configured (trust = \"none\"): the From address x@y.be is taken as given; unknown_sender: y.be is not a partner domain and x@y.be is no partner address";
        let line = dutch_reasons([stored]);
        assert_eq!(
            line,
            "de opbouw van de mail is beschadigd; ze werd gelezen voor zover dat ging; \
             de afzender x@y.be wordt niet gecontroleerd: de controle door de mailserver is (nog) niet ingesteld; \
             x@y.be is geen adres van een partner, en y.be is geen domein van een partner"
        );
        assert!(
            !line.contains("trust ="),
            "no config keys for the coordinator"
        );
        // A quoted `;` inside an Authentication-Results reason stays within its part.
        assert_eq!(
            split_joined("a; reason=\"good; sig\" b; c"),
            vec!["a", "reason=\"good; sig\" b", "c"]
        );
    }
}
