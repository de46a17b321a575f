//! Who really sent a mail: the sender's address is only believed as far as the landlord's own
//! receiving server vouches for it, read from the header that server writes
//! ([`TrustAnchor`], `organisation.trust` / `organisation.authserv_id`).
//!
//! # Which header counts
//! - **authserv-id** (an own MX with rspamd, OpenDMARC, …): the topmost `Authentication-Results`
//!   carrying that id. RFC 8601 §5: a receiver must ignore results from ids it does not control,
//!   and its own server prepends its header above anything the sender wrote, so the topmost one
//!   with our id is ours; a lower one with our id is a forgery and is not read.
//! - **Exchange Online**: Microsoft writes `Authentication-Results` *without* an authserv-id
//!   (`spf=pass (sender IP is …) smtp.mailfrom=…; dkim=pass … header.d=…; dmarc=pass
//!   action=none header.from=…;compauth=pass reason=100`; see Microsoft's "Anti-spam message
//!   headers in Microsoft 365", section "Authentication-results message header", and
//!   emersion/go-msgauth#64, MimeKit#490/#527, OpenDKIM#73 / PR#372, OpenDMARC PR#329 for
//!   parsers that meet it). It can only be trusted by position: Exchange Online Protection stamps
//!   every message from outside the tenant and prepends its header, so the topmost
//!   `Authentication-Results` is Microsoft's when it has Microsoft's shape (no authserv-id, a
//!   `dmarc` or `compauth` result); one with an authserv-id on top means Exchange wrote none and
//!   nothing is verified. The tenant's own staff are recognised by
//!   `X-MS-Exchange-Organization-AuthAs: Internal` (Exchange removes `X-MS-Exchange-Organization-*`
//!   headers arriving from outside and writes its own: `Anonymous` for outside mail) together with
//!   a From in the tenant's domains (`staff_domains`, the shared mailbox's domain). Mail sent
//!   inside the tenant carries no Exchange verdict, so a `Authentication-Results` in it is never
//!   read: a From outside the tenant's domains on internal mail is not verified.
//! - **Google Workspace**: the topmost `Authentication-Results` of `mx.google.com`. Without one,
//!   Google's ARC set as Google writes it: the `ARC-Authentication-Results` of the highest
//!   instance, from `mx.google.com`, sealed by `d=google.com` in the `ARC-Seal` of the same
//!   instance, and standing above the topmost `Received: … by mx.google.com` (where the mail
//!   entered Google: Google writes its set after that, above it; a set the sender wrote, like
//!   any header the sender wrote, stands below it).
//! - **none**: the From address is taken as given; obvious spoofs are still caught (a failing
//!   topmost result, which only hurts a forger, and mail "from" our own people whose envelope,
//!   Reply-To or Message-ID comes from outside). `doorstroom check` warns on every run.
//!
//! # The rule for each result
//! Results are parsed as RFC 8601 §2.2 writes them ([`parse_results`]: comments, quoted
//! strings, `method/version`, `reason=`, `ptype.property=` such as `header.from`, `policy.*`,
//! several results of one method) and as Microsoft writes them (no authserv-id, properties cut
//! off by a `;`, stray tokens such as `smtp.mailfrom=x.com; receivingdomain.com;`, which are
//! skipped). In this order:
//! 1. `dmarc=fail` → spoof (RFC 7489 §6.6.2: the From domain's owner says this mail is not
//!    theirs).
//! 2. `compauth=fail` → spoof (Microsoft: composite authentication failed, Microsoft considers
//!    the sender spoofed, explicitly (reason 000) or implicitly (001, 6xx)).
//! 3. `dmarc=pass` with `header.from` equal to the From domain → verified (RFC 7489 §3.1:
//!    `header.from` is the domain DMARC authenticated). `dmarc=bestguesspass` counts the same:
//!    Microsoft writes it when the domain publishes no DMARC record but SPF or DKIM passed aligned
//!    with it ("if one had existed, the DMARC check would have passed"), i.e. the From domain was
//!    authenticated, only its owner stated no policy; many small partners publish none. A DMARC
//!    pass without `header.from`, or for another domain than From, is no pass: when nothing
//!    else passes for the From domain it is a spoof (a forged or misdirected pass).
//! 4. No DMARC verdict (`dmarc` absent, `none`, `temperror`, `permerror`): `dkim=pass` with
//!    `header.d` (or `header.i`) aligned with the From domain, or `spf=pass` with `smtp.mailfrom`
//!    aligned, → verified (relaxed alignment, RFC 7489 §3.1.1/§3.1.2: what DMARC itself would
//!    have checked).
//! 5. `compauth=pass` alone (Microsoft's implicit authentication, reasons 1xx/7xx, built on its
//!    own reputation data) and `compauth=softpass` (2xx) never verify a sender: they say
//!    Microsoft let the mail in, not that the From domain was authenticated.
//! 6. Anything else: not verified. A partner's or our own address that is not verified is a
//!    spoof (quarantined, no case data); another sender is unverified (an unknown sender),
//!    unless a result failed (`fail`, `softfail`, `permerror`), which makes it a spoof too.
//!
//! A verified sender is then a partner only when that domain or address belongs to the partner
//! (`classify` asks `Config::partner_of_address` for the very address verified here).
//!
//! # Our own copies
//! The outbox puts the shared mailbox in the envelope of every mail it sends (the proof of
//! sending its exactly-once ledger looks for), so our own mails come back: a Message-ID minted by
//! `doorstroom` under our mail domain ([`Config::is_own_message_id`]) and From the shared
//! mailbox. Such a mail is [`Trust::OwnCopy`] (filed, never quarantined, never a spoof) when
//! the anchor vouches for it where it can (Exchange: sent inside the tenant, `AuthAs: Internal`;
//! Google: DMARC passed for our domain) and, with an own MX (which may add no results to mail
//! we submitted) or no anchor, when its verdict is no failure. A copy the anchor does not vouch
//! for, or fails (our domain fails DMARC, Exchange's `compauth=fail`), is a spoof like any
//! other. Known limit: with an own MX and no DMARC record for our domain, someone who forges
//! our From and our Message-ID form gets a mail filed as `own_copy` (no case data, no answer).
//!
//! This module never reads anything but headers, and never trusts a header for its content
//! alone: only for who wrote it, which only its position and the anchor can say.

