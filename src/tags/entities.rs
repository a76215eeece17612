//! Named-entity overlap between the two completions, by rules instead of a model.
//!
//! The paper's `entity_sim` runs spaCy's NER on each completion. prefroute ships no
//! model, so it approximates spaCy's entities with rules that need no download:
//!
//! * **proper nouns**: runs of capitalised words, possibly joined by `of`, `de`, `&`
//!   (`Dan Brown`, `Bank of America`, `FBI`), with a leading `the` kept before a
//!   multi-word name as spaCy does (`the United States`). A run that starts a
//!   sentence, line or list item loses its first word when that word is a common
//!   word (`The`, `However`) or occurs in lowercase elsewhere in the text; a single
//!   sentence-initial word is kept only when the text also capitalises it
//!   mid-sentence (a known name). `I`, contractions (`I'm`), single letters and
//!   template slots (`[Name]`) are not names;
//! * **numbers**: digits (`1`, `1,000`, `3.5`, `1/2`, `1990s`, `21st`, `17-year-old`),
//!   number words (`two`, `hundred`; `one` only as a numeral, not in `no one`) and
//!   ordinals (`first`, `secondly`), merged with a `%` or a unit that follows
//!   (`80 million`, `50%`, `10 km`, `3 years`);
//! * **dates and times**: month and weekday names with their numbers
//!   (`January 5, 2020`), `today`-like words and parts of the day, relative dates
//!   (`next week`, `every day`, `the past few years`, `the 20th century`).
//!
//! Entity strings are lowercased with single spaces between tokens. What the rules
//! miss most is a name that only ever appears at the start of a sentence. Agreement
//! with spaCy `en_core_web_sm` is measured in `tests/oracle_parity.rs` (Spearman ρ
//! of the Jaccard overlap, per example file).

use once_cell::sync::Lazy;
use rustc_hash::FxHashSet;

/// Sorted, unique, lowercased entity strings of `text`.
pub fn entities(text: &str) -> Vec<String> {
    let toks = tokenize(text);
    let mut out = Extractor::new(text, &toks).run();
    out.sort_unstable();
    out.dedup();
    out
}

/// Jaccard overlap |A∩B| / |A∪B| of the entity sets of `a` and `b`, in [0, 1]; 1 when both are empty.
pub fn entity_jaccard(a: &str, b: &str) -> f64 {
    let (ea, eb) = (entities(a), entities(b));
    if ea.is_empty() && eb.is_empty() {
        return 1.0;
    }
    // Both lists are sorted and unique: a merge-join counts the intersection.
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < ea.len() && j < eb.len() {
        match ea[i].cmp(&eb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (ea.len() + eb.len() - inter) as f64
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Starts with a letter: `Paris`, `don't`, `GPT-4`, `U.S.`.
    Word,
    /// Starts with a digit: `42`, `1,000`, `3.5`, `10:30`, `1990s`, `1st`.
    Num,
    /// One other non-space character.
    Punct,
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    start: usize,
    end: usize,
    kind: Kind,
    /// A line break lies between this token and the previous one.
    newline_before: bool,
}

/// Splits `text` into words, numbers and single punctuation characters.
fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte = |k: usize| chars.get(k).map_or(text.len(), |&(p, _)| p);
    let mut toks = Vec::with_capacity(chars.len() / 4);
    let (mut k, mut newline) = (0, false);
    while k < chars.len() {
        let c = chars[k].1;
        if c.is_whitespace() {
            newline |= c == '\n' || c == '\r';
            k += 1;
            continue;
        }
        let start = k;
        let kind = if c.is_alphanumeric() {
            k = scan_word(&chars, k);
            if c.is_numeric() {
                Kind::Num
            } else {
                Kind::Word
            }
        } else {
            k += 1;
            Kind::Punct
        };
        toks.push(Tok { start: byte(start), end: byte(k), kind, newline_before: newline });
        newline = false;
    }
    toks
}

/// End (exclusive char index) of the word or number starting at `k`.
fn scan_word(chars: &[(usize, char)], mut k: usize) -> usize {
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let alnum = |k: usize| at(k).is_some_and(char::is_alphanumeric);
    let digit = |k: usize| at(k).is_some_and(|c| c.is_ascii_digit());
    let letter = |k: usize| at(k).is_some_and(char::is_alphabetic);
    // Acronyms with periods: U.S., U.S.A., e.g. — single letters each followed by '.'.
    if letter(k) && at(k + 1) == Some('.') && letter(k + 2) && at(k + 3) == Some('.') {
        while letter(k) && at(k + 1) == Some('.') {
            k += 2;
        }
        return k;
    }
    loop {
        while alnum(k) {
            k += 1;
        }
        match at(k) {
            // Hyphenated words and ranges: 17-year-old, GPT-4, 7-8.
            Some('-') if alnum(k + 1) => k += 1,
            // Decimals, thousands, times and fractions: 3.5, 1,000, 10:30, 1/2.
            Some('.' | ',' | ':' | '/') if digit(k - 1) && digit(k + 1) => k += 1,
            // Contractions and O'Neil, but not the possessive 's: Trump's -> Trump + 's.
            Some('\'' | '’') if letter(k - 1) && letter(k + 1) => {
                let possessive = matches!(at(k + 1), Some('s' | 'S')) && !alnum(k + 2);
                if possessive {
                    return k;
                }
                k += 1;
            }
            _ => return k,
        }
    }
}

/// Cardinal number words (spaCy's CARDINAL).
const NUMBER_WORDS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "million",
    "billion",
    "trillion",
    "dozen",
    "hundreds",
    "thousands",
    "millions",
    "billions",
    "dozens",
];

