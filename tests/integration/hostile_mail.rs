//! The hostile generator of issue 20: mails built to stop, stall or bloat intake, generated at
//! test time (not committed as big files). Shared by the integration tests and by
//! `cargo run --release --example hostile -- DIR`, which writes them as `.eml` files to measure
//! the release binary on (README, "Reliability").

use std::io::Write;

const HEAD: &str = "From: Onbekend <iemand@elders.example>\r\nTo: versneldedoorstroom@woonhaven.be\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n";

fn head(id: &str, subject: &str) -> String {
    format!("{HEAD}Message-ID: <{id}@hostile.example>\r\nSubject: {subject}\r\n")
}

/// `message/rfc822` nested `depth` deep, without boundaries (25,000: 800 KB).
pub fn nested_rfc822(depth: usize) -> Vec<u8> {
    let mut out = head("nested", "genest").into_bytes();
    for _ in 0..depth {
        out.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    out.extend_from_slice(b"From: a@b.example\r\nSubject: bodem\r\n\r\nHallo\r\n");
    out
}

/// `<blockquote>` × n, then `<br>` × n (20,000: 340 KB).
pub fn blockquotes(n: usize) -> Vec<u8> {
    let mut out = head("quotes", "citaten").into_bytes();
    out.extend_from_slice(b"Content-Type: text/html; charset=utf-8\r\n\r\n");
    out.extend_from_slice("<blockquote>".repeat(n).as_bytes());
    out.extend_from_slice("<br>".repeat(n).as_bytes());
    out
}

/// `<style></style>` × n (100,000: 1.5 MB).
pub fn styles(n: usize) -> Vec<u8> {
    let mut out = head("styles", "stijlen").into_bytes();
    out.extend_from_slice(b"Content-Type: text/html; charset=utf-8\r\n\r\n");
    out.extend_from_slice("<style></style>".repeat(n).as_bytes());
    out.extend_from_slice(b"<p>Hallo</p>");
    out
}

/// n distinct case references in the body (300,000: 4.5 MB).
pub fn case_references(n: usize) -> Vec<u8> {
    let mut out = head("refs", "dossiers").into_bytes();
    out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
    for i in 0..n {
        write!(out, "VD-{}-{:06} ", 2026 + i / 1_000_000, i % 1_000_000).unwrap();
        if i % 8 == 7 {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// A `References:` header with n ids (16,383: 300 KB).
pub fn many_references(n: usize) -> Vec<u8> {
    let mut out = head("many-refs", "Re: antwoord").into_bytes();
    out.extend_from_slice(b"References:");
    for i in 0..n {
        write!(out, " <r{i}@x.example>\r\n").unwrap();
    }
    out.extend_from_slice(b"Content-Type: text/plain\r\n\r\nZie hieronder.\r\n");
    out
}

/// A `winmail.dat` with n empty attachments (2,000,000: 30 MB).
pub fn winmail(n: usize) -> Vec<u8> {
    let mut tnef = Vec::with_capacity(6 + n * 11);
    tnef.extend_from_slice(&0x223E_9F78u32.to_le_bytes());
    tnef.extend_from_slice(&0u16.to_le_bytes());
    for _ in 0..n {
        // level 2, attAttachRendData, length 0, checksum 0
        tnef.push(2);
        tnef.extend_from_slice(&0x0006_9002u32.to_le_bytes());
        tnef.extend_from_slice(&0u32.to_le_bytes());
        tnef.extend_from_slice(&0u16.to_le_bytes());
    }
    multipart("winmail", &[("winmail.dat", "application/ms-tnef", tnef)])
}

/// A PDF with n FlateDecode streams of 8 MB each once inflated (1,000: 22 MB).
pub fn flate_pdf(n: usize) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![b' '; 8 * 1024 * 1024]).unwrap();
    let stream = z.finish().unwrap();
    let mut pdf = b"%PDF-1.4\n".to_vec();
    for i in 0..n {
        write!(
            pdf,
            "{} 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
            i + 1,
            stream.len()
        )
        .unwrap();
        pdf.extend_from_slice(&stream);
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
    }
    pdf.extend_from_slice(b"%%EOF\n");
    multipart("flate", &[("verslag.pdf", "application/pdf", pdf)])
}

/// A text body of `bytes` bytes on one line (50 MB).
#[allow(dead_code)] // measured with `examples/hostile.rs`; parse.rs tests it in memory
pub fn one_line(bytes: usize) -> Vec<u8> {
    let mut out = head("one-line", "lang").into_bytes();
    out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
    out.resize(out.len() + bytes, b'a');
    out.extend_from_slice(b"\r\n");
    out
}

/// A multipart/mixed mail with a short text and these attachments (base64).
pub fn multipart(id: &str, files: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    use base64::Engine;
    let mut out = head(id, "bijlagen").into_bytes();
    out.extend_from_slice(b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nZie bijlagen.\r\n");
    for (name, ctype, bytes) in files {
        write!(
            out,
            "--b\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        .unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        for line in encoded.as_bytes().chunks(76) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"--b--\r\n");
    out
}

/// Every case of the table at its size there, by file name.
#[allow(dead_code)] // for `examples/hostile.rs`
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("01-nested-rfc822-25000.eml", nested_rfc822(25_000)),
        ("02-blockquote-20000.eml", blockquotes(20_000)),
        ("03-style-100000.eml", styles(100_000)),
        ("04-case-refs-300000.eml", case_references(300_000)),
        ("05-references-16383.eml", many_references(16_383)),
        ("06-winmail-2000000.eml", winmail(2_000_000)),
        ("07-flate-pdf-1000.eml", flate_pdf(1_000)),
        ("08-one-line-50mb.eml", one_line(50 * 1024 * 1024)),
    ]
}
