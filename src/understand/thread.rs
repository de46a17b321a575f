//! Which case a mail is about: a reference tag (`VD-2026-0007`) written in it, the thread of a
//! mail we sent or received (In-Reply-To / References), or the candidate's name among the
//! sender partner's open cases. Pure lookups in the [`Register`].

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use regex::Regex;

use super::{MessageId, Register, RegisteredCase};
use crate::config::ReferenceFormat;

/// Finds reference tags in text for one organisation's format.
pub struct Tags {
    re: Regex,
    format: ReferenceFormat,
}

impl Tags {
    /// The tag finder for `format`, compiled once per thread: compiling a regex costs more than
    /// triaging a mail.
    pub fn cached(format: &ReferenceFormat) -> Rc<Tags> {
        thread_local! {
            static CACHE: RefCell<Option<Rc<Tags>>> = const { RefCell::new(None) };
        }
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            match cache.as_ref() {
                Some(tags) if tags.format == *format => tags.clone(),
                _ => {
                    let tags = Rc::new(Tags::new(format));
                    *cache = Some(tags.clone());
                    tags
                }
            }
        })
    }

    pub fn new(format: &ReferenceFormat) -> Tags {
        let prefix = regex::escape(&format.prefix);
        // Tolerant of how people retype it: "VD 2026 7", "vd-2026-0007", "VD2026-0007".
        let re = Regex::new(&format!(
            r"(?i)\b{prefix}[\s\-_/]?(\d{{4}})[\s\-_/]?(\d{{1,6}})\b"
        ))
        .unwrap_or_else(|_| Regex::new(r"\bVD-(\d{4})-(\d{1,6})\b").expect("valid regex"));
        Tags {
            re,
            format: format.clone(),
        }
    }

    /// Every tag in `text`, normalised to the configured form, in order, without repeats; at
    /// most the default `limits.case_tags` of them.
    pub fn find(&self, text: &str) -> Vec<String> {
        self.find_at_most(text, crate::config::limits::Limits::default().case_tags)
            .0
    }

    /// The first `max` distinct tags in `text` as [`Tags::find`] gives them, and whether there
    /// are more. One pass, each tag checked against a set (a list made 300,000 tags quadratic).
    pub fn find_at_most(&self, text: &str, max: usize) -> (Vec<String>, bool) {
        let mut out: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for c in self.re.captures_iter(text) {
            let (Some(year), Some(number)) = (c.get(1), c.get(2)) else {
                continue;
            };
            let (Ok(year), Ok(number)) =
                (year.as_str().parse::<i32>(), number.as_str().parse::<u32>())
            else {
                continue;
            };
            let tag = self.format.format(year, number);
            if seen.contains(&tag) {
                continue;
            }
            if out.len() == max {
                return (out, true);
            }
            seen.insert(tag.clone());
            out.push(tag);
        }
        (out, false)
    }

    /// `text` with every tag removed (so its digits are not read as months or dates).
    pub fn remove(&self, text: &str) -> String {
        self.re.replace_all(text, " ").into_owned()
    }

    /// Tags with the byte offset of each match (for per-line conclusions).
    pub fn find_at(&self, text: &str) -> Vec<(usize, String)> {
        self.re
            .captures_iter(text)
            .filter_map(|c| {
                let whole = c.get(0)?;
                let year = c.get(1)?.as_str().parse::<i32>().ok()?;
                let number = c.get(2)?.as_str().parse::<u32>().ok()?;
                Some((whole.start(), self.format.format(year, number)))
            })
            .collect()
    }
}

/// The case of the thread this mail answers, newest reference first.
pub fn by_thread(
    register: &Register,
    in_reply_to: &[MessageId],
    references: &[MessageId],
) -> Option<(String, MessageId)> {
    in_reply_to
        .iter()
        .chain(references.iter().rev())
        .find_map(|id| {
            register
                .threads
                .get(id.bare())
                .map(|case| (case.clone(), id.clone()))
        })
}

/// The open cases of `partner` whose candidate is named in `text` (full name, either order).
pub fn by_name<'a>(
    register: &'a Register,
    partner: Option<&str>,
    text: &str,
) -> Vec<&'a RegisteredCase> {
    let lower = super::text::normalise(text);
    // A name written in the text has each of its words there as a whole word: most candidates
    // are ruled out by a look-up per word instead of a search through the text.
    let present: HashSet<&str> = words_of(&lower).collect();
    register
        .cases
        .iter()
        .map(std::sync::Arc::as_ref)
        .filter(|c| c.open && partner.is_none_or(|p| c.partner == p))
        .filter(|c| {
            let name = super::text::normalise(&c.candidate);
            if name.len() < 4 || !words_of(&name).all(|w| present.contains(w)) {
                return false;
            }
            let words: Vec<&str> = name.split(' ').collect();
            let reversed = if words.len() >= 2 {
                let (first, rest) = words.split_at(1);
                format!("{} {}", rest.join(" "), first.join(" "))
            } else {
                String::new()
            };
            contains_words(&lower, &name)
                || (!reversed.is_empty() && contains_words(&lower, &reversed))
        })
        .collect()
}

