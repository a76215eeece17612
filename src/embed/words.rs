//! Word counts as NLTK's `word_tokenize` gives them, for `bertscore_length`
//! (SPEC §2.2: `F1 × exp(1 − Ntok(ref)/Ntok(cand))`).
//!
//! `word_tokenize` is two steps: Punkt splits the text into sentences (with a
//! trained English model: abbreviation list, orthographic statistics), then
//! the "improved Treebank" tokenizer (`NLTKWordTokenizer`, NLTK 3.10) splits
//! each sentence. This file ports the second step rule by rule — it is regular
//! expressions only, and agrees with NLTK token for token (tested against NLTK
//! on every completion of the example data, see `tests/embed_parity.rs`).
//!
//! The first step is an **approximation**: we have no trained Punkt model. It
//! matters for the count only through sentence-final periods (Treebank splits
//! the period off the last word of a sentence, not off a word inside one), so
//! we break sentences where Punkt's first pass does, on the same candidates:
//! - after `?` or `!` followed by another token;
//! - after a word ending in one `.` (not `..`) that is followed by whitespace
//!   and another token, or by closing punctuation — unless the word is in a
//!   short list of common English abbreviations ([`ABBREVIATIONS`]), or it is a
//!   single-letter initial (`J.`), or it is a number (`3.`) followed by a word
//!   that starts in lower case.
//!
//! Punkt's second pass (orthographic evidence learned from its training corpus)
//! can decide otherwise around abbreviations, initials and numbers; there the
//! count may differ from NLTK's by one token per such place.

use once_cell::sync::Lazy;
use regex::Regex;

/// Lower-case abbreviations (without their final period) after which a period
/// does not end a sentence. A hand-picked subset of what Punkt's English model
/// knows: titles, Latin abbreviations, months, common business abbreviations.
pub const ABBREVIATIONS: [&str; 52] = [
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "rev", "gen", "gov", "sen", "rep", "col", "lt", "sgt",
    "capt", "mt", "ft", "vs", "etc", "e.g", "i.e", "cf", "al", "approx", "inc", "ltd", "co", "corp", "dept",
    "u.s", "u.k", "a.m", "p.m", "no", "vol", "fig", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "ph.d", "b.c",
];

/// Number of tokens NLTK's `word_tokenize(text)` returns (see the module doc
/// for where this is an approximation).
pub fn word_count(text: &str) -> usize {
    sentences(text).map(|s| treebank_tokens(s).len()).sum()
}

/// Brevity-style penalty of SPEC §2.2 applied to `f1`: the reference is the
/// completion with more characters (`b` on a tie), the candidate the other;
/// `f1 × exp(1 − words(ref)/words(cand))`, and 0 when the candidate has no words.
pub fn bertscore_length(f1: f64, a: &str, b: &str) -> f64 {
    let (reference, candidate) = if a.chars().count() > b.chars().count() { (a, b) } else { (b, a) };
    let n_cand = word_count(candidate);
    if n_cand == 0 {
        // Python's ZeroDivisionError branch in the paper's code: the penalty is 0.
        return 0.0;
    }
    f1 * (1.0 - word_count(reference) as f64 / n_cand as f64).exp()
}

/// The tokens of one sentence under NLTK 3.10's `NLTKWordTokenizer.tokenize`
/// (`convert_parentheses=False`): the same substitutions in the same order.
pub fn treebank_tokens(sentence: &str) -> Vec<String> {
    let r = &*RULES;
    let mut t = sentence.to_string();
    for (re, with) in &r.starting {
        t = re.replace_all(&t, *with).into_owned();
    }
    t = space_opening_single_quotes(&t);
    for (re, with) in &r.punctuation {
        t = re.replace_all(&t, *with).into_owned();
    }
    t = r.parens.replace_all(&t, " $0 ").into_owned();
    t = r.double_dash.replace_all(&t, " -- ").into_owned();
    t = format!(" {t} ");
    for (re, with) in &r.ending {
        t = re.replace_all(&t, *with).into_owned();
    }
    for re in &r.contractions {
        t = re.replace_all(&t, " ${1} ${2} ").into_owned();
    }
    t.split_whitespace().map(str::to_string).collect()
}

