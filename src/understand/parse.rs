//! Bytes → [`Parsed`]: the readable parts of one mail, whatever client wrote it.
//!
//! mail-parser does the MIME work; this module adds what real partner mail needs on top of it:
//! unfolded raw headers (for `Authentication-Results`, `Auto-Submitted`, …), a readable text body
//! (HTML turned into text with tables kept as "label: value", format=flowed joined, mislabelled
//! charsets repaired), attachments with their decoded bytes (TNEF `winmail.dat` unpacked), the
//! inner mail of a `message/rfc822` forward, and a list of what is broken, said plainly.
//!
//! It never decides what a mail *is* and never panics: any bytes give a [`Parsed`], possibly with
//! nothing in it but `problems`.

use sha2::{Digest, Sha256};

use mail_parser::{
    Address, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

pub use super::encoded::windows_1252;
use super::html::{cut_at, html_to_text_within};
use super::tnef;
use super::MessageId;
use crate::config::limits::Limits;

/// Lowercase hex SHA-256 of some bytes: the identity of an attachment, and the address of a blob
/// in the store ([`crate::store::sha256_hex`]).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A name and an address as written in From/To/Cc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    /// Lowercase.
    pub address: String,
}

/// An attachment before it is judged: the bytes and what the mail said about them.
#[derive(Debug, Clone, Default)]
pub struct RawAttachment {
    pub filename: String,
    /// Lowercase `type/subtype`.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// What is wrong with the transfer of these bytes (cut-off base64, missing end), if anything.
    pub problem: Option<String>,
    /// What the bytes are, read when the mail is parsed ([`super::attachments::judge`]): reading
    /// a PDF's text is the costly part of triage, and parsing runs in parallel where deciding
    /// cannot. `None` until then.
    pub judged: Option<super::attachments::Judged>,
    /// The SHA-256 of the bytes, under which the document is stored: worked out by intake where
    /// it parses mails side by side ([`Parsed::hash_attachments`]), rather than on the
    /// database's path. `None` otherwise (triage alone needs no hash).
    pub sha256: Option<String>,
}

impl Parsed {
    /// Work out [`RawAttachment::sha256`] of every attachment, of this mail and the mails
    /// forwarded inside it.
    pub fn hash_attachments(&mut self) {
        let mut part = Some(self);
        while let Some(p) = part {
            for a in &mut p.attachments {
                a.sha256 = Some(sha256_hex(&a.bytes));
            }
            part = p.inner.as_deref_mut();
        }
    }
}

/// One mail as far as a person could read it.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Top-level headers in order (topmost first): lowercase name, unfolded value.
    pub headers: Vec<(String, String)>,
    pub message_id: Option<MessageId>,
    pub in_reply_to: Vec<MessageId>,
    pub references: Vec<MessageId>,
    pub subject: String,
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// The Date header, as a calendar date (the year of dates written without one).
    pub date: Option<chrono::NaiveDate>,
    /// Lowercase `type/subtype` of the root part.
    pub content_type: String,
    /// Lowercase content types of every part (delivery reports, calendar replies).
    pub part_types: Vec<String>,
    /// Message-IDs named in returned headers (`text/rfc822-headers` of a delivery report).
    pub returned_ids: Vec<MessageId>,
    /// `METHOD:` of a text/calendar part.
    pub calendar_method: Option<String>,
    /// The readable text of the body.
    pub text: String,
    pub attachments: Vec<RawAttachment>,
    /// The mail forwarded as a `message/rfc822` attachment: the one that counts.
    pub inner: Option<Box<Parsed>>,
    /// What is broken, in words an admin understands.
    pub problems: Vec<String>,
    /// The MIME structure is too broken to trust its parts (wrong boundary, no headers).
    pub structure_broken: bool,
    /// The budgets of `[limits]` this mail broke, each named with its key ("MIME depth 25001 >
    /// 20 (limits.mime_depth)"): the mail is read only as far as they go, and quarantined.
    pub over_budget: Vec<String>,
}

