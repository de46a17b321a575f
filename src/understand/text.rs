//! Reading the words of a mail: what is new in it (quoted replies and signatures cut off), what
//! was forwarded inline, keyword matching on whole words, and the facts people write in prose
//! (candidate name, CIR number, new contact details, a short problem statement).
//!
//! Pure string work; the keyword lists come from config.

use std::sync::OnceLock;

use regex::Regex;

use super::Contact;

/// A body split the way a reader sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    /// What the sender wrote now, without quotes and signature.
    pub new: String,
    /// The signature block (greeting onwards): names and phone numbers live here.
    pub signature: String,
    /// Quoted earlier mail (replies): never drives classification.
    pub quoted: String,
    /// A mail forwarded inline, when the body carries one.
    pub forwarded: Option<Forwarded>,
}

/// An inline forward ("---------- Forwarded message ---------", "Van: … Verzonden: …").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forwarded {
    pub from_name: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub text: String,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

fn reply_intro() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"(?i)^\s*(op|on|am|le)\s.{0,160}\b(schreef|wrote|schrieb|a écrit|heeft .{0,160} geschreven)\b",
    )
}

fn original_marker() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"(?i)^\s*-{2,}\s*(original message|oorspronkelijk bericht|origineel bericht|ursprüngliche nachricht|message d'origine)\s*-{2,}",
    )
}

fn forward_marker() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"(?i)^\s*(-{2,}\s*(forwarded message|doorgestuurd bericht|weitergeleitete nachricht|message transféré|doorgestuurde e-mail)\s*-{2,}|begin (doorgestuurd bericht|forwarded message)\s*:)",
    )
}

fn header_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(&RE, r"(?i)^\s*\*?(van|from|von|de)\s?\*?\s?:\*?\s*(.+)$")
}

fn sent_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"(?i)^\s*\*?(verzonden|sent|gesendet|envoyé|datum|date|verstuurd)\s?\*?\s?:",
    )
}

fn subject_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"(?i)^\s*\*?(onderwerp|subject|betreff|objet)\s?\*?\s?:\*?\s*(.*)$",
    )
}

fn greeting() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"(?i)^\s*(met )?(vriendelijke|hartelijke|beste|warme) groet(en)?\b|^\s*(groeten|mvg|m\.v\.g\.|vg|kind regards|best regards|mit freundlichen grüßen)\b|^-- ?$",
    )
}

/// Is this a subject of a forward ("Doorst:", "Fwd:", "WG:", "TR:", "FW:")?
pub fn is_forward_subject(subject: &str) -> bool {
    let s = subject.trim_start().to_lowercase();
    [
        "fwd:",
        "fw:",
        "doorst:",
        "wg:",
        "tr:",
        "fwd :",
        "tr :",
        "doorgestuurd:",
    ]
    .iter()
    .any(|p| s.starts_with(p))
}

/// Subject without "RE:", "Antw:", "AW:", "Fwd:" prefixes.
pub fn strip_subject_prefixes(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let Some(p) = [
            "re:", "antw:", "aw:", "fwd:", "fw:", "doorst:", "wg:", "tr:", "sv:", "ref:",
        ]
        .iter()
        .find(|p| lower.starts_with(**p)) else {
            break;
        };
        s = s[p.len()..].trim_start();
    }
    s.to_string()
}

