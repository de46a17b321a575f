//! What an attachment is: its document kind judged from the file name **and** the content (the
//! text of a PDF or DOCX), and whether it is usable at all (empty, cut off, not the file type it
//! claims).
//!
//! Text extraction is deliberately small: PDF content streams (uncompressed or FlateDecode) read
//! for their `Tj`/`TJ` strings, DOCX read as a zip with `word/document.xml`. Scans without text
//! and vague names (`scan0001.pdf`) are judged by the caller from the mail's own text. Every
//! read is bounded; nothing here panics or allocates without limit.

use crate::config::DocumentKind;

/// Never inflate more than this from one stream: a zip bomb must not stop the daemon.
const MAX_INFLATE: u64 = 8 * 1024 * 1024;
/// Enough text to recognise a document by its title page.
const MAX_TEXT: usize = 64 * 1024;

/// How an attachment was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// `None`: neither the name nor the content says; the caller may decide from the mail text.
    pub kind: Option<DocumentKind>,
    pub note: String,
    pub unusable: Option<String>,
    /// Text found in the document (may be empty for scans).
    pub text: String,
}

/// Recognise a document kind in a piece of text (file name or content), most specific first.
pub fn kind_in_text(text: &str) -> Option<DocumentKind> {
    let t = text.to_lowercase().replace(['_', '-', '.'], " ");
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let has = |w: &str| t.contains(w);
    if has("eindverslag")
        || has("eind verslag")
        || has("verslag einde begeleiding")
        || has("afsluitend verslag")
    {
        Some(DocumentKind::FinalReport)
    } else if has("begeleidingsovereenkomst") || has("begeleidings overeenkomst") {
        Some(DocumentKind::GuidanceAgreement)
    } else if has("addendum") || has("addenda") {
        Some(DocumentKind::Addendum)
    } else if has("sociaal verslag")
        || has("sociaalverslag")
        || has("sociaal rapport")
        || has("uitgebreid verslag")
        || t.split(' ').any(|w| w == "sv" || w == "usv")
    {
        Some(DocumentKind::SocialReport)
    } else {
        None
    }
}

/// Names that say nothing about the document: the scanner's default and friends.
pub fn is_vague_name(filename: &str) -> bool {
    let stem = filename
        .rsplit_once('.')
        .map_or(filename, |(s, _)| s)
        .to_lowercase();
    let letters: String = stem.chars().filter(|c| c.is_alphabetic()).collect();
    letters.is_empty()
        || [
            "scan",
            "document",
            "doc",
            "bijlage",
            "attachment",
            "img",
            "image",
            "file",
            "scanned",
            "naamloos",
            "untitled",
            "pdf",
            "cw",
            "dscn",
            "foto",
            "afbeelding",
        ]
        .iter()
        .any(|w| letters == *w)
        || letters.starts_with("scan")
}

/// Judge one attachment. `problem` is what the transfer already found (cut-off base64).
pub fn judge(filename: &str, content_type: &str, bytes: &[u8], problem: Option<&str>) -> Judged {
    judge_within(filename, content_type, bytes, problem, &mut { usize::MAX })
}

