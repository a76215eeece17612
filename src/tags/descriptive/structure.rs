//! The shape of a prompt: who speaks where (dialogue turns), paragraphs, and
//! sentences. Byte ranges into the prompt, no copies.

use std::ops::Range;

/// Speaker markers at the start of a line ("Human:", "### Assistant:", "<|user|>").
const USER_MARKERS: [&str; 3] = ["human:", "user:", "<|user|>"];
const ASSISTANT_MARKERS: [&str; 3] = ["assistant:", "ai:", "<|assistant|>"];

/// The user's turns of a prompt. A prompt without both user and assistant
/// markers is one user turn; text before the first marker belongs to the user.
pub fn user_turns(text: &str) -> Vec<Range<usize>> {
    let mut marks: Vec<(usize, usize, bool)> = Vec::new(); // (line start, content start, is_user)
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let lead = line.len() - line.trim_start_matches([' ', '\t', '#']).len();
        let rest = &line[lead..];
        let head = rest.as_bytes();
        let starts = |m: &&str| head.len() >= m.len() && head[..m.len()].eq_ignore_ascii_case(m.as_bytes());
        for (markers, is_user) in [(&USER_MARKERS, true), (&ASSISTANT_MARKERS, false)] {
            if let Some(m) = markers.iter().find(|m| starts(m)) {
                marks.push((line_start, line_start + lead + m.len(), is_user));
                break;
            }
        }
        line_start += line.len();
    }
    let has_user = marks.iter().any(|m| m.2);
    let has_assistant = marks.iter().any(|m| !m.2);
    let whole = std::iter::once(0..text.len());
    if !(has_user && has_assistant) {
        return whole.collect();
    }
    let mut turns = Vec::new();
    if marks[0].0 > 0 && !text[..marks[0].0].trim().is_empty() {
        turns.push(0..marks[0].0);
    }
    for (i, &(_, content, is_user)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map_or(text.len(), |m| m.0);
        if is_user && !text[content..end].trim().is_empty() {
            turns.push(content..end);
        }
    }
    if turns.is_empty() {
        turns.extend(whole);
    }
    turns
}

/// Paragraphs of `range`: runs of lines separated by blank lines. A fenced
/// code block (```) stays one paragraph even when it contains blank lines.
pub fn paragraphs(text: &str, range: Range<usize>) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut fenced = false;
    let mut in_fence = false;
    let mut pos = range.start;
    for line in text[range.clone()].split_inclusive('\n') {
        let t = line.trim();
        let is_fence = t.starts_with("```") || t.starts_with("~~~");
        if t.is_empty() && !in_fence {
            if let Some(s) = start.take() {
                out.push(Paragraph { range: s..pos, fenced });
            }
            fenced = false;
        } else {
            start.get_or_insert(pos);
            if is_fence {
                in_fence = !in_fence;
                fenced = true;
            }
        }
        pos += line.len();
    }
    if let Some(s) = start {
        out.push(Paragraph { range: s..range.end, fenced });
    }
    out
}

/// A paragraph and whether it contains a fenced block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paragraph {
    pub range: Range<usize>,
    pub fenced: bool,
}

/// A sentence: its range (enumerators and bullets stripped) and whether it ends with '?'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sentence {
    pub range: Range<usize>,
    pub question: bool,
}

/// Sentences of `range`, split at `?`, `!`, line breaks, and `.` before
/// whitespace; fenced code lines are skipped.
pub fn sentences(text: &str, range: Range<usize>) -> Vec<Sentence> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut pos = range.start;
    let mut in_fence = false;
    for line in text[range.clone()].split_inclusive('\n') {
        let line_start = pos;
        pos += line.len();
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut s = line_start;
        let line_end = line_start + line.trim_end().len();
        let mut i = line_start;
        while i < line_end {
            let b = bytes[i];
            let ends = match b {
                b'?' | b'!' => true,
                b'.' => i + 1 >= line_end || bytes[i + 1].is_ascii_whitespace(),
                _ => false,
            };
            if ends {
                push_sentence(text, s..i + 1, b == b'?', &mut out);
                s = i + 1;
            }
            i += 1;
        }
        push_sentence(text, s..line_end, false, &mut out);
    }
    out
}

fn push_sentence(text: &str, r: Range<usize>, question: bool, out: &mut Vec<Sentence>) {
    let start = r.start + strip_enumerator(&text[r.clone()]);
    if start < r.end && text[start..r.end].trim_end_matches(['?', '!', '.']).chars().any(char::is_alphabetic)
    {
        out.push(Sentence { range: start..r.end, question });
    }
}

/// Byte length of leading whitespace, bullets and enumerators ("1.", "2)", "a)", "-", "*", "•").
fn strip_enumerator(s: &str) -> usize {
    let mut i = 0;
    loop {
        let rest = &s[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        let b = trimmed.as_bytes();
        let skip = match b {
            [b'-' | b'*' | b'>' | b'#', ..] => 1,
            _ if trimmed.starts_with('•') => '•'.len_utf8(),
            _ => {
                let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let letter = usize::from(digits == 0 && b.len() > 1 && b[0].is_ascii_alphabetic());
                let n = digits + letter;
                if n > 0 && n <= 3 && matches!(b.get(n), Some(b'.' | b')' | b':')) {
                    n + 1
                } else if b.first() == Some(&b'(') && b.get(2) == Some(&b')') {
                    3
                } else {
                    0
                }
            }
        };
        if skip == 0 {
            return i;
        }
        i += skip;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(t: &'a str, v: &[Range<usize>]) -> Vec<&'a str> {
        v.iter().map(|r| t[r.clone()].trim()).collect()
    }

    #[test]
    fn dialogue_turns_keep_only_the_user_side() {
        let t = "\n\nHuman: How do I bake bread?\n\nAssistant: Use flour.\n\nHuman: And yeast?\n\nAssistant:";
        assert_eq!(texts(t, &user_turns(t)), vec!["How do I bake bread?", "And yeast?"]);
        let plain = "User: is not a dialogue without an assistant";
        assert_eq!(user_turns(plain), vec![0..plain.len()]);
        let chat = "<|user|>\nhi there\n<|assistant|>\nhello\n";
        assert_eq!(texts(chat, &user_turns(chat)), vec!["hi there"]);
    }

    #[test]
    fn paragraphs_split_at_blank_lines_but_not_inside_fences() {
        let t = "Fix this code.\n\n```\na = 1\n\nb = 2\n```\n\nThanks";
        let p = paragraphs(t, 0..t.len());
        assert_eq!(p.len(), 3);
        assert_eq!(t[p[0].range.clone()].trim(), "Fix this code.");
        assert!(p[1].fenced && !p[0].fenced);
        assert_eq!(t[p[2].range.clone()].trim(), "Thanks");
    }

    #[test]
    fn sentences_split_on_terminators_and_drop_enumerators() {
        let t = "1. Write a poem. 2) Explain it? Version 3.5 is out!\n- list items\n```\nx = 1?\n```";
        let s = sentences(t, 0..t.len());
        let got: Vec<(&str, bool)> = s.iter().map(|s| (t[s.range.clone()].trim(), s.question)).collect();
        assert_eq!(
            got,
            vec![
                ("Write a poem.", false),
                ("Explain it?", true),
                ("Version 3.5 is out!", false),
                ("list items", false)
            ]
        );
    }
}