use super::parse::Parsed;
use super::MessageId;
use crate::config::{Config, TrustAnchor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Our server verified the From domain.
    Verified(String),
    /// No trust anchor: taken as given.
    Accepted(String),
    /// Forged or failing authentication.
    Spoof(String),
    /// A trust anchor is configured but nothing verifies this sender.
    Unverified(String),
    /// A copy of a mail `doorstroom` itself sent, come back to the shared mailbox.
    OwnCopy(String),
}

impl Trust {
    pub fn reason(&self) -> &str {
        match self {
            Trust::Verified(r)
            | Trust::Accepted(r)
            | Trust::Spoof(r)
            | Trust::Unverified(r)
            | Trust::OwnCopy(r) => r,
        }
    }

    /// Short English label for logs and `check --connect`.
    pub fn label(&self) -> &'static str {
        match self {
            Trust::Verified(_) => "verified",
            Trust::Accepted(_) => "accepted",
            Trust::Spoof(_) => "spoof",
            Trust::Unverified(_) => "unverified",
            Trust::OwnCopy(_) => "own_copy",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 8601 parsing
// ---------------------------------------------------------------------------------------------

/// One `Authentication-Results` header, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthResults {
    /// Lowercase; `None` when the header starts directly with `method=result` (Microsoft).
    pub authserv_id: Option<String>,
    pub results: Vec<MethodResult>,
}

/// One `method=result` with its reason and properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodResult {
    /// Lowercase, without a `/version`.
    pub method: String,
    /// Lowercase.
    pub result: String,
    /// `reason=` as written (quotes removed).
    pub reason: Option<String>,
    /// `ptype.property` (and Microsoft's `action`) → value, both lowercase, in order.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Semi,
    Equals,
}