/// The open cases of `partner` whose candidate is named loosely: accents and case ignored, the
/// first name written as an initial ("J. Peeters"), the names in any rotation ("Peeters Jan",
/// "El Amrani Fatima"), and one letter wrong, missing or extra in one word of five letters or
/// more. Only ever within one partner's cases.
///
/// A surname alone counts after a form of address from `titles` ("mevrouw El Amrani", "de heer
/// Benali"): that is how people write about someone they know.
pub fn by_name_loosely<'a>(
    register: &'a Register,
    partner: &str,
    text: &str,
    titles: &[String],
) -> Vec<&'a RegisteredCase> {
    let written = folded_words(text);
    // The last word of each form of address ("de heer" → "heer", "mevr." → "mevr").
    let title_words: Vec<String> = titles
        .iter()
        .filter_map(|t| folded_words(t).pop())
        .collect();
    register
        .cases
        .iter()
        .map(std::sync::Arc::as_ref)
        .filter(|c| c.open && c.partner == partner)
        .filter(|c| {
            let name = folded_words(&c.candidate);
            name.len() >= 2
                && (named_loosely(&name, &written)
                    || addressed_by_surname(&name[1..], &written, &title_words))
        })
        .collect()
}

/// "mevrouw El Amrani": the surname's words right after a form of address.
fn addressed_by_surname(surname: &[String], written: &[String], titles: &[String]) -> bool {
    let n = surname.len();
    written
        .windows(n + 1)
        .any(|w| titles.contains(&w[0]) && w[1..].iter().zip(surname).all(|(a, b)| a == b))
}

/// Is `name` (folded words, given name first) written somewhere in `written`?
fn named_loosely(name: &[String], written: &[String]) -> bool {
    let n = name.len();
    if written.len() < n {
        return false;
    }
    (0..n).any(|shift| {
        // The name's words in the order of this rotation, with their index in the name.
        let order: Vec<usize> = (0..n).map(|i| (i + shift) % n).collect();
        written.windows(n).any(|window| {
            let mut typo_left = true;
            let mut full_words = 0;
            let all = order.iter().zip(window).all(|(&i, w)| {
                let given = name[i].as_str();
                if given == w {
                    full_words += 1;
                    return true;
                }
                if i == 0 && w.chars().count() == 1 && given.starts_with(w.as_str()) {
                    return true;
                }
                if typo_left
                    && given.chars().count() >= 5
                    && given.chars().count().abs_diff(w.chars().count()) <= 1
                    && strsim::levenshtein(given, w) == 1
                {
                    typo_left = false;
                    full_words += 1;
                    return true;
                }
                false
            });
            all && full_words >= 1
        })
    })
}

/// Lowercase words without accents ("Éloi" → "eloi"), split on anything but letters and digits.
fn folded_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_lowercase).map(fold).collect())
        .collect()
}

/// `text` lowercase and without accents ("Élodie El Amrani" → "elodie el amrani"): how a
/// search or a staff member's answer is compared.
pub fn folded(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(fold)
        .collect()
}

/// A Latin letter without its accent; other characters as they are.
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => c,
    }
}

/// The open cases of `partner` whose counsellor writes from `sender`.
pub fn by_counsellor<'a>(
    register: &'a Register,
    partner: &str,
    sender: &str,
) -> Vec<&'a RegisteredCase> {
    register
        .cases
        .iter()
        .map(std::sync::Arc::as_ref)
        .filter(|c| c.open && c.partner == partner)
        .filter(|c| {
            c.counsellor_email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(sender))
        })
        .collect()
}

