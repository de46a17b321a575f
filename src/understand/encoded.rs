//! RFC 2047 encoded words where mail-parser leaves them alone: inside quoted strings (a common
//! client bug in `filename="=?UTF-8?B?…?="`). Only the charsets clients really use; anything
//! else is kept as written. Also [`windows_1252`], the charset decoder the parser and TNEF share.

/// Decode every `=?charset?B|Q?text?=` in `s`; undecodable words stay as they are.
pub fn decode_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !(last_was_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let after = &rest[start + 2..];
        match decode_one(after) {
            Some((text, used)) => {
                out.push_str(&text);
                rest = &after[used..];
                last_was_word = true;
            }
            None => {
                out.push_str("=?");
                rest = after;
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `charset?E?text?=` → (decoded, bytes consumed).
fn decode_one(s: &str) -> Option<(String, usize)> {
    let q1 = s.find('?')?;
    let charset = s[..q1].split('*').next()?.to_ascii_lowercase();
    let enc = s.get(q1 + 1..q1 + 2)?.to_ascii_lowercase();
    if s.get(q1 + 2..q1 + 3)? != "?" {
        return None;
    }
    let body_start = q1 + 3;
    let end = s[body_start..].find("?=")? + body_start;
    let body = &s[body_start..end];
    let bytes = match enc.as_str() {
        "b" => mail_parser::decoders::base64::base64_decode(body.as_bytes())?,
        "q" => {
            let mut out = Vec::new();
            let b = body.as_bytes();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'_' => out.push(b' '),
                    b'=' => {
                        let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                        out.push(u8::from_str_radix(hex, 16).ok()?);
                        i += 2;
                    }
                    c => out.push(c),
                }
                i += 1;
            }
            out
        }
        _ => return None,
    };
    let text = match charset.as_str() {
        "utf-8" | "utf8" | "us-ascii" => String::from_utf8_lossy(&bytes).into_owned(),
        "iso-8859-1" | "iso-8859-15" | "latin1" | "windows-1252" | "cp1252" => windows_1252(&bytes),
        _ => return None,
    };
    Some((text, end + 2))
}

/// windows-1252, the charset Outlook means whatever it declares.
pub fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[(b - 0x80) as usize],
            _ => b as char,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_q_words_are_decoded() {
        assert_eq!(
            decode_words("=?UTF-8?B?U29jaWFhbCB2ZXJzbGFn?=.pdf"),
            "Sociaal verslag.pdf"
        );
        assert_eq!(
            decode_words("=?iso-8859-1?Q?Cli=EBnt_verslag?="),
            "Cliënt verslag"
        );
    }

    #[test]
    fn broken_words_stay_as_written() {
        assert_eq!(decode_words("=?x"), "=?x");
        assert_eq!(decode_words("=?utf-8?Q?=4?="), "=?utf-8?Q?=4?=");
    }
}