/// Split a body into new text, signature, quoted text and an inline forward.
pub fn split_body(text: &str) -> Body {
    let lines: Vec<&str> = text.lines().collect();
    let mut body = Body::default();
    let mut cut = lines.len();
    let mut forward_at = None;
    for (i, line) in lines.iter().enumerate() {
        if forward_marker().is_match(line) {
            cut = i;
            forward_at = Some(i + 1);
            break;
        }
        let next = lines.get(i + 1).copied().unwrap_or_default();
        if reply_intro().is_match(line)
            || (line.trim_start().to_lowercase().starts_with("op ")
                && next.to_lowercase().contains("schreef"))
            || original_marker().is_match(line)
        {
            cut = i;
            break;
        }
        if header_line().is_match(line)
            && lines[i + 1..lines.len().min(i + 5)]
                .iter()
                .any(|l| sent_line().is_match(l))
        {
            // Outlook's block: "Van: … / Verzonden: … / Aan: … / Onderwerp: …". A forward when
            // the subject or the line above says so; a quote otherwise (decided by the caller).
            cut = i;
            let above = lines[..i]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.trim().chars().all(|c| c == '_'));
            if above.is_none() {
                forward_at = Some(i);
            } else {
                body.quoted_header_at(i);
            }
            break;
        }
    }
    let head: Vec<&str> = lines[..cut]
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with('>'))
        .filter(|l| !l.trim().chars().all(|c| c == '_') || l.trim().is_empty())
        .collect();
    let sig_at = head.iter().position(|l| greeting().is_match(l));
    let (new, sig) = match sig_at {
        Some(at) => (&head[..at], &head[at..]),
        None => (&head[..], &[][..]),
    };
    body.new = new.join("\n").trim().to_string();
    body.signature = sig.join("\n").trim().to_string();
    let quoted_lines: Vec<&str> = lines[..cut]
        .iter()
        .copied()
        .filter(|l| l.trim_start().starts_with('>'))
        .chain(lines[cut..].iter().copied())
        .collect();
    body.quoted = quoted_lines.join("\n");
    if let Some(at) = forward_at {
        body.forwarded = Some(read_forward(&lines[at.min(lines.len())..]));
        body.quoted.clear();
    }
    body
}

impl Body {
    fn quoted_header_at(&mut self, _line: usize) {}

    /// The forward is an Outlook "Van:/Verzonden:" block that the caller knows to be a forward
    /// (by its subject): re-read the quoted part as a forward.
    pub fn quoted_as_forward(&mut self) {
        if self.forwarded.is_none() && !self.quoted.is_empty() {
            let lines: Vec<&str> = self.quoted.lines().collect();
            let start = lines
                .iter()
                .position(|l| header_line().is_match(l) || forward_marker().is_match(l))
                .unwrap_or(0);
            let start = if forward_marker().is_match(lines.get(start).copied().unwrap_or_default())
            {
                start + 1
            } else {
                start
            };
            self.forwarded = Some(read_forward(&lines[start.min(lines.len())..]));
            self.quoted.clear();
        }
    }
}

fn read_forward(lines: &[&str]) -> Forwarded {
    let mut f = Forwarded::default();
    let mut i = 0;
    let mut seen_header = false;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            if seen_header {
                i += 1;
                break;
            }
            i += 1;
            continue;
        }
        if let Some(c) = header_line().captures(line) {
            let value = c.get(2).map_or("", |m| m.as_str());
            let (name, address) = split_address(value);
            f.from_name = name;
            f.from = address;
            seen_header = true;
        } else if let Some(c) = subject_line().captures(line) {
            f.subject = c.get(2).map(|m| m.as_str().trim().to_string());
            seen_header = true;
        } else if line.contains(':') && seen_header && line.len() < 200 {
            // Aan:, Cc:, Datum:, To:…
        } else {
            break;
        }
        i += 1;
    }
    f.text = lines[i.min(lines.len())..]
        .iter()
        .map(|l| l.trim_start_matches('>').trim_start_matches(' '))
        .collect::<Vec<_>>()
        .join("\n");
    f
}

/// `"Name" <a@b>`, `Name [mailto:a@b]`, `a@b` → (name, lowercase address).
pub fn split_address(value: &str) -> (Option<String>, Option<String>) {
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    let email = re(&EMAIL, r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}");
    let address = email.find(value).map(|m| m.as_str().to_lowercase());
    let name = value
        .split(['<', '['])
        .next()
        .map(|n| n.trim().trim_matches('"').trim().to_string())
        .filter(|n| !n.is_empty() && !n.contains('@'));
    (name, address)
}

/// Lowercased text with whitespace collapsed: the form keywords are matched against.
pub fn normalise(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The phrases of `list` that occur in `text` (already normalised) as whole words. With
/// `negatable`, a phrase right after "geen", "niet" or "zonder" does not count ("geen agressie").
pub fn matches<'a>(text: &str, list: &'a [String], negatable: bool) -> Vec<&'a str> {
    let mut found = Vec::new();
    for phrase in list {
        let phrase_str = phrase.as_str();
        if phrase_str.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(pos) = text[from..].find(phrase_str) {
            let start = from + pos;
            let end = start + phrase_str.len();
            if whole_word(text, start, end) && !(negatable && negated(text, start)) {
                found.push(phrase_str);
                break;
            }
            from = end;
            if from >= text.len() {
                break;
            }
        }
    }
    found
}

