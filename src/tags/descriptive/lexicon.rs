//! The embedded lexicons (`subjects.txt`, `harm.txt`, `cues.txt`) and the one
//! Aho-Corasick automaton that finds all their phrases in a single pass.
//!
//! A lexicon file is a list of sections `[kind args]`, each followed by lines
//! `tier: phrase, phrase, ...`; `#` starts a comment line. A phrase matches
//! case-insensitively (ASCII) on word boundaries; a plural or possessive
//! ending is accepted; a trailing `*` accepts any word ending. A phrase listed
//! in several sections carries all their cues. A phrase inside a longer one
//! loses the kinds of cue the longer one has: "heart attack" (a subject and a
//! benign harm phrase) hides the harm of "attack", while "poem about" (an
//! open-endedness cue) leaves the subject of "poem" alone. Between two phrases
//! matching the same span, the longer phrase ("weeds" vs "weed"+s) hides all.

use super::vocab::{FORMAT_NAMES, HARM_CATEGORIES, SUBJECTS};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use once_cell::sync::Lazy;
use std::collections::HashMap;

const SUBJECTS_TXT: &str = include_str!("subjects.txt");
const HARM_TXT: &str = include_str!("harm.txt");
const CUES_TXT: &str = include_str!("cues.txt");

/// What a matched phrase tells about the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cue {
    /// Points to `SUBJECTS[subject]` with weight 1 or 2; `expert` marks technical vocabulary.
    Subject { subject: u8, weight: u8, expert: bool },
    /// A harm topic of `HARM_CATEGORIES[category]`, severity 0 (benign phrase) to 3.
    Harm { category: u8, severity: u8 },
    /// Open-endedness level 0 (no) to 3 (high) of the request around it.
    Open(u8),
    /// How the user relates to the topic (asks how to, wants to evade, wants content).
    Intent(Intent),
    /// A group of people.
    Group,
    /// A generalising attribute (hate only when near a [`Cue::Group`]).
    Stereotype,
    /// A constraint on the answer's form: `FORMAT_NAMES[i]`.
    Format(u8),
    /// Announces material given in the prompt ("the following text").
    Material,
}

impl Cue {
    /// One bit per kind of cue (for hiding by longer phrases).
    pub fn kind_bit(&self) -> u8 {
        match self {
            Cue::Subject { .. } => 1,
            Cue::Harm { .. } => 2,
            Cue::Open(_) => 4,
            Cue::Intent(_) => 8,
            Cue::Group => 16,
            Cue::Stereotype => 32,
            Cue::Format(_) => 64,
            Cue::Material => 128,
        }
    }
}

/// The user's stance towards a (possibly harmful) topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Asks how to do it, or states a plan to do it.
    Operational,
    /// Wants to avoid detection or consequences.
    Evasion,
    /// Asks for content to be written or generated.
    Generate,
}

/// One phrase of the lexicons.
#[derive(Clone, Debug)]
struct Phrase {
    /// Lowercase text as written, without the trailing `*`.
    text: String,
    /// A trailing `*`: any word characters may follow.
    stem: bool,
    cues: Vec<Cue>,
}

/// A phrase found in a text: byte range (with any accepted ending) and its cues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    /// Index of the phrase; equal for two hits of the same phrase.
    pub phrase: u32,
    /// Kinds of cue (see [`Cue::kind_bit`]) hidden by a longer phrase around this one.
    pub hidden: u8,
}

/// All lexicon phrases compiled into one automaton.
pub struct Lexicon {
    phrases: Vec<Phrase>,
    automaton: AhoCorasick,
    /// Automaton pattern id → phrase index (a phrase with `'` also has a `’` variant).
    pattern_phrase: Vec<u32>,
}

/// The process-wide lexicon, compiled on first use (a few ms).
pub static LEXICON: Lazy<Lexicon> = Lazy::new(|| {
    Lexicon::build().unwrap_or_else(|e| panic!("embedded lexicon is invalid (a prefroute bug): {e}"))
});

