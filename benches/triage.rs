//! Triage speed on the mail partners send, measured the way an admin runs it.
//!
//!   cargo bench --bench triage
//!
//! 1. **Realistic corpus**: the golden corpus's mails (`tests/corpus/*.eml`) repeated with unique
//!    Message-IDs to 10,000 (`DOORSTROOM_TRIAGE_MAILS`), decided through the library
//!    (`understand::triage`, in-process) and through the binary (`doorstroom triage --json`
//!    against an empty SQLite database), each interleaved round by round
//!    (`DOORSTROOM_TRIAGE_ROUNDS`, at least 5) with `benches/triage_baseline.py` (Python's
//!    `email` package doing the same extraction) and with mail-parser alone parsing each mail
//!    and touching every part (the floor of this stack). Per round: wall time and CPU time
//!    (`getrusage`, user + system, of this process or of the child); then the median ratios.
//! 2. **Instructions per mail** where valgrind exists (`callgrind` over
//!    `DOORSTROOM_TRIAGE_CALLGRIND` mails, 200 by default, less the same run over the first half,
//!    so start-up and lazy set-up are not counted): the figure to quote, as this machine's wall time swings 2× with
//!    load.
//! 3. **Scaling**: `doorstroom triage` of 1,000 new mails against an empty database and against
//!    one that already holds 10,000 mails (`DOORSTROOM_TRIAGE_DB_MAILS`, filled by
//!    `doorstroom ingest`), interleaved 3 times, CPU time and instructions.
//! 4. **Synthetic corpus** (labelled as such; `DOORSTROOM_TRIAGE_SYNTHETIC=0` skips it): the
//!    generated mails this bench used before (36 KB each, random "scan" blobs that Python
//!    regex-scans and Rust skips), in-process against the baseline.
//!
//! `DOORSTROOM_TRIAGE_BIN` runs another `doorstroom` binary (an older build, for a before/after
//! figure). The mails are deterministic, so runs compare.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use doorstroom::config::Config;
use doorstroom::understand::{triage, Register, RegisteredCase};

/// Mails of the synthetic corpus.
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

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) of this process, or of its waited-for children.
fn cpu(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Wall and CPU time of one measured run.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
}

/// Run `f` (which runs a child to completion, or works in-process) and measure it.
fn measure(child: bool, f: impl FnOnce()) -> Run {
    let who = if child {
        libc::RUSAGE_CHILDREN
    } else {
        libc::RUSAGE_SELF
    };
    let (cpu0, start) = (cpu(who), Instant::now());
    f();
    Run {
        wall: start.elapsed(),
        cpu: cpu(who) - cpu0,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn range(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{lo:.1}–{hi:.1}×, median {:.1}×", median(v.to_vec()))
}

/// The golden corpus's mails, sorted by name.
fn golden(root: &Path) -> Vec<Vec<u8>> {
    let dir = root.join("tests/corpus");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read(p).expect("corpus mail"))
        .collect()
}

/// Copy `n` of `mail` with its top-level Message-ID made unique: `<bench-n.original>`. A mail
/// without one is left as it is (it is never a duplicate of anything anyway).
fn with_unique_id(mail: &[u8], n: usize) -> Vec<u8> {
    let end = memchr::memmem::find(mail, b"\r\n\r\n")
        .or_else(|| memchr::memmem::find(mail, b"\n\n"))
        .unwrap_or(mail.len());
    let mut at = 0;
    while at < end {
        let line_end = memchr::memchr(b'\n', &mail[at..end]).map_or(end, |p| at + p + 1);
        let line = &mail[at..line_end];
        if line.len() > 11 && line[..11].eq_ignore_ascii_case(b"message-id:") {
            let value = &line[11..];
            if let Some(lt) = memchr::memchr(b'<', value) {
                let mut out = mail[..at + 11 + lt + 1].to_vec();
                out.extend_from_slice(format!("bench-{n}.").as_bytes());
                out.extend_from_slice(&mail[at + 11 + lt + 1..]);
                return out;
            }
        }
        at = line_end;
    }
    mail.to_vec()
}

/// The realistic corpus: mails `from..from + n` of the golden corpus repeated.
fn realistic(golden: &[Vec<u8>], from: usize, n: usize) -> Vec<Vec<u8>> {
    (from..from + n)
        .map(|i| with_unique_id(&golden[i % golden.len()], i))
        .collect()
}

/// Write mails as `00000.eml`… into a fresh folder; the files in order.
fn write_dir(dir: &Path, mails: &[Vec<u8>]) -> Vec<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("bench folder");
    mails
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let path = dir.join(format!("{i:05}.eml"));
            std::fs::write(&path, m).expect("write mail");
            path
        })
        .collect()
}