/// Every keyword list of a config compiled into one automaton, so that a text is scanned once for
/// all of them ([`Lexicon::scan`]) instead of once per phrase; [`Found::of`] then gives exactly
/// what [`matches`] gives for a list. Built once per config and thread ([`Lexicon::cached`]).
pub struct Lexicon {
    /// What it was built from: the cache is used only for the same lists.
    keywords: crate::config::Keywords,
    /// The distinct non-empty phrases of all lists; a pattern's id is its index here.
    automaton: aho_corasick::AhoCorasick,
    ids: std::collections::HashMap<String, usize>,
}

/// The phrases of a [`Lexicon`] found in one text.
pub struct Found<'l> {
    lexicon: &'l Lexicon,
    text: &'l str,
    /// Per phrase: found as whole words.
    plain: Vec<bool>,
    /// Per phrase: found as whole words, at least once not after "geen", "niet", … .
    unnegated: Vec<bool>,
}

impl Lexicon {
    pub fn cached(keywords: &crate::config::Keywords) -> std::rc::Rc<Lexicon> {
        thread_local! {
            static CACHE: std::cell::RefCell<Option<std::rc::Rc<Lexicon>>> =
                const { std::cell::RefCell::new(None) };
        }
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            match cache.as_ref() {
                Some(l) if l.keywords == *keywords => l.clone(),
                _ => {
                    let l = std::rc::Rc::new(Lexicon::new(keywords));
                    *cache = Some(l.clone());
                    l
                }
            }
        })
    }

    pub fn new(keywords: &crate::config::Keywords) -> Lexicon {
        let k = keywords;
        let lists = [
            &k.referral,
            &k.urgent,
            &k.concern,
            &k.contact_change,
            &k.handover,
            &k.final_report,
            &k.discussion,
            &k.lease_start,
            &k.conclusion,
            &k.bulk,
            &k.preventive_request,
            &k.take_on,
            &k.decline,
            &k.action_plan,
            &k.housing_goal,
            &k.closing,
            &k.out_of_office,
            &k.out_of_office_redirect,
        ];
        let mut ids = std::collections::HashMap::new();
        let mut phrases: Vec<&str> = Vec::new();
        for phrase in lists.into_iter().flatten() {
            if !phrase.is_empty() && !ids.contains_key(phrase) {
                ids.insert(phrase.clone(), phrases.len());
                phrases.push(phrase);
            }
        }
        // Standard semantics, for overlapping search: every occurrence of every phrase.
        let automaton = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&phrases)
            .unwrap_or_else(|_| {
                aho_corasick::AhoCorasick::new(std::iter::empty::<&str>()).expect("empty automaton")
            });
        Lexicon {
            keywords: keywords.clone(),
            automaton,
            ids,
        }
    }

    /// Every phrase of every list in `text` (already [`normalise`]d), in one pass. Each phrase's
    /// occurrences are read as [`matches`] reads them: left to right, each search going on
    /// after the end of the occurrence before.
    pub fn scan<'l>(&'l self, text: &'l str) -> Found<'l> {
        let n = self.automaton.patterns_len();
        let mut plain = vec![false; n];
        let mut unnegated = vec![false; n];
        let mut next_start = vec![0usize; n];
        for m in self.automaton.find_overlapping_iter(text) {
            let p = m.pattern().as_usize();
            let (start, end) = (m.start(), m.end());
            if unnegated[p] || start < next_start[p] {
                continue;
            }
            next_start[p] = end;
            if whole_word(text, start, end) {
                plain[p] = true;
                unnegated[p] = !negated(text, start);
            }
        }
        Found {
            lexicon: self,
            text,
            plain,
            unnegated,
        }
    }
}