impl Parsed {
    /// The unfolded value of the first (topmost) header with this lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header, topmost first.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse any bytes within the default [`Limits`]. Never panics; an empty or header-less input
/// gives a `Parsed` whose `problems` say so.
pub fn parse(raw: &[u8]) -> Parsed {
    parse_within(raw, &Limits::default())
}

/// Parse any bytes, reading no more than `limits` allow: whatever breaks a budget is named in
/// [`Parsed::over_budget`] and the rest is still read. Never panics, and neither the work nor
/// the memory grows beyond the limits with the mail (a mail larger than `limits.mail_bytes` has
/// only its headers read).
pub fn parse_within(raw: &[u8], limits: &Limits) -> Parsed {
    let mut budget = Budget::new(limits);
    let too_large = raw.len() > limits.mail_bytes;
    let parser = parser();
    let message = if too_large {
        budget.over("mail size", raw.len(), limits.mail_bytes, "limits.mail_mb");
        parser.parse_headers(raw)
    } else {
        parser.parse(raw)
    };
    let Some(message) = message else {
        return Parsed {
            problems: vec!["no mail headers could be read".into()],
            structure_broken: true,
            over_budget: budget.over,
            ..Parsed::default()
        };
    };
    // mail-parser reads nested parts with a stack of its own, but drops a nested
    // `message/rfc822` by recursion: the tree is measured and taken apart here without it.
    let (depth, parts) = shape(&message);
    if depth > limits.mime_depth {
        budget.over("MIME depth", depth, limits.mime_depth, "limits.mime_depth");
    }
    if parts > limits.parts {
        budget.over("MIME parts", parts, limits.parts, "limits.parts");
    }
    let mut parsed = from_message(&message, 0, &mut budget);
    dismantle(message);
    if parsed.headers.is_empty() || parsed.from.is_none() && parsed.message_id.is_none() {
        parsed
            .problems
            .push("the mail has no From and no Message-ID header".into());
        parsed.structure_broken = true;
    }
    let mut inflate_left = limits.inflated_bytes;
    let mut part = Some(&mut parsed);
    while let Some(p) = part {
        for a in &mut p.attachments {
            a.judged = Some(super::attachments::judge_within(
                &a.filename,
                &a.content_type,
                &a.bytes,
                a.problem.as_deref(),
                &mut inflate_left,
            ));
        }
        part = p.inner.as_deref_mut();
    }
    if inflate_left == 0 {
        budget.over_without_count(
            "inflated bytes",
            limits.inflated_bytes,
            "limits.inflated_mb",
        );
    }
    parsed.over_budget = budget.over;
    parsed
}

/// mail-parser as its default reads every header, but for the `Received` trace, which nobody
/// reads parsed (trust reads its raw text from [`Parsed::headers`]): a partner's mail carries a
/// dozen of them, and parsing them was about 5 % of triage. Built once.
fn parser() -> &'static MessageParser {
    use mail_parser::HeaderName as H;
    static PARSER: std::sync::OnceLock<MessageParser> = std::sync::OnceLock::new();
    PARSER.get_or_init(|| {
        // The default's choice per header (mail-parser 0.11, `parsers/header.rs`), spelled out:
        // naming one header switches the default off for all of them.
        let mut p = MessageParser::new().default_header_raw();
        for h in [
            H::Subject,
            H::Comments,
            H::ContentDescription,
            H::ContentLocation,
            H::ContentTransferEncoding,
        ] {
            p = p.header_text(h);
        }
        for h in [
            H::From,
            H::To,
            H::Cc,
            H::Bcc,
            H::ReplyTo,
            H::Sender,
            H::ResentTo,
            H::ResentFrom,
            H::ResentBcc,
            H::ResentCc,
            H::ResentSender,
            H::ListArchive,
            H::ListHelp,
            H::ListId,
            H::ListOwner,
            H::ListPost,
            H::ListSubscribe,
            H::ListUnsubscribe,
        ] {
            p = p.header_address(h);
        }
        for h in [H::Date, H::ResentDate] {
            p = p.header_date(h);
        }
        for h in [
            H::MessageId,
            H::References,
            H::InReplyTo,
            H::ReturnPath,
            H::ContentId,
            H::ResentMessageId,
        ] {
            p = p.header_id(h);
        }
        for h in [H::Keywords, H::ContentLanguage] {
            p = p.header_comma_separated(h);
        }
        for h in [H::ContentType, H::ContentDisposition] {
            p = p.header_content_type(h);
        }
        p.header_raw(H::MimeVersion).ignore_header(H::Received)
    })
}

/// What is left of a mail's [`Limits`] while it is read, and what it broke.
struct Budget<'a> {
    limits: &'a Limits,
    /// Attachments kept so far (a `winmail.dat`'s files count one each).
    attachments: usize,
    /// Attachments not kept because the budget was spent.
    dropped: usize,
    /// Decoded attachment bytes kept so far.
    decoded: usize,
    over: Vec<String>,
}

impl<'a> Budget<'a> {
    fn new(limits: &'a Limits) -> Self {
        Budget {
            limits,
            attachments: 0,
            dropped: 0,
            decoded: 0,
            over: Vec::new(),
        }
    }

