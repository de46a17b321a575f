//! `[limits]`: the work one mail may cost intake (issue 20).
//!
//! The shared mailbox takes mail from anyone before any sender check, so every pass over a mail
//! is bounded by one of these numbers. A mail over any of them is still stored, read as far as
//! the budget goes, and decided as quarantined with the name of the budget it broke, for a
//! person; it never stops or stalls intake. The defaults are far above any partner's mail.
//!
//! Kept in its own file (raw table, validation and defaults together) so that the rest of the
//! config code is untouched by it.

use serde::Deserialize;

/// What one mail may cost. Sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The raw mail: larger mails are not parsed at all (only their headers are read).
    pub mail_bytes: usize,
    /// Nesting of multipart and `message/rfc822` parts.
    pub mime_depth: usize,
    /// MIME parts in the whole mail.
    pub parts: usize,
    /// Attachments kept and judged (a `winmail.dat`'s files count); the rest are not read.
    pub attachments: usize,
    /// Header fields of the top-level mail.
    pub headers: usize,
    /// The length of one header field's value.
    pub header_bytes: usize,
    /// Message-IDs of In-Reply-To and References looked up in the threads.
    pub references: usize,
    /// Distinct case reference tags read from one text.
    pub case_tags: usize,
    /// Decoded attachment bytes of the whole mail.
    pub decoded_bytes: usize,
    /// Bytes inflated from PDF and DOCX streams of the whole mail (not per stream).
    pub inflated_bytes: usize,
    /// Open HTML elements nested in a body.
    pub html_depth: usize,
    /// Readable body text kept (per text part and in total).
    pub text_bytes: usize,
}

const MB: usize = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            mail_bytes: 64 * MB,
            mime_depth: 20,
            parts: 2_000,
            attachments: 200,
            headers: 1_000,
            header_bytes: 64 * 1024,
            references: 500,
            case_tags: 200,
            decoded_bytes: 128 * MB,
            inflated_bytes: 64 * MB,
            html_depth: 200,
            text_bytes: 4 * MB,
        }
    }
}

/// `[limits]` as written: every key optional (the default applies), sizes in MB or KB as named.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub mail_mb: Option<usize>,
    pub mime_depth: Option<usize>,
    pub parts: Option<usize>,
    pub attachments: Option<usize>,
    pub headers: Option<usize>,
    pub header_kb: Option<usize>,
    pub references: Option<usize>,
    pub case_tags: Option<usize>,
    pub decoded_mb: Option<usize>,
    pub inflated_mb: Option<usize>,
    pub html_depth: Option<usize>,
    pub text_kb: Option<usize>,
}

impl RawLimits {
    /// The validated limits, or the keys that are 0 (a budget of nothing would quarantine every
    /// mail) or too large to count in bytes.
    pub fn validate(self) -> Result<Limits, Vec<(String, String)>> {
        let d = Limits::default();
        let mut bad = Vec::new();
        let mut get = |key: &str, value: Option<usize>, unit: usize, default: usize| match value {
            None => default,
            Some(v) if v == 0 || v.checked_mul(unit).is_none_or(|b| b > 1 << 40) => {
                bad.push((
                    format!("limits.{key}"),
                    format!("`{v}` is not a usable limit"),
                ));
                default
            }
            Some(v) => v * unit,
        };
        let limits = Limits {
            mail_bytes: get("mail_mb", self.mail_mb, MB, d.mail_bytes),
            mime_depth: get("mime_depth", self.mime_depth, 1, d.mime_depth),
            parts: get("parts", self.parts, 1, d.parts),
            attachments: get("attachments", self.attachments, 1, d.attachments),
            headers: get("headers", self.headers, 1, d.headers),
            header_bytes: get("header_kb", self.header_kb, 1024, d.header_bytes),
            references: get("references", self.references, 1, d.references),
            case_tags: get("case_tags", self.case_tags, 1, d.case_tags),
            decoded_bytes: get("decoded_mb", self.decoded_mb, MB, d.decoded_bytes),
            inflated_bytes: get("inflated_mb", self.inflated_mb, MB, d.inflated_bytes),
            html_depth: get("html_depth", self.html_depth, 1, d.html_depth),
            text_bytes: get("text_kb", self.text_kb, 1024, d.text_bytes),
        };
        if bad.is_empty() {
            Ok(limits)
        } else {
            Err(bad)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_table_gives_the_defaults_and_keys_scale_to_bytes() {
        assert_eq!(RawLimits::default().validate(), Ok(Limits::default()));
        let raw = RawLimits {
            mail_mb: Some(10),
            header_kb: Some(8),
            references: Some(50),
            ..RawLimits::default()
        };
        let limits = raw.validate().unwrap();
        assert_eq!(limits.mail_bytes, 10 * MB);
        assert_eq!(limits.header_bytes, 8 * 1024);
        assert_eq!(limits.references, 50);
    }

    #[test]
    fn a_zero_limit_is_refused_with_its_key() {
        let raw = RawLimits {
            parts: Some(0),
            ..RawLimits::default()
        };
        let bad = raw.validate().unwrap_err();
        assert_eq!(bad[0].0, "limits.parts");
    }
}