impl Found<'_> {
    /// The phrases of `list` found, in the list's order: what [`matches`] gives.
    pub fn of<'a>(&self, list: &'a [String], negatable: bool) -> Vec<&'a str> {
        let mut found = Vec::new();
        for phrase in list {
            match self.lexicon.ids.get(phrase.as_str()) {
                Some(&id) => {
                    let hit = if negatable {
                        self.unnegated[id]
                    } else {
                        self.plain[id]
                    };
                    if hit {
                        found.push(phrase.as_str());
                    }
                }
                // Not one of the config's lists (or empty): searched on its own.
                None => found.extend(matches(self.text, std::slice::from_ref(phrase), negatable)),
            }
        }
        found
    }
}

/// The occurrence `start..end` of a phrase in `text` stands as whole words.
fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let before_ok = text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric());
    let after_ok = text[end..]
        .chars()
        .next()
        .is_none_or(|c| !c.is_alphanumeric());
    before_ok && after_ok
}

/// A phrase at `start` follows "geen", "niet", "zonder" or "nooit" in its sentence, within 25
/// characters ("geen agressie").
fn negated(text: &str, start: usize) -> bool {
    let window_start = text[..start]
        .char_indices()
        .rev()
        .nth(24)
        .map_or(0, |(i, _)| i);
    let window = &text[window_start..start];
    let sentence = window
        .rsplit(['.', '!', '?', '\n'])
        .next()
        .unwrap_or(window);
    [" geen ", " niet ", " zonder ", " nooit "]
        .iter()
        .any(|n| format!(" {sentence}").contains(n))
}

fn name_words() -> &'static str {
    r"[A-ZÀ-ÖØ-Þ][\p{L}'’\-]+(?:[ \t]+(?:(?:van|de|der|den|el|ben|ter|ten|le|la|du|da|op)[ \t]+)*[A-ZÀ-ÖØ-Þ][\p{L}'’\-]+){0,3}"
}

/// The regexes built from the configured word lists (titles, CIR labels): compiled once per
/// thread and list, like the case tags.
pub struct Patterns {
    titles: Vec<String>,
    cir_labels: Vec<String>,
    label: Regex,
    prose: Regex,
    referred: Regex,
    titled: Regex,
    cir: Regex,
}

/// `words` as a case-insensitive alternation, longest first (so "mevr." wins over "mevr").
fn alternation(words: &[String]) -> String {
    let mut sorted: Vec<&String> = words.iter().filter(|w| !w.trim().is_empty()).collect();
    sorted.sort_by_key(|w| std::cmp::Reverse(w.len()));
    if sorted.is_empty() {
        // Matches nothing: an empty list switches the form off.
        return "(?i:\\b\\B)".to_string();
    }
    let alts: Vec<String> = sorted
        .iter()
        .map(|w| regex::escape(w.trim()).replace(' ', "[ \\t]+"))
        .collect();
    format!("(?i:{})", alts.join("|"))
}