impl Lexicon {
    /// Parses the three embedded files and compiles the automaton.
    pub fn build() -> Result<Lexicon, String> {
        let mut phrases: Vec<Phrase> = Vec::new();
        let mut index: HashMap<(String, bool), usize> = HashMap::new();
        for (file, text) in [("subjects.txt", SUBJECTS_TXT), ("harm.txt", HARM_TXT), ("cues.txt", CUES_TXT)] {
            parse_file(text, &mut |term, cue| {
                let (body, stem) = match term.strip_suffix('*') {
                    Some(b) => (b, true),
                    None => (term, false),
                };
                if body.is_empty() || body.contains('*') {
                    return Err(format!("{file}: bad phrase '{term}'"));
                }
                let key = (body.to_lowercase(), stem);
                let i = *index.entry(key.clone()).or_insert_with(|| {
                    phrases.push(Phrase { text: key.0, stem, cues: Vec::new() });
                    phrases.len() - 1
                });
                merge_cue(&mut phrases[i].cues, cue);
                Ok(())
            })
            .map_err(|e| format!("{file}: {e}"))?;
        }
        let mut patterns: Vec<String> = Vec::with_capacity(phrases.len() + 64);
        let mut pattern_phrase = Vec::with_capacity(phrases.len() + 64);
        for (i, p) in phrases.iter().enumerate() {
            patterns.push(p.text.clone());
            pattern_phrase.push(i as u32);
            if p.text.contains('\'') {
                patterns.push(p.text.replace('\'', "\u{2019}"));
                pattern_phrase.push(i as u32);
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| format!("automaton: {e}"))?;
        Ok(Lexicon { phrases, automaton, pattern_phrase })
    }

    /// Number of distinct phrases.
    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    /// True when the lexicon has no phrase (never for the embedded one).
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The cues of phrase `i`, all of them.
    pub fn cues(&self, phrase: u32) -> &[Cue] {
        &self.phrases[phrase as usize].cues
    }

    /// The cues a hit contributes: its phrase's cues less the hidden kinds.
    pub fn cues_of<'a>(&'a self, hit: &'a Hit) -> impl Iterator<Item = &'a Cue> + 'a {
        self.cues(hit.phrase).iter().filter(|c| hit.hidden & c.kind_bit() == 0)
    }

    fn kinds(&self, phrase: u32) -> u8 {
        self.cues(phrase).iter().fold(0, |k, c| k | c.kind_bit())
    }

    /// Lowercase text of phrase `i` (for reports and tests).
    pub fn text(&self, phrase: u32) -> &str {
        &self.phrases[phrase as usize].text
    }

    /// All non-overlapped phrase matches in `text`, by start position.
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let bytes = text.as_bytes();
        let mut hits = Vec::new();
        for m in self.automaton.find_overlapping_iter(text) {
            let phrase = self.pattern_phrase[m.pattern().as_usize()];
            let p = &self.phrases[phrase as usize];
            let (start, mut end) = (m.start(), m.end());
            if starts_with_word_char(&p.text) && word_char_before(text, start) {
                continue;
            }
            if p.stem {
                while let Some(len) = word_char_at(text, end) {
                    end += len;
                }
            } else if ends_with_word_char(&p.text) {
                match accepted_ending(bytes, end, &p.text) {
                    Some(len) => end += len,
                    None => continue,
                }
            }
            hits.push(Hit { start, end, phrase, hidden: 0 });
        }
        // Longest first at each start; among equal spans, the longer phrase (more specific).
        hits.sort_by(|a, b| {
            a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then_with(|| {
                let (la, lb) =
                    (self.phrases[a.phrase as usize].text.len(), self.phrases[b.phrase as usize].text.len());
                lb.cmp(&la).then(a.phrase.cmp(&b.phrase))
            })
        });
        // Sorted by start, so the phrases around a hit are among the earlier
        // hits that still reach its end; `open` holds those that reach past
        // the current start.
        let mut open: Vec<Hit> = Vec::new();
        let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
        for mut h in hits {
            open.retain(|o| o.end > h.start);
            let len = self.phrases[h.phrase as usize].text.len();
            for o in &open {
                if o.end >= h.end {
                    let same_span = o.start == h.start && o.end == h.end;
                    let longer = self.phrases[o.phrase as usize].text.len() > len;
                    h.hidden |= if same_span && longer {
                        u8::MAX
                    } else if same_span {
                        0
                    } else {
                        self.kinds(o.phrase)
                    };
                }
            }
            if h.hidden & self.kinds(h.phrase) != self.kinds(h.phrase) {
                open.push(h);
                kept.push(h);
            }
        }
        kept
    }
}

/// Adds `cue` unless an equal-or-stronger cue of the same kind and target is there.
fn merge_cue(cues: &mut Vec<Cue>, cue: Cue) {
    for c in cues.iter_mut() {
        match (c, cue) {
            (Cue::Subject { subject: s, weight: w, expert: x }, Cue::Subject { subject, weight, expert })
                if *s == subject =>
            {
                *w = (*w).max(weight);
                *x |= expert;
                return;
            }
            (Cue::Harm { category: k, severity: v }, Cue::Harm { category, severity }) if *k == category => {
                *v = (*v).max(severity);
                return;
            }
            (c, cue) if *c == cue => return,
            _ => {}
        }
    }
    cues.push(cue);
}

