//! Who really sent a mail: the sender's address is only believed as far as the landlord's own
//! receiving server vouches for it.
//!
//! With `organisation.authserv_id` configured, only the topmost `Authentication-Results` header
//! carrying that id counts (RFC 8601 §5: headers below it, or from other servers, may be forged).
//! DMARC fail, a DMARC pass for another domain than From (a forged pass), or no aligned pass at
//! all for a partner or staff address make the mail a spoof. Without an authserv-id the From
//! address is taken as given, but obvious spoofs are still caught: a failing topmost result (a
//! forged *fail* only hurts the forger), and mail "from" the shared mailbox or a staff address
//! whose envelope or Message-ID comes from outside.

use super::parse::Parsed;
use super::MessageId;
use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Our server verified the From domain.
    Verified(String),
    /// No authserv-id configured: taken as given.
    Accepted(String),
    /// Forged or failing authentication.
    Spoof(String),
    /// An authserv-id is configured but nothing verifies this sender.
    Unverified(String),
}

impl Trust {
    pub fn reason(&self) -> &str {
        match self {
            Trust::Verified(r) | Trust::Accepted(r) | Trust::Spoof(r) | Trust::Unverified(r) => r,
        }
    }
}

/// One `method=result` with its properties from an Authentication-Results header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Method {
    name: String,
    result: String,
    props: Vec<(String, String)>,
}

impl Method {
    fn prop(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `authserv-id [version]; method=result prop=value (comment); …` → (id, methods).
fn parse_results(value: &str) -> (String, Vec<Method>) {
    let cleaned = strip_comments(value);
    let mut parts = cleaned.split(';');
    let id = parts
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let methods = parts
        .filter_map(|p| {
            let mut words = p.split_whitespace();
            let (name, result) = words.next()?.split_once('=')?;
            let props = words
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.trim_matches('"').to_ascii_lowercase(),
                    )
                })
                .collect();
            Some(Method {
                name: name.to_ascii_lowercase(),
                result: result.to_ascii_lowercase(),
                props,
            })
        })
        .collect();
    (id, methods)
}

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
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
    let from_domain = domain(from);
    let claims_ours = config.is_staff(from) || config.partner_of_address(from).is_some();
    match &config.organisation.authserv_id {
        Some(id) => {
            let id = id.to_ascii_lowercase();
            let ours = mail
                .headers_named("authentication-results")
                .map(parse_results)
                .find(|(hid, _)| *hid == id);
            let Some((_, methods)) = ours else {
                let reason = format!(
                    "no Authentication-Results from our own server `{id}`: the sender {from} cannot be verified"
                );
                return if claims_ours {
                    Trust::Spoof(reason)
                } else {
                    Trust::Unverified(reason)
                };
            };
            judge_methods(&methods, from_domain, &id, claims_ours)
        }
        None => {
            if let Some((hid, methods)) = mail
                .headers_named("authentication-results")
                .map(parse_results)
                .next()
            {
                if let Some(m) = methods
                    .iter()
                    .find(|m| m.name == "dmarc" && m.result == "fail")
                {
                    return Trust::Spoof(format!(
                        "the topmost Authentication-Results ({hid}) says dmarc={} for {from}",
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
                "no authserv_id configured: the From address {from} is taken as given"
            ))
        }
    }
}

fn judge_methods(methods: &[Method], from_domain: &str, id: &str, claims_ours: bool) -> Trust {
    if let Some(dmarc) = methods.iter().find(|m| m.name == "dmarc") {
        let header_from = dmarc.prop("header.from").unwrap_or(from_domain);
        match dmarc.result.as_str() {
            "fail" => {
                return Trust::Spoof(format!(
                    "dmarc=fail for {header_from} in the Authentication-Results of {id}"
                ))
            }
            "pass" if !aligned(header_from, from_domain) => {
                return Trust::Spoof(format!(
                    "dmarc=pass was for {header_from}, not for the From domain {from_domain} (forged pass)"
                ))
            }
            "pass" => {
                return Trust::Verified(format!("dmarc=pass for {from_domain} (authserv-id {id})"))
            }
            _ => {}
        }
    }
    if let Some(m) = methods.iter().find(|m| {
        m.name == "dkim"
            && m.result == "pass"
            && m.prop("header.d")
                .or_else(|| m.prop("header.i"))
                .is_some_and(|d| aligned(d, from_domain))
    }) {
        let _ = m;
        return Trust::Verified(format!(
            "dkim=pass aligned with {from_domain} (authserv-id {id})"
        ));
    }
    if methods.iter().any(|m| {
        m.name == "spf"
            && m.result == "pass"
            && m.prop("smtp.mailfrom").is_some_and(|d| {
                let d = if d.contains('@') { domain(d) } else { d };
                aligned(d, from_domain)
            })
    }) {
        return Trust::Verified(format!(
            "spf=pass aligned with {from_domain} (authserv-id {id})"
        ));
    }
    let failed = methods
        .iter()
        .filter(|m| matches!(m.result.as_str(), "fail" | "softfail" | "permerror"))
        .map(|m| format!("{}={}", m.name, m.result))
        .collect::<Vec<_>>();
    let reason = if failed.is_empty() {
        format!("no aligned dmarc/dkim/spf pass for {from_domain} from {id}")
    } else {
        format!("{} for {from_domain} from {id}", failed.join(", "))
    };
    if claims_ours || !failed.is_empty() {
        Trust::Spoof(reason)
    } else {
        Trust::Unverified(reason)
    }
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

    #[test]
    fn results_are_parsed_with_comments_removed() {
        let (id, methods) = parse_results(
            "mx.woonhaven.example; dkim=pass (2048-bit key) header.d=caw.be; dmarc=pass (p=none) header.from=caw.be",
        );
        assert_eq!(id, "mx.woonhaven.example");
        assert_eq!(methods.len(), 2);
        assert_eq!(methods[1].prop("header.from"), Some("caw.be"));
    }

    #[test]
    fn alignment_is_relaxed() {
        assert!(aligned("mail.caw.be", "caw.be"));
        assert!(!aligned("caw.be.evil.example", "caw.be"));
    }
}