/// Ordinal words (spaCy's ORDINAL).
const ORDINAL_WORDS: &[&str] = &[
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "twentieth",
    "hundredth",
    "firstly",
    "secondly",
    "thirdly",
    "fourthly",
    "lastly",
];

/// Words after a number that belong to the same quantity, money, percent or duration.
const UNIT_WORDS: &[&str] = &[
    "percent",
    "per",
    "cent",
    "dollars",
    "dollar",
    "euros",
    "euro",
    "pounds",
    "pound",
    "cents",
    "bucks",
    "yen",
    "usd",
    "eur",
    "km",
    "kilometers",
    "kilometres",
    "miles",
    "mile",
    "meters",
    "metres",
    "meter",
    "metre",
    "cm",
    "mm",
    "m",
    "feet",
    "foot",
    "ft",
    "inches",
    "inch",
    "kg",
    "kilograms",
    "grams",
    "gram",
    "g",
    "mg",
    "lbs",
    "lb",
    "ounces",
    "ounce",
    "oz",
    "liters",
    "litres",
    "liter",
    "litre",
    "ml",
    "l",
    "gallons",
    "gallon",
    "cups",
    "cup",
    "degrees",
    "degree",
    "calories",
    "kcal",
    "mph",
    "gb",
    "mb",
    "tb",
    "kb",
    "am",
    "pm",
    "a.m.",
    "p.m.",
    "seconds",
    "minutes",
    "minute",
    "hours",
    "hour",
    "days",
    "day",
    "weeks",
    "week",
    "months",
    "month",
    "years",
    "year",
    "decades",
    "decade",
    "centuries",
    "century",
    "times",
    "people",
    "points",
];

/// Time units that a relative-date modifier can precede.
const TIME_UNITS: &[&str] = &[
    "day",
    "days",
    "week",
    "weeks",
    "weekend",
    "month",
    "months",
    "year",
    "years",
    "decade",
    "decades",
    "century",
    "centuries",
    "morning",
    "afternoon",
    "evening",
    "night",
    "hour",
    "hours",
    "minute",
    "minutes",
    "summer",
    "winter",
    "spring",
    "autumn",
    "fall",
    "season",
    "quarter",
];

/// Modifiers that make a time unit a date: `next week`, `every day`, `the past few years`.
const DATE_MODIFIERS: &[&str] = &[
    "this", "next", "last", "past", "every", "each", "previous", "coming", "recent", "few", "several", "all",
];