    fn over(&mut self, what: &str, found: usize, limit: usize, key: &str) {
        self.note(format!("{what} {found} > {limit} ({key})"));
    }

    fn over_without_count(&mut self, what: &str, limit: usize, key: &str) {
        self.note(format!("{what} > {limit} ({key})"));
    }

    fn note(&mut self, text: String) {
        if !self.over.contains(&text) {
            self.over.push(text);
        }
    }

    /// May one more attachment of `size` bytes be kept? Counts what it refuses.
    fn keep(&mut self, size: usize) -> bool {
        if self.attachments >= self.limits.attachments
            || self.decoded.saturating_add(size) > self.limits.decoded_bytes
        {
            self.dropped += 1;
            return false;
        }
        self.attachments += 1;
        self.decoded += size;
        true
    }

    /// Named once the whole mail is read: how many attachments were left out.
    fn settle_attachments(&mut self) {
        if self.dropped > 0 {
            let found = self.attachments + self.dropped;
            if found > self.limits.attachments {
                self.over(
                    "attachments",
                    found,
                    self.limits.attachments,
                    "limits.attachments",
                );
            } else {
                self.over_without_count(
                    "decoded attachment bytes",
                    self.limits.decoded_bytes,
                    "limits.decoded_mb",
                );
            }
            self.dropped = 0;
            self.attachments = found;
        }
    }
}

