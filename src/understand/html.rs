//! HTML → readable text, the way a person reads an HTML-only mail: paragraphs and line breaks
//! kept, `<style>`/`<script>`/`<head>` dropped, entities decoded, quoted blocks prefixed with
//! "> " (so quote stripping treats them like plain-text quotes), and table rows of two cells
//! written as "label: value" (more cells joined with " | ").
//!
//! A small hand-written scanner, not a full HTML parser: it never fails and never panics.

/// Convert an HTML document or fragment into plain text.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut cells: Vec<String> = Vec::new();
    let mut cell: Option<String> = None;
    let mut quote_depth = 0usize;
    let mut skip_until: Option<&'static str> = None;
    let mut rest = html;
    while !rest.is_empty() {
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
        let Some(lt) = rest.find('<') else {
            push_text(&mut out, &mut cell, rest, quote_depth);
            break;
        };
        push_text(&mut out, &mut cell, &rest[..lt], quote_depth);
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
    text.trim().to_string()
}

fn start_line(out: &mut String, depth: usize) {
    for _ in 0..depth {
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

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let lower = haystack.to_ascii_lowercase();
    lower.find(needle)
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
}
