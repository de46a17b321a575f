//! Triage throughput: 10,000 generated, realistic partner mails (Outlook HTML alternatives,
//! replies with quoted text, referrals with PDF (FlateDecode) and DOCX attachments, winmail.dat)
//! decided by `triage`, reported as mails/s and MB/s; then the same mails through
//! `benches/triage_baseline.py` (Python's standard `email` package doing the same extraction)
//! and the ratio.
//!
//!   cargo bench --bench triage
//!
//! The mails are deterministic (a fixed-seed generator), so runs compare.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use doorstroom::config::Config;
use doorstroom::understand::{triage, Register, RegisteredCase};

const MAILS: usize = 10_000;

/// A small deterministic generator (xorshift): no dependency, same mails every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FIRST: &[&str] = &[
    "Jan", "Fatima", "Dirk", "Maria", "Youssef", "Sara", "Kevin", "Lotte", "Noah", "Elif",
];
const LAST: &[&str] = &[
    "Peeters",
    "El Amrani",
    "Vermeulen",
    "Claes",
    "Benali",
    "Wouters",
    "De Smet",
    "Janssens",
    "Maes",
    "Yilmaz",
];
const NEW_FIRST: &[&str] = &[
    "Anna", "Mohamed", "Pieter", "Chloé", "Wim", "Ilse", "Bart", "Hanne",
];
const NEW_LAST: &[&str] = &[
    "Verbruggen",
    "Ait Ali",
    "Van Damme",
    "Dupré",
    "Jacobs",
    "Goossens",
    "Lauwers",
    "Segers",
];
const PARTNERS: &[&str] = &[
    "caw-antwerpen.example",
    "ocmw-antwerpen.example",
    "bw-kempen.example",
];
const FILLER: &str =
    "De begeleiding verloopt volgens het plan dat we samen met de kandidaat-huurder opstelden. \
We bekeken het budget, de afspraken met de huisarts en de administratie. ";

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 + 4);
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push('\n');
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn pdf(title: &str, rng: &mut Rng) -> Vec<u8> {
    let mut content = format!("BT /F1 14 Tf 72 760 Td ({title}) Tj T* ");
    for _ in 0..(20 + rng.below(60)) {
        content.push('(');
        content.push_str(FILLER);
        content.push_str(") Tj T* ");
    }
    content.push_str("ET");
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(content.as_bytes()).expect("compress");
    let data = enc.finish().expect("compress");
    // A scanned signature image: incompressible bytes, as in real addenda.
    let image: Vec<u8> = (0..(20_000 + rng.below(60_000)))
        .map(|_| rng.next() as u8)
        .collect();
    let mut out = b"%PDF-1.5\n1 0 obj\n<< /Length ".to_vec();
    out.extend_from_slice(format!("{} /Filter /FlateDecode >>\nstream\n", data.len()).as_bytes());
    out.extend_from_slice(&data);
    out.extend_from_slice(
        b"\nendstream\nendobj\n2 0 obj\n<< /Subtype /Image /Filter /DCTDecode >>\nstream\n",
    );
    out.extend_from_slice(&image);
    out.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A DOCX with `word/document.xml` deflated, written by hand (central directory included).
fn docx(title: &str, rng: &mut Rng) -> Vec<u8> {
    let mut xml = String::from(r#"<?xml version="1.0"?><w:document xmlns:w="x"><w:body>"#);
    xml.push_str(&format!("<w:p><w:r><w:t>{title}</w:t></w:r></w:p>"));
    for _ in 0..(30 + rng.below(80)) {
        xml.push_str(&format!("<w:p><w:r><w:t>{FILLER}</w:t></w:r></w:p>"));
    }
    xml.push_str("</w:body></w:document>");
    let raw = xml.as_bytes();
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(raw).expect("deflate");
    let data = enc.finish().expect("deflate");
    let name = b"word/document.xml";
    let crc = crc32(raw);
    let mut out = Vec::new();
    out.extend_from_slice(b"PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0");
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&data);
    let cd = out.len();
    out.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\x08\0\0\0\0\0");
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name);
    let cd_len = out.len() - cd;
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
    out.extend_from_slice(&(cd_len as u32).to_le_bytes());
    out.extend_from_slice(&(cd as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn attachment(ctype: &str, name: &str, data: &[u8]) -> String {
    format!(
        "Content-Type: {ctype}; name=\"{name}\"\nContent-Disposition: attachment; filename=\"{name}\"\n\
         Content-Transfer-Encoding: base64\n\n{}\n",
        b64(data)
    )
}

fn mail(i: usize, rng: &mut Rng) -> Vec<u8> {
    let partner = rng.below(3) as usize;
    let domain = PARTNERS[partner];
    // A case of this partner (see `register`): case n belongs to partner n % 3.
    let case = [3, 1, 2][partner] + 3 * rng.below(3) as usize;
    let kind = rng.below(10);
    // Referrals are of new people; every other mail names the candidate of its case.
    let name = if kind <= 3 {
        format!("{} {}", rng.pick(NEW_FIRST), rng.pick(NEW_LAST))
    } else {
        format!("{} {}", FIRST[case], LAST[case])
    };
    let (subject, text) = match kind {
        0..=3 => (
            format!("Aanmelding {name}"),
            format!("Beste,\n\nHierbij de aanmelding van {name}.\nCIR-nummer: 2026-{:06}\n\nIn bijlage het ondertekend addendum en het uitgebreid sociaal verslag.\n\n{FILLER}\n\nMet vriendelijke groeten,\nEls Wouters\nT 03 201 45 67\n", rng.below(999_999)),
        ),
        4 | 5 => (
            format!("Zorgen VD-2026-{case:04}"),
            format!("Beste,\n\nDe begeleiding van {name} loopt moeizaam: geen medewerking en de huurachterstal loopt op.\n{FILLER}\n\nGroeten,\nTom\n\nOp di 17 nov. 2026 om 09:00 schreef Versnelde doorstroom <versneldedoorstroom@woonhaven.example>:\n> {FILLER}\n> {FILLER}\n"),
        ),
        6 => (
            format!("RE: Agenda structureel overleg - VD-2026-{case:04}"),
            format!("Graag VD-2026-{case:04} bespreken op het overleg.\n\n________________________________\nVan: Versnelde doorstroom <versneldedoorstroom@woonhaven.example>\nVerzonden: donderdag 19 november 2026 9:00\nOnderwerp: Agenda\n\n{FILLER}\n"),
        ),
        7 => (
            format!("Eindverslag VD-2026-{case:04}"),
            format!("Beste,\n\nDe begeleiding van {name} stopt op 15 december 2026. In bijlage het eindverslag.\n\nEls\n"),
        ),
        8 => (
            "Nieuwe woonbegeleider".to_string(),
            format!("Beste,\n\nVanaf 1 december is de nieuwe woonbegeleider van {name} Karel Mertens, karel.mertens@{domain}, 0470 12 34 56.\n\nEls\n"),
        ),
        _ => (
            "Automatisch antwoord: overleg".to_string(),
            "Ik ben afwezig tot 30 november.\n".to_string(),
        ),
    };
    let html = format!(
        "<html><head><style>p{{margin:0}}</style></head><body>{}</body></html>",
        text.lines()
            .map(|l| format!("<p>{l}</p>"))
            .collect::<String>()
    );
    let alternative = format!(
        "Content-Type: multipart/alternative; boundary=\"alt{i}\"\n\n--alt{i}\nContent-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: 8bit\n\n{text}\n--alt{i}\nContent-Type: text/html; charset=\"utf-8\"\nContent-Transfer-Encoding: 8bit\n\n{html}\n--alt{i}--\n"
    );
    let mut parts = vec![alternative];
    if kind <= 3 {
        parts.push(attachment(
            "application/pdf",
            &format!("Addendum {name}.pdf"),
            &pdf("Addendum versnelde doorstroom", rng),
        ));
        parts.push(attachment(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            &format!("Sociaal verslag {name}.docx"),
            &docx("Uitgebreid sociaal verslag", rng),
        ));
    } else if kind == 7 {
        parts.push(attachment(
            "application/pdf",
            "eindverslag.pdf",
            &pdf("Eindverslag", rng),
        ));
    }
    let auto = if kind == 9 {
        "Auto-Submitted: auto-replied\n"
    } else {
        ""
    };
    let mut out = format!(
        "Return-Path: <els.wouters@{domain}>\nAuthentication-Results: mx.woonhaven.example; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}\n\
         Received: from mail.{domain} by mx.woonhaven.example (Postfix) with ESMTPS id {i:X}; Tue, 17 Nov 2026 10:12:03 +0100\n\
         X-Mailer: Microsoft Outlook 16.0\nFrom: Els Wouters <els.wouters@{domain}>\nTo: versneldedoorstroom@woonhaven.example\n\
         Subject: {subject}\nDate: Tue, 17 Nov 2026 10:12:00 +0100\nMessage-ID: <bench.{i}@{domain}>\n{auto}MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"mix{i}\"\n\n"
    );
    for p in parts {
        out.push_str(&format!("--mix{i}\n{p}"));
    }
    out.push_str(&format!("--mix{i}--\n"));
    out.replace('\n', "\r\n").into_bytes()
}

fn register() -> Register {
    let cases = (1..10)
        .map(|n| {
            std::sync::Arc::new(RegisteredCase {
                case_ref: format!("VD-2026-{n:04}"),
                partner: PARTNERS[n % 3].trim_end_matches(".example").to_string(),
                candidate: format!("{} {}", FIRST[n], LAST[n]),
                cir: None,
                counsellor_email: None,
                social_assistant: None,
                open: true,
            })
        })
        .collect();
    Register {
        cases,
        ..Register::default()
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("tests/corpus/doorstroom.toml")).expect("corpus config");
    let register = register();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mails: Vec<Vec<u8>> = (0..MAILS).map(|i| mail(i, &mut rng)).collect();
    let bytes: usize = mails.iter().map(Vec::len).sum();
    let mb = bytes as f64 / 1_000_000.0;

    // Warm-up (regex compilation, page faults), then the measured pass.
    for m in mails.iter().take(200) {
        std::hint::black_box(triage(m, &register, &config));
    }
    let start = Instant::now();
    let mut kinds = std::collections::BTreeMap::new();
    for m in &mails {
        let d = triage(m, &register, &config);
        *kinds.entry(d.kind.as_str()).or_insert(0usize) += 1;
        std::hint::black_box(d);
    }
    let secs = start.elapsed().as_secs_f64();
    let rust_mails = MAILS as f64 / secs;
    println!("triage (Rust): {MAILS} mails, {mb:.1} MB in {secs:.2} s: {rust_mails:.0} mails/s, {:.1} MB/s", mb / secs);
    println!("  kinds: {kinds:?}");

    let dir = std::env::temp_dir().join(format!("doorstroom-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (i, m) in mails.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:05}.eml")), m).expect("write mail");
    }
    let output = Command::new("python3")
        .arg(root.join("benches/triage_baseline.py"))
        .arg(&dir)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match output {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            print!("{text}");
            let py_mails = text
                .lines()
                .find_map(|l| l.strip_prefix("mails_per_s="))
                .and_then(|v| v.trim().parse::<f64>().ok());
            if let Some(py) = py_mails {
                println!(
                    "ratio: Rust is {:.1}× the Python email-package baseline (target ≥ 20×)",
                    rust_mails / py
                );
            }
        }
        Ok(out) => eprintln!("baseline failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("cannot run python3 for the baseline: {e}"),
    }
}