/// The nesting depth (the top-level mail is 1, each multipart or `message/rfc822` level one
/// more) and the number of parts of a parsed mail, walked with a stack of its own (linear in
/// the parts mail-parser made).
fn shape(message: &Message<'_>) -> (usize, usize) {
    let (mut deepest, mut parts) = (0, 0);
    let mut messages: Vec<(&Message<'_>, usize)> = vec![(message, 1)];
    while let Some((m, depth)) = messages.pop() {
        let mut inner: Vec<(u32, usize)> = vec![(0, depth)];
        while let Some((id, d)) = inner.pop() {
            let Some(part) = m.parts.get(id as usize) else {
                continue;
            };
            parts += 1;
            deepest = deepest.max(d);
            match &part.body {
                // Children come after their parent: a forged id cannot loop.
                PartType::Multipart(children) => {
                    inner.extend(children.iter().filter(|c| **c > id).map(|c| (*c, d + 1)))
                }
                PartType::Message(nested) => messages.push((nested, d + 1)),
                _ => {}
            }
        }
    }
    (deepest, parts)
}

/// Drop a parsed mail without recursion: mail-parser's own drop of a `message/rfc822` nested
/// 25,000 deep overflowed the stack and aborted the daemon.
fn dismantle(message: Message<'_>) {
    let mut pending = vec![message];
    while let Some(mut m) = pending.pop() {
        for part in &mut m.parts {
            if matches!(part.body, PartType::Message(_)) {
                if let PartType::Message(nested) = std::mem::take(&mut part.body) {
                    pending.push(nested);
                }
            }
        }
    }
}

/// How deep forwarded mails are read (the budget's `mime_depth` bounds the rest).
const MAX_DEPTH: usize = 4;

fn from_message(message: &Message<'_>, depth: usize, budget: &mut Budget<'_>) -> Parsed {
    let limits = budget.limits;
    let mut p = Parsed {
        headers: raw_headers(message, budget),
        ..Parsed::default()
    };
    p.message_id = message.message_id().and_then(MessageId::parse);
    p.in_reply_to = ids(message.in_reply_to());
    p.references = ids(message.references());
    let found = p.in_reply_to.len() + p.references.len();
    if found > limits.references {
        budget.over("references", found, limits.references, "limits.references");
        // The nearest ancestors are the last ones written (RFC 5322 §3.6.4).
        p.in_reply_to.truncate(limits.references);
        let keep = limits.references - p.in_reply_to.len();
        p.references.drain(..p.references.len() - keep);
    }
    p.subject = message.subject().unwrap_or_default().trim().to_string();
    p.from = message.from().and_then(first_mailbox);
    p.reply_to = message.reply_to().and_then(first_mailbox);
    p.to = message.to().map(mailboxes).unwrap_or_default();
    p.cc = message.cc().map(mailboxes).unwrap_or_default();
    p.date = message
        .date()
        .and_then(|d| chrono::NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()));
    let root = message.root_part();
    p.content_type = content_type_of(root);

    let mut texts: Vec<String> = Vec::new();
    let html = |html: &str, budget: &mut Budget<'_>| {
        let read = html_to_text_within(html, limits.text_bytes);
        if read.depth > limits.html_depth {
            budget.over(
                "HTML nesting",
                read.depth,
                limits.html_depth,
                "limits.html_depth",
            );
        }
        read.text
    };
    for id in message.text_body.iter().take(limits.parts) {
        let Some(part) = message.parts.get(*id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(text) => texts.push(readable_text(message, part, text, limits)),
            PartType::Html(h) => texts.push(html(h, budget)),
            _ => {}
        }
    }
    if texts.iter().all(|t| t.trim().is_empty()) {
        // Some clients send only HTML without marking it as the body.
        for id in message.html_body.iter().take(limits.parts) {
            if let Some(PartType::Html(h)) = message.parts.get(*id as usize).map(|p| &p.body) {
                texts.push(html(h, budget));
            }
        }
    }
    p.text = texts.join("\n");
    if p.text.len() > limits.text_bytes {
        p.text.truncate(cut_at(&p.text, limits.text_bytes).len());
        p.problems.push(format!(
            "only the first {} KB of the text are read (limits.text_kb)",
            limits.text_bytes / 1024
        ));
    }
    check_structure(message, &mut p, limits);

    for (index, part) in message.parts.iter().enumerate().take(limits.parts) {
        let ctype = content_type_of(part);
        if index > 0 {
            p.part_types.push(ctype.clone());
        }
        if ctype == "text/rfc822-headers" {
            let text = String::from_utf8_lossy(part.contents()).into_owned();
            p.returned_ids.extend(text.lines().filter_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("message-id")
                    .then(|| MessageId::parse(value))
                    .flatten()
            }));
        }
        if ctype == "text/calendar" {
            if let Some(text) = part.text_contents() {
                p.calendar_method = text.lines().find_map(|l| {
                    l.trim()
                        .strip_prefix("METHOD:")
                        .map(|m| m.trim().to_ascii_uppercase())
                });
            }
        }
    }

    // Every attachment is counted; only those within the budget are copied out.
    for id in &message.attachments {
        let Some(part) = message.parts.get(*id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Message(inner) => {
                if depth < MAX_DEPTH && p.inner.is_none() {
                    p.inner = Some(Box::new(from_message(inner, depth + 1, budget)));
                }
            }
            PartType::Text(_) | PartType::Html(_)
                if part.attachment_name().is_none() && !is_attachment_disposition(part) =>
            {
                // A second text part shown inline (e.g. a disclaimer): part of the body.
            }
            _ => {
                let ctype = content_type_of(part);
                if ctype == "message/delivery-status"
                    || ctype == "message/disposition-notification"
                    || ctype == "text/rfc822-headers"
                    || ctype == "text/calendar" && part.attachment_name().is_none()
                {
                    continue;
                }
                if is_inline_image(part, &ctype) {
                    continue;
                }
                if !budget.keep(part.contents().len()) {
                    continue;
                }
                let attachment = raw_attachment(message, part, ctype);
                if tnef::is_tnef(&attachment.filename, &attachment.content_type) {
                    // The wrapper stands for the files inside it, counted one by one.
                    budget.attachments -= 1;
                    budget.decoded -= attachment.bytes.len();
                    unpack_tnef(&attachment, &mut p, budget);
                } else {
                    p.attachments.push(attachment);
                }
            }
        }
    }
    if p.returned_ids.len() > limits.references {
        let found = p.returned_ids.len();
        budget.over(
            "returned Message-IDs",
            found,
            limits.references,
            "limits.references",
        );
        p.returned_ids.truncate(limits.references);
    }
    if depth == 0 {
        budget.settle_attachments();
    }
    p
}

fn unpack_tnef(attachment: &RawAttachment, p: &mut Parsed, budget: &mut Budget<'_>) {
    let room = budget.limits.attachments.saturating_sub(budget.attachments);
    match tnef::read_at_most(&attachment.bytes, room) {
        Ok(unpacked) => {
            if p.text.trim().is_empty() {
                if let Some(body) = unpacked.body {
                    p.text = body;
                }
            }
            budget.dropped += unpacked.left_out;
            for file in unpacked.attachments {
                if !budget.keep(file.bytes.len()) {
                    continue;
                }
                let content_type = guess_type(&file.filename);
                let problem = file.problem.or_else(|| attachment.problem.clone());
                p.attachments.push(RawAttachment {
                    filename: file.filename,
                    content_type,
                    bytes: file.bytes,
                    problem,
                    judged: None,
                    sha256: None,
                });
            }
        }
        Err(e) => {
            p.problems
                .push(format!("{}: cannot unpack TNEF: {e}", attachment.filename));
            p.attachments.push(RawAttachment {
                problem: Some(format!("TNEF not readable: {e}")),
                ..attachment.clone()
            });
        }
    }
}