/// Words that are dates on their own.
const DATE_WORDS: &[&str] = &[
    "today",
    "tomorrow",
    "yesterday",
    "tonight",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "annually",
    "morning",
    "afternoon",
    "evening",
    "night",
];

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Lowercase words that may join two capitalised words into one name: `Bank of America`.
const CONNECTORS: &[&str] = &["of", "de", "du", "da", "del", "der", "van", "von", "la", "le", "&"];

/// Titles whose abbreviation ends in a period that does not end the sentence.
const TITLES: &[&str] = &["mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "no"];

/// Common words that begin sentences and headings but are not names.
const COMMON_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "according",
    "additionally",
    "after",
    "again",
    "against",
    "all",
    "also",
    "although",
    "always",
    "an",
    "and",
    "another",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "best",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "dear",
    "despite",
    "did",
    "do",
    "does",
    "during",
    "each",
    "either",
    "even",
    "every",
    "example",
    "finally",
    "for",
    "from",
    "furthermore",
    "generally",
    "good",
    "great",
    "had",
    "has",
    "have",
    "he",
    "hello",
    "her",
    "here",
    "hey",
    "hi",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "including",
    "instead",
    "into",
    "is",
    "it",
    "its",
    "just",
    "let",
    "like",
    "many",
    "may",
    "maybe",
    "me",
    "meanwhile",
    "more",
    "moreover",
    "most",
    "much",
    "my",
    "neither",
    "never",
    "new",
    "no",
    "nor",
    "not",
    "note",
    "now",
    "of",
    "oh",
    "ok",
    "okay",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "overall",
    "please",
    "rather",
    "regarding",
    "she",
    "should",
    "similarly",
    "since",
    "so",
    "some",
    "sometimes",
    "step",
    "such",
    "sure",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "therefore",
    "these",
    "they",
    "this",
    "those",
    "though",
    "thus",
    "to",
    "too",
    "under",
    "unfortunately",
    "unless",
    "until",
    "up",
    "us",
    "use",
    "very",
    "was",
    "we",
    "well",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yes",
    "yet",
    "you",
    "your",
];

/// A word list as a hash set, built on first use: membership costs one hash
/// lookup per token instead of a scan of the list (most tokens are in none).
type WordSet = Lazy<FxHashSet<&'static str>>;

macro_rules! word_set {
    ($name:ident = $list:ident) => {
        static $name: WordSet = Lazy::new(|| $list.iter().copied().collect());
    };
}
word_set!(NUMBER = NUMBER_WORDS);
word_set!(ORDINAL = ORDINAL_WORDS);
word_set!(UNIT = UNIT_WORDS);
word_set!(TIME_UNIT = TIME_UNITS);
word_set!(DATE_MODIFIER = DATE_MODIFIERS);
word_set!(DATE_WORD = DATE_WORDS);
word_set!(MONTH = MONTHS);
word_set!(WEEKDAY = WEEKDAYS);
word_set!(CONNECTOR = CONNECTORS);
word_set!(TITLE = TITLES);
word_set!(COMMON = COMMON_WORDS);

fn is_in(set: &WordSet, word: &str) -> bool {
    set.contains(word)
}

/// The lowercased texts of all tokens, in one buffer.
struct Lowered {
    buf: String,
    /// End of token `i` in `buf`; it starts where token `i - 1` ends.
    ends: Vec<usize>,
}

impl Lowered {
    fn new(text: &str, toks: &[Tok]) -> Self {
        let mut buf = String::with_capacity(text.len());
        let mut ends = Vec::with_capacity(toks.len());
        for t in toks {
            let s = &text[t.start..t.end];
            if s.is_ascii() {
                buf.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
            } else {
                buf.extend(s.chars().flat_map(char::to_lowercase));
            }
            ends.push(buf.len());
        }
        Lowered { buf, ends }
    }
}

impl std::ops::Index<usize> for Lowered {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }
}