impl Token {
    fn text(&self) -> Option<&str> {
        match self {
            Token::Word(s) | Token::Quoted(s) => Some(s),
            _ => None,
        }
    }
}

/// Words, quoted strings, `;` and `=`; comments (nested, with `\` escapes) and white space
/// dropped (RFC 5322 §3.2.2 CFWS, §3.2.4 quoted-string).
fn tokens(value: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = value.chars();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                let mut depth = 1usize;
                while depth > 0 {
                    match chars.next() {
                        None => break,
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                    }
                }
            }
            '"' => {
                flush(&mut word, &mut out);
                let mut quoted = String::new();
                loop {
                    match chars.next() {
                        None | Some('"') => break,
                        Some('\\') => quoted.extend(chars.next()),
                        Some(q) => quoted.push(q),
                    }
                }
                out.push(Token::Quoted(quoted));
            }
            ';' => {
                flush(&mut word, &mut out);
                out.push(Token::Semi);
            }
            '=' => {
                flush(&mut word, &mut out);
                out.push(Token::Equals);
            }
            ')' => flush(&mut word, &mut out),
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// `key = value` pairs of one `;`-separated part; words outside a pair are dropped.
fn pairs(part: &[Token]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < part.len() {
        match (&part[i], part.get(i + 1)) {
            (Token::Word(key), Some(Token::Equals)) => {
                let value = part.get(i + 2).and_then(Token::text);
                out.push((key.to_ascii_lowercase(), value.unwrap_or("").to_string()));
                i += if value.is_some() { 3 } else { 2 };
            }
            _ => i += 1,
        }
    }
    out
}

/// Parse one `Authentication-Results` (or `ARC-Authentication-Results` after its `i=N;`) value.
/// Total: any text gives a value, never a panic.
pub fn parse_results(value: &str) -> AuthResults {
    let toks = tokens(value);
    let mut parts = toks.split(|t| *t == Token::Semi);
    let first = parts.next().unwrap_or_default();
    let mut out = AuthResults::default();
    let mut rest: Vec<&[Token]> = Vec::new();
    if first.contains(&Token::Equals) {
        // Microsoft: no authserv-id, the first part is already a result.
        rest.push(first);
    } else {
        out.authserv_id = Some(
            first
                .first()
                .and_then(Token::text)
                .unwrap_or("")
                .to_ascii_lowercase(),
        );
    }
    rest.extend(parts);
    for part in rest {
        let pairs = pairs(part);
        let Some(((key, value), more)) = pairs.split_first() else {
            // `none` (RFC 8601 no-result), or Microsoft's stray `receivingdomain.com`.
            continue;
        };
        let continues = key.contains('.') || key == "action" || key == "reason";
        match out.results.last_mut() {
            // Microsoft cuts a result's properties off with `;` (`dmarc=pass action=none;
            // header.from=x.be`): they belong to the result before.
            Some(last) if continues => {
                for (k, v) in &pairs {
                    add_property(last, k, v);
                }
            }
            _ if continues => {}
            _ => {
                let mut result = MethodResult {
                    method: key.split('/').next().unwrap_or("").to_string(),
                    result: value.to_ascii_lowercase(),
                    ..MethodResult::default()
                };
                for (k, v) in more {
                    add_property(&mut result, k, v);
                }
                out.results.push(result);
            }
        }
    }
    out
}

fn add_property(result: &mut MethodResult, key: &str, value: &str) {
    if key == "reason" {
        result.reason.get_or_insert_with(|| value.to_string());
    } else {
        result
            .props
            .push((key.to_string(), value.to_ascii_lowercase()));
    }
}

// ---------------------------------------------------------------------------------------------
// Judging
// ---------------------------------------------------------------------------------------------

fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

fn same_domain(a: &str, b: &str) -> bool {
    let clean = |d: &str| {
        d.trim()
            .trim_start_matches('@')
            .trim_end_matches('.')
            .to_ascii_lowercase()
    };
    let (a, b) = (clean(a), clean(b));
    !a.is_empty() && a == b
}