/// The corpus config with its database in `db` (SQLite, created on first use).
fn config_file(root: &Path, dir: &Path, db: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root.join("tests/corpus/doorstroom.toml")).expect("config");
    let text = text.replace(
        "url = \"sqlite::memory:\"",
        &format!("url = \"sqlite://{}\"", db.display()),
    );
    let path = dir.join(format!(
        "{}.toml",
        db.file_stem().and_then(|s| s.to_str()).unwrap_or("bench")
    ));
    std::fs::write(&path, text).expect("write config");
    path
}

fn doorstroom() -> PathBuf {
    std::env::var_os("DOORSTROOM_TRIAGE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_doorstroom")))
}

fn triage_command(config: &Path, files: &[PathBuf]) -> Command {
    let mut c = Command::new(doorstroom());
    c.arg("--config")
        .arg(config)
        .arg("triage")
        .arg("--json")
        .args(files)
        .stdout(Stdio::null())
        .env("RUST_LOG", "warn");
    c
}

fn run_ok(mut c: Command, what: &str) {
    match c.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{what}: {s}"),
        Err(e) => panic!("{what}: {e}"),
    }
}

fn python(root: &Path, dir: &Path) -> Command {
    let mut c = Command::new("python3");
    c.arg(root.join("benches/triage_baseline.py"))
        .arg(dir)
        .stdout(Stdio::null());
    c
}

/// The in-process library path: each mail parsed once and decided against the corpus register.
fn library(mails: &[Vec<u8>], register: &Register, config: &Config) -> usize {
    let mut referrals = 0;
    for m in mails {
        let d = triage(m, register, config);
        referrals += usize::from(d.kind == doorstroom::understand::MailKind::Referral);
        std::hint::black_box(d);
    }
    referrals
}

/// mail-parser alone: parse each mail and touch every part's bytes, and the nested mails'.
fn parser_only(mails: &[Vec<u8>]) -> usize {
    let parser = mail_parser::MessageParser::default();
    let mut bytes = 0;
    for m in mails {
        if let Some(message) = parser.parse(m.as_slice()) {
            let mut pending = vec![message];
            while let Some(message) = pending.pop() {
                for part in message.parts {
                    bytes += part.contents().len();
                    if let mail_parser::PartType::Message(inner) = part.body {
                        pending.push(inner);
                    }
                }
            }
        }
    }
    bytes
}

/// The corpus register (`tests/corpus/register.json`), as the corpus tests read it.
fn corpus_register(root: &Path) -> Register {
    #[derive(serde::Deserialize)]
    struct File {
        cases: Vec<RegisteredCase>,
        threads: std::collections::HashMap<String, String>,
    }
    let text = std::fs::read_to_string(root.join("tests/corpus/register.json")).expect("register");
    let file: File = serde_json::from_str(&text).expect("register.json");
    Register {
        cases: file.cases.into_iter().map(std::sync::Arc::new).collect(),
        threads: file.threads,
        earlier: Vec::new(),
    }
}