struct Rules {
    starting: Vec<(Regex, &'static str)>,
    punctuation: Vec<(Regex, &'static str)>,
    parens: Regex,
    double_dash: Regex,
    ending: Vec<(Regex, &'static str)>,
    contractions: Vec<Regex>,
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file; a failure is caught by every test.
    Regex::new(pattern).expect("valid word-tokenizer pattern")
}

static RULES: Lazy<Rules> = Lazy::new(|| Rules {
    starting: vec![
        (re("([«“‘„]|`+)"), " ${1} "),
        (re(r#"^""#), "``"),
        (re("(``)"), " ${1} "),
        (re(r#"([ (\[{<])("|'')"#), "${1} `` "),
    ],
    punctuation: vec![
        (re(r#"([^.])(\.)([\])}>"'»”’ ]*)\s*$"#), "${1} ${2} ${3} "),
        (re(r"([:,])([^\d])"), " ${1} ${2}"),
        (re(r"([:,])$"), " ${1} "),
        (re(r"\.{2,}"), " $0 "),
        (re(r"[;@#$%&]"), " $0 "),
        (re("[\u{2012}-\u{2015}]"), " $0 "),
        (re(r#"([^.])(\.)([\])}>"']*)\s*$"#), "${1} ${2}${3} "),
        (re(r"[?!]"), " $0 "),
        (re(r"([^'])' "), "${1} ' "),
        (re(r"\*"), " $0 "),
    ],
    parens: re(r"[\]\[(){}<>]"),
    double_dash: re("--"),
    ending: vec![
        (re("([»”’])"), " ${1} "),
        (re("''"), " '' "),
        (re(r#"""#), " '' "),
        (re(r"\s+"), " "),
        (re("([^' ])('[sS]|'[mM]|'[dD]|') "), "${1} ${2} "),
        (re("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), "${1} ${2} "),
    ],
    contractions: vec![
        re(r"(?i)\b(can)(not)\b"),
        re(r"(?i)\b(d)('ye)\b"),
        re(r"(?i)\b(gim)(me)\b"),
        re(r"(?i)\b(gon)(na)\b"),
        re(r"(?i)\b(got)(ta)\b"),
        re(r"(?i)\b(lem)(me)\b"),
        re(r"(?i)\b(more)('n)\b"),
        // NLTK: `\b(wan)(na)(?=\s)`; the lookahead is checked by hand below.
        re(r"(?i)\b(wan)(na)\s"),
        re(r"(?i) ('t)(is)\b"),
        re(r"(?i) ('t)(was)\b"),
    ],
});

/// NLTK's `(?i)(?<!\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)` → `' `: an
/// apostrophe that opens a word (and is not a clitic such as 's) is split off.
/// The `regex` crate has no lookaround, so this one rule is written out.
fn space_opening_single_quotes(t: &str) -> String {
    let chars: Vec<char> = t.chars().collect();
    let mut out = String::with_capacity(t.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        out.push(c);
        if c != '\'' {
            continue;
        }
        let prev_word = i > 0 && is_word(chars[i - 1]);
        let next_word = chars.get(i + 1).is_some_and(|c| is_word(*c));
        if !prev_word && next_word && !clitic_follows(&chars[i + 1..]) {
            out.push(' ');
        }
    }
    out
}

/// `(?:re|ve|ll|m|t|s|d|n)\b`, case-insensitive, at the start of `rest`.
fn clitic_follows(rest: &[char]) -> bool {
    ["re", "ve", "ll", "m", "t", "s", "d", "n"].iter().any(|c| {
        let n = c.len();
        rest.len() >= n
            && rest[..n].iter().zip(c.chars()).all(|(a, b)| a.to_ascii_lowercase() == b)
            && !rest.get(n).is_some_and(|c| is_word(*c))
    })
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Characters that may follow a sentence-ending period directly (Punkt's
/// "non-word" characters) and still let it end the sentence.
fn is_after_period_punct(c: char) -> bool {
    matches!(c, ')' | '"' | ';' | '}' | ']' | '*' | ':' | '@' | '\'' | '(' | '{' | '[' | '?' | '!')
        || matches!(c, '\u{2018}' | '\u{2019}' | '\u{201c}' | '\u{201d}' | '\u{ab}' | '\u{bb}')
}

/// The sentences of `text` under the Punkt approximation described in the
/// module doc; each is a slice of `text`.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut out = Vec::new();
    let mut start = 0usize;
    // Byte offset where the current whitespace-delimited word starts.
    let mut word_start = 0usize;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(pos, c)) in chars.iter().enumerate() {
        if c.is_whitespace() {
            word_start = pos + c.len_utf8();
            continue;
        }
        if !matches!(c, '.' | '?' | '!') || pos < start {
            continue;
        }
        // The token that follows: after whitespace, or directly a punctuation mark.
        let next_token_start = match chars.get(k + 1).map(|x| x.1) {
            Some(a) if a.is_whitespace() => {
                chars[k + 1..].iter().find(|x| !x.1.is_whitespace()).map(|x| (x.0, false))
            }
            Some(a) if is_after_period_punct(a) => Some((chars[k + 1].0, true)),
            _ => None,
        };
        let Some((next, direct)) = next_token_start else { continue };
        let breaks = c != '.' || period_breaks(&text[word_start.max(start)..pos], &text[next..]);
        if breaks {
            let end = pos + c.len_utf8();
            out.push(&text[start..end]);
            start = if direct { end } else { next };
        }
    }
    out.push(text[start..].trim_end());
    out.into_iter().filter(|s| !s.trim().is_empty())
}

/// Punkt's first-pass decision (plus the initial/number rule of its second
/// pass, simplified) for a period after `word`, followed by `next`.
fn period_breaks(word: &str, next: &str) -> bool {
    // Punkt splits leading punctuation such as "(" or a quote off the word.
    let word = word.trim_start_matches(|c: char| !is_word(c));
    if word.is_empty() || word.ends_with('.') {
        // An ellipsis ("..") or a lone period: not a sentence break in the first pass.
        return false;
    }
    let lower = word.to_lowercase();
    let last_part = lower.rsplit('-').next().unwrap_or(&lower);
    if ABBREVIATIONS.contains(&lower.as_str()) || ABBREVIATIONS.contains(&last_part) {
        return false;
    }
    let next_lower = next.chars().find(|c| c.is_alphanumeric()).is_some_and(char::is_lowercase);
    let mut letters = word.chars();
    let initial = matches!((letters.next(), letters.next()), (Some(c), None) if c.is_alphabetic());
    if initial {
        return false;
    }
    let number = word.chars().next().is_some_and(|c| c.is_ascii_digit())
        && word.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-'));
    !(number && next_lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        treebank_tokens(s)
    }

    #[test]
    fn treebank_rules_on_nltk_documented_examples() {
        // NLTKWordTokenizer's own doctest (NLTK 3.10, destructive.py).
        let s = "Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks.";
        assert_eq!(
            toks(s),
            [
                "Good", "muffins", "cost", "$", "3.88", "(", "roughly", "3,36", "euros", ")", "in", "New",
                "York.", "Please", "buy", "me", "two", "of", "them.", "Thanks", "."
            ]
        );
    }

    #[test]
    fn treebank_quotes_clitics_and_contractions() {
        // Hand-derived from the rules, and checked against NLTK 3.10.4.
        assert_eq!(
            toks("Hello, world! It's Mr. Smith's \"cat\" -- can't stop. (e.g. 3.5 U.S.A.)"),
            [
                "Hello", ",", "world", "!", "It", "'s", "Mr.", "Smith", "'s", "``", "cat", "''", "--", "ca",
                "n't", "stop.", "(", "e.g.", "3.5", "U.S.A", ".", ")"
            ]
        );
        assert_eq!(toks("I cannot gonna wanna go"), ["I", "can", "not", "gon", "na", "wan", "na", "go"]);
        assert_eq!(toks("'tis 'hello' they're"), ["'", "tis", "'", "hello", "'", "they", "'re"]);
        assert_eq!(
            toks("a:b, c: d; e... f*g"),
            ["a", ":", "b", ",", "c", ":", "d", ";", "e", "...", "f", "*", "g"]
        );
        assert_eq!(toks(""), Vec::<String>::new());
    }

    #[test]
    fn sentence_final_periods_are_split_inside_the_text() {
        // Two sentences: the first loses its final period too.
        assert_eq!(word_count("Hello there. How are you?"), 7);
        assert_eq!(word_count("I saw it. It was red."), 8);
        // A period followed by a lower-case word still ends a sentence in Punkt's first pass.
        assert_eq!(word_count("I saw it. then left."), 7);
        // Known abbreviations and initials do not end a sentence.
        assert_eq!(word_count("Dr. Smith met J. Doe."), 6);
        assert_eq!(word_count("Use tools, e.g. hammers."), 6);
        // A numbered list: "1." before a capitalised word ends a "sentence", before a lower-case one not.
        assert_eq!(word_count("Steps:\n1. Open it.\n2. Close it."), 12);
        assert_eq!(word_count("page 3. then"), 3);
        // Question and exclamation marks are always tokens of their own.
        assert_eq!(word_count("Really?! Yes."), 5);
        assert_eq!(word_count("   "), 0);
    }

    #[test]
    fn bertscore_length_penalises_the_shorter_candidate() {
        // a has more characters, so it is the reference: 4 words vs 2 words.
        let v = bertscore_length(0.9, "one two three four", "one two");
        assert!((v - 0.9 * (1.0f64 - 2.0).exp()).abs() < 1e-15);
        // Same words: no penalty (exp(0) = 1).
        assert!((bertscore_length(0.8, "a b", "c d") - 0.8).abs() < 1e-15);
        // Char-longer but word-shorter reference: the value exceeds F1 (SPEC §2.2).
        assert!(bertscore_length(0.5, "extraordinarily", "a b") > 0.5);
        // An empty candidate: penalty 0 (the paper's ZeroDivisionError branch).
        assert_eq!(bertscore_length(0.7, "some words here", ""), 0.0);
    }
}