/// Calls `add(term, cue)` for every phrase of a lexicon file.
fn parse_file(text: &str, add: &mut dyn FnMut(&str, Cue) -> Result<(), String>) -> Result<(), String> {
    let mut section: Option<(String, String)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |m: &str| format!("line {}: {m}", n + 1);
        if let Some(h) = line.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let (kind, arg) = h.split_once(' ').unwrap_or((h, ""));
            section = Some((kind.to_string(), arg.trim().to_string()));
            continue;
        }
        let (tier, terms) = line.split_once(':').ok_or_else(|| at("expected 'tier: phrases'"))?;
        let (kind, arg) = section.as_ref().ok_or_else(|| at("phrases before any [section]"))?;
        let cue = section_cue(kind, arg, tier.trim()).map_err(|e| at(&e))?;
        for term in terms.split(',') {
            let term = term.trim();
            if term.is_empty() {
                return Err(at("empty phrase"));
            }
            add(term, cue).map_err(|e| at(&e))?;
        }
    }
    Ok(())
}

/// The cue of a phrase listed under `[kind arg]` with tier `tier`.
fn section_cue(kind: &str, arg: &str, tier: &str) -> Result<Cue, String> {
    let position = |list: &[&str], what: &str| {
        list.iter().position(|s| *s == arg).map(|i| i as u8).ok_or_else(|| format!("unknown {what} '{arg}'"))
    };
    let no_tier = || if tier == "-" { Ok(()) } else { Err(format!("tier must be '-' in [{kind}]")) };
    Ok(match kind {
        "subject" => {
            let subject = position(&SUBJECTS, "subject")?;
            match tier {
                "1" => Cue::Subject { subject, weight: 1, expert: false },
                "2" => Cue::Subject { subject, weight: 2, expert: false },
                "x" => Cue::Subject { subject, weight: 2, expert: true },
                _ => return Err(format!("subject tier must be 1, 2 or x, not '{tier}'")),
            }
        }
        "harm" => {
            let category = position(&HARM_CATEGORIES, "harm category")?;
            let severity = match tier {
                "0" => 0,
                "1" => 1,
                "2" => 2,
                "3" => 3,
                _ => return Err(format!("harm severity must be 0..3, not '{tier}'")),
            };
            Cue::Harm { category, severity }
        }
        "open" => {
            no_tier()?;
            Cue::Open(position(&super::vocab::OPEN_ENDEDNESS, "open-endedness level")?)
        }
        "intent" => {
            no_tier()?;
            Cue::Intent(match arg {
                "operational" => Intent::Operational,
                "evasion" => Intent::Evasion,
                "generate" => Intent::Generate,
                _ => return Err(format!("unknown intent '{arg}'")),
            })
        }
        "group" => {
            no_tier()?;
            Cue::Group
        }
        "stereotype" => {
            no_tier()?;
            Cue::Stereotype
        }
        "format" => {
            no_tier()?;
            Cue::Format(position(&FORMAT_NAMES, "format constraint")?)
        }
        "material" => {
            no_tier()?;
            Cue::Material
        }
        _ => return Err(format!("unknown section kind '{kind}'")),
    })
}

/// Letters, digits and `_` (any script) make words.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn starts_with_word_char(s: &str) -> bool {
    s.chars().next().is_some_and(is_word_char)
}

fn ends_with_word_char(s: &str) -> bool {
    s.chars().next_back().is_some_and(is_word_char)
}

/// Is the char ending just before byte `i` a word char?
pub fn word_char_before(text: &str, i: usize) -> bool {
    text[..i].chars().next_back().is_some_and(is_word_char)
}

/// Byte length of the word char starting at byte `i`, if there is one.
pub fn word_char_at(text: &str, i: usize) -> Option<usize> {
    text[i..].chars().next().filter(|c| is_word_char(*c)).map(char::len_utf8)
}