/// Under callgrind: `DOORSTROOM_TRIAGE_CHILD=library|parser DIR N` runs that path alone over
/// the first N mails of DIR.
fn child(mode: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.last().and_then(|a| a.parse().ok()).unwrap_or(0);
    let dir = PathBuf::from(&args[args.len() - 2]);
    let mails: Vec<Vec<u8>> = (0..n)
        .map(|i| std::fs::read(dir.join(format!("{i:05}.eml"))).expect("mail"))
        .collect();
    match mode {
        "library" => {
            let config =
                Config::load(&root.join("tests/corpus/doorstroom.toml")).expect("corpus config");
            let register = corpus_register(root);
            std::hint::black_box(library(&mails, &register, &config));
        }
        _ => {
            std::hint::black_box(parser_only(&mails));
        }
    }
}

/// Instructions callgrind counts for a command.
fn callgrind(command: Command) -> Option<u64> {
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    let mut c = Command::new("valgrind");
    // Children too: `python3` may be a launcher script (pyenv) that execs the interpreter.
    c.arg("--tool=callgrind")
        .arg("--trace-children=yes")
        .arg("--callgrind-out-file=/dev/null")
        .arg(program)
        .args(args)
        .stdout(Stdio::null());
    for (k, v) in command.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let out = c.output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let counts: Vec<u64> = text
        .lines()
        .filter_map(|l| l.split("Collected :").nth(1))
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    (!counts.is_empty()).then(|| counts.iter().sum())
}

/// Instructions per mail: the run over `n` mails less the run over the first `n / 2`, over
/// `n - n / 2`. Start-up, and what is set up lazily on the first mail of a kind (regexes only
/// some kinds need), are in both runs when `n / 2` covers the corpus's 75 mails.
fn per_mail(make: impl Fn(usize) -> Command, n: usize) -> Option<f64> {
    let many = callgrind(make(n))?;
    let half = callgrind(make(n / 2))?;
    Some(many.saturating_sub(half) as f64 / (n - n / 2) as f64)
}

