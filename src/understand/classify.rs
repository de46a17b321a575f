//! The decision itself: from a [`Parsed`] mail, the register and the config to a [`Decision`]
//! with its kind, facts, who must be told and the reasons a coordinator can check.
//!
//! The order of the checks is the order a careful coordinator reads a mail in: is it readable
//! at all, have we seen it, is the sender who they claim to be, did a machine write it, who is
//! it from, which case is it about, and only then what the person wrote *now* (quoted earlier
//! mail never drives the kind).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::attachments::{self, Judged};
use super::parse::{Parsed, RawAttachment};
use super::text::{self, Body};
use super::thread::{self, Tags};
use super::trust::{self, Trust};
use super::{Attachment, Conclusion, Decision, Facts, MailKind, MessageId, Register};
use crate::config::Config;
use crate::config::{DocumentKind, Role};

/// Everything read from the mail before the kind is chosen.
struct Reading<'a> {
    parsed: &'a Parsed,
    config: &'a Config,
    register: &'a Register,
    tags: std::rc::Rc<Tags>,
    /// Names, titles and CIR labels of the configured lists.
    patterns: std::rc::Rc<text::Patterns>,
    /// The keyword lists as one automaton.
    lexicon: std::rc::Rc<text::Lexicon>,
    decision: Decision,
    /// Taken out of `parsed` (outer and forwarded mail), judged once.
    attachments: Vec<RawAttachment>,
    /// May the case be found loosely, by a name written with a typo or by the counsellor who
    /// writes? Not for a new referral.
    loose_lookup: bool,
    /// The staff member who vouches for this mail's sender, if one does.
    vouched_by: Option<&'a str>,
}

pub fn decide(parsed: Parsed, register: &Register, config: &Config) -> Decision {
    decide_as(parsed, register, config, None)
}

/// [`decide`] for a mail a staff member vouches for (`vrijgeven`, see [`super::answer`]): its
/// sender is taken as verified, whatever the trust anchor said; everything else is decided as
/// ever (an unknown sender stays unknown).
pub fn decide_vouched(parsed: Parsed, register: &Register, config: &Config, by: &str) -> Decision {
    decide_as(parsed, register, config, Some(by))
}

fn decide_as(
    mut parsed: Parsed,
    register: &Register,
    config: &Config,
    vouched_by: Option<&str>,
) -> Decision {
    // The attachments' bytes move into the decision instead of being copied.
    let mut attachments = std::mem::take(&mut parsed.attachments);
    if let Some(inner) = parsed.inner.as_mut() {
        attachments.append(&mut inner.attachments);
    }
    let mut r = Reading {
        parsed: &parsed,
        config,
        register,
        tags: Tags::cached(&config.organisation.case_reference),
        patterns: text::Patterns::cached(&config.triage),
        lexicon: text::Lexicon::cached(&config.triage),
        decision: empty_decision(),
        attachments,
        loose_lookup: false,
        vouched_by,
    };
    r.fill_basic_facts();
    r.classify();
    r.over_budget();
    r.finish()
}

fn empty_decision() -> Decision {
    Decision {
        file: String::new(),
        kind: MailKind::Malformed,
        partner: None,
        case_ref: None,
        candidate: None,
        cir: None,
        documents: Vec::new(),
        missing: Vec::new(),
        must_auto_reply: false,
        notify: Vec::new(),
        lease_start: None,
        conclusions: BTreeMap::new(),
        new_contact: None,
        handover: None,
        duplicate_of: None,
        reasons: Vec::new(),
        confidence: 1.0,
        confidence_reasons: Vec::new(),
        facts: Facts::default(),
    }
}