/// Relaxed alignment (RFC 7489 §3.1): the same domain or one is a subdomain of the other.
fn aligned(a: &str, b: &str) -> bool {
    let a = a.trim().trim_start_matches('@');
    let b = b.trim().trim_start_matches('@');
    !a.is_empty()
        && !b.is_empty()
        && (a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}")))
}

/// Judge the sender address `from` of `mail`.
pub fn assess(mail: &Parsed, from: &str, config: &Config) -> Trust {
    let own = from == config.organisation.shared_mailbox
        && mail
            .message_id
            .as_ref()
            .is_some_and(|id| config.is_own_message_id(id.as_str()));
    // A copy of our own mail is judged like a stranger's: only a failure makes it a spoof.
    let claims_ours = !own && (config.is_staff(from) || config.partner_of_address(from).is_some());
    let verdict = anchored(mail, from, config, claims_ours);
    // Where the anchor can vouch for our own mail it must (Exchange: sent inside the tenant;
    // Google: DMARC passed for our domain); an own MX may add no results to what we submitted.
    let vouched = match &config.organisation.trust {
        TrustAnchor::ExchangeOnline | TrustAnchor::GoogleWorkspace => {
            matches!(verdict, Trust::Verified(_))
        }
        TrustAnchor::AuthservId(_) | TrustAnchor::None { .. } => true,
    };
    match verdict {
        Trust::Spoof(why) if own => {
            Trust::Spoof(format!("looks like a copy of our own mail, but {why}"))
        }
        Trust::Spoof(why) => Trust::Spoof(why),
        _ if own && !vouched => Trust::Spoof(format!(
            "looks like a copy of our own mail, but {} does not vouch for it",
            config.organisation.trust.key()
        )),
        _ if own => Trust::OwnCopy(format!(
            "own_copy: a mail doorstroom sent itself (Message-ID {}), come back to {}",
            mail.message_id.as_ref().map_or("", MessageId::as_str),
            config.organisation.shared_mailbox
        )),
        other => other,
    }
}

/// The sender and the verdict on a mail's header block alone (`check --connect` reads only
/// headers). `None` and a spoof-free "no From" reason when there is no From address.
pub fn judge_headers(header_block: &[u8], config: &Config) -> (Option<String>, Trust) {
    let mut bytes = header_block.to_vec();
    bytes.extend_from_slice(b"\r\n");
    let parsed = super::parse::parse(&bytes);
    match parsed.from.as_ref().map(|m| m.address.clone()) {
        Some(from) => {
            let trust = assess(&parsed, &from, config);
            (Some(from), trust)
        }
        None => (
            None,
            Trust::Unverified("no From address could be read".into()),
        ),
    }
}

/// What the configured anchor says, before our own copies are recognised.
fn anchored(mail: &Parsed, from: &str, config: &Config, claims_ours: bool) -> Trust {
    let from_domain = domain(from);
    match &config.organisation.trust {
        TrustAnchor::AuthservId(id) => {
            let ours = mail
                .headers_named("authentication-results")
                .map(parse_results)
                .find(|ar| ar.authserv_id.as_deref() == Some(id));
            match ours {
                Some(ar) => judge(&ar.results, from_domain, id, claims_ours),
                None => unanchored(
                    format!(
                    "no Authentication-Results from our own server `{id}`: the sender {from} cannot be verified"
                ),
                    claims_ours,
                ),
            }
        }
        TrustAnchor::ExchangeOnline => exchange(mail, from, config, claims_ours),
        TrustAnchor::GoogleWorkspace => match google(mail) {
            Some((results, source)) => judge(&results, from_domain, source, claims_ours),
            None => unanchored(
                format!("no Authentication-Results or ARC set from mx.google.com: the sender {from} cannot be verified"),
                claims_ours,
            ),
        },
        TrustAnchor::None { .. } => no_anchor(mail, from, config),
    }
}