/// [`judge`], inflating at most `inflate_left` bytes of compressed streams, which it counts
/// down: the budget is the mail's, shared by all its attachments (1,000 streams of 8 MB each
/// in one PDF inflated 8 GB when the bound was per stream).
pub fn judge_within(
    filename: &str,
    content_type: &str,
    bytes: &[u8],
    problem: Option<&str>,
    inflate_left: &mut usize,
) -> Judged {
    let lower = filename.to_lowercase();
    let mut unusable = problem.map(str::to_string);
    let mut text = String::new();
    if bytes.is_empty() {
        unusable = Some("empty (0 bytes)".into());
    } else if lower.ends_with(".pdf") || content_type == "application/pdf" {
        if !bytes.starts_with(b"%PDF") {
            unusable.get_or_insert_with(|| "not a PDF (no %PDF header)".into());
        } else {
            if !has_pdf_end(bytes) {
                unusable.get_or_insert_with(|| "truncated PDF (no %%EOF)".into());
            }
            text = pdf_text_within(bytes, inflate_left);
        }
    } else if lower.ends_with(".docx") || content_type.contains("wordprocessingml") {
        match docx_text_within(bytes, inflate_left) {
            Ok(t) => text = t,
            Err(e) => {
                unusable.get_or_insert(e);
            }
        }
    } else if content_type.starts_with("text/") || lower.ends_with(".txt") {
        text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_TEXT)]).into_owned();
    }
    let by_name = if is_vague_name(filename) {
        None
    } else {
        kind_in_text(filename)
    };
    let by_content = if text.is_empty() {
        None
    } else {
        // The title is at the top: judge the first part, so that a social report that mentions
        // "het addendum" further down stays a social report.
        let head: String = text.chars().take(400).collect();
        kind_in_text(&head).or_else(|| kind_in_text(&text))
    };
    let (kind, note) = match (by_name, by_content) {
        (Some(n), Some(c)) if n == c => (Some(n), format!("name and content say {}", n.as_str())),
        (Some(n), Some(c)) => (
            Some(c),
            format!(
                "name says {} but the content says {}",
                n.as_str(),
                c.as_str()
            ),
        ),
        (Some(n), None) => (Some(n), format!("name says {}", n.as_str())),
        (None, Some(c)) => (Some(c), format!("content says {}", c.as_str())),
        (None, None) => (None, "neither name nor content says what it is".to_string()),
    };
    Judged {
        kind,
        note,
        unusable,
        text,
    }
}

fn has_pdf_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    tail.windows(5).any(|w| w == b"%%EOF")
}

/// Text of a PDF: every content stream (raw or FlateDecode), its `Tj`/`TJ`/`'`/`"` strings.
pub fn pdf_text(bytes: &[u8]) -> String {
    pdf_text_within(bytes, &mut { usize::MAX })
}

/// How much to inflate from one stream: no more than [`MAX_INFLATE`] nor what is left.
fn inflate_limit(left: usize) -> u64 {
    MAX_INFLATE.min(u64::try_from(left).unwrap_or(u64::MAX))
}