/// SHA-256 of the body with whitespace collapsed: the same mail relayed twice (CRLF vs LF,
/// re-wrapped headers) hashes the same.
pub fn body_hash(text: &str) -> String {
    let normalised = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let digest = Sha256::digest(normalised.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a copy of a mail holds, to tell a second delivery that brings nothing new (a duplicate)
/// from one that brings more (the complete delivery after a cut-off one): the [`body_hash`],
/// `:`, then the first 16 hex digits of each distinct attachment's SHA-256, sorted and joined
/// by `,`. What was stored before attachments counted is the body hash alone.
pub fn content_fingerprint(text: &str, attachments: &[RawAttachment]) -> String {
    let mut files: Vec<String> = attachments
        .iter()
        .map(|a| {
            let sha = a
                .sha256
                .clone()
                .unwrap_or_else(|| super::parse::sha256_hex(&a.bytes));
            sha[..16.min(sha.len())].to_string()
        })
        .collect();
    files.sort_unstable();
    files.dedup();
    format!("{}:{}", body_hash(text), files.join(","))
}

/// Whether a copy with fingerprint `new` brings nothing that the earlier copy `old` did not
/// (see [`content_fingerprint`]): the same text, and no attachment the earlier copy lacked.
/// A fingerprint stored before attachments counted (no `:`) compares by text alone.
pub fn adds_nothing(new: &str, old: &str) -> bool {
    let (new_text, new_files) = new.split_once(':').unwrap_or((new, ""));
    let Some((old_text, old_files)) = old.split_once(':') else {
        return new_text == old;
    };
    let old_files: std::collections::HashSet<&str> = old_files.split(',').collect();
    new_text == old_text
        && new_files
            .split(',')
            .filter(|f| !f.is_empty())
            .all(|f| old_files.contains(f))
}

fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

impl Reading<'_> {
    fn reason(&mut self, reason: impl Into<String>) {
        self.decision.reasons.push(reason.into());
    }

    /// Something that makes the decision less certain: lowers its confidence by `by` and says why.
    fn doubt(&mut self, by: f64, why: impl Into<String>) {
        let why = why.into();
        self.decision.confidence = (self.decision.confidence - by).max(0.0);
        self.reason(format!("doubt: {why}"));
        self.decision.confidence_reasons.push(why);
    }

    fn set(&mut self, kind: MailKind, notify: &[Role]) {
        self.decision.kind = kind;
        self.decision.notify = notify.to_vec();
    }

    fn fill_basic_facts(&mut self) {
        let p = self.parsed;
        let f = &mut self.decision.facts;
        f.message_id = p.message_id.clone();
        f.in_reply_to = p.in_reply_to.clone();
        f.references = p.references.clone();
        f.subject = p.subject.clone();
        f.sender = p.from.as_ref().map(|m| m.address.clone());
        f.recipients =
            p.to.iter()
                .chain(p.cc.iter())
                .map(|m| m.address.clone())
                .collect();
        f.body_text = p.text.clone();
        f.body_hash = content_fingerprint(&p.text, &self.attachments);
    }

    /// A mail over a budget of `[limits]` was read only as far as the budget goes: whatever it
    /// seemed to be (said in the reasons), it goes to quarantine for a person, who is told once.
    fn over_budget(&mut self) {
        let p = self.parsed;
        let mut over = p.over_budget.clone();
        let text = format!("{}\n{}", p.subject, p.text);
        if self
            .tags
            .find_at_most(&text, self.config.limits.case_tags)
            .1
        {
            over.push(format!(
                "case tags > {} (limits.case_tags)",
                self.config.limits.case_tags
            ));
        }
        if over.is_empty() {
            return;
        }
        let seemed = self.decision.kind;
        self.reason(format!(
            "quarantined: over budget ({}); read as far as the budget goes, it seemed {}",
            over.join(", "),
            seemed.as_str()
        ));
        self.set(MailKind::Malformed, &[Role::Coordinator]);
        self.decision.case_ref = None;
        self.decision.conclusions.clear();
        self.decision.facts.conclusions.clear();
    }

    fn finish(mut self) -> Decision {
        self.decision.notify.sort();
        self.decision.notify.dedup();
        self.decision.documents.sort();
        self.decision.documents.dedup();
        self.decision.missing.sort();
        self.decision.missing.dedup();
        let threshold = self.config.triage.confidence_threshold;
        if self.decision.confidence < threshold
            && !self.decision.notify.contains(&Role::Coordinator)
        {
            self.decision.notify.push(Role::Coordinator);
            self.decision.notify.sort();
            self.decision.reasons.push(format!(
                "confidence {:.2} is below {threshold}: the coordinator confirms",
                self.decision.confidence
            ));
        }
        if self.decision.kind.is_automated()
            || self.decision.kind.is_quarantined()
            || matches!(
                self.decision.kind,
                MailKind::Duplicate | MailKind::CrossPartner
            )
        {
            self.decision.must_auto_reply = false;
        }
        self.decision
    }

    fn classify(&mut self) {
        let p = self.parsed;
        for problem in &p.problems {
            self.decision
                .reasons
                .push(format!("broken MIME: {problem}"));
        }
        if !p.problems.is_empty() {
            self.doubt(0.2, "the mail's MIME is broken; read as far as it could be");
        }
        if p.structure_broken {
            self.decision.partner = p
                .from
                .as_ref()
                .and_then(|m| self.config.partner_of_address(&m.address))
                .map(|pa| pa.id.clone());
            self.set(MailKind::Malformed, &[Role::Coordinator]);
            self.reason("malformed: the mail's structure cannot be trusted; the raw mail is kept for a person to read");
            return;
        }
        if let Some((_, earlier)) = self
            .register
            .earlier
            .iter()
            .find(|(hash, _)| adds_nothing(&self.decision.facts.body_hash, hash))
        {
            self.decision.duplicate_of = Some(earlier.clone());
            self.set(MailKind::Duplicate, &[]);
            // The facts of the copy that counted: the case it went to and its candidate.
            if let Some((case, _)) = thread::by_thread(self.register, p.message_id.as_slice(), &[])
            {
                if let Some(registered) = self.register.case(&case) {
                    self.decision.partner = Some(registered.partner.clone());
                    self.decision.candidate = Some(registered.candidate.clone());
                    self.decision.cir = registered.cir.clone();
                }
                self.decision.case_ref = Some(case);
            }
            self.reason(format!(
                "duplicate: same Message-ID as the mail already received ({earlier}), and nothing in it that one did not hold"
            ));
            return;
        }
        if !self.register.earlier.is_empty() {
            self.reason(
                "a copy with the same Message-ID came before, but this one holds more (another text or attachments): it is read as the complete delivery",
            );
        }
        let Some(from) = p.from.as_ref().map(|m| m.address.clone()) else {
            self.set(MailKind::Malformed, &[Role::Coordinator]);
            self.reason("malformed: no From address could be read");
            return;
        };
        // A delivery report is judged before trust: our own server writes it without
        // authentication results, and a forged one can only make the coordinator look.
        if self.bounce(&from) {
            return;
        }
        let trust = match self.vouched_by {
            Some(by) => Trust::Verified(format!("{by} vouches for the sender {from} (vrijgeven)")),
            None => trust::assess(p, &from, self.config),
        };
        match &trust {
            Trust::Spoof(why) => {
                self.decision.facts.claimed_partner =
                    self.config.partner_of_address(&from).map(|p| p.id.clone());
                self.set(MailKind::SpamOrSpoof, &[]);
                self.reason(format!("spam_or_spoof: {why}"));
                self.keep_named_case();
                return;
            }
            Trust::OwnCopy(why) => {
                self.set(MailKind::OwnCopy, &[]);
                self.reason(why.clone());
                return;
            }
            _ => {}
        }
        if matches!(trust, Trust::Verified(_) | Trust::Accepted(_)) {
            self.decision.partner = self.config.partner_of_address(&from).map(|p| p.id.clone());
        }
        if self.automated() {
            return;
        }
        self.reason(trust.reason().to_string());
        self.judge_attachments();

        // Unwrap a forward when the forwarder is one of ours or a partner.
        let mut body = text::split_body(&p.text);
        let forward_subject = text::is_forward_subject(&p.subject);
        if forward_subject {
            body.quoted_as_forward();
        }
        let forwarder_trusted =
            self.config.is_staff(&from) || self.config.partner_of_address(&from).is_some();
        let mut sender = from.clone();
        let mut content = Content::from_body(&body, &p.subject);
        if forwarder_trusted {
            if let Some(inner) = &p.inner {
                if let Some(inner_from) = inner.from.as_ref().map(|m| m.address.clone()) {
                    let inner_body = text::split_body(&inner.text);
                    content.absorb(&inner_body, &inner.subject);
                    if self.unwrap_allowed(&from, &inner_from) {
                        self.reason(format!(
                            "forwarded as an attachment (message/rfc822) by {from}: the inner mail from {inner_from} counts"
                        ));
                        sender = inner_from;
                    }
                }
            } else if let Some(fwd) = body.forwarded.clone() {
                let inner_body = text::split_body(&fwd.text);
                content.absorb(&inner_body, fwd.subject.as_deref().unwrap_or_default());
                if let Some(inner_from) = fwd.from.clone() {
                    if self.unwrap_allowed(&from, &inner_from) {
                        self.reason(format!(
                            "forwarded inline by {from}: the forwarded mail from {inner_from} counts"
                        ));
                        sender = inner_from;
                    }
                }
            }
        }
        self.decision.facts.sender = Some(sender.clone());
        // The display name of whoever counts as sender (a counsellor's name on a referral).
        self.decision.facts.sender_name = std::iter::once(p.from.as_ref())
            .chain(std::iter::once(
                p.inner.as_ref().and_then(|i| i.from.as_ref()),
            ))
            .flatten()
            .find(|m| m.address == sender)
            .and_then(|m| m.name.clone())
            .or_else(|| {
                body.forwarded
                    .as_ref()
                    .and_then(|f| f.from_name.clone())
                    .filter(|_| sender != from)
            })
            .map(|n| n.trim().trim_matches('"').to_string())
            .filter(|n| !n.is_empty() && !n.contains('@'));

        self.decision.facts.sender_phone = text::signature_phone(&body.signature, &body.new);
        let staff = self.config.is_staff(&sender);
        let partner = self
            .config
            .partner_of_address(&sender)
            .map(|p| p.id.clone());
        self.decision.facts.from_staff = staff;
        if staff {
            self.reason(format!("{sender} is one of our own staff"));
            self.staff_mail(&content, &body);
            return;
        }
        let Some(partner) = partner else {
            self.set(MailKind::UnknownSender, &[Role::Coordinator]);
            self.reason(format!(
                "unknown_sender: {} is not a partner domain and {sender} is no partner address",
                domain(&sender)
            ));
            self.keep_named_case();
            return;
        };
        self.reason(format!("sender {sender} speaks for partner {partner}"));
        self.decision.partner = Some(partner.clone());
        self.partner_mail(&partner, &content, &body);
    }

    /// A mail that gets no answer (a spoof, an unknown sender) but names a known case by its
    /// reference: kept with that case for the coordinator, so that the case's history shows it.
    /// Nothing of the case ever goes to the sender: these kinds are never answered.
    fn keep_named_case(&mut self) {
        let p = self.parsed;
        let (tags, _) = self
            .tags
            .find_at_most(&format!("{}\n{}", p.subject, p.text), 1);
        if let Some(case) = tags.into_iter().find(|t| self.register.case(t).is_some()) {
            self.reason(format!(
                "it names case {case}: kept with that case for the coordinator only"
            ));
            self.decision.case_ref = Some(case);
        }
    }

    /// Unwrap only when the forwarder may speak for the inner sender: staff may forward anyone's
    /// mail to us; a partner only its own colleagues'.
    fn unwrap_allowed(&self, forwarder: &str, inner: &str) -> bool {
        if self.config.is_staff(forwarder) {
            return true;
        }
        match (
            self.config.partner_of_address(forwarder),
            self.config.partner_of_address(inner),
        ) {
            (Some(a), Some(b)) => a.id == b.id,
            _ => false,
        }
    }

    /// A delivery failure report about one of our mails.
    fn bounce(&mut self, from: &str) -> bool {
        let p = self.parsed;
        let subject = p.subject.to_lowercase();
        let local = from.split('@').next().unwrap_or_default();
        let auto_submitted = p
            .header("auto-submitted")
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.starts_with("no"));
        let delivery_report = p.part_types.iter().any(|t| t == "message/delivery-status")
            || p.content_type == "multipart/report"
                && p.header("content-type")
                    .is_some_and(|c| c.to_ascii_lowercase().contains("delivery-status"));
        let bounce_subject = [
            "undeliverable",
            "onbestelbaar",
            "niet bezorgd",
            "kan niet worden bezorgd",
            "delivery status notification (failure)",
            "mail delivery failed",
            "returned mail",
            "unzustellbar",
            "non remis",
            "failure notice",
        ]
        .iter()
        .any(|w| subject.contains(w));
        if delivery_report
            || (matches!(local, "mailer-daemon" | "postmaster") && bounce_subject)
            || bounce_subject && auto_submitted.is_some()
        {
            self.set(MailKind::Bounce, &[Role::Coordinator]);
            self.reason(if delivery_report {
                "bounce: a delivery status report (multipart/report)".to_string()
            } else {
                format!("bounce: from {from} with subject \"{}\"", p.subject)
            });
            // Which of our mails bounced, and so which case.
            let returned = p.inner.as_deref();
            let ids: Vec<MessageId> = returned
                .and_then(|m| m.message_id.clone())
                .into_iter()
                .chain(p.returned_ids.iter().cloned())
                .chain(p.in_reply_to.iter().cloned())
                .collect();
            for id in &ids {
                if !self.decision.facts.bounced.contains(id) {
                    self.decision.facts.bounced.push(id.clone());
                }
            }
            if let Some((case, id)) = thread::by_thread(self.register, &ids, &[]) {
                self.reason(format!("the bounced mail {id} belongs to {case}"));
                self.decision.case_ref = Some(case);
            } else if let Some(tag) = self
                .tags
                .find(&format!("{}\n{}", p.subject, p.text))
                .into_iter()
                .next()
            {
                self.decision.case_ref = Some(tag);
            }
            return true;
        }
        false
    }

    /// Auto-replies, calendar answers and newsletters: never answered.
    fn automated(&mut self) -> bool {
        let p = self.parsed;
        let subject = p.subject.to_lowercase();
        let auto_submitted = p
            .header("auto-submitted")
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.starts_with("no"));
        let x_auto = p.header("x-autoreply").is_some()
            || p.header("x-autorespond").is_some()
            || p.header("precedence")
                .is_some_and(|v| v.eq_ignore_ascii_case("auto_reply"));
        let auto_subject = [
            "automatisch antwoord",
            "automatic reply",
            "autoreply",
            "auto-reply",
            "out of office",
            "afwezigheidsbericht",
            "afwezig:",
            "abwesenheitsnotiz",
            "automatische antwort",
            "réponse automatique",
        ]
        .iter()
        .any(|w| subject.contains(w));
        let calendar_subject = [
            "geaccepteerd:",
            "accepted:",
            "afgewezen:",
            "geweigerd:",
            "declined:",
            "voorlopig:",
            "voorlopig geaccepteerd:",
            "tentative:",
            "angenommen:",
            "abgelehnt:",
            "accepté:",
        ]
        .iter()
        .any(|w| subject.starts_with(w));
        if p.calendar_method.as_deref() == Some("REPLY")
            || calendar_subject && p.part_types.iter().any(|t| t == "text/calendar")
        {
            self.set(MailKind::CalendarResponse, &[]);
            self.reason(format!(
                "calendar_response: an answer to a meeting invitation (\"{}\")",
                p.subject
            ));
            return true;
        }
        if auto_submitted.is_some() || x_auto || auto_subject {
            self.set(MailKind::AutoReply, &[]);
            self.reason(match (&auto_submitted, x_auto) {
                (Some(v), _) => format!("auto_reply: Auto-Submitted: {v}"),
                (None, true) => "auto_reply: X-Autoreply/X-Autorespond/Precedence header".into(),
                _ => format!("auto_reply: subject \"{}\"", p.subject),
            });
            return true;
        }
        // An out-of-office without RFC 3834 headers, known by its words: answering it would
        // tell case data to whoever reads that mailbox while its owner is away.
        if let Some(words) = out_of_office_words(p, &self.config.triage) {
            self.set(MailKind::AutoReply, &[]);
            self.reason(format!(
                "auto_reply: an out-of-office in its words (\"{}\"), without auto-reply headers",
                words.join("\", \"")
            ));
            return true;
        }
        let list_headers = p.header("list-unsubscribe").is_some() || p.header("list-id").is_some();
        let precedence_bulk = p.header("precedence").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "bulk" | "list" | "junk"
            )
        });
        let subject = text::normalise(&p.subject);
        let bulk_words = self
            .lexicon
            .scan(&subject)
            .of(&self.config.triage.bulk, false);
        if list_headers || precedence_bulk || !bulk_words.is_empty() {
            self.set(MailKind::Bulk, &[]);
            self.reason(if list_headers {
                "bulk: List-Unsubscribe/List-Id headers (a mailing)".to_string()
            } else if precedence_bulk {
                "bulk: Precedence: bulk".to_string()
            } else {
                format!("bulk: the subject says \"{}\"", bulk_words.join("\", \""))
            });
            return true;
        }
        false
    }

    fn judge_attachments(&mut self) {
        let p = self.parsed;
        let all = std::mem::take(&mut self.attachments);
        let mut judged: Vec<(RawAttachment, Judged)> = all
            .into_iter()
            .map(|mut a| {
                let j = a.judged.take().unwrap_or_else(|| {
                    attachments::judge(&a.filename, &a.content_type, &a.bytes, a.problem.as_deref())
                });
                (a, j)
            })
            .collect();
        // Vague names and scans without text: the mail's own words say what they are.
        let mail_text = format!(
            "{}\n{}\n{}",
            p.subject,
            p.text,
            p.inner.as_ref().map_or(String::new(), |m| m.text.clone())
        );
        let mentioned = mentioned_kinds(&mail_text);
        let mut taken: Vec<DocumentKind> = judged.iter().filter_map(|(_, j)| j.kind).collect();
        for (a, j) in judged.iter_mut() {
            if j.kind.is_some() {
                continue;
            }
            let is_doc = a.content_type == "application/pdf"
                || a.content_type.starts_with("image/")
                || a.filename.to_lowercase().ends_with(".pdf")
                || a.content_type.contains("word");
            if let Some(kind) = mentioned
                .iter()
                .copied()
                .find(|k| !taken.contains(k))
                .filter(|_| is_doc)
            {
                j.kind = Some(kind);
                j.note = format!(
                    "{}; the mail text names the {} (\"{}\")",
                    j.note,
                    kind.as_str(),
                    kind.dutch()
                );
                taken.push(kind);
            }
        }
        for (a, j) in judged {
            let kind = j.kind.unwrap_or(DocumentKind::Other);
            let note = match &j.unusable {
                Some(u) => format!("{}; unusable: {u}", j.note),
                None => j.note.clone(),
            };
            self.decision
                .reasons
                .push(format!("attachment {}: {note}", a.filename));
            if j.unusable.is_none() {
                self.decision.documents.push(kind);
            }
            if self.decision.cir.is_none() && !j.text.is_empty() {
                self.decision.cir = self.patterns.cir(&j.text);
            }
            if self.decision.candidate.is_none() && !j.text.is_empty() {
                self.decision.candidate = self.patterns.candidate_labelled(&j.text);
            }
            self.decision.facts.attachments.push(Attachment {
                filename: a.filename,
                content_type: a.content_type,
                kind,
                size: a.bytes.len(),
                note: Some(note),
                unusable: j.unusable.is_some(),
                sha256: a.sha256.unwrap_or_default(),
                bytes: std::sync::Arc::new(a.bytes),
            });
        }
    }

    fn attached(&self, kind: DocumentKind) -> bool {
        self.decision
            .facts
            .attachments
            .iter()
            .any(|a| a.kind == kind && !a.unusable)
    }

    fn attached_any(&self, kind: DocumentKind) -> bool {
        self.decision
            .facts
            .attachments
            .iter()
            .any(|a| a.kind == kind)
    }

    /// Which case: tag in subject or new text, thread, candidate name, tag in quoted text.
    fn find_case(&mut self, partner: Option<&str>, content: &Content, allow_quoted: bool) {
        let p = self.parsed;
        let fresh = format!("{}\n{}", content.subject, content.new);
        let tags = self.tags.find(&fresh);
        if let Some(tag) = tags.first() {
            self.decision.case_ref = Some(tag.clone());
            self.reason(format!("case {tag}: reference written in the mail"));
            return;
        }
        if let Some((case, id)) = thread::by_thread(self.register, &p.in_reply_to, &p.references) {
            self.reason(format!("case {case}: the mail answers our mail {id}"));
            self.decision.case_ref = Some(case);
            return;
        }
        // A second delivery of a mail already placed (the same Message-ID, more in it): the
        // case the first copy went to.
        if !self.register.earlier.is_empty() {
            if let Some((case, id)) = thread::by_thread(self.register, p.message_id.as_slice(), &[])
            {
                self.reason(format!(
                    "case {case}: an earlier copy of this mail ({id}) was placed there"
                ));
                self.decision.case_ref = Some(case);
                return;
            }
        }
        let named = thread::by_name(self.register, partner, &fresh);
        if named.len() == 1 {
            let case = named[0].case_ref.clone();
            self.reason(format!(
                "case {case}: the candidate {} is named",
                named[0].candidate
            ));
            self.decision.case_ref = Some(case);
            return;
        }
        if named.len() > 1 {
            self.doubt(
                0.4,
                format!(
                    "the name fits {} cases; the coordinator decides which",
                    named.len()
                ),
            );
        }
        // Without a reference, within the sender's partner only: the name written loosely
        // (accents, initials, order, one typo), else the counsellor who writes. Not for a new
        // referral: a candidate one letter away from a known one is another person.
        if let (Some(partner), true, true) = (partner, named.is_empty(), self.loose_lookup) {
            let loose =
                thread::by_name_loosely(self.register, partner, &fresh, &self.config.triage.titles);
            if loose.len() == 1 {
                let case = loose[0].case_ref.clone();
                self.reason(format!(
                    "case {case}: the candidate {} is named (loosely: accents, initials, order or one letter)",
                    loose[0].candidate
                ));
                self.doubt(0.15, format!("case {case} found by a loosely written name"));
                self.decision.case_ref = Some(case);
                return;
            }
            if loose.len() > 1 {
                self.doubt(
                    0.4,
                    format!(
                        "a loosely written name fits {} cases; the coordinator decides which",
                        loose.len()
                    ),
                );
            } else {
                let sender = self.decision.facts.sender.clone().unwrap_or_default();
                let guided = thread::by_counsellor(self.register, partner, &sender);
                if guided.len() == 1 {
                    let case = guided[0].case_ref.clone();
                    self.reason(format!(
                        "case {case}: the only open case {sender} guides (no reference or name in the mail)"
                    ));
                    self.doubt(0.25, format!("case {case} found by its counsellor only"));
                    self.decision.case_ref = Some(case);
                    return;
                }
                if guided.len() > 1 {
                    self.doubt(
                        0.3,
                        format!(
                            "no reference or name, and {sender} guides {} cases",
                            guided.len()
                        ),
                    );
                }
            }
        }
        if allow_quoted {
            if let Some(tag) = self.tags.find(&content.quoted).into_iter().next() {
                self.reason(format!("case {tag}: reference in the quoted mail"));
                self.decision.case_ref = Some(tag);
            }
        }
    }

    fn partner_mail(&mut self, partner: &str, content: &Content, body: &Body) {
        let kw = &self.config.triage;
        let words = text::normalise(&format!("{}\n{}", content.subject, content.new));
        let lexicon = self.lexicon.clone();
        let found = lexicon.scan(&words);
        let urgent = found.of(&kw.urgent, true);
        let discussion = found.of(&kw.discussion, false);
        let final_words = found.of(&kw.final_report, true);
        let contact = found.of(&kw.contact_change, false);
        let concern = found.of(&kw.concern, true);
        let referral = found.of(&kw.referral, false);
        let agenda_reply = {
            let subject = content.subject_original.to_lowercase();
            let quoted = content.quoted.to_lowercase();
            (subject.contains("agenda")
                || subject.contains("overleg")
                || subject.contains("berichtgeving"))
                || (!self.parsed.in_reply_to.is_empty() && quoted.contains("agenda"))
        };
        let is_discussion = !discussion.is_empty() && agenda_reply;
        self.loose_lookup = referral.is_empty()
            && !self.attached_any(DocumentKind::Addendum)
            && !self.attached_any(DocumentKind::SocialReport);
        self.find_case(Some(partner), content, !is_discussion);

        // A handover (`003` §4) before anything else about the case: written by the new
        // organisation about a case of another partner, it is no cross-partner question.
        let handover_words = found.of(&kw.handover, false);
        if !handover_words.is_empty() && urgent.is_empty() {
            let case_partner = self
                .decision
                .case_ref
                .as_deref()
                .and_then(|r| self.register.case(r))
                .map(|c| c.partner.clone());
            if let Some(fact) = super::handover::read(
                self.config,
                partner,
                self.decision.facts.sender.as_deref(),
                case_partner.as_deref(),
                &content.new,
                &body.signature,
                &handover_words,
                self.parsed.date,
            ) {
                self.handover(fact, &handover_words, case_partner.as_deref());
                return;
            }
        }

        if let Some(case_ref) = self.decision.case_ref.clone() {
            match self.register.case(&case_ref) {
                Some(case) if case.partner != partner => {
                    self.set(MailKind::CrossPartner, &[Role::Coordinator]);
                    self.reason(format!(
                        "cross_partner: {case_ref} is a case of {}, not of {partner}; nothing is confirmed to the sender",
                        case.partner
                    ));
                    return;
                }
                Some(case) => {
                    self.decision.candidate = Some(case.candidate.clone());
                    self.decision.cir = case.cir.clone().or(self.decision.cir.take());
                }
                None => {}
            }
        }
        let known_case = self
            .decision
            .case_ref
            .as_deref()
            .is_some_and(|c| self.register.case(c).is_some());
        self.decision.must_auto_reply = true;
        let competing: Vec<&str> = [
            ("urgent", urgent.is_empty()),
            ("final report", final_words.is_empty()),
            ("contact change", contact.is_empty()),
            ("concern", concern.is_empty()),
            ("referral", referral.is_empty() || known_case),
        ]
        .iter()
        .filter(|(_, none)| !none)
        .map(|(k, _)| *k)
        .collect();
        if competing.len() >= 2 {
            self.doubt(
                0.1 * (competing.len() - 1) as f64,
                format!("words of several kinds: {}", competing.join(", ")),
            );
        }

        if !urgent.is_empty() {
            self.set(
                MailKind::UrgentConcern,
                &[Role::Coordinator, Role::SocialAssistant],
            );
            self.reason(format!(
                "urgent_concern: safety words in the new text: \"{}\"",
                urgent.join("\", \"")
            ));
            self.decision.facts.statement = text::statement(&content.new);
            return;
        }
        if is_discussion {
            self.set(MailKind::DiscussionRequest, &[Role::Coordinator]);
            self.reason(format!(
                "discussion_request: an answer to the agenda mail asking \"{}\"",
                discussion.join("\", \"")
            ));
            self.decision.facts.statement = text::statement(&content.new);
            return;
        }
        if !final_words.is_empty() || self.attached_any(DocumentKind::FinalReport) {
            self.set(
                MailKind::FinalReport,
                &[Role::Coordinator, Role::SocialAssistant],
            );
            if !final_words.is_empty() {
                self.reason(format!("final_report: \"{}\"", final_words.join("\", \"")));
            } else {
                self.reason("final_report: an eindverslag is attached");
            }
            if !self.attached(DocumentKind::FinalReport) {
                self.decision.missing.push(DocumentKind::FinalReport);
                self.reason("the eindverslag is not attached (or unusable): recorded as missing");
            }
            let mut anchors = kw.final_report.clone();
            anchors.extend(["stop".to_string(), "vanaf".to_string(), "einde".to_string()]);
            self.decision.facts.stop_date =
                super::dates::date_near(&content.new, &anchors, self.parsed.date);
            return;
        }
        if !contact.is_empty() {
            let exclude: Vec<String> = vec![self.config.organisation.shared_mailbox.clone()];
            let found = text::new_contact(&content.new, &body.signature, &exclude);
            self.set(MailKind::ContactChange, &[Role::SocialAssistant]);
            self.reason(format!("contact_change: \"{}\"", contact.join("\", \"")));
            // "Ik ben de nieuwe woonbegeleider": without another name or address in the text,
            // the sender is the new contact.
            let mut contact = found.unwrap_or_default();
            if contact.name.is_none() && contact.email.is_none() {
                contact.name = self.parsed.from.as_ref().and_then(|f| f.name.clone());
                contact.email = self.decision.facts.sender.clone();
                if contact.phone.is_none() {
                    contact.phone = text::phones(&body.signature).into_iter().next();
                }
            }
            self.decision.new_contact = Some(contact);
            return;
        }
        let referral_docs = self.attached_any(DocumentKind::Addendum)
            || self.attached_any(DocumentKind::SocialReport);
        if !known_case && (!referral.is_empty() || referral_docs) {
            self.referral(partner, content, &referral);
            return;
        }
        // An action plan (handelingsplan, `002` §5.3) names the problems it works on; it is no
        // concern about the guidance.
        let plan = found.of(&kw.action_plan, false);
        if known_case && !plan.is_empty() {
            self.set(MailKind::ReplyToCase, &[Role::Coordinator]);
            self.reason(format!(
                "reply_to_case: an action plan for a known case (\"{}\")",
                plan.join("\", \"")
            ));
            return;
        }
        // Good news about the case ("de huurachterstand is volledig betaald"): an update for
        // its social assistant, not a new concern; with concern words beside it, the
        // coordinator confirms.
        let good_news = text::matches(&words, &kw.good_news, true);
        if known_case && !good_news.is_empty() {
            if !concern.is_empty() {
                self.doubt(
                    0.5,
                    format!(
                        "good news (\"{}\") and words of a concern (\"{}\") in one mail",
                        good_news.join("\", \""),
                        concern.join("\", \"")
                    ),
                );
            }
            self.set(
                MailKind::ReplyToCase,
                &[Role::SocialAssistant, Role::Coordinator],
            );
            self.reason(format!(
                "reply_to_case: good news about the case (\"{}\"), not a new concern",
                good_news.join("\", \"")
            ));
            self.decision.facts.good_news = good_news.iter().map(|w| w.to_string()).collect();
            self.decision.facts.statement = text::statement(&content.new);
            return;
        }
        if !concern.is_empty() {
            self.set(
                MailKind::Concern,
                &[Role::Coordinator, Role::SocialAssistant],
            );
            self.reason(format!("concern: \"{}\"", concern.join("\", \"")));
            self.decision.facts.statement = text::statement(&content.new);
            return;
        }
        self.set(MailKind::ReplyToCase, &[Role::Coordinator]);
        if known_case {
            self.reason("reply_to_case: adds to a known case");
            if referral_docs {
                self.reason("it brings referral documents the case may have missed");
            }
        } else {
            self.reason(
                "reply_to_case: nothing else recognised and no case found; a person should look",
            );
            self.doubt(0.5, "nothing specific recognised and no case found");
        }
    }

    /// A handover of the guidance: the case's partner (or the organisation that takes over)
    /// writes. Nothing is confirmed to the sender; the coordinator and the social assistant are
    /// told what follows.
    fn handover(&mut self, fact: super::HandoverFact, words: &[&str], case_partner: Option<&str>) {
        self.set(
            MailKind::Handover,
            &[Role::Coordinator, Role::SocialAssistant],
        );
        self.decision.must_auto_reply = false;
        self.reason(format!("handover: \"{}\"", words.join("\", \"")));
        match (&fact.to_partner, &fact.organisation) {
            (Some(p), _) if fact.announced_by == "new_partner" => self.reason(format!(
                "written by {p}, the organisation that takes over, about a case of {}; the coordinator confirms",
                case_partner.unwrap_or("another partner")
            )),
            (Some(p), _) => self.reason(format!("the partner {p} takes over")),
            (None, Some(o)) => self.reason(format!(
                "\"{o}\" takes over, an organisation not in the config: the handover waits for it"
            )),
            (None, None) => {
                self.reason("no organisation that takes over is named; the coordinator says which");
                self.doubt(0.3, "a handover without the organisation that takes over");
            }
        }
        if let Some(from) = fact.from {
            self.reason(format!("from {from}"));
        }
        if self.decision.case_ref.is_none() {
            self.doubt(0.5, "a handover, but no case found");
        }
        if let Some(case) = self
            .decision
            .case_ref
            .as_deref()
            .and_then(|r| self.register.case(r))
        {
            self.decision.candidate = Some(case.candidate.clone());
        }
        self.decision.facts.statement = None;
        self.decision.handover = Some(fact);
    }

    fn referral(&mut self, partner: &str, content: &Content, words: &[&str]) {
        let required = self
            .config
            .partner(partner)
            .and_then(|p| self.config.programme(&p.programme))
            .map(|p| p.required_documents.clone())
            .unwrap_or_else(|| vec![DocumentKind::Addendum, DocumentKind::SocialReport]);
        let missing: Vec<DocumentKind> = required
            .iter()
            .copied()
            .filter(|k| !self.attached(*k))
            .collect();
        self.decision.missing = missing.clone();
        let kind = if missing.is_empty() {
            MailKind::Referral
        } else {
            MailKind::ReferralIncomplete
        };
        self.set(kind, &[Role::Coordinator]);
        if words.is_empty() {
            self.reason("referral: referral documents attached");
        } else {
            self.reason(format!("referral: \"{}\"", words.join("\", \"")));
        }
        for k in &missing {
            let state = if self.attached_any(*k) {
                "present but unusable"
            } else {
                "missing"
            };
            self.reason(format!("the {} ({}) is {state}", k.as_str(), k.dutch()));
        }
        let all = format!("{}\n{}", content.subject, content.new);
        if let Some(name) = self.patterns.candidate_name(&all) {
            self.decision.candidate = Some(name);
        }
        if self.decision.candidate.is_none() {
            self.doubt(0.2, "no candidate name found in the referral");
        }
        if let Some(cir) = self.patterns.cir(&all) {
            self.decision.cir = Some(cir);
        }
    }

    fn staff_mail(&mut self, content: &Content, body: &Body) {
        let kw = &self.config.triage;
        let words = text::normalise(&format!("{}\n{}", content.subject, content.new));
        let lexicon = self.lexicon.clone();
        let found = lexicon.scan(&words);
        let conclusion_words = found.of(&kw.conclusion, false);
        if !conclusion_words.is_empty() {
            let found = self.conclusions(&content.new);
            if !found.is_empty() {
                self.set(MailKind::MeetingConclusions, &[Role::SocialAssistant]);
                self.reason(format!(
                    "meeting_conclusions: \"{}\" with a decision for {} case(s)",
                    conclusion_words.join("\", \""),
                    found.len()
                ));
                let partners: Vec<String> = found
                    .keys()
                    .filter_map(|c| self.register.case(c).map(|c| c.partner.clone()))
                    .collect();
                if let Some(first) = partners.first() {
                    if partners.iter().all(|p| p == first) {
                        self.decision.partner = Some(first.clone());
                    }
                }
                let partner_in_copy = self
                    .decision
                    .facts
                    .recipients
                    .iter()
                    .any(|r| self.config.partner_of_address(r).is_some());
                if !partner_in_copy {
                    self.decision.notify.push(Role::Partner);
                    self.reason("the conclusions went only to our own addresses: the partner must get them too");
                }
                for (case, c) in &found {
                    self.decision.conclusions.insert(case.clone(), c.as_text());
                }
                self.decision.facts.conclusions = found;
                return;
            }
        }
        let lease_words = found.of(&kw.lease_start, false);
        if !lease_words.is_empty() {
            let date = super::dates::date_near(&content.new, &kw.lease_start, self.parsed.date);
            if let Some(date) = date {
                self.find_case(None, content, true);
                self.fill_case_facts();
                self.set(MailKind::LeaseStart, &[Role::SocialAssistant]);
                self.decision.lease_start = Some(date);
                self.reason(format!(
                    "lease_start: \"{}\" with the date {date}",
                    lease_words.join("\", \"")
                ));
                return;
            }
        }
        if self.preventive_request(content, &found) {
            return;
        }
        // Staff writing anything else about a case: a person reads it.
        self.find_case(None, content, true);
        self.fill_case_facts();
        let _ = body;
        self.set(MailKind::ReplyToCase, &[Role::Coordinator]);
        self.reason("reply_to_case: a mail from our own staff that is neither conclusions nor a lease start");
    }

    /// A staff mail addressed to a partner (our mailbox in Cc) asking preventive guidance for a
    /// tenant threatened with eviction (`002` §5.2). The partner is the one the mail is addressed
    /// to; a case it names (a relapse of a closed case) is looked up as for any staff mail.
    fn preventive_request(&mut self, content: &Content, words: &text::Found<'_>) -> bool {
        let kw = &self.config.triage;
        let found = words.of(&kw.preventive_request, false);
        if found.is_empty() {
            return false;
        }
        let addressed: Vec<String> = self
            .parsed
            .to
            .iter()
            .filter_map(|m| self.config.partner_of_address(&m.address))
            .map(|p| p.id.clone())
            .collect();
        let Some(partner) = addressed.first().cloned() else {
            return false;
        };
        if addressed.iter().any(|p| *p != partner) {
            self.reason(
                "preventive words, but the mail is addressed to several partners: a person decides",
            );
            return false;
        }
        self.find_case(Some(&partner), content, false);
        self.set(MailKind::PreventiveRequest, &[Role::Coordinator]);
        self.decision.partner = Some(partner.clone());
        self.decision.must_auto_reply = true;
        self.reason(format!(
            "preventive_request: staff ask {partner} (addressed in To) for guidance: \"{}\"",
            found.join("\", \"")
        ));
        let all = format!("{}\n{}", content.subject, content.new);
        let name = self
            .patterns
            .candidate_name(&all)
            .or_else(|| tenant_label(&all));
        match (&self.decision.case_ref, name) {
            (Some(case), _) => {
                if let Some(c) = self.register.case(case) {
                    self.decision.candidate = Some(c.candidate.clone());
                    self.decision.cir = c.cir.clone();
                }
            }
            (None, Some(name)) => self.decision.candidate = Some(name),
            (None, None) => self.reason("no tenant name found in the request"),
        }
        if self.decision.cir.is_none() {
            self.decision.cir = self.patterns.cir(&all);
        }
        self.decision.facts.statement = text::statement(&content.new);
        true
    }

    fn fill_case_facts(&mut self) {
        if let Some(case) = self
            .decision
            .case_ref
            .as_deref()
            .and_then(|c| self.register.case(c))
        {
            self.decision.partner = Some(case.partner.clone());
            self.decision.candidate = Some(case.candidate.clone());
            self.decision.cir = case.cir.clone();
        }
    }

    /// One decision per case: each line naming a case (tag or candidate) with its decision.
    fn conclusions(&self, new: &str) -> BTreeMap<String, Conclusion> {
        let mut out = BTreeMap::new();
        let lines: Vec<&str> = new.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let mut cases: Vec<String> = self.tags.find(line);
            if cases.is_empty() {
                cases = thread::by_name(self.register, None, line)
                    .into_iter()
                    .map(|c| c.case_ref.clone())
                    .collect();
            }
            if cases.len() != 1 {
                continue;
            }
            let next = lines.get(i + 1).copied().unwrap_or_default();
            let decision = conclusion_in(&self.tags.remove(line)).or_else(|| {
                if self.tags.find(next).is_empty() {
                    conclusion_in(next)
                } else {
                    None
                }
            });
            if let Some(decision) = decision {
                out.insert(cases.remove(0), decision);
            }
        }
        out
    }
}