/// State of one extraction: the text, its tokens, and per-token facts.
struct Extractor<'t> {
    text: &'t str,
    toks: &'t [Tok],
    /// Lowercased token texts.
    lower: Lowered,
    /// Token begins a sentence, line, list item or quotation.
    sentence_start: Vec<bool>,
    /// Capitalised words seen mid-sentence (known names).
    known: FxHashSet<&'t str>,
    /// Words seen in lowercase (common words of this text).
    lowercase: FxHashSet<&'t str>,
    /// Token already belongs to an entity.
    used: Vec<bool>,
    out: Vec<String>,
}

impl<'t> Extractor<'t> {
    fn new(text: &'t str, toks: &'t [Tok]) -> Self {
        let lower = Lowered::new(text, toks);
        let raw = |i: usize| &text[toks[i].start..toks[i].end];
        let mut sentence_start = vec![false; toks.len()];
        let mut start = true;
        for (i, t) in toks.iter().enumerate() {
            start |= t.newline_before;
            sentence_start[i] = start;
            match t.kind {
                Kind::Word => start = false,
                // A list marker (`1.`, `2)`) keeps the line start; other numbers begin the sentence body.
                Kind::Num => start = start && i + 1 < toks.len() && matches!(raw(i + 1), "." | ")"),
                Kind::Punct => {
                    let title = i > 0 && raw(i) == "." && is_in(&TITLE, &lower[i - 1]);
                    if matches!(raw(i), "." | "!" | "?" | ":" | ";" | "\"" | "“") && !title {
                        start = true;
                    }
                }
            }
        }
        let used = vec![false; toks.len()];
        let mut known = FxHashSet::default();
        let mut lowercase = FxHashSet::default();
        for (i, t) in toks.iter().enumerate() {
            if t.kind == Kind::Word && !used[i] {
                let s = raw(i);
                if name_word(s) && !sentence_start[i] {
                    known.insert(s);
                } else if s.chars().next().is_some_and(char::is_lowercase) {
                    lowercase.insert(s);
                }
            }
        }
        Extractor { text, toks, lower, sentence_start, known, lowercase, used, out: Vec::new() }
    }