impl Patterns {
    pub fn cached(keywords: &crate::config::Keywords) -> std::rc::Rc<Patterns> {
        thread_local! {
            static CACHE: std::cell::RefCell<Option<std::rc::Rc<Patterns>>> =
                const { std::cell::RefCell::new(None) };
        }
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            match cache.as_ref() {
                Some(p) if p.titles == keywords.titles && p.cir_labels == keywords.cir_labels => {
                    p.clone()
                }
                _ => {
                    let p = std::rc::Rc::new(Patterns::new(&keywords.titles, &keywords.cir_labels));
                    *cache = Some(p.clone());
                    p
                }
            }
        })
    }

    pub fn new(titles: &[String], cir_labels: &[String]) -> Patterns {
        let t = alternation(titles);
        let name = name_words();
        let compile = |pattern: String| {
            Regex::new(&pattern).unwrap_or_else(|_| Regex::new(r"\b\B").expect("valid regex"))
        };
        Patterns {
            titles: titles.to_vec(),
            cir_labels: cir_labels.to_vec(),
            label: compile(format!(
                r"(?m)^\s*(?i:naam(?:\s+(?:van\s+de\s+)?kandidaat(?:-huurder)?)?|kandidaat(?:-huurder)?|cli[eë]nt(?:e)?|naam cli[eë]nt|naam en voornaam|voornaam en naam)[ \t]*:[ \t]*(?:{t}[ \t]+)?({name})"
            )),
            prose: compile(format!(
                r"(?i:aanmelding|aanmelden|kandidaat-huurder|kandidaat)(?:[ \t]*[:\-–—][ \t]*|[ \t]+)(?i:(?:voor[ \t]+)?(?:versnelde[ \t]+doorstroom|vd)(?:[ \t]*[:\-–—][ \t]*|[ \t]+))?(?i:van[ \t]+)?(?:(?i:cli[eë]nte?)[ \t]+|{t}[ \t]+)?({name})"
            )),
            referred: compile(format!(
                r"(?i:meld(?:t|en)?)[ \t]+(?i:ik|we|wij|u)[ \t]+(?:{t}[ \t]+)?({name})[ \t]+(?i:aan)\b"
            )),
            titled: compile(format!(r"(?:^|[^\p{{L}}]){t}[ \t]+({name})")),
            cir: compile(format!(
                r"(?i)\b{labels}(?:[\s\-]*(?:nummer|nr\.?|number))?\s*(?:\(\s*[\p{{L}}\-]+\s*\))?\s*[:#]?\s*(?:nr\.?\s*)?([A-Z0-9][A-Z0-9\-/.]{{3,24}}[A-Z0-9])",
                labels = alternation(cir_labels)
            )),
        }
    }

    /// A candidate's name as partners write it in a referral ("Naam: Jan Peeters", "aanmelding
    /// van mevrouw Fatima El Amrani", "hierbij meld ik graag de heer Jan Peeters aan").
    pub fn candidate_name(&self, text: &str) -> Option<String> {
        self.candidate_labelled(text)
            .or_else(|| first_name(&self.prose, text))
            .or_else(|| first_name(&self.referred, text))
            .or_else(|| self.titled_in_referring_sentence(text))
    }

    /// Only the labelled form ("Naam: …"): safe on documents, whose prose names other people too.
    pub fn candidate_labelled(&self, text: &str) -> Option<String> {
        first_name(&self.label, text)
    }

    /// "Hierbij meld ik, in overleg met haar bewindvoerder, de heer Jan Peeters aan": a name
    /// after a form of address in the sentence that refers someone.
    fn titled_in_referring_sentence(&self, text: &str) -> Option<String> {
        // The rest of the line after each "meld" ("mevr." has a full stop of its own, so
        // sentences are no unit here).
        text.lines()
            .filter_map(|line| {
                let at = line.to_lowercase().find("meld")?;
                // `to_lowercase` can change byte lengths: fall back to the whole line.
                Some(line.get(at..).unwrap_or(line))
            })
            .find_map(|rest| first_name(&self.titled, rest))
    }

    /// CIR / inschrijvingsnummer: a label (also "Inschrijvingsnummer (CIR):") followed by an
    /// identifier with at least three digits ("2024-118342").
    pub fn cir(&self, text: &str) -> Option<String> {
        self.cir
            .captures_iter(text)
            .filter_map(|c| c.get(1))
            .map(|m| m.as_str().to_string())
            .find(|id| id.chars().filter(char::is_ascii_digit).count() >= 3)
    }
}

fn first_name(re: &Regex, text: &str) -> Option<String> {
    re.captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().trim().to_string())
        .find(|n| {
            // "Aanmelding VD": a short word in capitals is an abbreviation, not a name.
            let abbreviation =
                !n.contains(' ') && n.chars().count() <= 4 && n.chars().all(|c| c.is_uppercase());
            let lower = n.to_lowercase();
            !abbreviation
                && ![
                    "versnelde",
                    "doorstroom",
                    "in",
                    "bijlage",
                    "hierbij",
                    "graag",
                ]
                .iter()
                .any(|w| lower == *w || lower.starts_with(&format!("{w} ")))
        })
}

/// The counsellor's phone in the signature of a mail ("GSM 0470 12 34 56", "t. 03 123 45 67"),
/// else in the last lines of an unsigned text.
pub fn signature_phone(signature: &str, new: &str) -> Option<String> {
    phones(signature).into_iter().next().or_else(|| {
        let lines: Vec<&str> = new.lines().collect();
        let tail = lines[lines.len().saturating_sub(6)..].join("\n");
        phones(&tail).into_iter().next()
    })
}