/// Inflate `data` (zlib-wrapped when `zlib`, else raw deflate) into `out`, at most `limit`
/// bytes. One decompressor per thread is reset for every stream instead of a fresh one being
/// set up (its state is some 40 KB): a referral's PDF has a stream per page. A corrupt stream
/// keeps what was inflated before the damage; a stream cut off ends where its data ends.
fn inflate(data: &[u8], zlib: bool, limit: u64, out: &mut Vec<u8>) -> Result<(), String> {
    thread_local! {
        static INFLATE: std::cell::RefCell<flate2::Decompress> =
            std::cell::RefCell::new(flate2::Decompress::new(true));
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    INFLATE.with(|inflate| {
        let mut d = inflate.borrow_mut();
        d.reset(zlib);
        let mut consumed = 0;
        loop {
            if out.len() >= limit {
                out.truncate(limit);
                return Ok(());
            }
            // Room for about what is left at a typical text ratio, within the limit.
            let room = (data.len() - consumed)
                .saturating_mul(4)
                .clamp(4096, 1 << 20);
            out.reserve(room.min(limit - out.len()));
            let (in_before, out_before) = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(&data[consumed..], out, flate2::FlushDecompress::None)
                .map_err(|_| "corrupt deflate stream".to_string())?;
            consumed += usize::try_from(d.total_in() - in_before).unwrap_or(usize::MAX);
            let produced = d.total_out() - out_before;
            match status {
                flate2::Status::StreamEnd => break,
                // No progress with room to write: the data ended before the stream did.
                _ if produced == 0 && (consumed >= data.len() || d.total_in() == in_before) => {
                    break
                }
                _ => {}
            }
        }
        out.truncate(limit);
        Ok(())
    })
}

/// [`pdf_text`] inflating at most `inflate_left` bytes, counted down.
fn pdf_text_within(bytes: &[u8], inflate_left: &mut usize) -> String {
    let mut out = String::new();
    let mut pos = 0;
    while let Some(start) = find_from(bytes, b"stream", pos) {
        // Skip "endstream" matches.
        if start >= 3 && &bytes[start - 3..start] == b"end" {
            pos = start + 6;
            continue;
        }
        let window = start.saturating_sub(1024);
        let dict_start = memchr::memmem::rfind(&bytes[window..start], b"<<")
            .map_or(start.saturating_sub(200), |p| p + window);
        let dict = &bytes[dict_start..start];
        let mut data_start = start + 6;
        if bytes.get(data_start) == Some(&b'\r') {
            data_start += 1;
        }
        if bytes.get(data_start) == Some(&b'\n') {
            data_start += 1;
        }
        let Some(end) = find_from(bytes, b"endstream", data_start) else {
            break;
        };
        let data = &bytes[data_start..end];
        pos = end + 9;
        let flate = memchr::memmem::find(dict, b"FlateDecode").is_some();
        let other_filter = !flate && memchr::memmem::find(dict, b"/Filter").is_some();
        if other_filter || is_image(dict) {
            continue; // images (a scan's pages, DCTDecode) and the like: no text operators
        }
        let content = if flate {
            if *inflate_left == 0 {
                break;
            }
            let mut inflated = Vec::new();
            let failed = inflate(data, true, inflate_limit(*inflate_left), &mut inflated).is_err();
            *inflate_left = inflate_left.saturating_sub(inflated.len());
            if failed && inflated.is_empty() {
                continue;
            }
            inflated
        } else {
            data.to_vec()
        };
        content_text(&content, &mut out);
        if out.len() > MAX_TEXT {
            break;
        }
    }
    out
}

/// Strings shown by text operators in one content stream.
fn content_text(content: &[u8], out: &mut String) {
    let mut pending = String::new();
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'(' => {
                let (s, next) = literal_string(content, i + 1);
                pending.push_str(&s);
                i = next;
            }
            b'<' if content.get(i + 1) != Some(&b'<') => {
                let end = content[i..]
                    .iter()
                    .position(|b| *b == b'>')
                    .map_or(content.len(), |p| i + p);
                let hex: Vec<u8> = content[i + 1..end]
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_hexdigit)
                    .collect();
                for pair in hex.chunks(2) {
                    if let Ok(s) = std::str::from_utf8(pair) {
                        if let Ok(b) = u8::from_str_radix(&format!("{s:0<2}"), 16) {
                            pending.push(b as char);
                        }
                    }
                }
                i = end + 1;
            }
            b'T' if matches!(content.get(i + 1), Some(b'j' | b'J')) => {
                out.push_str(&pending);
                pending.clear();
                i += 2;
            }
            b'\'' | b'"' => {
                out.push('\n');
                out.push_str(&pending);
                pending.clear();
                i += 1;
            }
            b'E' if content.get(i + 1) == Some(&b'T') => {
                out.push('\n');
                i += 2;
            }
            b'T' if matches!(content.get(i + 1), Some(b'd' | b'D' | b'*')) => {
                out.push(' ');
                i += 2;
            }
            _ => i += 1,
        }
    }
}

/// A PDF literal string starting after its `(`: balanced parentheses and escapes.
fn literal_string(content: &[u8], mut i: usize) -> (String, usize) {
    let mut depth = 1;
    let mut s = String::new();
    while i < content.len() {
        let b = content[i];
        match b {
            b'\\' => {
                i += 1;
                match content.get(i) {
                    Some(b'n') => s.push('\n'),
                    Some(b'r') | Some(b't') => s.push(' '),
                    Some(d @ b'0'..=b'7') => {
                        let mut value = (d - b'0') as u32;
                        let mut n = 1;
                        while n < 3 {
                            match content.get(i + 1) {
                                Some(d @ b'0'..=b'7') => {
                                    value = value * 8 + (d - b'0') as u32;
                                    i += 1;
                                    n += 1;
                                }
                                _ => break,
                            }
                        }
                        s.push(char::from_u32(value & 0xFF).unwrap_or(' '));
                    }
                    Some(c) => s.push(*c as char),
                    None => {}
                }
            }
            b'(' => {
                depth += 1;
                s.push('(');
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (s, i + 1);
                }
                s.push(')');
            }
            _ => s.push(b as char),
        }
        i += 1;
    }
    (s, i)
}

/// A stream dictionary of an image (`/Subtype /Image`, also written without the space): its
/// bytes are pixels, which read as text operators only by chance (a scan is mostly one large
/// image, often stored raw or deflated).
fn is_image(dict: &[u8]) -> bool {
    let Some(at) = memchr::memmem::find(dict, b"/Subtype") else {
        return false;
    };
    let rest = &dict[at + b"/Subtype".len()..];
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    rest.starts_with(b"/Image")
}

fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(hay.get(from..)?, needle).map(|p| p + from)
}

/// Text of a DOCX: `word/document.xml` from the zip, paragraphs on lines.
pub fn docx_text(bytes: &[u8]) -> Result<String, String> {
    docx_text_within(bytes, &mut { usize::MAX })
}

/// [`docx_text`] inflating at most `inflate_left` bytes, counted down.
fn docx_text_within(bytes: &[u8], inflate_left: &mut usize) -> Result<String, String> {
    let xml = zip_entry_within(bytes, "word/document.xml", inflate_left)?;
    let xml = String::from_utf8_lossy(&xml);
    let mut out = String::new();
    let mut rest: &str = &xml;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        if tag.starts_with("/w:p") && !tag.starts_with("/w:pP") || tag.starts_with("w:br") {
            out.push('\n');
        } else if tag.starts_with("w:tab") {
            out.push(' ');
        }
        rest = &rest[lt + gt + 1..];
        if out.len() > MAX_TEXT {
            break;
        }
    }
    Ok(super::html::decode_entities(&out))
}

/// One entry of a zip archive, found through the central directory (sizes in local headers may
/// be zero when a data descriptor follows).
pub fn zip_entry(bytes: &[u8], name: &str) -> Result<Vec<u8>, String> {
    zip_entry_within(bytes, name, &mut { usize::MAX })
}

