//! Dutch dates as people write them in mail: "1 december 2026", "1 dec. 2026", "maandag 1 dec.",
//! "01/12/2026", "1-12-26", "1.12.2026", "2026-12-01". Pure; a date without a year takes the year
//! that puts it nearest after the mail's own date (a lease start mentioned in late December for
//! "3 januari" is next year's).

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use regex::Regex;

/// A date found in text, with where it starts (byte offset) so callers can pick the one nearest
/// to a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub date: NaiveDate,
    pub at: usize,
}

fn month(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    let months = [
        ("jan", 1),
        ("feb", 2),
        ("maa", 3),
        ("mrt", 3),
        ("apr", 4),
        ("mei", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("okt", 10),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ];
    if w.len() < 3 {
        return None;
    }
    months
        .iter()
        .find(|(p, _)| w.starts_with(p))
        .map(|(_, m)| *m)
        .filter(|_| {
            // "maart", "mrt", "maa" but not "maandag".
            !w.starts_with("maand")
        })
}

fn named_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)\b(\d{1,2})(?:e|ste|de)?\s+(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|jan|feb|mrt|maa|apr|jun|jul|aug|sept|sep|okt|nov|dec)\.?(?:\s+(\d{4}))?",
        )
        .expect("valid regex")
    })
}

fn numeric_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"\b(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2}))\b",
        )
        .expect("valid regex")
    })
}

/// Every date in `text`, in order of appearance. `reference` (the mail's date) supplies the
/// year when none is written.
pub fn find_dates(text: &str, reference: Option<NaiveDate>) -> Vec<Found> {
    let mut out = Vec::new();
    for c in named_re().captures_iter(text) {
        let (Some(whole), Some(day), Some(mon)) = (c.get(0), c.get(1), c.get(2)) else {
            continue;
        };
        let Ok(day) = day.as_str().parse::<u32>() else {
            continue;
        };
        let Some(m) = month(mon.as_str()) else {
            continue;
        };
        let date = match c.get(3).and_then(|y| y.as_str().parse::<i32>().ok()) {
            Some(year) => NaiveDate::from_ymd_opt(year, m, day),
            None => without_year(day, m, reference),
        };
        if let Some(date) = date {
            out.push(Found {
                date,
                at: whole.start(),
            });
        }
    }
    for c in numeric_re().captures_iter(text) {
        let Some(whole) = c.get(0) else { continue };
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<i32>().ok());
        let date = if let (Some(y), Some(m), Some(d)) = (num(1), num(2), num(3)) {
            NaiveDate::from_ymd_opt(y, m as u32, d as u32)
        } else if let (Some(d), Some(m), Some(y)) = (num(4), num(5), num(6)) {
            let y = if y < 100 { 2000 + y } else { y };
            NaiveDate::from_ymd_opt(y, m as u32, d as u32)
        } else {
            None
        };
        if let Some(date) = date {
            out.push(Found {
                date,
                at: whole.start(),
            });
        }
    }
    out.sort_by_key(|f| f.at);
    out
}

fn without_year(day: u32, month: u32, reference: Option<NaiveDate>) -> Option<NaiveDate> {
    let reference = reference?;
    let this = NaiveDate::from_ymd_opt(reference.year(), month, day)?;
    // More than two months in the past: people mean next year.
    if (reference - this).num_days() > 60 {
        NaiveDate::from_ymd_opt(reference.year() + 1, month, day)
    } else {
        Some(this)
    }
}

/// The date that belongs to the first of `keywords` in `text`: one in the keyword's own
/// sentence (after it first), else the first after it, else the first date at all.
pub fn date_near(
    text: &str,
    keywords: &[String],
    reference: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let dates = find_dates(text, reference);
    let lower = text.to_lowercase();
    let anchor = keywords.iter().filter_map(|k| lower.find(k.as_str())).min();
    let Some(anchor) = anchor else {
        return dates.first().map(|f| f.date);
    };
    let (start, end) = sentence_around(text, anchor);
    let in_sentence = |f: &&Found| f.at >= start && f.at < end;
    dates
        .iter()
        .filter(in_sentence)
        .find(|f| f.at >= anchor)
        .or_else(|| dates.iter().find(in_sentence))
        .or_else(|| dates.iter().find(|f| f.at >= anchor))
        .or(dates.first())
        .map(|f| f.date)
}

/// Byte range of the sentence holding `at`: ends at a line break or at ". " before a capital
/// (so "1 dec. 2026" stays one sentence).
fn sentence_around(text: &str, at: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let is_end = |i: usize| {
        bytes[i] == b'\n'
            || (matches!(bytes[i], b'.' | b'!' | b'?')
                && bytes.get(i + 1) == Some(&b' ')
                && bytes.get(i + 2).is_some_and(|c| c.is_ascii_uppercase()))
    };
    let at = at.min(bytes.len());
    let start = (0..at).rev().find(|i| is_end(*i)).map_or(0, |i| i + 1);
    let end = (at..bytes.len())
        .find(|i| is_end(*i))
        .unwrap_or(bytes.len());
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn dutch_dates_in_all_usual_forms() {
        let reference = Some(d(2026, 11, 20));
        let cases = [
            ("1 december 2026", d(2026, 12, 1)),
            ("01/12/2026", d(2026, 12, 1)),
            ("1-12-26", d(2026, 12, 1)),
            ("1.12.2026", d(2026, 12, 1)),
            ("2026-12-01", d(2026, 12, 1)),
            ("maandag 1 dec.", d(2026, 12, 1)),
            ("op 1 dec 2026", d(2026, 12, 1)),
            ("vanaf 3 januari", d(2027, 1, 3)),
            ("15 maart 2027", d(2027, 3, 15)),
        ];
        for (text, want) in cases {
            let found = find_dates(text, reference);
            assert_eq!(found.first().map(|f| f.date), Some(want), "{text}");
        }
    }

    #[test]
    fn impossible_dates_are_ignored() {
        assert!(find_dates("31/02/2026 en 45 maandag", None).is_empty());
    }

    #[test]
    fn the_date_after_the_keyword_wins() {
        let text = "Het overleg was op 3/11/2026. De huurovereenkomst gaat in op 1/12/2026.";
        assert_eq!(
            date_near(text, &["huurovereenkomst".into()], None),
            Some(d(2026, 12, 1))
        );
    }
}