    fn raw(&self, i: usize) -> &'t str {
        &self.text[self.toks[i].start..self.toks[i].end]
    }

    /// Token `i` exists, is free, and continues the phrase before it on the same line.
    fn free_after(&self, i: usize) -> bool {
        i < self.toks.len() && !self.toks[i].newline_before && !self.used[i]
    }

    fn emit(&mut self, from: usize, to: usize) {
        let mut s = String::new();
        for k in from..to {
            if k > from && self.toks[k - 1].end < self.toks[k].start {
                s.push(' ');
            }
            s.push_str(&self.lower[k]);
            self.used[k] = true;
        }
        self.out.push(s);
    }

    fn run(mut self) -> Vec<String> {
        for i in 0..self.toks.len() {
            if !self.used[i] {
                self.date_at(i);
            }
        }
        for i in 0..self.toks.len() {
            if !self.used[i] {
                self.number_at(i);
            }
        }
        let mut i = 0;
        while i < self.toks.len() {
            i = if self.used[i] { i + 1 } else { self.name_at(i) };
        }
        self.out
    }

    /// Month or weekday names with their numbers, `today`-like words, `next week`, `the 20th century`.
    fn date_at(&mut self, i: usize) {
        if self.toks[i].kind != Kind::Word {
            return;
        }
        let w = &self.lower[i];
        if is_in(&DATE_WORD, w) {
            return self.emit(i, i + 1);
        }
        if capitalised(self.raw(i)) && (is_in(&MONTH, w) || is_in(&WEEKDAY, w)) {
            let mut end = i + 1;
            // January 5, 2020 / May 2021: numbers (and a comma between two of them) that follow.
            while self.free_after(end) {
                let comma = self.raw(end) == ","
                    && end > i + 1
                    && self.toks.get(end + 1).is_some_and(|n| n.kind == Kind::Num);
                if self.toks[end].kind == Kind::Num || comma {
                    end += 1;
                } else {
                    break;
                }
            }
            // "May I ask": the modal at a sentence start, with no number after it.
            if w == "may" && end == i + 1 && self.sentence_start[i] {
                return;
            }
            return self.emit(i, end);
        }
        // next week, every day, the past few years, the 20th century.
        let the = w == "the";
        let modifier =
            is_in(&DATE_MODIFIER, w) || (the && self.toks.get(i + 1).is_some_and(|n| n.kind == Kind::Num));
        if modifier && self.free_after(i + 1) {
            let mut end = i + 1;
            while self.free_after(end + 1)
                && (matches!(&self.lower[end], "few" | "several" | "past" | "next" | "last")
                    || self.toks[end].kind == Kind::Num)
            {
                end += 1;
            }
            let unit = &self.lower[end];
            if is_in(&TIME_UNIT, unit) && (!the || matches!(unit, "century" | "centuries")) {
                self.emit(i, end + 1);
            }
        }
    }

    /// A numeric phrase: numbers and number words, then an optional unit or `%`.
    fn number_at(&mut self, i: usize) {
        let w = &self.lower[i];
        match self.toks[i].kind {
            Kind::Word if is_in(&ORDINAL, w) => return self.emit(i, i + 1),
            Kind::Word if w == "one" && !self.numeral_one(i) => return,
            Kind::Word if is_in(&NUMBER, w) => {}
            Kind::Num if number_like(w) => {}
            _ => return,
        }
        let numeric = |x: &Self, k: usize| match x.toks[k].kind {
            Kind::Num => number_like(&x.lower[k]),
            Kind::Word => is_in(&NUMBER, &x.lower[k]) && &x.lower[k] != "one",
            Kind::Punct => false,
        };
        let mut end = i + 1;
        while self.free_after(end) && numeric(self, end) {
            end += 1;
        }
        if self.free_after(end) {
            let unit = match self.toks[end].kind {
                Kind::Punct => self.raw(end) == "%" && self.toks[end].start == self.toks[end - 1].end,
                Kind::Word => is_in(&UNIT, &self.lower[end]),
                Kind::Num => false,
            };
            if unit {
                end += 1;
            }
        }
        self.emit(i, end);
    }

    /// Is the word `one` at `i` a numeral (`one way`, `one of them`) rather than a
    /// pronoun (`no one`, `one should`)? spaCy tags the numeral as CARDINAL.
    fn numeral_one(&self, i: usize) -> bool {
        let before = i.checked_sub(1).map(|k| &self.lower[k]);
        if before.is_some_and(|b| {
            matches!(
                b,
                "no" | "the"
                    | "this"
                    | "that"
                    | "which"
                    | "any"
                    | "each"
                    | "every"
                    | "some"
                    | "first"
                    | "last"
                    | "next"
                    | "another"
                    | "pick"
                    | "choose"
                    | "select"
            )
        }) {
            return false;
        }
        let next = i + 1;
        self.free_after(next)
            && self.toks[next].kind == Kind::Word
            && (&self.lower[next] == "of" || !is_in(&COMMON, &self.lower[next]))
    }

    /// A run of capitalised words starting at `i`; returns the index after it.
    fn name_at(&mut self, i: usize) -> usize {
        if !(self.toks[i].kind == Kind::Word && name_word(self.raw(i))) {
            return i + 1;
        }
        let mut end = i + 1;
        while self.free_after(end) {
            let connector = (self.toks[end].kind == Kind::Word || self.raw(end) == "&")
                && is_in(&CONNECTOR, &self.lower[end])
                && self.free_after(end + 1)
                && self.toks[end + 1].kind == Kind::Word
                && name_word(self.raw(end + 1));
            if self.toks[end].kind == Kind::Word && name_word(self.raw(end)) {
                end += 1;
            } else if connector {
                end += 2;
            } else {
                break;
            }
        }
        let mut from = i;
        if self.sentence_start[i] {
            let common = is_in(&COMMON, &self.lower[i]) || self.lowercase.contains(&self.lower[i]);
            if common || (end == i + 1 && !self.known.contains(self.raw(i))) {
                from = i + 1;
            }
        }
        // A connector left at the front after dropping a word is not part of the name.
        while from < end && !name_word(self.raw(from)) {
            from += 1;
        }
        // Placeholders such as [Name] or <Company> are template slots, not names.
        let bracketed = from > 0 && matches!(self.raw(from - 1), "[" | "<" | "{");
        // Single capitals are variables, options and grades (x, A, C).
        let letter = end == from + 1 && self.raw(from).chars().count() == 1;
        if from < end && !bracketed && !letter {
            // spaCy keeps "the" before multi-word names: the United States, the Civil War.
            if end - from >= 2 && from > 0 && &self.lower[from - 1] == "the" && !self.used[from - 1] {
                from -= 1;
            }
            self.emit(from, end);
        }
        end
    }
}