/// Mail addresses written in the text.
pub fn emails(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let r = re(&RE, r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}");
    r.find_iter(text)
        .map(|m| m.as_str().to_lowercase())
        .collect()
}

/// Belgian and Dutch phone numbers as written: "03 123 45 67", "0470/12.34.56", "+32 470 12 34 56".
pub fn phones(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let r = re(
        &RE,
        r"(?:\+|00)3[12][\s.\-/]?\(?0?\)?\d(?:[\s.\-/]?\d){7,9}|\b0\d(?:[\s.\-/]?\d){7,9}\b",
    );
    r.find_iter(text)
        .map(|m| m.as_str().trim().to_string())
        .filter(|p| {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            (9..=12).contains(&digits)
        })
        .collect()
}

/// New counsellor details from a contact-change mail: who takes over, and how to reach them.
pub fn new_contact(new: &str, signature: &str, exclude: &[String]) -> Option<Contact> {
    static INTRO: OnceLock<Regex> = OnceLock::new();
    static TAKES_OVER: OnceLock<Regex> = OnceLock::new();
    let intro = INTRO.get_or_init(|| {
        Regex::new(&format!(
            r"(?i:nieuwe woonbegeleider|nieuwe begeleider|nieuwe contactpersoon|nieuwe begeleidster|contactpersoon wordt|begeleiding wordt overgenomen door|overgenomen door|vervangen door|opgevolgd door|woonbegeleider is|wordt)\s*(?i:is|wordt|:)?\s*(?:(?i:mevrouw|meneer|mevr\.?|dhr\.?|collega)\s+)?({})",
            name_words()
        ))
        .expect("valid regex")
    });
    let takes_over = TAKES_OVER.get_or_init(|| {
        Regex::new(&format!(
            r"({})\s+(?i:neemt|zal)\s+(?i:de begeleiding\s+)?(?i:over)",
            name_words()
        ))
        .expect("valid regex")
    });
    let name = intro
        .captures(new)
        .or_else(|| takes_over.captures(new))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().trim().to_string())
        .filter(|n| !n.eq_ignore_ascii_case("de"));
    let email = emails(new).into_iter().find(|e| !exclude.contains(e));
    let phone = phones(new).into_iter().next().or_else(|| {
        if name.is_none() && email.is_none() {
            phones(signature).into_iter().next()
        } else {
            None
        }
    });
    if name.is_none() && email.is_none() && phone.is_none() {
        return None;
    }
    Some(Contact { name, email, phone })
}

/// A short problem statement for the agenda: the first substantial sentences of the new text,
/// without the salutation, at most ~300 characters.
pub fn statement(new: &str) -> Option<String> {
    let mut lines: Vec<&str> = new
        .lines()
        .map(str::trim)
        .take_while(|l| !is_closing(l))
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let lower = l.to_lowercase();
            !(lower.starts_with("beste")
                || lower.starts_with("dag ")
                || lower.starts_with("hallo")
                || lower.starts_with("goedemorgen")
                || lower.starts_with("goedemiddag")
                || lower.starts_with("hoi")
                || lower.starts_with("geachte"))
                || l.len() > 40
        })
        .collect();
    // A signature without a closing phrase: short trailing lines that are no sentence (the
    // name, the organisation, a phone number).
    while lines.len() > 1
        && lines
            .last()
            .is_some_and(|l| l.chars().count() <= 40 && !l.ends_with(['.', '!', '?', ':']))
    {
        lines.pop();
    }
    let joined = lines.join(" ");
    let joined = joined.trim();
    if joined.is_empty() {
        return None;
    }
    if joined.chars().count() <= 300 {
        return Some(joined.to_string());
    }
    let cut: String = joined.chars().take(300).collect();
    let end = cut
        .rfind(['.', '!', '?'])
        .filter(|i| *i > 80)
        .map_or(cut.len(), |i| i + 1);
    Some(format!("{}…", cut[..end].trim_end()))
}

