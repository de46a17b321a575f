//! Finding a case by what a person remembers of it: the candidate's name, the CIR number, the
//! reference or the counsellor (name or address), ignoring case and accents (`cases --search`,
//! and a staff member's question by mail). Pure.

use super::Case;
use crate::understand::thread::folded;

/// Letters and digits only, folded: "VD-2026-0008" and "vd 2026 0008" compare equal.
fn compact(text: &str) -> String {
    folded(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Does `case` match `query`? Every word of the query must occur in one of the case's names,
/// numbers or addresses; or the whole query, without spaces and dashes, in one of them (a
/// reference or CIR typed with other separators).
pub fn matches(case: &Case, query: &str) -> bool {
    let fields = [
        Some(case.candidate.as_str()),
        case.cir.as_deref(),
        Some(case.case_ref.as_str()),
        case.counsellor.name.as_deref(),
        case.counsellor.email.as_deref(),
    ];
    let fields: Vec<&str> = fields.into_iter().flatten().collect();
    let words: Vec<String> = folded(query)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if words.is_empty() {
        return false;
    }
    let haystack = folded(&fields.join("\n"));
    if words.iter().all(|w| haystack.contains(w.as_str())) {
        return true;
    }
    let whole = compact(query);
    !whole.is_empty() && fields.iter().any(|f| compact(f).contains(&whole))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Counsellor;

    fn case() -> Case {
        let mut case = Case::new(
            "VD-2026-0008".into(),
            "caw-antwerpen",
            "vivendo",
            "Élodie El Amrani",
            chrono::Utc::now(),
        );
        case.cir = Some("CIR 123.456".into());
        case.counsellor = Counsellor {
            name: Some("Lotte Wouters".into()),
            email: Some("lotte.wouters@caw-antwerpen.example".into()),
            phone: None,
        };
        case
    }

    #[test]
    fn a_case_is_found_by_name_cir_reference_or_counsellor_whatever_the_accents() {
        let hits = [
            "el amrani",
            "EL AMRANI",
            "elodie",
            "Élodie el",
            "amrani elodie",
            "123456",
            "123.456",
            "VD-2026-0008",
            "vd 2026 0008",
            "2026-0008",
            "wouters",
            "lotte.wouters@caw",
        ];
        for q in hits {
            assert!(matches(&case(), q), "{q}");
        }
        for q in ["peeters", "VD-2026-0009", "", "  ", "el amrani jan"] {
            assert!(!matches(&case(), q), "{q}");
        }
    }
}