fn unanchored(reason: String, claims_ours: bool) -> Trust {
    if claims_ours {
        Trust::Spoof(reason)
    } else {
        Trust::Unverified(reason)
    }
}

fn exchange(mail: &Parsed, from: &str, config: &Config, claims_ours: bool) -> Trust {
    let from_domain = domain(from);
    if internal_to_tenant(mail) {
        let tenant = config
            .organisation
            .staff_domains
            .iter()
            .any(|d| same_domain(d, from_domain));
        return if tenant {
            Trust::Verified(format!(
                "Exchange Online: sent inside the tenant (X-MS-Exchange-Organization-AuthAs: Internal) from our domain {from_domain}"
            ))
        } else {
            unanchored(
                format!("Exchange Online: sent inside the tenant, but From {from} is not one of the tenant's domains"),
                claims_ours,
            )
        };
    }
    let topmost = mail
        .headers_named("authentication-results")
        .next()
        .map(parse_results);
    match topmost {
        Some(ar)
            if ar.authserv_id.is_none()
                && ar
                    .results
                    .iter()
                    .any(|r| r.method == "dmarc" || r.method == "compauth") =>
        {
            judge(&ar.results, from_domain, "Exchange Online", claims_ours)
        }
        _ => unanchored(
            format!("no Authentication-Results from Exchange Online on top: the sender {from} cannot be verified"),
            claims_ours,
        ),
    }
}

/// Exchange says the mail was sent inside the tenant: `X-MS-Exchange-Organization-AuthAs:
/// Internal`, and no other value beside it (Exchange strips these headers from outside mail
/// and writes its own; should one ever slip through, it disagrees with Exchange's).
fn internal_to_tenant(mail: &Parsed) -> bool {
    let mut values = mail
        .headers_named("x-ms-exchange-organization-authas")
        .peekable();
    values.peek().is_some() && values.all(|v| v.trim().eq_ignore_ascii_case("internal"))
}

/// Google's verdict: its topmost `Authentication-Results`, else its own ARC set (see the module
/// header for when that is Google's).
fn google(mail: &Parsed) -> Option<(Vec<MethodResult>, &'static str)> {
    const GOOGLE: &str = "mx.google.com";
    if let Some(ar) = mail
        .headers_named("authentication-results")
        .map(parse_results)
        .find(|ar| ar.authserv_id.as_deref() == Some(GOOGLE))
    {
        return Some((ar.results, GOOGLE));
    }
    // Where the mail entered Google: the topmost `Received: … by mx.google.com`. Anything a
    // sender wrote stands below it (a forged one too), Google's ARC set above it.
    let entered_google = mail.headers.iter().position(|(n, v)| {
        n == "received" && {
            let v = v.to_ascii_lowercase();
            v.split_whitespace()
                .skip_while(|w| *w != "by")
                .nth(1)
                .is_some_and(|host| host == GOOGLE)
        }
    })?;
    let instance = |value: &str| -> Option<(u32, String)> {
        let (head, rest) = value.split_once(';')?;
        let (key, n) = head.trim().split_once('=')?;
        (key.trim().eq_ignore_ascii_case("i"))
            .then(|| n.trim().parse().ok())
            .flatten()
            .map(|n| (n, rest.to_string()))
    };
    // The highest instance among every ARC-Authentication-Results (a sender may write more).
    let (pos, i, rest) = mail
        .headers
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| n == "arc-authentication-results")
        .filter_map(|(pos, (_, v))| instance(v).map(|(i, rest)| (pos, i, rest)))
        .max_by_key(|(pos, i, _)| (*i, std::cmp::Reverse(*pos)))?;
    if pos > entered_google {
        return None;
    }
    let sealed = mail.headers.iter().any(|(n, v)| {
        n == "arc-seal" && {
            let tags: Vec<(String, String)> = v
                .split(';')
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
                .collect();
            let tag = |k: &str| tags.iter().find(|(t, _)| t == k).map(|(_, v)| v.as_str());
            tag("i").and_then(|n| n.parse::<u32>().ok()) == Some(i)
                && tag("d") == Some("google.com")
        }
    });
    let ar = parse_results(&rest);
    (sealed && ar.authserv_id.as_deref() == Some(GOOGLE))
        .then_some((ar.results, "mx.google.com (ARC)"))
}