/// Headers in order with their raw values unfolded; RFC 2047 words are left as written (callers
/// that need decoded text use the parsed fields).
/// At most `limits.headers` of them, each cut at `limits.header_bytes`; more is over budget.
fn raw_headers(message: &Message<'_>, budget: &mut Budget<'_>) -> Vec<(String, String)> {
    let limits = budget.limits;
    let raw = message.raw_message();
    let headers = &message.root_part().headers;
    if headers.len() > limits.headers {
        budget.over("headers", headers.len(), limits.headers, "limits.headers");
    }
    let mut longest = 0;
    let kept = headers
        .iter()
        .take(limits.headers)
        .map(|h| {
            let start = (h.offset_start as usize).min(raw.len());
            let end = (h.offset_end as usize).clamp(start, raw.len());
            longest = longest.max(end - start);
            let end = end.min(start.saturating_add(limits.header_bytes));
            let value = String::from_utf8_lossy(&raw[start..end]);
            (h.name.as_str().to_ascii_lowercase(), unfold(&value))
        })
        .collect();
    if longest > limits.header_bytes {
        budget.over(
            "header length",
            longest,
            limits.header_bytes,
            "limits.header_kb",
        );
    }
    kept
}

fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in value.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// The well-formed ids of an `In-Reply-To` or `References` header; the others are dropped.
fn ids(value: &HeaderValue<'_>) -> Vec<MessageId> {
    match value {
        HeaderValue::Text(t) => MessageId::parse(t).into_iter().collect(),
        HeaderValue::TextList(list) => list.iter().filter_map(|t| MessageId::parse(t)).collect(),
        _ => Vec::new(),
    }
}

fn mailbox(addr: &mail_parser::Addr<'_>) -> Option<Mailbox> {
    let address = addr.address.as_deref()?.trim().to_ascii_lowercase();
    if !address.contains('@') {
        return None;
    }
    let name = addr
        .name
        .as_deref()
        .map(|n| n.trim().trim_matches('"').trim().to_string())
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&address));
    Some(Mailbox { name, address })
}

fn mailboxes(address: &Address<'_>) -> Vec<Mailbox> {
    match address {
        Address::List(list) => list.iter().filter_map(mailbox).collect(),
        Address::Group(groups) => groups
            .iter()
            .flat_map(|g| g.addresses.iter().filter_map(mailbox))
            .collect(),
    }
}

fn first_mailbox(address: &Address<'_>) -> Option<Mailbox> {
    mailboxes(address).into_iter().next()
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match &ct.c_subtype {
            Some(sub) => format!("{}/{}", ct.c_type, sub).to_ascii_lowercase(),
            None => ct.c_type.to_ascii_lowercase(),
        },
        None => match part.body {
            PartType::Message(_) => "message/rfc822".into(),
            PartType::Html(_) => "text/html".into(),
            PartType::Text(_) => "text/plain".into(),
            _ => "application/octet-stream".into(),
        },
    }
}

fn is_attachment_disposition(part: &MessagePart<'_>) -> bool {
    part.content_disposition()
        .is_some_and(|cd| cd.c_type.eq_ignore_ascii_case("attachment"))
}

/// Logos and pasted pictures in a signature are not documents: inline images with a Content-ID,
/// or Outlook's `image001.png` family.
fn is_inline_image(part: &MessagePart<'_>, ctype: &str) -> bool {
    if !ctype.starts_with("image/") || is_attachment_disposition(part) {
        return false;
    }
    let name = part
        .attachment_name()
        .unwrap_or_default()
        .to_ascii_lowercase();
    part.content_id().is_some()
        || matches!(part.body, PartType::InlineBinary(_))
        || name.starts_with("image0") && name.len() <= 12
        || name.is_empty()
}

fn raw_attachment(message: &Message<'_>, part: &MessagePart<'_>, ctype: String) -> RawAttachment {
    let filename = part
        .attachment_name()
        .map(clean_filename)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| default_name(&ctype));
    let bytes = part.contents().to_vec();
    let problem = transfer_problem(message, part, &bytes);
    RawAttachment {
        filename,
        content_type: ctype,
        bytes,
        problem,
        judged: None,
        sha256: None,
    }
}

/// Names as clients send them: with paths (old Outlook), encoded words left inside quotes, or
/// stray quotes.
fn clean_filename(name: &str) -> String {
    let name = name.trim().trim_matches('"');
    let name = name.rsplit(['\\', '/']).next().unwrap_or(name);
    if name.contains("=?") {
        return super::encoded::decode_words(name);
    }
    name.to_string()
}