/// The out-of-office phrases of a mail's subject and the start of its new text: two of them, or
/// one with a pointer elsewhere ("voor dringende zaken"), make an out-of-office. One phrase alone
/// ("ik ben afwezig tot 5 januari, Karel vervangt mij") is a person writing.
fn out_of_office_words<'k>(
    p: &Parsed,
    keywords: &'k crate::config::Keywords,
) -> Option<Vec<&'k str>> {
    let body = text::split_body(&p.text);
    let start: String = body.new.chars().take(1200).collect();
    let words = text::normalise(&format!("{}\n{start}", p.subject));
    let scanned = text::Lexicon::cached(keywords);
    let scanned = scanned.scan(&words);
    let found = scanned.of(&keywords.out_of_office, false);
    if found.is_empty() {
        return None;
    }
    let redirect = scanned.of(&keywords.out_of_office_redirect, false);
    (found.len() >= 2 || !redirect.is_empty()).then(|| {
        let mut all = found;
        all.extend(redirect);
        all
    })
}

/// "Huurder: Marc Verbeke": the tenant named on a labelled line of a landlord's request.
fn tenant_label(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (label, rest) = line.split_once(':')?;
        let label = label.trim().to_lowercase();
        if label != "huurder" && label != "naam huurder" {
            return None;
        }
        let name: Vec<&str> = rest
            .split_whitespace()
            .take_while(|w| w.chars().next().is_some_and(char::is_alphabetic))
            .take(5)
            .collect();
        (!name.is_empty()).then(|| name.join(" "))
    })
}