/// A token starting with a digit that spaCy would call a number: digits with
/// separators (`1,000`, `3.5`, `1/2`), ordinals (`21st`), decades (`1990s`) or
/// a number glued to a unit (`10km`, `5pm`, `17-year-old`); not `2k` or `3x`.
fn number_like(lower: &str) -> bool {
    let tail =
        lower.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | ',' | ':' | '/' | '-'));
    // The first part of a hyphenated tail decides: 17-year-old, 3-day.
    let head = tail.split('-').next().unwrap_or("");
    tail.is_empty()
        || matches!(head, "st" | "nd" | "rd" | "th" | "s")
        || (head.len() > 1 && is_in(&UNIT, head))
}

/// Starts with an uppercase letter (and is not just a pronoun `I`).
fn capitalised(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase) && s != "I"
}

/// A capitalised word that can be part of a name: not `I`, `I'm`, `Don't`.
fn name_word(s: &str) -> bool {
    capitalised(s) && !contraction(s)
}

/// `I'm`, `Don't`, `We'll`: a word with a clitic, never a name.
fn contraction(s: &str) -> bool {
    match s.rsplit_once(['\'', '’']) {
        Some((_, tail)) => {
            matches!(tail, "t" | "m" | "ll" | "re" | "ve" | "d" | "T" | "M" | "LL" | "RE" | "VE" | "D")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_dates() {
        let e = entities("The Da Vinci Code by Dan Brown sold 80 million copies in 2003, said the BBC.");
        // "The" starts the sentence but spaCy keeps it before a multi-word title.
        assert_eq!(e, ["2003", "80 million", "bbc", "dan brown", "the da vinci code"]);
    }

    #[test]
    fn hand_checked_jaccard() {
        // A: {paris, france, 3}; B: {paris, 3, today}. |A∩B| = 2, |A∪B| = 4.
        let a = "We flew to Paris in France for 3 nights";
        let b = "It is 3 in Paris today";
        assert_eq!(entities(a), ["3", "france", "paris"]);
        assert_eq!(entities(b), ["3", "paris", "today"]);
        assert_eq!(entity_jaccard(a, b), 0.5);
        assert_eq!(entity_jaccard("no names here", "none here either"), 1.0);
        assert_eq!(entity_jaccard("", "Seen in Rome"), 0.0);
    }

    #[test]
    fn dates_percent_and_non_names() {
        // "Dear" is a common sentence start, [Name] a template slot, I'm a contraction.
        let e = entities("Dear [Name], I'm writing about the 20th century and 50% of March 3, 2021.");
        assert_eq!(e, ["50%", "march 3, 2021", "the 20th century"]);
        // "no one" is a pronoun; "One way" a numeral.
        assert_eq!(entities("No one knows. One way is to ask."), ["one"]);
        // A name seen only at sentence starts is missed unless also used mid-sentence.
        assert_eq!(entities("John left. Then Mary came."), ["mary"]);
        assert_eq!(entities("We met John. John left."), ["john"]);
        // Possessive 's is not part of the name; U.S. is one token.
        assert_eq!(entities("It is Trump's plan for the U.S. economy"), ["trump", "u.s."]);
    }
}
