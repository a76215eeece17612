//! What the prompt contains besides the request (`type_of_in_context_material`)
//! and what form the answer must take (`format_constraints`).
//!
//! Material is found from the text's structure (fenced blocks, code lines,
//! JSON keys, HTML tags, table rows, URLs, option lists, formulas) and from
//! paragraphs that are not requests (`"Summarize this.\n\n<the text>"`).
//! Constraints come from `cues.txt` phrases plus two rules on numbers:
//! "200 words" / "3-sentence" → length limit, "List 5 …" → item count.

use super::intent::LowerWord;
use super::vocab::{F_ITEM_COUNT, F_LENGTH};

/// Material whose prose is shorter than this (bytes) is "text", longer "quoted document".
pub const DOCUMENT_BYTES: usize = 300;

/// Units that make "<number> <unit>" a length limit.
const LENGTH_UNITS: &[&str] = &[
    "char",
    "character",
    "characters",
    "chars",
    "line",
    "lines",
    "minute",
    "minutes",
    "page",
    "pages",
    "paragraph",
    "paragraphs",
    "sentence",
    "sentences",
    "stanza",
    "stanzas",
    "syllable",
    "syllables",
    "token",
    "tokens",
    "verse",
    "verses",
    "word",
    "words",
];

/// Verbs after which "<number> <things>" asks for that many items.
const ITEM_VERBS: &[&str] = &[
    "brainstorm",
    "create",
    "describe",
    "explain",
    "generate",
    "give",
    "identify",
    "list",
    "mention",
    "name",
    "offer",
    "outline",
    "produce",
    "provide",
    "recommend",
    "share",
    "suggest",
    "write",
];

/// Number words up to twenty and round tens.
const NUMBER_WORDS: &[&str] = &[
    "eight",
    "eighteen",
    "eleven",
    "fifteen",
    "fifty",
    "five",
    "forty",
    "four",
    "fourteen",
    "hundred",
    "nine",
    "nineteen",
    "one",
    "seven",
    "seventeen",
    "six",
    "sixteen",
    "ten",
    "thirteen",
    "thirty",
    "three",
    "twelve",
    "twenty",
    "two",
];

/// HTML element names that make `<name` a tag.
const HTML_TAGS: &[&str] = &[
    "a", "b", "body", "br", "button", "div", "em", "footer", "form", "h1", "h2", "h3", "h4", "head",
    "header", "html", "i", "img", "input", "li", "link", "meta", "nav", "ol", "option", "p", "script",
    "section", "select", "span", "strong", "style", "table", "td", "th", "title", "tr", "ul",
];

/// Structural material found in a text, as flags indexed like `MATERIAL_NAMES`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Structure {
    pub code: bool,
    pub json: bool,
    pub html: bool,
    pub xml: bool,
    pub table: bool,
    pub csv: bool,
    pub url: bool,
    pub options: bool,
    pub math: bool,
}

/// Scans `text` for structured material.
pub fn structure(text: &str) -> Structure {
    let mut s = Structure {
        url: text.contains("http://") || text.contains("https://") || text.contains("www."),
        ..Structure::default()
    };
    let mut code_lines = 0;
    let mut fence_seen = false;
    let mut in_fence = false;
    let mut prev_pipe_row = false;
    let mut pipe_rows = 0;
    let mut separator_row = false;
    let mut tab_run = (0usize, 0usize); // (tabs per line, consecutive lines)
    let mut comma_run = (0usize, 0usize);
    let mut option_lines = 0;
    for line in text.lines() {
        let t = line.trim();
        if let Some(lang) = t.strip_prefix("```") {
            if !in_fence {
                fence_seen = true;
                match lang.trim().to_ascii_lowercase().as_str() {
                    "json" => s.json = true,
                    "html" => s.html = true,
                    "xml" => s.xml = true,
                    "csv" => s.csv = true,
                    "" | "text" | "txt" | "markdown" | "md" => {}
                    _ => s.code = true,
                }
            }
            in_fence = !in_fence;
            continue;
        }
        code_lines += usize::from(is_code_line(t));
        // Markdown table rows: at least two pipes; a |---| row confirms.
        let pipes = t.matches('|').count();
        if pipes >= 2 {
            pipe_rows += 1;
            separator_row |= t.contains("---") && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
            if prev_pipe_row && (separator_row || pipe_rows >= 3) {
                s.table = true;
            }
        }
        prev_pipe_row = pipes >= 2;
        tab_run = run(tab_run, line.matches('\t').count(), 1);
        s.table |= tab_run.1 >= 2;
        comma_run =
            run(comma_run, if t.len() <= 200 && !t.ends_with('.') { t.matches(',').count() } else { 0 }, 2);
        s.csv |= comma_run.1 >= 3;
        option_lines += usize::from(is_option_line(t));
    }
    // Fenced code with an unknown language tag is code; an untagged fence needs code-looking lines.
    s.code |= code_lines >= 2 || (fence_seen && code_lines >= 1) || inline_code(text);
    s.json |= json_keys(text) >= 2 && text.contains('{');
    let (html, other) = tags(text);
    s.html |= html >= 2;
    s.xml |= text.contains("<?xml") || (other >= 4 && html == 0);
    s.options = option_lines >= 2 || has_inline_options(text);
    s.math = has_math(text);
    s
}