fn has_valgrind() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    if let Ok(mode) = std::env::var("DOORSTROOM_TRIAGE_CHILD") {
        child(&mode);
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mails_n = env_number("DOORSTROOM_TRIAGE_MAILS", 10_000);
    let rounds = env_number("DOORSTROOM_TRIAGE_ROUNDS", 5);
    let config = Config::load(&root.join("tests/corpus/doorstroom.toml")).expect("corpus config");
    let register = corpus_register(root);
    let golden = golden(root);
    let mails = realistic(&golden, 0, mails_n);
    let bytes: usize = mails.iter().map(Vec::len).sum();
    let work = std::env::temp_dir().join(format!("doorstroom-triage-{}", std::process::id()));
    let files = write_dir(&work.join("mails"), &mails);
    println!(
        "realistic corpus: the {} golden-corpus mails repeated to {mails_n} with unique Message-IDs, {:.1} MB ({:.1} KB per mail); binary {}",
        golden.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / mails_n as f64,
        doorstroom().display()
    );

    // Warm-up: page cache, regex compilation.
    library(&mails[..mails_n.min(200)], &register, &config);
    let empty_db = work.join("empty.db");
    let empty_config = config_file(root, &work, &empty_db);
    run_ok(
        triage_command(&empty_config, &files[..1]),
        "doorstroom triage",
    );

    let (mut lib_py, mut bin_py, mut lib_floor, mut bin_floor) = (vec![], vec![], vec![], vec![]);
    let (mut lib_py_wall, mut bin_py_wall, mut bin_floor_wall) = (vec![], vec![], vec![]);
    let per = |r: Run| {
        format!(
            "{:.2} s wall, {:.2} s CPU ({:.0} µs CPU/mail)",
            r.wall.as_secs_f64(),
            r.cpu.as_secs_f64(),
            r.cpu.as_secs_f64() * 1e6 / mails_n as f64
        )
    };
    for round in 1..=rounds.max(1) {
        let lib = measure(false, || {
            library(&mails, &register, &config);
        });
        let bin = measure(true, || {
            run_ok(triage_command(&empty_config, &files), "doorstroom triage")
        });
        let py = measure(true, || {
            run_ok(python(root, &work.join("mails")), "python baseline")
        });
        let floor = measure(false, || {
            std::hint::black_box(parser_only(&mails));
        });
        println!("round {round}: library {}", per(lib));
        println!("         binary  {}", per(bin));
        println!("         python  {}", per(py));
        println!("         mail-parser alone {}", per(floor));
        let cpu = |r: Run| r.cpu.as_secs_f64();
        let wall = |r: Run| r.wall.as_secs_f64();
        lib_py.push(cpu(py) / cpu(lib));
        bin_py.push(cpu(py) / cpu(bin));
        lib_py_wall.push(wall(py) / wall(lib));
        bin_py_wall.push(wall(py) / wall(bin));
        lib_floor.push(cpu(lib) / cpu(floor));
        bin_floor.push(cpu(bin) / cpu(floor));
        bin_floor_wall.push(wall(bin) / wall(floor));
    }
    println!(
        "CPU time, Python ÷ Rust: library {}; binary {}",
        range(&lib_py),
        range(&bin_py)
    );
    println!(
        "wall time, Python ÷ Rust: library {}; binary {}",
        range(&lib_py_wall),
        range(&bin_py_wall)
    );
    println!(
        "CPU time ÷ mail-parser alone: library {}; binary {} (wall, binary: {})",
        range(&lib_floor),
        range(&bin_floor),
        range(&bin_floor_wall)
    );

    let valgrind = has_valgrind();
    let grind_n = env_number("DOORSTROOM_TRIAGE_CALLGRIND", 200).clamp(4, mails_n);
    if valgrind {
        let grind_dir = work.join("grind");
        let grind_files = write_dir(&grind_dir, &mails[..grind_n]);
        let half_dir = work.join("grind-half");
        write_dir(&half_dir, &mails[..grind_n / 2]);
        let exe = std::env::current_exe().expect("bench exe");
        let child = |mode: &'static str| {
            let (exe, grind_dir) = (exe.clone(), grind_dir.clone());
            move |n: usize| {
                let mut c = Command::new(&exe);
                c.env("DOORSTROOM_TRIAGE_CHILD", mode)
                    .arg(&grind_dir)
                    .arg(n.to_string());
                c
            }
        };
        let library_i = per_mail(child("library"), grind_n);
        let parser_i = per_mail(child("parser"), grind_n);
        let binary_i = per_mail(
            |n| triage_command(&empty_config, &grind_files[..n]),
            grind_n,
        );
        let python_i = per_mail(
            |n| python(root, if n < grind_n { &half_dir } else { &grind_dir }),
            grind_n,
        );
        let m = |i: Option<f64>| i.map_or("-".to_string(), |i| format!("{:.2} M", i / 1e6));
        println!(
            "instructions per mail (callgrind, {grind_n} mails less the first half): library {}, binary {}, mail-parser alone {}, python {}",
            m(library_i),
            m(binary_i),
            m(parser_i),
            m(python_i)
        );
        if let (Some(py), Some(lib), Some(bin), Some(floor)) =
            (python_i, library_i, binary_i, parser_i)
        {
            println!(
                "  Python ÷ Rust: library {:.1}×, binary {:.1}× (target ≥ 25×); Rust ÷ mail-parser alone: library {:.1}×, binary {:.1}× (target ≤ 2×)",
                py / lib,
                py / bin,
                lib / floor,
                bin / floor
            );
        }
    } else {
        println!("instructions per mail: valgrind not found, not counted");
    }

    scaling(root, &golden, &work, &empty_config, valgrind);
    let _ = std::fs::remove_dir_all(&work);

    if std::env::var("DOORSTROOM_TRIAGE_SYNTHETIC").as_deref() != Ok("0") {
        synthetic(root, &config);
    }
}