/// The decision words of one conclusion line.
fn conclusion_in(line: &str) -> Option<Conclusion> {
    let l = text::normalise(line);
    if l.contains("verleng") {
        let months = l
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<u32>().ok())
            .find(|n| (1..=36).contains(n) && l.contains("maand"))
            .unwrap_or(3);
        return Some(Conclusion::Extend { months });
    }
    if l.contains("positief") {
        return Some(Conclusion::ClosePositive);
    }
    if l.contains("opnieuw bespreken")
        || l.contains("herbespreken")
        || l.contains("volgend overleg")
        || l.contains("volgende overleg")
        || l.contains("opvolgen")
    {
        return Some(Conclusion::DiscussAgain);
    }
    if l.contains("stopgezet")
        || l.contains("stopzetting")
        || l.contains("afgesloten")
        || l.contains("afsluiten")
        || l.contains("negatief")
    {
        return Some(Conclusion::Closed);
    }
    None
}

/// Document kinds the mail text names, in order ("in bijlage het addendum en het sociaal verslag").
fn mentioned_kinds(text: &str) -> Vec<DocumentKind> {
    let lower = text::normalise(text);
    let mut found: Vec<(usize, DocumentKind)> = Vec::new();
    let probes: [(&str, DocumentKind); 7] = [
        ("addendum", DocumentKind::Addendum),
        ("sociaal verslag", DocumentKind::SocialReport),
        ("sociaal rapport", DocumentKind::SocialReport),
        ("eindverslag", DocumentKind::FinalReport),
        ("begeleidingsovereenkomst", DocumentKind::GuidanceAgreement),
        ("verslag", DocumentKind::SocialReport),
        ("sociaalverslag", DocumentKind::SocialReport),
    ];
    for (word, kind) in probes {
        if let Some(at) = word_at(&lower, word) {
            if !found.iter().any(|(_, k)| *k == kind) {
                found.push((at, kind));
            }
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, k)| k).collect()
}

