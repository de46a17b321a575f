//! A small, careful reader of TNEF (`winmail.dat`, `application/ms-tnef`): old on-premises
//! Exchange and Outlook wrap a mail's attachments in it, so a referral's addendum can hide inside.
//!
//! It reads only what triage needs: each attachment's name (the long MAPI name when present) and
//! bytes, and the plain-text body. Every length is checked against the input; a record cut off
//! keeps what was read and says so. No RTF decompression, no writing. No maintained crate reads
//! TNEF on Rust 1.95 without pulling in far more than this.
//!
//! Format: [MS-OXTNEF] §2.1.3: signature, legacy key, then records of
//! `level u8, attribute u32, length u32, data, checksum u16`.

const SIGNATURE: u32 = 0x223E_9F78;
const ATT_BODY: u32 = 0x0001_800C;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACHMENT: u32 = 0x0006_9005;
const ATT_MAPI_PROPS: u32 = 0x0006_9003;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_BODY: u16 = 0x1000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TnefError {
    #[error("not a TNEF stream (signature missing)")]
    NotTnef,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TnefFile {
    pub filename: String,
    pub bytes: Vec<u8>,
    /// Cut off or a checksum mismatch.
    pub problem: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tnef {
    pub body: Option<String>,
    pub attachments: Vec<TnefFile>,
    /// Attachments found beyond the number asked for ([`read_at_most`]): counted, not read.
    pub left_out: usize,
}

/// Is this attachment a TNEF wrapper?
pub fn is_tnef(filename: &str, content_type: &str) -> bool {
    content_type == "application/ms-tnef"
        || content_type == "application/vnd.ms-tnef"
        || filename.eq_ignore_ascii_case("winmail.dat")
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
}

/// Read a TNEF stream. Errors only when it is not TNEF at all; a damaged stream yields what
/// could be read, with a `problem` on the attachment that was cut.
pub fn read(data: &[u8]) -> Result<Tnef, TnefError> {
    read_at_most(data, usize::MAX)
}

/// [`read`], keeping at most `max` attachments: the others are only counted in
/// [`Tnef::left_out`] (2 million empty records in a 30 MB `winmail.dat` took 1.5 GB).
pub fn read_at_most(data: &[u8], max: usize) -> Result<Tnef, TnefError> {
    let mut c = Cursor { data, pos: 0 };
    if c.u32() != Some(SIGNATURE) {
        return Err(TnefError::NotTnef);
    }
    let _key = c.u16();
    let mut out = Tnef::default();
    let mut current: Option<TnefFile> = None;
    while c.remaining() > 0 {
        let (Some(level), Some(attribute), Some(length)) = (c.u8(), c.u32(), c.u32()) else {
            if let Some(file) = current.as_mut() {
                file.problem = Some("winmail.dat is cut off".into());
            }
            break;
        };
        let Some(value) = c.take(length as usize) else {
            if let Some(file) = current.as_mut() {
                file.problem = Some("winmail.dat is cut off inside this attachment".into());
                if attribute == ATT_ATTACH_DATA {
                    file.bytes = data.get(c.pos..).unwrap_or_default().to_vec();
                }
            }
            break;
        };
        let checksum_ok = c
            .u16()
            .is_some_and(|sum| sum == value.iter().fold(0u16, |a, b| a.wrapping_add(*b as u16)));
        match (level, attribute) {
            (1, ATT_BODY) => out.body = Some(string8(value)),
            (1, ATT_MAPI_PROPS) if out.body.is_none() => {
                out.body = mapi_string(value, PR_BODY);
            }
            (2, ATT_ATTACH_REND_DATA) => {
                if let Some(file) = current.take() {
                    keep(&mut out, file, max);
                }
                current = Some(TnefFile::default());
            }
            (2, ATT_ATTACH_TITLE) => {
                let file = current.get_or_insert_with(TnefFile::default);
                if file.filename.is_empty() {
                    file.filename = string8(value);
                }
            }
            (2, ATT_ATTACH_DATA) => {
                let file = current.get_or_insert_with(TnefFile::default);
                file.bytes = value.to_vec();
                if !checksum_ok {
                    file.problem = Some("winmail.dat checksum mismatch".into());
                }
            }
            (2, ATT_ATTACHMENT) => {
                if let Some(long) = mapi_string(value, PR_ATTACH_LONG_FILENAME) {
                    current.get_or_insert_with(TnefFile::default).filename = long;
                }
            }
            _ => {}
        }
    }
    if let Some(file) = current.take() {
        keep(&mut out, file, max);
    }
    for (i, file) in out.attachments.iter_mut().enumerate() {
        if file.filename.is_empty() {
            file.filename = format!("winmail-bijlage-{}", i + 1);
        }
    }
    Ok(out)
}

fn keep(out: &mut Tnef, file: TnefFile, max: usize) {
    if out.attachments.len() < max {
        out.attachments.push(file);
    } else {
        out.left_out += 1;
    }
}

/// A NUL-terminated 8-bit string (windows-1252 in practice).
fn string8(value: &[u8]) -> String {
    let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
    super::encoded::windows_1252(&value[..end])
        .trim()
        .to_string()
}

/// Find one string property in a MAPI property list ([MS-OXTNEF] §2.1.3.4).
fn mapi_string(data: &[u8], wanted: u16) -> Option<String> {
    let mut c = Cursor { data, pos: 0 };
    let count = c.u32()?;
    for _ in 0..count.min(4096) {
        let ptype = c.u16()?;
        let id = c.u16()?;
        if id >= 0x8000 {
            c.take(16)?;
            match c.u32()? {
                0 => {
                    c.u32()?;
                }
                _ => {
                    let len = c.u32()? as usize;
                    c.take(pad4(len))?;
                }
            }
        }
        let multi = ptype & 0x1000 != 0;
        let base = ptype & !0x1000;
        let values = match base {
            0x001E | 0x001F | 0x0102 | 0x000D => c.u32()?,
            _ if multi => c.u32()?,
            _ => 1,
        };
        for _ in 0..values.min(4096) {
            match base {
                0x0002 | 0x0003 | 0x0004 | 0x000A | 0x000B => {
                    c.take(4)?;
                }
                0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => {
                    c.take(8)?;
                }
                0x0048 => {
                    c.take(16)?;
                }
                0x001E | 0x001F | 0x0102 | 0x000D => {
                    let len = c.u32()? as usize;
                    let raw = c.take(pad4(len))?;
                    let raw = raw.get(..len)?;
                    if id == wanted {
                        return Some(match base {
                            0x001F => utf16(raw),
                            _ => string8(raw),
                        });
                    }
                }
                _ => return None,
            }
        }
    }
    None
}

fn pad4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn utf16(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units).trim().to_string()
}

/// Build a TNEF stream (tests, the corpus generator's twin in Rust).
#[cfg(test)]
pub fn build(files: &[(&str, &[u8])]) -> Vec<u8> {
    fn record(out: &mut Vec<u8>, level: u8, attr: u32, data: &[u8]) {
        out.push(level);
        out.extend_from_slice(&attr.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let sum = data.iter().fold(0u16, |a, b| a.wrapping_add(*b as u16));
        out.extend_from_slice(&sum.to_le_bytes());
    }
    let mut out = Vec::new();
    out.extend_from_slice(&SIGNATURE.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    record(&mut out, 1, ATT_BODY, b"Zie bijlage.\0");
    for (name, bytes) in files {
        record(&mut out, 2, ATT_ATTACH_REND_DATA, &[0; 14]);
        let mut title = name.as_bytes().to_vec();
        title.push(0);
        record(&mut out, 2, ATT_ATTACH_TITLE, &title);
        record(&mut out, 2, ATT_ATTACH_DATA, bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_million_empty_attachments_are_counted_not_kept() {
        let mut data = 0x223E_9F78u32.to_le_bytes().to_vec();
        data.extend_from_slice(&[0, 0]);
        for _ in 0..2_000_000 {
            data.push(2);
            data.extend_from_slice(&0x0006_9002u32.to_le_bytes());
            data.extend_from_slice(&[0; 6]);
        }
        let (read, allocated) = crate::counted::allocated(|| read_at_most(&data, 200));
        let read = read.unwrap();
        assert_eq!(read.attachments.len(), 200);
        assert_eq!(read.left_out, 2_000_000 - 200);
        assert!(allocated < 1024 * 1024, "{allocated} bytes allocated");
    }

    #[test]
    fn attachments_come_out_with_name_and_bytes() {
        let data = build(&[("addendum.pdf", b"%PDF-1.4 x"), ("verslag.docx", b"PK")]);
        let tnef = read(&data).expect("tnef");
        assert_eq!(tnef.body.as_deref(), Some("Zie bijlage."));
        assert_eq!(tnef.attachments.len(), 2);
        assert_eq!(tnef.attachments[0].filename, "addendum.pdf");
        assert_eq!(tnef.attachments[0].bytes, b"%PDF-1.4 x");
        assert_eq!(tnef.attachments[1].problem, None);
    }

    #[test]
    fn a_cut_off_stream_keeps_what_was_read() {
        let data = build(&[("addendum.pdf", b"%PDF-1.4 xxxxxxxxxxxxxxxxxxxx")]);
        let tnef = read(&data[..data.len() - 10]).expect("tnef");
        assert_eq!(tnef.attachments.len(), 1);
        assert!(tnef.attachments[0].problem.is_some());
    }

    #[test]
    fn not_tnef_is_an_error() {
        assert_eq!(read(b"hello"), Err(TnefError::NotTnef));
    }

    #[test]
    fn every_prefix_reads_without_panic() {
        let data = build(&[("a.pdf", b"%PDF-1.4 body")]);
        for n in 0..data.len() {
            let _ = read(&data[..n]);
        }
    }
}