/// The line that starts a signature ("Met vriendelijke groeten", "Mvg", "--").
fn is_closing(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    lower == "--"
        || lower == "-- "
        || [
            "met vriendelijke groet",
            "vriendelijke groet",
            "met vriendelijke groeten",
            "mvg",
            "groeten",
            "groetjes",
            "hartelijke groet",
            "kind regards",
            "best regards",
            "mit freundlichen",
        ]
        .iter()
        .any(|c| lower.starts_with(c) && lower.len() <= c.len() + 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_scan_of_all_lists_finds_what_a_search_per_phrase_finds() {
        let keywords = crate::config::Keywords::default();
        let lexicon = Lexicon::new(&keywords);
        let texts = [
            "geen agressie, maar wel agressief gedrag. de politie kwam.",
            "zorgen over de huurachterstal; geen zorgen over overlast",
            "aanmelding kandidaat-huurder kandidaat huurder aanmelden",
            "niet dringend: mesje, messen, mes. brandweer brand",
            "ik ben afwezig tot maandag. voor dringende zaken: bel karel",
            "eindverslag einde begeleiding stopzetting stopgezet",
            "",
        ];
        let lists: Vec<&Vec<String>> = vec![
            &keywords.referral,
            &keywords.urgent,
            &keywords.concern,
            &keywords.contact_change,
            &keywords.final_report,
            &keywords.discussion,
            &keywords.out_of_office,
            &keywords.out_of_office_redirect,
        ];
        for text in texts {
            let words = normalise(text);
            let found = lexicon.scan(&words);
            for list in &lists {
                for negatable in [false, true] {
                    assert_eq!(
                        found.of(list, negatable),
                        matches(&words, list, negatable),
                        "{text:?}"
                    );
                }
            }
            let other = vec![
                "huurachterstal".to_string(),
                "niet in de lijsten".to_string(),
            ];
            assert_eq!(found.of(&other, true), matches(&words, &other, true));
        }
    }

    #[test]
    fn the_statement_stops_at_the_signature() {
        let body = "Beste,\n\nIk maak me zorgen: hij komt afspraken niet na.\n\nMet vriendelijke groeten,\nEls Wouters\nCAW Antwerpen\n";
        assert_eq!(
            statement(body).as_deref(),
            Some("Ik maak me zorgen: hij komt afspraken niet na.")
        );
        let unsigned = "Gisteren werd mevrouw bedreigd.\nZij vreest voor haar veiligheid.\n\nPieter De Smet\nOCMW Antwerpen\n";
        assert_eq!(
            statement(unsigned).as_deref(),
            Some("Gisteren werd mevrouw bedreigd. Zij vreest voor haar veiligheid.")
        );
    }

    #[test]
    fn gmail_reply_keeps_only_the_new_text() {
        let body = split_body(
            "Graag VD-2026-0004 bespreken.\n\nOp di 17 nov. 2026 om 09:00 schreef Versnelde doorstroom <\nvd@w.be>:\n> Agenda: VD-2026-0001\n",
        );
        assert_eq!(body.new, "Graag VD-2026-0004 bespreken.");
        assert!(body.quoted.contains("VD-2026-0001"));
    }

    #[test]
    fn outlook_quote_block_is_cut() {
        let body = split_body(
            "Akkoord.\n\nMet vriendelijke groeten,\nEls\n\n________________________________\nVan: An Peeters <an@w.be>\nVerzonden: dinsdag 17 november 2026 9:00\nAan: Els\nOnderwerp: Agenda\n\nOud\n",
        );
        assert_eq!(body.new, "Akkoord.");
        assert!(body.signature.contains("Els"));
        assert!(body.quoted.contains("Oud"));
        assert!(body.forwarded.is_none());
    }

    #[test]
    fn inline_forward_is_read() {
        let body = split_body(
            "Ter info.\n\n---------- Forwarded message ---------\nVan: Els Wouters <els@caw.be>\nDate: ma 16 nov. 2026\nSubject: Aanmelding\nTo: <an@w.be>\n\nHierbij de aanmelding.\n",
        );
        let f = body.forwarded.expect("forward");
        assert_eq!(f.from.as_deref(), Some("els@caw.be"));
        assert_eq!(f.subject.as_deref(), Some("Aanmelding"));
        assert!(f.text.contains("Hierbij de aanmelding."));
    }

    #[test]
    fn keywords_match_whole_words_and_respect_negation() {
        let list = vec!["mes".to_string(), "agressie".to_string()];
        assert!(matches("hij had een mes bij", &list, true).contains(&"mes"));
        assert!(matches("de messen", &list, false).is_empty());
        assert!(matches("er is geen agressie", &list, true).is_empty());
    }

    fn candidate_name(text: &str) -> Option<String> {
        Patterns::cached(&crate::config::Keywords::default()).candidate_name(text)
    }

    fn cir(text: &str) -> Option<String> {
        Patterns::cached(&crate::config::Keywords::default()).cir(text)
    }

    #[test]
    fn names_after_a_form_of_address_in_subject_and_body_are_read() {
        let table = [
            (
                "Hierbij meld ik graag de heer Jan Peeters aan voor versnelde doorstroom.",
                Some("Jan Peeters"),
            ),
            (
                "Hierbij meld ik, in overleg met haar bewindvoerder, mevr. Fatima El Amrani aan.",
                Some("Fatima El Amrani"),
            ),
            (
                "Aanmelding versnelde doorstroom – Youssef Benali",
                Some("Youssef Benali"),
            ),
            ("Aanmelding VD: dhr. Dirk Vermeulen", Some("Dirk Vermeulen")),
            ("Naam: meneer Kevin Claes", Some("Kevin Claes")),
            (
                "Nieuwe aanmelding VD\nWij melden mevrouw Sofie Verbeeck aan.",
                Some("Sofie Verbeeck"),
            ),
            (
                "Graag meld ik Fatima El Amrani aan.",
                Some("Fatima El Amrani"),
            ),
            ("Mevrouw Peeters belde gisteren over de huur.", None),
        ];
        for (text, want) in table {
            assert_eq!(candidate_name(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn cir_numbers_behind_parenthesised_labels_are_read() {
        let table = [
            (
                "Inschrijvingsnummer (CIR): 2024-118342",
                Some("2024-118342"),
            ),
            ("CIR-nr.: 2026-004512", Some("2026-004512")),
            ("inschrijving CIR nr 118342", Some("118342")),
            ("Kandidatennummer: 2023/55120", Some("2023/55120")),
            ("CIR: in orde", None),
        ];
        for (text, want) in table {
            assert_eq!(cir(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn the_counsellors_phone_is_read_from_the_signature() {
        assert_eq!(
            signature_phone(
                "Met vriendelijke groeten,\nEls Wouters\nwoonbegeleider CAW\nGSM 0470 12 34 56",
                ""
            )
            .as_deref(),
            Some("0470 12 34 56")
        );
        assert_eq!(
            signature_phone(
                "",
                "In bijlage de documenten.\n\nEls Wouters\nt. 03 212 25 72"
            )
            .as_deref(),
            Some("03 212 25 72")
        );
    }

    #[test]
    fn candidate_and_cir_are_read() {
        let text = "Naam kandidaat: Fatima El Amrani\nCIR-nummer: 2026-004512\n";
        assert_eq!(candidate_name(text).as_deref(), Some("Fatima El Amrani"));
        assert_eq!(cir(text).as_deref(), Some("2026-004512"));
        assert_eq!(
            candidate_name("Hierbij de aanmelding van mevrouw Anna de Smet.").as_deref(),
            Some("Anna de Smet")
        );
        assert_eq!(
            candidate_name("Graag meld ik Fatima El Amrani aan voor versnelde doorstroom.")
                .as_deref(),
            Some("Fatima El Amrani")
        );
        assert_eq!(
            candidate_name("Aanmelding: Fatima El Amrani").as_deref(),
            Some("Fatima El Amrani")
        );
    }

    #[test]
    fn contact_details_are_read() {
        let c = new_contact(
            "Vanaf 1 december is de nieuwe woonbegeleider Karel Mertens (karel.mertens@caw.be, 0470 12 34 56).",
            "",
            &[],
        )
        .expect("contact");
        assert_eq!(c.name.as_deref(), Some("Karel Mertens"));
        assert_eq!(c.email.as_deref(), Some("karel.mertens@caw.be"));
        assert_eq!(c.phone.as_deref(), Some("0470 12 34 56"));
    }
}