fn judge(results: &[MethodResult], from_domain: &str, source: &str, claims_ours: bool) -> Trust {
    let of = |m: &'static str| results.iter().filter(move |r| r.method == m);
    if let Some(r) = of("dmarc").find(|r| r.result == "fail") {
        return Trust::Spoof(format!(
            "dmarc=fail for {} in the Authentication-Results of {source}",
            r.prop("header.from").unwrap_or(from_domain)
        ));
    }
    if let Some(r) = of("compauth").find(|r| r.result == "fail") {
        return Trust::Spoof(format!(
            "compauth=fail reason={} for {from_domain} from {source} (Microsoft considers the sender spoofed)",
            r.reason.as_deref().unwrap_or("?")
        ));
    }
    let dmarc_pass = |r: &&MethodResult| matches!(r.result.as_str(), "pass" | "bestguesspass");
    if let Some(r) = of("dmarc").filter(dmarc_pass).find(|r| {
        r.prop("header.from")
            .is_some_and(|d| same_domain(d, from_domain))
    }) {
        return Trust::Verified(format!("dmarc={} for {from_domain} ({source})", r.result));
    }
    if let Some(r) = of("dmarc").find(dmarc_pass) {
        return Trust::Spoof(format!(
            "dmarc={} was for {}, not for the From domain {from_domain} (a pass for another domain is no pass)",
            r.result,
            r.prop("header.from").filter(|d| !d.is_empty()).unwrap_or("no domain")
        ));
    }
    if of("dkim").any(|r| {
        r.result == "pass"
            && r.prop("header.d")
                .or_else(|| r.prop("header.i"))
                .is_some_and(|d| aligned(d, from_domain))
    }) {
        return Trust::Verified(format!("dkim=pass aligned with {from_domain} ({source})"));
    }
    if of("spf").any(|r| {
        r.result == "pass"
            && r.prop("smtp.mailfrom").is_some_and(|d| {
                let d = if d.contains('@') { domain(d) } else { d };
                aligned(d, from_domain)
            })
    }) {
        return Trust::Verified(format!("spf=pass aligned with {from_domain} ({source})"));
    }
    let failed = results
        .iter()
        .filter(|r| matches!(r.result.as_str(), "fail" | "softfail" | "permerror"))
        .map(|r| format!("{}={}", r.method, r.result))
        .collect::<Vec<_>>();
    let reason = if failed.is_empty() {
        format!("no aligned dmarc/dkim/spf pass for {from_domain} from {source}")
    } else {
        format!("{} for {from_domain} from {source}", failed.join(", "))
    };
    if claims_ours || !failed.is_empty() {
        Trust::Spoof(reason)
    } else {
        Trust::Unverified(reason)
    }
}

/// No anchor: taken as given, but obvious spoofs are still caught.
fn no_anchor(mail: &Parsed, from: &str, config: &Config) -> Trust {
    if let Some(ar) = mail
        .headers_named("authentication-results")
        .map(parse_results)
        .next()
    {
        if let Some(m) = ar
            .results
            .iter()
            .find(|m| m.method == "dmarc" && m.result == "fail")
        {
            return Trust::Spoof(format!(
                "the topmost Authentication-Results ({}) says dmarc={} for {from}",
                ar.authserv_id.as_deref().unwrap_or("without authserv-id"),
                m.result
            ));
        }
    }
    if config.is_staff(from) {
        if let Some(reason) = staff_from_outside(mail, from, config) {
            return Trust::Spoof(reason);
        }
    }
    Trust::Accepted(format!(
        "no trust anchor configured (trust = \"none\"): the From address {from} is taken as given"
    ))
}

