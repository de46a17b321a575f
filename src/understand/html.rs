//! HTML → readable text, the way a person reads an HTML-only mail: paragraphs and line breaks
//! kept, `<style>`/`<script>`/`<head>` dropped, entities decoded, quoted blocks prefixed with
//! "> " (so quote stripping treats them like plain-text quotes), and table rows of two cells
//! written as "label: value" (more cells joined with " | ").
//!
//! A small hand-written scanner, not a full HTML parser: it never fails and never panics.

/// Quote markers written before a line at most: deeper quotes read as this deep. Writing one
/// per open level made the text grow with the square of the nesting (5 GB from 340 KB).
pub const MAX_QUOTE_MARKS: usize = 16;

/// The text of an HTML body, and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlText {
    pub text: String,
    /// The deepest nesting of quoted blocks met.
    pub depth: usize,
    /// The text was cut at the length asked for.
    pub cut: bool,
}

/// Convert an HTML document or fragment into plain text.
pub fn html_to_text(html: &str) -> String {
    html_to_text_within(html, usize::MAX).text
}

/// [`html_to_text`] writing at most about `max_text` bytes of text: time and memory linear in
/// the input, whatever its nesting.
pub fn html_to_text_within(html: &str, max_text: usize) -> HtmlText {
    let mut out = String::with_capacity((html.len() / 2).min(max_text));
    let mut deepest = 0usize;
    let mut cut = false;
    let mut cells: Vec<String> = Vec::new();
    let mut cell: Option<String> = None;
    let mut quote_depth = 0usize;
    let mut skip_until: Option<&'static str> = None;
    let mut rest = html;
    while !rest.is_empty() {
        if out.len() >= max_text {
            cut = true;
            break;
        }
        if let Some(end_tag) = skip_until {
            match find_ci(rest, end_tag) {
                Some(i) => {
                    rest = &rest[i..];
                    skip_until = None;
                }
                None => break,
            }
            continue;
        }
        let room = max_text - out.len();
        let Some(lt) = rest.find('<') else {
            push_text(&mut out, &mut cell, cut_at(rest, room), quote_depth);
            break;
        };
        push_text(&mut out, &mut cell, cut_at(&rest[..lt], room), quote_depth);
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = match rest.find("-->") {
                Some(i) => &rest[i + 3..],
                None => "",
            };
            continue;
        }
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("style", false) => skip_until = Some("</style"),
            ("script", false) => skip_until = Some("</script"),
            ("head", false) => skip_until = Some("</head"),
            ("title", false) => skip_until = Some("</title"),
            ("br", _) => newline(&mut out, &mut cell, quote_depth),
            ("p" | "div" | "h1" | "h2" | "h3" | "h4" | "li" | "ul" | "ol" | "hr", _) => {
                if let Some(c) = cell.as_mut() {
                    c.push(' ');
                } else {
                    newline(&mut out, &mut cell, quote_depth);
                }
            }
            ("blockquote", false) => {
                newline(&mut out, &mut cell, quote_depth);
                quote_depth += 1;
                deepest = deepest.max(quote_depth);
                start_line(&mut out, quote_depth);
            }
            ("blockquote", true) => {
                quote_depth = quote_depth.saturating_sub(1);
                newline(&mut out, &mut cell, quote_depth);
            }
            ("tr", false) => cells.clear(),
            ("td" | "th", false) => {
                if let Some(c) = cell.take() {
                    cells.push(c);
                }
                cell = Some(String::new());
            }
            ("td" | "th", true) => {
                if let Some(c) = cell.take() {
                    cells.push(c);
                }
            }
            ("tr", true) => {
                if let Some(c) = cell.take() {
                    cells.push(c);
                }
                let row: Vec<String> = cells
                    .drain(..)
                    .map(|c| collapse(&c))
                    .filter(|c| !c.is_empty())
                    .collect();
                if !row.is_empty() {
                    let line = if row.len() == 2 {
                        let label = row[0].trim_end_matches(':');
                        format!("{label}: {}", row[1])
                    } else {
                        row.join(" | ")
                    };
                    newline(&mut out, &mut None, quote_depth);
                    out.push_str(&line);
                    newline(&mut out, &mut None, quote_depth);
                }
            }
            _ => {}
        }
    }
    // Collapse runs of blank lines.
    let mut text = String::with_capacity(out.len());
    let mut blank = 0;
    for line in out.lines() {
        let line = line.trim_end();
        if line.trim_start_matches('>').trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(line);
        text.push('\n');
    }
    HtmlText {
        text: text.trim().to_string(),
        depth: deepest,
        cut,
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub(crate) fn cut_at(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn start_line(out: &mut String, depth: usize) {
    for _ in 0..depth.min(MAX_QUOTE_MARKS) {
        out.push_str("> ");
    }
}

fn newline(out: &mut String, cell: &mut Option<String>, depth: usize) {
    if let Some(c) = cell.as_mut() {
        c.push(' ');
        return;
    }
    out.push('\n');
    start_line(out, depth);
}

fn push_text(out: &mut String, cell: &mut Option<String>, text: &str, depth: usize) {
    if text.is_empty() {
        return;
    }
    let decoded = decode_entities(text);
    let target: &mut String = match cell.as_mut() {
        Some(c) => c,
        None => out,
    };
    let mut space = target.ends_with(' ') || target.ends_with('\n');
    for c in decoded.chars() {
        if c.is_whitespace() {
            if !space {
                target.push(' ');
                space = true;
            }
        } else {
            target.push(c);
            space = false;
        }
    }
    let _ = depth;
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where the lowercase ASCII `needle` starts in `haystack`, in any case: one pass over the
/// haystack, nothing allocated (lowercasing the rest of the document at every tag was
/// quadratic: 87 s for 100,000 empty `<style>` elements).
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (haystack.as_bytes(), needle.as_bytes());
    let first = *needle.first()?;
    memchr::memchr_iter(first, hay).find(|&i| {
        hay.get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// Named and numeric character references that occur in mail HTML.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let Some(end) = end else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = if let Some(num) = entity.strip_prefix('#') {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse().ok(),
            };
            code.and_then(char::from_u32)
        } else {
            match entity {
                "nbsp" => Some(' '),
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "eacute" => Some('é'),
                "egrave" => Some('è'),
                "euml" => Some('ë'),
                "iuml" => Some('ï'),
                "ouml" => Some('ö'),
                "uuml" => Some('ü'),
                "auml" => Some('ä'),
                "agrave" => Some('à'),
                "ccedil" => Some('ç'),
                "ecirc" => Some('ê'),
                "euro" => Some('€'),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                "rsquo" => Some('’'),
                "lsquo" => Some('‘'),
                "hellip" => Some('…'),
                _ => None,
            }
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_become_label_value_lines() {
        let html = "<html><head><style>p{}</style></head><body><p>Beste,</p>\
            <table><tr><td>Naam kandidaat</td><td>Jan Peeters</td></tr>\
            <tr><td>CIR&nbsp;nummer</td><td>123456</td></tr></table></body></html>";
        let text = html_to_text(html);
        assert!(text.contains("Naam kandidaat: Jan Peeters"), "{text}");
        assert!(text.contains("CIR nummer: 123456"), "{text}");
        assert!(!text.contains("p{}"));
    }

    #[test]
    fn blockquotes_are_marked_as_quotes() {
        let text = html_to_text("<div>Nieuw</div><blockquote><div>Oud bericht</div></blockquote>");
        assert!(text.contains("> Oud bericht"), "{text}");
    }

    #[test]
    fn deep_blockquotes_give_text_linear_in_the_input() {
        // Ten times the issue's worst case: 200,000 levels, then 200,000 line breaks.
        let html = format!(
            "{}{}",
            "<blockquote>".repeat(200_000),
            "<br>".repeat(200_000)
        );
        let (read, allocated) =
            crate::counted::allocated(|| html_to_text_within(&html, usize::MAX));
        assert_eq!(read.depth, 200_000);
        assert!(read.text.len() <= 10 * html.len(), "{}", read.text.len());
        assert!(allocated <= 40 * html.len(), "{allocated} bytes allocated");
        // A line opening a quote carries the markers of two levels at most.
        assert!(read.text.lines().all(|l| l.len() <= 4 * MAX_QUOTE_MARKS));
    }

    #[test]
    fn a_million_style_elements_allocate_linearly() {
        // Ten times the issue's worst case (100,000 took 87 s lowercasing the rest each time).
        let html = format!("{}<p>Hallo</p>", "<style></style>".repeat(1_000_000));
        let (text, allocated) = crate::counted::allocated(|| html_to_text(&html));
        assert_eq!(text, "Hallo");
        assert!(allocated <= 4 * html.len(), "{allocated} bytes allocated");
    }

    #[test]
    fn the_text_stops_at_the_length_asked_for() {
        let html = "<p>woord </p>".repeat(100_000);
        let read = html_to_text_within(&html, 1000);
        assert!(read.cut);
        assert!(read.text.len() <= 1000, "{}", read.text.len());
    }

    #[test]
    fn end_tags_are_found_in_any_case() {
        assert_eq!(find_ci("ab</STYLE>", "</style"), Some(2));
        assert_eq!(find_ci("ab</sty", "</style"), None);
        assert_eq!(html_to_text("<STYLE>p{}</Style><p>Hallo</p>"), "Hallo");
    }
}