fn default_name(ctype: &str) -> String {
    match ctype {
        "application/pdf" => "bijlage.pdf".into(),
        "application/ms-tnef" | "application/vnd.ms-tnef" => "winmail.dat".into(),
        _ => "bijlage".into(),
    }
}

pub fn guess_type(filename: &str) -> String {
    let lower = filename.to_ascii_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or_default();
    match ext {
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "doc" => "application/msword",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// Says what went wrong in transfer: a base64 body whose length is no multiple of four was cut
/// off; a part without its closing boundary ended early.
fn transfer_problem(message: &Message<'_>, part: &MessagePart<'_>, bytes: &[u8]) -> Option<String> {
    let raw = message.raw_message();
    let start = (part.offset_body as usize).min(raw.len());
    let end = (part.offset_end as usize).clamp(start, raw.len());
    let body = &raw[start..end];
    let encoding = part
        .content_transfer_encoding()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if encoding == "base64" {
        // Everything but line breaks and blanks counts as a base64 character (anything else
        // would be a problem of its own); memchr keeps this fast on large attachments.
        let blanks = memchr::memchr3_iter(b'\n', b'\r', b' ', body).count()
            + memchr::memchr_iter(b'\t', body).count();
        let count = body.len() - blanks;
        if !count.is_multiple_of(4) {
            return Some(format!(
                "base64 cut off ({count} characters, not a multiple of 4)"
            ));
        }
    }
    if part.is_encoding_problem {
        return Some("could not be decoded".into());
    }
    if bytes.is_empty() {
        return Some("empty (0 bytes)".into());
    }
    None
}

fn check_structure(message: &Message<'_>, p: &mut Parsed, limits: &Limits) {
    let root = message.root_part();
    let Some(ct) = root.content_type() else {
        return;
    };
    if !ct.c_type.eq_ignore_ascii_case("multipart") {
        return;
    }
    let raw = message.raw_message();
    let body = &raw[(root.offset_body as usize).min(raw.len())..];
    match ct.attribute("boundary") {
        None => {
            p.problems
                .push("multipart mail without a boundary parameter".into());
            p.structure_broken = true;
        }
        Some(boundary) => {
            let open = format!("--{boundary}");
            if find(body, open.as_bytes()).is_none() {
                p.problems.push(format!(
                    "the boundary \"{boundary}\" declared in Content-Type never occurs in the body"
                ));
                p.structure_broken = true;
                // What a person would still read: the raw body as text.
                let body = &body[..body.len().min(limits.text_bytes)];
                p.text = String::from_utf8_lossy(body).into_owned();
            } else if find(body, format!("--{boundary}--").as_bytes()).is_none() {
                p.problems.push(format!(
                    "the mail ends before the closing boundary \"--{boundary}--\" (truncated)"
                ));
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// A text part as a person reads it: format=flowed lines joined, mojibake and undecodable bytes
/// of mislabelled charsets repaired.
/// At most `limits.text_bytes` of it.
fn readable_text(
    message: &Message<'_>,
    part: &MessagePart<'_>,
    text: &str,
    limits: &Limits,
) -> String {
    let mut text = cut_at(text, limits.text_bytes).to_string();
    if text.contains('\u{FFFD}') {
        // Declared UTF-8 (or nothing) but written in windows-1252: decode the raw bytes again.
        if let Some(bytes) = decoded_raw(message, part) {
            if std::str::from_utf8(&bytes).is_err() {
                text = windows_1252(&bytes[..bytes.len().min(limits.text_bytes)]);
            }
        }
    }
    if text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        // Declared ISO-8859-1, written in windows-1252 (Outlook's dashes and quotes): the C1
        // control characters are windows-1252's printable ones.
        text = text
            .chars()
            .map(|c| match c {
                '\u{80}'..='\u{9f}' => windows_1252(&[c as u32 as u8]).chars().next().unwrap_or(c),
                _ => c,
            })
            .collect();
    }
    if text.contains('Ã') || text.contains("â€") {
        // Declared ISO-8859-1 but written in UTF-8: the classic "Ã©".
        if let Some(fixed) = undo_mojibake(&text) {
            text = fixed;
        }
    }
    if let Some(ct) = part.content_type() {
        if ct
            .attribute("format")
            .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
        {
            let delsp = ct
                .attribute("delsp")
                .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
            text = unflow(&text, delsp);
        }
    }
    text
}

fn decoded_raw(message: &Message<'_>, part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let raw = message.raw_message();
    let start = (part.offset_body as usize).min(raw.len());
    let end = (part.offset_end as usize).clamp(start, raw.len());
    let body = &raw[start..end];
    match part
        .content_transfer_encoding()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "quoted-printable" => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
        }
        "base64" => mail_parser::decoders::base64::base64_decode(body),
        _ => Some(body.to_vec()),
    }
}

fn undo_mojibake(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    for c in text.chars() {
        let code = c as u32;
        if code < 0x100 {
            bytes.push(code as u8);
        } else {
            // windows-1252 high characters back to their byte.
            let b = match c {
                '€' => 0x80,
                '‚' => 0x82,
                '„' => 0x84,
                '…' => 0x85,
                '‘' => 0x91,
                '’' => 0x92,
                '“' => 0x93,
                '”' => 0x94,
                '–' => 0x96,
                '—' => 0x97,
                '™' => 0x99,
                _ => return None,
            };
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

/// RFC 3676: a line ending in a space continues on the next; `delsp=yes` drops that space.
fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let quoted = line.starts_with('>');
        let line = if !quoted {
            line.strip_prefix(' ').unwrap_or(line)
        } else {
            line
        };
        if line.ends_with(' ') && line != "-- " {
            let line = if delsp { &line[..line.len() - 1] } else { line };
            out.push_str(line);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flowed_lines_are_joined() {
        assert_eq!(
            unflow("Dit is een \nlange zin.\n", false),
            "Dit is een lange zin.\n\n"
        );
    }

    #[test]
    fn windows_1252_dashes_declared_as_latin1_are_repaired() {
        let raw = b"From: a@b.be\r\nMessage-ID: <x@y>\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nTeam \x96 Wonen\r\n";
        assert!(parse(raw).text.contains("Team – Wonen"));
    }

    #[test]
    fn utf8_read_as_latin1_is_repaired() {
        assert_eq!(undo_mojibake("CliÃ«nt").as_deref(), Some("Cliënt"));
    }

    #[test]
    fn empty_input_is_a_problem_not_a_panic() {
        let p = parse(b"");
        assert!(p.structure_broken);
    }

    #[test]
    fn attachments_are_hashed_only_when_asked_also_inside_a_forwarded_mail() {
        let raw = b"From: a@b.be\r\nMessage-ID: <x@y>\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n\
--o\r\nContent-Type: text/plain\r\n\r\nZie bijlagen.\r\n\
--o\r\nContent-Type: application/pdf; name=\"buiten.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nYWJj\r\n\
--o\r\nContent-Type: message/rfc822\r\n\r\n\
From: c@d.be\r\nMessage-ID: <i@y>\r\nContent-Type: multipart/mixed; boundary=\"i\"\r\n\r\n\
--i\r\nContent-Type: text/plain\r\n\r\nAanmelding.\r\n\
--i\r\nContent-Type: application/pdf; name=\"binnen.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nZGVm\r\n\
--i--\r\n\
--o--\r\n";
        let mut p = parse(raw);
        let inner = p.inner.as_deref().expect("the forwarded mail");
        assert_eq!(inner.attachments.len(), 1);
        assert!(p
            .attachments
            .iter()
            .chain(&inner.attachments)
            .all(|a| a.sha256.is_none()));

        p.hash_attachments();
        let outer = p
            .attachments
            .iter()
            .find(|a| a.filename == "buiten.pdf")
            .expect("outer");
        assert_eq!(
            outer.sha256.as_deref(),
            Some(crate::store::sha256_hex(b"abc").as_str())
        );
        let inner = &p.inner.as_deref().expect("the forwarded mail").attachments[0];
        assert_eq!(inner.filename, "binnen.pdf");
        assert_eq!(
            inner.sha256.as_deref(),
            Some(crate::store::sha256_hex(b"def").as_str())
        );
    }

    #[test]
    fn wrong_boundary_is_reported() {
        let raw = b"From: a@b.be\r\nMessage-ID: <x@y>\r\nContent-Type: multipart/mixed; boundary=\"abc\"\r\n\r\n--xyz\r\nContent-Type: text/plain\r\n\r\nHallo\r\n--xyz--\r\n";
        let p = parse(raw);
        assert!(p.structure_broken);
        assert!(p.problems[0].contains("abc"));
        assert!(p.text.contains("Hallo"));
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut raw = b"From: a@b.be\r\nMessage-ID: <n@y>\r\nSubject: genest\r\n".to_vec();
        for _ in 0..depth {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"From: c@d.be\r\nSubject: bodem\r\n\r\nHallo\r\n");
        raw
    }

    #[test]
    fn a_message_nested_25000_deep_is_over_budget_not_a_stack_overflow() {
        // Without the measured, iterative drop this aborts the test binary (stack overflow).
        let p = parse(&nested(25_000));
        assert!(
            p.over_budget
                .iter()
                .any(|o| o.starts_with("MIME depth 25001 > 20 (limits.mime_depth)")),
            "{:?}",
            p.over_budget
        );
        assert_eq!(
            p.message_id.as_ref().map(MessageId::bare),
            Some("n@y"),
            "the top is still read"
        );
        let shallow = parse(&nested(3));
        assert!(shallow.over_budget.is_empty(), "{:?}", shallow.over_budget);
    }

    #[test]
    fn too_many_references_keep_the_nearest_and_are_over_budget() {
        let mut raw =
            b"From: a@b.be\r\nMessage-ID: <x@y>\r\nIn-Reply-To: <p@y>\r\nReferences:".to_vec();
        for i in 0..16_383 {
            raw.extend_from_slice(format!(" <r{i}@y>\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\nHallo\r\n");
        let p = parse(&raw);
        let bare = |ids: &[MessageId]| ids.iter().map(|i| i.bare().to_string()).collect::<Vec<_>>();
        assert_eq!(bare(&p.in_reply_to), ["p@y"]);
        assert_eq!(p.references.len(), 499);
        assert_eq!(p.references.last().map(MessageId::bare), Some("r16382@y"));
        assert!(
            p.over_budget
                .iter()
                .any(|o| o == "references 16384 > 500 (limits.references)"),
            "{:?}",
            p.over_budget
        );
    }

    #[test]
    fn a_mail_with_5000_attachments_still_has_its_first_documents_judged() {
        let mut raw = b"From: a@b.be\r\nMessage-ID: <x@y>\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nAanmelding.\r\n".to_vec();
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Length 20 >>\nstream\nBT (Sociaal verslag) Tj ET\nendstream\nendobj\n%%EOF\n";
        raw.extend_from_slice(
            b"--o\r\nContent-Type: application/pdf; name=\"sociaal verslag.pdf\"\r\n\r\n",
        );
        raw.extend_from_slice(pdf);
        raw.extend_from_slice(
            b"\r\n--o\r\nContent-Type: application/pdf; name=\"addendum.pdf\"\r\n\r\n",
        );
        raw.extend_from_slice(pdf);
        for i in 0..5_000 {
            raw.extend_from_slice(
                format!(
                    "\r\n--o\r\nContent-Type: application/octet-stream; name=\"f{i}.bin\"\r\n\r\nx"
                )
                .as_bytes(),
            );
        }
        raw.extend_from_slice(b"\r\n--o--\r\n");
        let limits = Limits::default();
        let p = parse_within(&raw, &limits);
        assert_eq!(p.attachments.len(), limits.attachments);
        assert_eq!(p.attachments[0].filename, "sociaal verslag.pdf");
        assert!(p.attachments[1].judged.is_some());
        assert!(
            p.over_budget
                .iter()
                .any(|o| o == "attachments 5002 > 200 (limits.attachments)"),
            "{:?}",
            p.over_budget
        );
    }

    #[test]
    fn a_mail_over_the_size_limit_has_only_its_headers_read() {
        let limits = Limits {
            mail_bytes: 1024,
            ..Limits::default()
        };
        let mut raw = b"From: a@b.be\r\nMessage-ID: <x@y>\r\nSubject: groot\r\n\r\n".to_vec();
        raw.resize(4096, b'a');
        let p = parse_within(&raw, &limits);
        assert_eq!(p.subject, "groot");
        assert!(p.text.is_empty());
        assert_eq!(p.over_budget, ["mail size 4096 > 1024 (limits.mail_mb)"]);
    }

    #[test]
    fn a_50_mb_line_is_read_only_as_far_as_the_text_limit() {
        let limits = Limits::default();
        let mut raw = b"From: a@b.be\r\nMessage-ID: <x@y>\r\n\r\n".to_vec();
        raw.resize(raw.len() + 50 * 1024 * 1024, b'a');
        let (p, allocated) = crate::counted::allocated(|| parse_within(&raw, &limits));
        assert_eq!(p.text.len(), limits.text_bytes);
        assert!(
            p.over_budget.is_empty(),
            "a long text is cut, not quarantined"
        );
        assert!(
            allocated < raw.len() / 2,
            "{allocated} bytes allocated for a {} byte mail",
            raw.len()
        );
    }
}