fn zip_entry_within(bytes: &[u8], name: &str, inflate_left: &mut usize) -> Result<Vec<u8>, String> {
    let u16_at = |p: usize| {
        bytes
            .get(p..p + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |p: usize| {
        bytes
            .get(p..p + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err("not a DOCX (no zip header)".into());
    }
    let search_from = bytes.len().saturating_sub(65_557);
    let eocd = bytes[search_from..]
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .map(|p| p + search_from)
        .ok_or("truncated DOCX (zip directory missing)")?;
    let entries = u16_at(eocd + 10).ok_or("truncated DOCX")?;
    let mut p = u32_at(eocd + 16).ok_or("truncated DOCX")?;
    for _ in 0..entries {
        if bytes.get(p..p + 4) != Some(b"PK\x01\x02") {
            return Err("damaged DOCX (bad zip directory)".into());
        }
        let method = u16_at(p + 10).ok_or("damaged DOCX")?;
        let csize = u32_at(p + 20).ok_or("damaged DOCX")?;
        let name_len = u16_at(p + 28).ok_or("damaged DOCX")?;
        let extra_len = u16_at(p + 30).ok_or("damaged DOCX")?;
        let comment_len = u16_at(p + 32).ok_or("damaged DOCX")?;
        let local = u32_at(p + 42).ok_or("damaged DOCX")?;
        let entry_name = bytes.get(p + 46..p + 46 + name_len).ok_or("damaged DOCX")?;
        if entry_name == name.as_bytes() {
            let lname = u16_at(local + 26).ok_or("damaged DOCX")?;
            let lextra = u16_at(local + 28).ok_or("damaged DOCX")?;
            let start = local + 30 + lname + lextra;
            let data = bytes
                .get(start..start.saturating_add(csize))
                .ok_or("truncated DOCX (entry cut off)")?;
            return match method {
                0 => Ok(data.to_vec()),
                8 => {
                    let mut out = Vec::new();
                    let read = inflate(data, false, inflate_limit(*inflate_left), &mut out);
                    *inflate_left = inflate_left.saturating_sub(out.len());
                    read.map_err(|e| format!("damaged DOCX ({e})"))?;
                    Ok(out)
                }
                m => Err(format!("DOCX uses zip method {m}, which is not read")),
            };
        }
        p += 46 + name_len + extra_len + comment_len;
    }
    Err(format!("not a DOCX ({name} missing)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inflate_budget_is_the_mails_not_each_streams() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![b' '; 8 * 1024 * 1024]).unwrap();
        let stream = z.finish().unwrap();
        let mut pdf = b"%PDF-1.4\n".to_vec();
        for _ in 0..100 {
            pdf.extend_from_slice(b"<< /Filter /FlateDecode >>\nstream\n");
            pdf.extend_from_slice(&stream);
            pdf.extend_from_slice(b"\nendstream\n");
        }
        pdf.extend_from_slice(b"%%EOF\n");
        let mut left = 20 * 1024 * 1024;
        let (_, allocated) = crate::counted::allocated(|| {
            judge_within("a.pdf", "application/pdf", &pdf, None, &mut left);
            // A second attachment of the same mail gets nothing more to inflate.
            judge_within("b.pdf", "application/pdf", &pdf, None, &mut left)
        });
        assert_eq!(left, 0);
        // 20 MB inflated in all (each stream's buffer grows by doubling), not 800 MB.
        assert!(allocated < 80 * 1024 * 1024, "{allocated} bytes allocated");
    }

    fn pdf(content: &str) -> Vec<u8> {
        format!(
            "%PDF-1.4\n1 0 obj\n<< /Length {} >>\nstream\n{content}\nendstream\nendobj\n%%EOF\n",
            content.len()
        )
        .into_bytes()
    }

    #[test]
    fn pdf_text_from_tj_and_tj_arrays() {
        let bytes =
            pdf("BT /F1 12 Tf (Uitgebreid sociaal verslag) Tj ET BT [(Kan)-20(didaat)] TJ ET");
        let text = pdf_text(&bytes);
        assert!(text.contains("Uitgebreid sociaal verslag"), "{text}");
        assert!(text.contains("Kandidaat"), "{text}");
    }

    #[test]
    fn image_streams_are_not_read_as_text() {
        // Pixels that happen to spell a text operator, in an image stored raw and in one
        // written without a space before `/Image`; the page's own text is read.
        let mut bytes = b"%PDF-1.4\n1 0 obj\n<< /Length 40 >>\nstream\nBT (Sociaal verslag) Tj ET\nendstream\nendobj\n".to_vec();
        for dict in ["/Type /XObject /Subtype /Image /Width 8", "/Subtype/Image"] {
            bytes.extend_from_slice(
                format!("2 0 obj\n<< {dict} >>\nstream\n(Addendum) Tj\nendstream\nendobj\n")
                    .as_bytes(),
            );
        }
        bytes.extend_from_slice(b"%%EOF\n");
        let text = pdf_text(&bytes);
        assert!(text.contains("Sociaal verslag"), "{text}");
        assert!(!text.contains("Addendum"), "{text}");
    }

    #[test]
    fn flate_pdf_is_read() {
        use std::io::Write;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"BT (Addendum versnelde doorstroom) Tj ET")
            .expect("write");
        let data = enc.finish().expect("finish");
        let mut bytes = b"%PDF-1.5\n1 0 obj\n<< /Filter /FlateDecode >>\nstream\n".to_vec();
        bytes.extend_from_slice(&data);
        bytes.extend_from_slice(b"\nendstream\n%%EOF");
        let judged = judge("scan0001.pdf", "application/pdf", &bytes, None);
        assert_eq!(judged.kind, Some(DocumentKind::Addendum));
    }

    #[test]
    fn vague_names_say_nothing() {
        assert!(is_vague_name("scan0001.pdf"));
        assert!(is_vague_name("20261103_093011.pdf"));
        assert!(!is_vague_name("addendum_jansen.pdf"));
        assert_eq!(
            judge("scan0001.pdf", "application/pdf", &pdf(""), None).kind,
            None
        );
    }

    #[test]
    fn empty_and_truncated_files_are_unusable() {
        assert!(judge("addendum.pdf", "application/pdf", b"", None)
            .unusable
            .is_some());
        let cut = judge(
            "addendum.pdf",
            "application/pdf",
            b"%PDF-1.4\n1 0 obj",
            None,
        );
        assert_eq!(cut.kind, Some(DocumentKind::Addendum));
        assert!(cut.unusable.is_some_and(|u| u.contains("truncated")));
    }

    #[test]
    fn names_are_recognised() {
        assert_eq!(
            kind_in_text("Sociaal_verslag_Peeters.pdf"),
            Some(DocumentKind::SocialReport)
        );
        assert_eq!(
            kind_in_text("USV Janssens.docx"),
            Some(DocumentKind::SocialReport)
        );
        assert_eq!(
            kind_in_text("eindverslag-2026.pdf"),
            Some(DocumentKind::FinalReport)
        );
        assert_eq!(kind_in_text("foto.jpg"), None);
    }
}