/// Extends a run of consecutive lines that share a count (≥ `min`) of some separator.
fn run((count, len): (usize, usize), now: usize, min: usize) -> (usize, usize) {
    if now >= min && now == count {
        (count, len + 1)
    } else if now >= min {
        (now, 1)
    } else {
        (0, 0)
    }
}

/// Does a trimmed line look like source code?
fn is_code_line(t: &str) -> bool {
    // Openings that prose does not use (prose sentences start upper-case).
    const STARTS: &[&str] = &[
        "def ",
        "class ",
        "import ",
        "#include",
        "function ",
        "var ",
        "let ",
        "const ",
        "public ",
        "private ",
        "if (",
        "for (",
        "while (",
        "print(",
        "console.",
        "System.",
        "fn ",
        "func ",
        "package ",
        "#!/",
        "SELECT ",
        "INSERT INTO",
        "CREATE TABLE",
        ">>> ",
        "std::",
        "printf(",
        "<?php",
        "} else",
    ];
    const BLOCK_KEYWORDS: &[&str] =
        &["if ", "for ", "while ", "elif ", "else", "try", "except", "with ", "def "];
    if t.len() < 3 {
        return false;
    }
    let short_statement = t.len() <= 40 && t.starts_with(|c: char| c.is_ascii_lowercase() || c == '}');
    let punctuated_end = (t.ends_with(';') && (t.contains(['(', '=', '[', '{', '}']) || short_statement))
        || t.ends_with('{')
        || t.ends_with("};")
        || t.ends_with("):");
    let python_block = t.ends_with(':') && BLOCK_KEYWORDS.iter().any(|k| t.starts_with(k));
    let opening = STARTS.iter().any(|p| t.starts_with(p)) && t.contains(['(', '=', ':', '<', '{', ';']);
    let from_import = t.starts_with("from ") && t.contains(" import ");
    let operators =
        ["==", "!=", "+=", "=>", "::", "&&", "||"].iter().any(|o| t.contains(o)) && !t.ends_with('.');
    punctuated_end || python_block || opening || from_import || operators
}

/// `code` spans in backticks that contain code punctuation.
fn inline_code(text: &str) -> bool {
    text.split('`').skip(1).step_by(2).any(|span| {
        span.len() >= 3 && !span.contains('\n') && span.contains(['(', '=', '[', '{', ';', '.', '_'])
    })
}

/// Count of `"key":` patterns.
fn json_keys(text: &str) -> usize {
    let b = text.as_bytes();
    let mut n = 0;
    for (i, _) in text.match_indices("\":") {
        // Walk back over the key to its opening quote.
        let key_start = b[..i].iter().rposition(|c| *c == b'"');
        if let Some(k) = key_start {
            let key = &b[k + 1..i];
            if !key.is_empty()
                && key.len() <= 40
                && key.iter().all(|c| c.is_ascii_alphanumeric() || b"_- ".contains(c))
            {
                n += 1;
            }
        }
    }
    n
}

/// Counts of HTML tags and of other `<name>`/`</name>` tags.
fn tags(text: &str) -> (usize, usize) {
    let (mut html, mut other) = (0, 0);
    for (i, _) in text.match_indices('<') {
        let rest = text[i + 1..].strip_prefix('/').unwrap_or(&text[i + 1..]);
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if name.is_empty() || !rest[name.len()..].starts_with(['>', ' ', '/']) {
            continue;
        }
        if HTML_TAGS.binary_search(&name.to_ascii_lowercase().as_str()).is_ok() {
            html += 1;
        } else {
            other += 1;
        }
    }
    (html, other)
}

/// "A) …", "(b) …", "C. …" lines of a multiple-choice list.
fn is_option_line(t: &str) -> bool {
    let b = t.as_bytes();
    let (letter, after) = match b {
        [b'(', l, b')', ..] => (*l, 3),
        [l, b')' | b'.' | b':', ..] => (*l, 2),
        _ => return false,
    };
    letter.is_ascii_alphabetic()
        && b.get(after) == Some(&b' ')
        && matches!(letter.to_ascii_lowercase(), b'a'..=b'f')
}