/// `doorstroom triage` of 1,000 new mails against an empty database and against one holding
/// `DOORSTROOM_TRIAGE_DB_MAILS` mails, filled by `doorstroom ingest`.
fn scaling(root: &Path, golden: &[Vec<u8>], work: &Path, empty_config: &Path, valgrind: bool) {
    let held = env_number("DOORSTROOM_TRIAGE_DB_MAILS", 10_000);
    let new_n = env_number("DOORSTROOM_TRIAGE_NEW_MAILS", 1_000);
    let full_db = work.join("full.db");
    let full_config = config_file(root, work, &full_db);
    // The held mails are the corpus's mails that have a Message-ID: a mail without any header
    // (057-malformed-no-headers) in a batch of ingest makes the whole batch fail with "mail N
    // was already decided" (before this bench was written too; alone it is decided).
    let with_id: Vec<Vec<u8>> = golden
        .iter()
        .filter(|m| with_unique_id(m, 0) != **m)
        .cloned()
        .collect();
    let held_files = write_dir(&work.join("held"), &realistic(&with_id, 0, held));
    let start = Instant::now();
    let mut ingest = Command::new(doorstroom());
    ingest
        .arg("--config")
        .arg(&full_config)
        .arg("ingest")
        .arg(work.join("held"))
        .stdout(Stdio::null())
        .env("RUST_LOG", "warn");
    // Some corpus mails are quarantined or fail on purpose: ingest says so, and goes on.
    let _ = ingest.status();
    println!(
        "scaling: {held} mails ingested into the database in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    drop(held_files);
    // New mails: other Message-IDs than the ones held.
    let new_files = write_dir(&work.join("new"), &realistic(golden, held, new_n));
    let (mut empty, mut full, mut ratio) = (vec![], vec![], vec![]);
    for _ in 0..3 {
        let e = measure(true, || {
            run_ok(triage_command(empty_config, &new_files), "triage")
        });
        let f = measure(true, || {
            run_ok(triage_command(&full_config, &new_files), "triage")
        });
        empty.push(e.cpu.as_secs_f64());
        full.push(f.cpu.as_secs_f64());
        ratio.push(f.cpu.as_secs_f64() / e.cpu.as_secs_f64());
    }
    let secs = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "scaling: triage of {new_n} new mails, CPU s against an empty database [{}] vs one holding {held} mails [{}]: {:.2}× (median of 3 interleaved pairs; target within 10 %)",
        secs(&empty),
        secs(&full),
        median(ratio)
    );
    if valgrind {
        let n = env_number("DOORSTROOM_TRIAGE_CALLGRIND", 200).clamp(4, new_n);
        let e = per_mail(|k| triage_command(empty_config, &new_files[..k]), n);
        let f = per_mail(|k| triage_command(&full_config, &new_files[..k]), n);
        if let (Some(e), Some(f)) = (e, f) {
            println!(
                "scaling: instructions per mail (callgrind, {n} mails less the first half): empty {:.2} M, holding {held} mails {:.2} M: {:.2}×",
                e / 1e6,
                f / 1e6,
                f / e
            );
        }
    }
}

/// The generated corpus this bench used before: labelled as synthetic, kept for comparison.
fn synthetic(root: &Path, config: &Config) {
    let register = register();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mails: Vec<Vec<u8>> = (0..MAILS).map(|i| mail(i, &mut rng)).collect();
    let bytes: usize = mails.iter().map(Vec::len).sum();
    let mb = bytes as f64 / 1_000_000.0;

    // Warm-up (regex compilation, page faults), then the measured pass.
    for m in mails.iter().take(200) {
        std::hint::black_box(triage(m, &register, config));
    }
    let start = Instant::now();
    let mut kinds = std::collections::BTreeMap::new();
    for m in &mails {
        let d = triage(m, &register, config);
        *kinds.entry(d.kind.as_str()).or_insert(0usize) += 1;
        std::hint::black_box(d);
    }
    let secs = start.elapsed().as_secs_f64();
    let rust_mails = MAILS as f64 / secs;
    println!("synthetic corpus (generated, not partner mail): triage (Rust, in-process): {MAILS} mails, {mb:.1} MB in {secs:.2} s: {rust_mails:.0} mails/s, {:.1} MB/s", mb / secs);
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
                    "synthetic corpus ratio: Rust is {:.1}× the Python email-package baseline",
                    rust_mails / py
                );
            }
        }
        Ok(out) => eprintln!("baseline failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("cannot run python3 for the baseline: {e}"),
    }
}