/// Length of an accepted ending at byte `end` of a whole-word phrase: 0 at a
/// word boundary, or a plural/possessive ending followed by a boundary.
fn accepted_ending(bytes: &[u8], end: usize, phrase: &str) -> Option<usize> {
    let boundary = |i: usize| match bytes.get(i) {
        None => true,
        Some(b) if b.is_ascii() => !(b.is_ascii_alphanumeric() || *b == b'_'),
        // A non-ASCII char: only letters/digits continue the word.
        Some(_) => std::str::from_utf8(&bytes[i..])
            .ok()
            .and_then(|s| s.chars().next())
            .is_none_or(|c| !is_word_char(c)),
    };
    if boundary(end) {
        return Some(0);
    }
    let lower = |i: usize| bytes.get(i).map(|b| b.to_ascii_lowercase());
    if lower(end) == Some(b's') && boundary(end + 1) {
        return Some(1);
    }
    let sibilant = ["s", "x", "z", "ch", "sh"].iter().any(|e| phrase.ends_with(e));
    if sibilant && lower(end) == Some(b'e') && lower(end + 1) == Some(b's') && boundary(end + 2) {
        return Some(2);
    }
    if bytes.get(end) == Some(&b'\'') && lower(end + 1) == Some(b's') && boundary(end + 2) {
        return Some(2);
    }
    if bytes[end..].starts_with("\u{2019}s".as_bytes()) && boundary(end + 4) {
        return Some(4);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Phrases that contribute at least one cue.
    fn found(text: &str) -> Vec<String> {
        LEXICON.scan(text).iter().map(|h| LEXICON.text(h.phrase).to_string()).collect()
    }

    fn harm_phrases(text: &str) -> Vec<String> {
        LEXICON
            .scan(text)
            .iter()
            .filter(|h| LEXICON.cues_of(h).any(|c| matches!(c, Cue::Harm { .. })))
            .map(|h| LEXICON.text(h.phrase).to_string())
            .collect()
    }

    #[test]
    fn embedded_lexicons_parse_and_cover_every_subject_but_others() {
        let lex = Lexicon::build().unwrap();
        assert!(lex.len() > 2000, "{} phrases", lex.len());
        for (s, name) in SUBJECTS.iter().enumerate() {
            let n = lex
                .phrases
                .iter()
                .filter(|p| {
                    p.cues.iter().any(|c| matches!(c, Cue::Subject { subject, .. } if *subject as usize == s))
                })
                .count();
            if *name == "Others" {
                assert_eq!(n, 0);
            } else {
                assert!(n >= 15, "subject {name} has only {n} phrases");
            }
        }
    }

    #[test]
    fn parser_rejects_unknown_sections_and_tiers() {
        let mut sink = |_: &str, _: Cue| Ok(());
        assert!(parse_file("[subject Astrology]\n2: horoscope", &mut sink).is_err());
        assert!(parse_file("[subject Physics]\n5: force", &mut sink).is_err());
        assert!(parse_file("[harm violence]\n4: x", &mut sink).is_err());
        assert!(parse_file("2: orphan", &mut sink).is_err());
        assert!(parse_file("[format length limit]\n-: a,, b", &mut sink).is_err());
        assert!(parse_file("# c\n[format list]\n-: bullet points\n", &mut sink).is_ok());
    }

    #[test]
    fn matches_whole_words_with_plural_and_possessive_endings() {
        assert_eq!(found("The heaven is here"), vec!["heaven"]);
        assert_eq!(found("Two HEAVENS are here"), vec!["heaven"]);
        assert!(found("excellent work").iter().all(|p| p != "cell"));
        assert_eq!(found("the church's roof"), vec!["church"]);
        assert_eq!(found("the church\u{2019}s roof"), vec!["church"]);
        // "es" only after a sibilant: "angel" does not match "Los Angeles".
        assert!(!found("Los Angeles").contains(&"angel".to_string()));
        assert_eq!(found("many masses"), vec!["mass"]);
    }

    #[test]
    fn stems_accept_any_ending_and_longer_phrases_hide_shorter_ones() {
        assert!(found("photosynthesis and ethnography").contains(&"ethnograph".to_string()));
        assert_eq!(found("I had a heart attack"), vec!["heart attack"]);
        assert_eq!(harm_phrases("kill the process"), vec!["kill the process"]);
        assert_eq!(harm_phrases("how do i kill someone"), vec!["kill someone"]);
        // A longer phrase of another kind leaves the inner phrase's subject alone.
        assert_eq!(found("Write a poem about the sea"), vec!["write a poem", "write a", "poem about", "sea"]);
    }

    #[test]
    fn phrases_with_punctuation_match_at_their_edges() {
        assert!(found("C++ is fast").contains(&"c++".to_string()));
        assert_eq!(found("I write in C++ daily"), vec!["write", "in c++", "c++"]);
        assert!(found("format: a table").contains(&"format:".to_string()));
    }
}