/// Mail "from" our own people that plainly came from elsewhere.
fn staff_from_outside(mail: &Parsed, from: &str, config: &Config) -> Option<String> {
    let ours = |address: &str| config.is_staff(address) || domain(address) == config.mail_domain();
    if let Some(rp) = mail.header("return-path") {
        let rp = rp
            .trim()
            .trim_matches(|c| c == '<' || c == '>')
            .to_ascii_lowercase();
        if rp.contains('@') && !ours(&rp) {
            return Some(format!(
                "From says {from} (our own) but the envelope sender is {rp}"
            ));
        }
    }
    if let Some(reply_to) = &mail.reply_to {
        if !ours(&reply_to.address) && config.partner_of_address(&reply_to.address).is_none() {
            return Some(format!(
                "From says {from} (our own) but replies go to {}",
                reply_to.address
            ));
        }
    }
    if from == config.organisation.shared_mailbox {
        let id_domain = mail.message_id.as_ref().map(MessageId::domain);
        if id_domain.as_deref() != Some(config.mail_domain()) {
            return Some(format!(
                "From says our shared mailbox {from}, but its Message-ID was not made by us"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(value: &str) -> AuthResults {
        parse_results(value)
    }

    #[test]
    fn results_are_parsed_with_comments_removed() {
        let ar = results(
            "mx.woonhaven.example; dkim=pass (2048-bit key) header.d=caw.be; dmarc=pass (p=none) header.from=caw.be",
        );
        assert_eq!(ar.authserv_id.as_deref(), Some("mx.woonhaven.example"));
        assert_eq!(ar.results.len(), 2);
        assert_eq!(ar.results[1].prop("header.from"), Some("caw.be"));
    }

    #[test]
    fn rfc8601_forms_are_parsed() {
        // RFC 8601 appendix B examples, and the forms OpenDMARC and rspamd write.
        type Case<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            ("example.com; none", Some("example.com"), &[]),
            (
                "example.com 1; spf=pass (comment; with = signs) smtp.mailfrom=example.net",
                Some("example.com"),
                &[("spf", "pass")],
            ),
            (
                "mx.example.org; dkim/1=pass reason=\"good; signature\" header.i=@mail-router.example.net; dkim=fail reason=\"bad signature\" header.i=@newyork.example.com",
                Some("mx.example.org"),
                &[("dkim", "pass"), ("dkim", "fail")],
            ),
            (
                "\"quoted.id\"; dmarc=pass (p=reject dis=none) header.from=caw.be policy.dmarc=reject",
                Some("quoted.id"),
                &[("dmarc", "pass")],
            ),
            (
                "(comment (nested \\) still)) mx.x; auth=pass smtp.auth=an",
                Some("mx.x"),
                &[("auth", "pass")],
            ),
        ];
        for (value, id, expected) in cases {
            let ar = results(value);
            assert_eq!(ar.authserv_id.as_deref(), *id, "{value}");
            let got: Vec<(&str, &str)> = ar
                .results
                .iter()
                .map(|r| (r.method.as_str(), r.result.as_str()))
                .collect();
            assert_eq!(&got, expected, "{value}");
        }
        let ar = results(
            "mx.example.org; dkim/1=pass reason=\"good; signature\" header.i=@mail-router.example.net",
        );
        assert_eq!(ar.results[0].reason.as_deref(), Some("good; signature"));
        assert_eq!(
            ar.results[0].prop("header.i"),
            Some("@mail-router.example.net")
        );
        let ar = results("mx; dmarc=pass header.from=caw.be policy.dmarc=reject");
        assert_eq!(ar.results[0].prop("policy.dmarc"), Some("reject"));
    }

    #[test]
    fn microsoft_forms_are_parsed() {
        let ar = results(
            "spf=pass (sender IP is 40.107.22.50) smtp.mailfrom=caw.be; dkim=pass (signature was verified) header.d=caw.be;dmarc=pass action=none header.from=caw.be;compauth=pass reason=100",
        );
        assert_eq!(ar.authserv_id, None);
        let got: Vec<(&str, &str)> = ar
            .results
            .iter()
            .map(|r| (r.method.as_str(), r.result.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("spf", "pass"),
                ("dkim", "pass"),
                ("dmarc", "pass"),
                ("compauth", "pass")
            ]
        );
        assert_eq!(ar.results[3].reason.as_deref(), Some("100"));
        assert_eq!(ar.results[2].prop("action"), Some("none"));
        // MimeKit#490: stray domains after a property.
        let ar = results(
            "spf=fail (sender IP is 1.1.1.1) smtp.mailfrom=eu-west-1.amazonses.com; recevingdomain.com; dkim=pass (signature was verified) header.d=domain.com;domain1.com; dmarc=bestguesspass action=none header.from=domain.com;",
        );
        assert_eq!(ar.results.len(), 3);
        assert_eq!(ar.results[2].result, "bestguesspass");
        assert_eq!(ar.results[2].prop("header.from"), Some("domain.com"));
        // go-msgauth#64: properties cut off by `;`.
        let ar = results(
            "spf=pass (sender IP is 209.85.222.48); smtp.mailfrom=valimail.com; dkim=pass (signature was verified); header.d=valimail.com;dmarc=pass action=none; header.from=valimail.com;compauth=pass reason=100",
        );
        assert_eq!(ar.results.len(), 4);
        assert_eq!(ar.results[0].prop("smtp.mailfrom"), Some("valimail.com"));
        assert_eq!(ar.results[2].prop("header.from"), Some("valimail.com"));
        // MimeKit#527: empty header.from.
        let ar = results(
            "spf=temperror (sender IP is 1.1.1.1) smtp.helo=tes.test.ru; mydomain.com; dkim=none (message not signed) header.d=none;mydomain.com; dmarc=none action=none header.from=;",
        );
        assert_eq!(ar.results[2].prop("header.from"), Some(""));
    }

    #[test]
    fn each_result_is_judged_by_its_rule() {
        let j = |value: &str| judge(&results(value).results, "caw.be", "t", true);
        let verified = |t: &Trust| matches!(t, Trust::Verified(_));
        let spoof = |t: &Trust| matches!(t, Trust::Spoof(_));
        type Check = fn(&Trust) -> bool;
        let table: &[(&str, Check)] = &[
            (
                "dmarc=pass action=none header.from=caw.be;compauth=pass reason=100",
                verified,
            ),
            (
                "dmarc=bestguesspass action=none header.from=caw.be;compauth=pass reason=109",
                verified,
            ),
            ("dmarc=pass header.from=CAW.BE.", verified),
            ("dmarc=pass header.from=mail.caw.be", spoof),
            ("dmarc=pass header.from=partner-lookalike.be", spoof),
            ("dmarc=pass", spoof),
            (
                "dmarc=fail action=quarantine header.from=caw.be;compauth=fail reason=000",
                spoof,
            ),
            (
                "dmarc=none action=none header.from=caw.be;compauth=fail reason=001",
                spoof,
            ),
            (
                "dmarc=none action=none header.from=caw.be;compauth=pass reason=105",
                spoof,
            ),
            (
                "dmarc=none action=none header.from=caw.be;compauth=softpass reason=201",
                spoof,
            ),
            ("dmarc=none; dkim=pass header.d=caw.be", verified),
            ("dkim=pass header.i=@mail.caw.be", verified),
            ("spf=pass smtp.mailfrom=x@caw.be", verified),
            ("spf=pass smtp.mailfrom=caw.be.evil.example", spoof),
            (
                "dkim=fail header.d=caw.be; dkim=pass header.d=caw.be",
                verified,
            ),
        ];
        for (value, ok) in table {
            let t = j(value);
            assert!(ok(&t), "{value} → {t:?}");
        }
        // Someone else's mail with nothing failing is unverified, not a spoof.
        let t = judge(
            &results("compauth=softpass reason=201").results,
            "x.be",
            "t",
            false,
        );
        assert!(matches!(t, Trust::Unverified(_)), "{t:?}");
    }

    #[test]
    fn alignment_is_relaxed() {
        assert!(aligned("mail.caw.be", "caw.be"));
        assert!(!aligned("caw.be.evil.example", "caw.be"));
    }
}