/// Where `word` first occurs as a whole word ("verslag" is not found inside "eindverslag").
fn word_at(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = text.get(from..)?.find(word) {
        let start = from + pos;
        let end = start + word.len();
        let before = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after = text[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before && after {
            return Some(start);
        }
        from = end;
    }
    None
}

/// The words a classification may look at: subject and what is new, never the quoted mail.
struct Content {
    subject: String,
    subject_original: String,
    new: String,
    quoted: String,
}

impl Content {
    fn from_body(body: &Body, subject: &str) -> Content {
        Content {
            subject: text::strip_subject_prefixes(subject),
            subject_original: subject.to_string(),
            new: body.new.clone(),
            quoted: body.quoted.clone(),
        }
    }

    /// A forwarded mail's words count as new: forwarding it is the point of the mail.
    fn absorb(&mut self, inner: &Body, subject: &str) {
        let inner_subject = text::strip_subject_prefixes(subject);
        if !inner_subject.is_empty() {
            self.subject = format!("{}\n{inner_subject}", self.subject);
        }
        self.new = format!("{}\n{}", self.new, inner.new);
        if !inner.quoted.is_empty() {
            self.quoted = format!("{}\n{}", self.quoted, inner.quoted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_final_report_mail_does_not_mention_a_social_report() {
        assert_eq!(
            mentioned_kinds("In bijlage het eindverslag."),
            vec![DocumentKind::FinalReport]
        );
        assert_eq!(
            mentioned_kinds("het verslag en het addendum"),
            vec![DocumentKind::SocialReport, DocumentKind::Addendum]
        );
    }

    #[test]
    fn conclusion_lines_read_their_decision() {
        assert_eq!(
            conclusion_in("verlenging met 6 maanden"),
            Some(Conclusion::Extend { months: 6 })
        );
        assert_eq!(
            conclusion_in("Positief afsluiten."),
            Some(Conclusion::ClosePositive)
        );
        assert_eq!(
            conclusion_in("opnieuw bespreken in januari"),
            Some(Conclusion::DiscussAgain)
        );
        assert_eq!(conclusion_in("stopgezet"), Some(Conclusion::Closed));
        assert_eq!(conclusion_in("geen opmerkingen"), None);
    }

    #[test]
    fn a_copy_adds_nothing_only_with_the_same_text_and_no_new_attachment() {
        let file = |bytes: &[u8]| RawAttachment {
            filename: "x.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: bytes.to_vec(),
            problem: None,
            judged: None,
            sha256: None,
        };
        let cut_off = content_fingerprint("Beste, zie bijlagen", &[]);
        let complete = content_fingerprint("Beste, zie bijlagen", &[file(b"a"), file(b"b")]);
        let one = content_fingerprint("Beste, zie bijlagen", &[file(b"b")]);
        let longer = content_fingerprint("Beste, zie bijlagen. Groeten", &[]);
        assert!(!adds_nothing(&complete, &cut_off), "more attachments");
        assert!(adds_nothing(&cut_off, &complete), "fewer attachments");
        assert!(adds_nothing(&one, &complete));
        assert!(adds_nothing(&complete, &complete));
        assert!(!adds_nothing(&longer, &cut_off), "another text");
        // Stored before attachments counted: the body hash alone, compared by text.
        assert!(adds_nothing(&complete, &body_hash("Beste, zie bijlagen")));
        assert!(!adds_nothing(&longer, &body_hash("Beste, zie bijlagen")));
    }

    #[test]
    fn the_body_hash_ignores_line_endings_and_wrapping() {
        assert_eq!(body_hash("Beste,\r\n\r\nDag"), body_hash("Beste,\n\nDag  "));
        assert_ne!(body_hash("Beste"), body_hash("Beste!"));
    }
}