/// The words of a text: its runs of letters and digits.
fn words_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn contains_words(text: &str, phrase: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = text[from..].find(phrase) {
        let start = from + pos;
        let end = start + phrase.len();
        let before = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after = text[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before && after {
            return true;
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_million_distinct_tags_stop_at_the_limit() {
        let tags = Tags::new(&ReferenceFormat {
            prefix: "VD".into(),
            width: 4,
        });
        // Ten times the issue's worst case (300,000 took 66 s deduplicating through a list).
        let mut text = String::with_capacity(45_000_000);
        for i in 0..3_000_000u32 {
            text.push_str(&format!(
                "VD-{}-{:06} ",
                2026 + i / 1_000_000,
                i % 1_000_000
            ));
        }
        let ((found, more), allocated) =
            crate::counted::allocated(|| tags.find_at_most(&text, 200));
        assert_eq!(found.len(), 200);
        assert!(more);
        assert_eq!(found[199], "VD-2026-0199");
        // Reading stops at the 201st distinct tag: the work does not grow with the text.
        assert!(allocated < 1024 * 1024, "{allocated} bytes allocated");
        let (again, more) = tags.find_at_most("VD-2026-1 vd-2026-0001 VD-2026-2", 1);
        assert_eq!((again, more), (vec!["VD-2026-0001".to_string()], true));
    }

    #[test]
    fn tags_are_normalised() {
        let tags = Tags::new(&ReferenceFormat {
            prefix: "VD".into(),
            width: 4,
        });
        assert_eq!(
            tags.find("Betreft vd-2026-7 en VD 2026 0012, nogmaals VD-2026-0007"),
            vec!["VD-2026-0007".to_string(), "VD-2026-0012".to_string()]
        );
    }

    #[test]
    fn names_match_in_either_order() {
        let register = Register {
            cases: vec![std::sync::Arc::new(RegisteredCase {
                case_ref: "VD-2026-0001".into(),
                partner: "caw".into(),
                candidate: "Jan Peeters".into(),
                cir: None,
                counsellor_email: None,
                social_assistant: None,
                open: true,
            })],
            ..Register::default()
        };
        assert_eq!(
            by_name(&register, Some("caw"), "over Peeters Jan gesproken").len(),
            1
        );
        assert!(by_name(&register, Some("ocmw"), "Jan Peeters").is_empty());
        assert!(by_name(&register, Some("caw"), "Jan Peetersen").is_empty());
    }

    #[test]
    fn names_match_loosely_within_the_partner_only() {
        let case = |n: usize, partner: &str, candidate: &str| {
            std::sync::Arc::new(RegisteredCase {
                case_ref: format!("VD-2026-000{n}"),
                partner: partner.into(),
                candidate: candidate.into(),
                cir: None,
                counsellor_email: None,
                social_assistant: None,
                open: true,
            })
        };
        let register = Register {
            cases: vec![
                case(1, "caw", "Fatima El Amrani"),
                case(2, "caw", "Jan Peeters"),
                case(3, "ocmw", "Dirk Vermeulen"),
            ],
            ..Register::default()
        };
        let titles = crate::config::Keywords::default().titles;
        let named = |partner: &str, text: &str| -> Vec<String> {
            by_name_loosely(&register, partner, text, &titles)
                .into_iter()
                .map(|c| c.case_ref.clone())
                .collect()
        };
        let table: [(&str, &str, &[&str]); 10] = [
            (
                "caw",
                "de begeleiding van mevrouw El Amrani",
                &["VD-2026-0001"],
            ),
            ("caw", "El Amrani belde", &[]),
            ("caw", "voor mevrouw FATIMA EL AMRANÍ", &["VD-2026-0001"]),
            ("caw", "over J. Peeters", &["VD-2026-0002"]),
            ("caw", "Peeters Jan belde", &["VD-2026-0002"]),
            ("caw", "El Amrani Fatima", &["VD-2026-0001"]),
            ("caw", "Jan Peters is verhuisd", &["VD-2026-0002"]),
            ("caw", "Jan Pietersen kwam langs", &[]),
            ("caw", "Dirk Vermeulen", &[]),
            ("ocmw", "dirk vermeulen", &["VD-2026-0003"]),
        ];
        for (partner, text, want) in table {
            assert_eq!(named(partner, text), want.to_vec(), "{partner}: {text}");
        }
    }

    #[test]
    fn names_with_hyphens_apostrophes_and_accents_match_in_any_case() {
        let case = |n: usize, candidate: &str| {
            std::sync::Arc::new(RegisteredCase {
                case_ref: format!("VD-2026-000{n}"),
                partner: "caw".into(),
                candidate: candidate.into(),
                cir: None,
                counsellor_email: None,
                social_assistant: None,
                open: true,
            })
        };
        let register = Register {
            cases: vec![
                case(1, "Marie-Claire Dubois-Éloi"),
                case(2, "Seán O'Brien"),
                case(3, "Οδυσσέας Παπαδόπουλος"),
            ],
            ..Register::default()
        };
        let named = |text: &str| -> Vec<String> {
            by_name(&register, Some("caw"), text)
                .into_iter()
                .map(|c| c.case_ref.clone())
                .collect()
        };
        assert_eq!(named("Over MARIE-CLAIRE  DUBOIS-ÉLOI."), ["VD-2026-0001"]);
        assert_eq!(named("(o'brien seán) belde"), ["VD-2026-0002"]);
        assert_eq!(named("ΟΔΥΣΣΈΑΣ ΠΑΠΑΔΌΠΟΥΛΟΣ"), ["VD-2026-0003"]);
        assert!(named("Marie Dubois-Éloi, O'Briens Seán").is_empty());
    }
}