/// Inline "(A) … (B) …" or "Options:" / "Choices:".
fn has_inline_options(text: &str) -> bool {
    let lower_has = |p: &str| text.contains(p);
    (lower_has("(A)") && lower_has("(B)"))
        || (lower_has("(a)") && lower_has("(b)") && lower_has("(c)"))
        || (lower_has("A)") && lower_has(" B)") && lower_has(" C)"))
        || text.contains("Options:")
        || text.contains("Choices:")
        || text.contains("Answer choices")
}

/// LaTeX or an arithmetic expression such as "12 * 7" or "3x + 5 = 20".
fn has_math(text: &str) -> bool {
    const LATEX: [&str; 6] = ["\\frac", "\\sum", "\\int", "\\sqrt", "\\cdot", "^{"];
    if LATEX.iter().any(|l| text.contains(l)) || text.contains("$$") {
        return true;
    }
    let b = text.as_bytes();
    // digit/variable, spaces, operator, spaces, digit/variable/paren, where a digit is on either side.
    for (i, &op) in b.iter().enumerate() {
        if !matches!(op, b'+' | b'*' | b'/' | b'=' | b'^' | b'-') || i == 0 {
            continue;
        }
        let left = b[..i].iter().rev().find(|c| **c != b' ');
        let right = b[i + 1..].iter().find(|c| **c != b' ');
        let spaced =
            b[i - 1] == b' ' || b.get(i + 1) == Some(&b' ') || op == b'^' || op == b'*' || op == b'=';
        if let (Some(l), Some(r)) = (left, right) {
            let operand = |c: u8| c.is_ascii_digit() || c == b')' || c == b'(';
            if spaced
                && operand(*l)
                && (operand(*r) || r.is_ascii_lowercase() && op != b'-')
                && (l.is_ascii_digit() || r.is_ascii_digit())
            {
                return true;
            }
        }
    }
    false
}

/// Length-limit and item-count constraints from numbers in `text`.
pub fn number_constraints(text: &str, out: &mut [bool]) {
    let words: Vec<LowerWord> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(LowerWord::new)
        .collect();
    for (i, w) in words.iter().enumerate() {
        let w = w.as_str();
        let digits = !w.is_empty() && w.len() <= 5 && w.bytes().all(|c| c.is_ascii_digit());
        let is_number = digits || NUMBER_WORDS.binary_search(&w).is_ok();
        let next = words.get(i + 1).map_or("", LowerWord::as_str);
        if !is_number || next.is_empty() || (w == "one" && next == "of") {
            continue;
        }
        if LENGTH_UNITS.binary_search(&next).is_ok() {
            out[F_LENGTH] = true;
            continue;
        }
        let verb_before =
            words[i.saturating_sub(4)..i].iter().any(|v| ITEM_VERBS.binary_search(&v.as_str()).is_ok());
        let value: usize = w.parse().unwrap_or(2);
        if verb_before
            && (2..=50).contains(&value)
            && next.len() > 2
            && next.bytes().all(|c| c.is_ascii_alphabetic())
        {
            out[F_ITEM_COUNT] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::descriptive::vocab::FORMAT_NAMES;

    #[test]
    fn word_lists_are_sorted() {
        for list in [LENGTH_UNITS, ITEM_VERBS, NUMBER_WORDS, HTML_TAGS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{:?}", list.windows(2).find(|w| w[0] >= w[1]));
        }
    }

    #[test]
    fn finds_structured_material() {
        assert!(structure("Parse {\"name\": \"Ann\", \"age\": 3}").json);
        assert!(structure("```python\nprint(1)\n```").code);
        assert!(structure("Fix:\nint main() {\n  return 0;\n}").code);
        assert!(structure("<div><p>Hi</p></div>").html);
        assert!(structure("| a | b |\n|---|---|\n| 1 | 2 |").table);
        assert!(structure("see https://example.com").url);
        assert!(structure("Pick one:\nA) red\nB) blue").options);
        assert!(structure("What is 12 * 7?").math);
        assert!(structure("Solve 3x + 5 = 20").math);
        let prose = structure("Write a poem about spring - the season of hope, love and light.");
        assert_eq!(prose, Structure::default());
    }

    fn constraints(t: &str) -> Vec<&'static str> {
        let mut f = [false; FORMAT_NAMES.len()];
        number_constraints(t, &mut f);
        FORMAT_NAMES.iter().zip(f).filter(|(_, b)| *b).map(|(n, _)| *n).collect()
    }

    #[test]
    fn numbers_give_length_limits_and_item_counts() {
        assert_eq!(constraints("Write a 200-word poem"), vec!["length limit"]);
        assert_eq!(constraints("Answer in three sentences"), vec!["length limit"]);
        assert_eq!(constraints("List 5 fruits"), vec!["item count"]);
        assert_eq!(constraints("Give me three reasons"), vec!["item count"]);
        assert!(constraints("In 1990 he was born").is_empty());
        assert!(constraints("Write about one of the cities").is_empty());
    }
}
