//! The one form of a Message-ID (RFC 5322 §3.6.4 `msg-id`): `<local@domain>`, angle brackets
//! included, as it is stored (`mails.message_id`, `outbox.message_id`), looked up, and written
//! into `In-Reply-To` and `References`.
//!
//! Every Message-ID read from a mail (its own, In-Reply-To, References, the ids a bounce
//! returns) becomes a [`MessageId`] here and nowhere else, so that intake, the register and the
//! composer can never disagree on brackets again (they did: one stripped them, the other
//! required them, and every answer lost its threading headers). A value that is not a sane
//! Message-ID (no `@`, spaces, control characters, a header injection) is no [`MessageId`] at
//! all: it is never looked up and never copied into our headers.

use std::fmt;

/// Longer ids are refused: RFC 5322 caps a line at 998 characters, and an id is one of up to
/// twenty in a `References` header we write.
const MAX_LEN: usize = 250;

/// A well-formed Message-ID, always held as `<local@domain>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

impl MessageId {
    /// Read an id in any of the forms mails and our tables carry it: with or without angle
    /// brackets, with surrounding white space. `None` for anything that is not `local@domain`
    /// without white space or control characters.
    pub fn parse(raw: &str) -> Option<MessageId> {
        let trimmed = raw.trim();
        let core = trimmed
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(trimmed);
        let (local, domain) = core.split_once('@')?;
        let sane = |s: &str| {
            !s.is_empty()
                && !s.bytes().any(|b| {
                    b.is_ascii_whitespace() || b.is_ascii_control() || matches!(b, b'<' | b'>')
                })
        };
        (core.len() + 2 <= MAX_LEN && sane(local) && sane(domain))
            .then(|| MessageId(format!("<{core}>")))
    }

    /// `<local@domain>`: the stored form and the form written into headers.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `local@domain`, without the angle brackets.
    pub fn bare(&self) -> &str {
        &self.0[1..self.0.len() - 1]
    }

    /// The domain part, lowercase (who made the id).
    pub fn domain(&self) -> String {
        self.bare()
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for MessageId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_form_of_an_id_reads_as_the_same_bracketed_id() {
        for raw in [
            "<abc@caw.example>",
            "abc@caw.example",
            "  <abc@caw.example>\r\n",
            " abc@caw.example ",
        ] {
            let id = MessageId::parse(raw).unwrap_or_else(|| panic!("{raw:?}"));
            assert_eq!(id.as_str(), "<abc@caw.example>", "{raw:?}");
            assert_eq!(id.bare(), "abc@caw.example");
            assert_eq!(id.domain(), "caw.example");
        }
    }

    #[test]
    fn what_is_not_an_id_is_refused() {
        for raw in [
            "",
            "<>",
            "<abc>",
            "abc",
            "<abc@caw.example>\r\nBcc: x@evil.example",
            "<a b@caw.example>",
            "<@caw.example>",
            "<abc@>",
            "<<abc@caw.example>>",
            &format!("<{}@caw.example>", "a".repeat(300)),
        ] {
            assert_eq!(MessageId::parse(raw), None, "{raw:?}");
        }
    }
}
