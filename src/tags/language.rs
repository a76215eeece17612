//! Language of a text, with `lingua`'s embedded n-gram models.
//!
//! One detector is built on first use and shared by all threads (lingua's
//! detector is `Sync`; its models live in process-wide maps). The candidate
//! set is every language compiled into the crate (the `lingua` features in
//! `Cargo.toml`), so adding a language there is the only change needed.

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use once_cell::sync::Lazy;
use std::collections::HashMap;

/// Fewer letters than this and the text carries no reliable language signal:
/// we answer `None` (a bare number, an emoji, "ok").
pub const MIN_LETTERS: usize = 3;

/// Only the first this many bytes (cut back to a char boundary) are classified:
/// on the bundled data 512 bytes agree with the oracle exactly as often as 1024
/// and halve lingua's time.
/// lingua switches to trigram-only scoring above 120 characters, so a longer
/// prefix adds time but little evidence; RLHF prompts rarely switch language.
pub const MAX_BYTES: usize = 512;

struct Detector {
    detector: LanguageDetector,
    /// English name and ISO 639-1 code of every compiled-in language.
    names: HashMap<Language, (&'static str, &'static str)>,
}

static DETECTOR: Lazy<Detector> = Lazy::new(|| {
    let languages = Language::all();
    // The names are built once per process from lingua's Display impls, which
    // allocate; leaking these few short strings gives the `'static` API.
    let names = languages
        .iter()
        .map(|l| {
            let name: &'static str = Box::leak(l.to_string().into_boxed_str());
            let iso: &'static str = Box::leak(l.iso_code_639_1().to_string().into_boxed_str());
            (*l, (name, iso))
        })
        .collect();
    let detector = LanguageDetectorBuilder::from_languages(&languages.into_iter().collect::<Vec<_>>())
        .with_preloaded_language_models()
        .build();
    Detector { detector, names }
});

/// Forces the detector and its models to load now (otherwise the first call pays ~0.1–1 s).
pub fn warm_up() {
    Lazy::force(&DETECTOR);
}

/// English names of the languages `detect_language` can return, sorted.
pub fn supported_languages() -> Vec<&'static str> {
    let mut v: Vec<_> = DETECTOR.names.values().map(|(n, _)| *n).collect();
    v.sort_unstable();
    v
}

/// The language of `text` as (English name, ISO 639-1 lowercase code), e.g. `("French", "fr")`.
///
/// `None` when the text has fewer than [`MIN_LETTERS`] letters or lingua cannot
/// decide. Text that is plainly English (see [`is_plainly_english`]) skips
/// lingua, which costs ~0.3 µs per character. Deterministic and thread-safe.
pub fn detect_language(text: &str) -> Option<(&'static str, &'static str)> {
    let text = prefix(text, MAX_BYTES);
    if is_plainly_english(text) {
        return Some(("English", "en"));
    }
    detect_with_lingua(text)
}

/// Like [`detect_language`] but always asks lingua (the reference for the fast path).
pub fn detect_language_with_lingua(text: &str) -> Option<(&'static str, &'static str)> {
    detect_with_lingua(prefix(text, MAX_BYTES))
}

fn detect_with_lingua(text: &str) -> Option<(&'static str, &'static str)> {
    if text.chars().filter(|c| c.is_alphabetic()).take(MIN_LETTERS).count() < MIN_LETTERS {
        return None;
    }
    let d = &*DETECTOR;
    let lang = d.detector.detect_language_of(text)?;
    d.names.get(&lang).copied()
}

/// Minimum number of ASCII words before the English fast path may answer.
const FAST_MIN_WORDS: usize = 4;
/// Minimum share of English-only words (typical English prose: 0.3–0.5).
const FAST_MIN_EXCLUSIVE: f64 = 0.1;
/// Minimum share of English-only plus shared function words.
const FAST_MIN_ENGLISH: f64 = 0.3;

/// True when `text` is ASCII-lettered and at least 10 % of its words are
/// words no other Latin-script language spells the same way ("the", "you",
/// "write"…), and 30 % are such words or common English function words that
/// other languages share ("a", "in", "is"…). Such text is English for lingua
/// too (see the agreement figures in the descriptive-tags report); foreign
/// text fails the first test, since it has next to no English-only words.
pub fn is_plainly_english(text: &str) -> bool {
    let (mut words, mut exclusive, mut shared, mut ascii_letters, mut foreign) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphabetic() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            words += 1;
            ascii_letters += i - start;
            match english_word(&bytes[start..i]) {
                Some(true) => exclusive += 1,
                Some(false) => shared += 1,
                None => {}
            }
        } else if b >= 0x80 {
            let c = text[i..].chars().next().unwrap_or(' ');
            foreign += usize::from(c.is_alphabetic());
            i += c.len_utf8().max(1);
        } else {
            i += 1;
        }
    }
    let share = |n: usize| n as f64 / words.max(1) as f64;
    words >= FAST_MIN_WORDS
        && foreign * 50 <= ascii_letters
        && share(exclusive) >= FAST_MIN_EXCLUSIVE
        && share(exclusive + shared) >= FAST_MIN_ENGLISH
}

/// Frequent English words that are not words of French, German, Spanish,
/// Portuguese, Italian, Dutch or Latin. Sorted, lowercase.
const ENGLISH_ONLY: &[&[u8]] = &[
    b"about",
    b"after",
    b"all",
    b"and",
    b"any",
    b"anything",
    b"are",
    b"at",
    b"be",
    b"because",
    b"been",
    b"before",
    b"being",
    b"between",
    b"but",
    b"by",
    b"can",
    b"classify",
    b"could",
    b"day",
    b"describe",
    b"did",
    b"does",
    b"each",
    b"eight",
    b"every",
    b"example",
    b"examples",
    b"explain",
    b"few",
    b"find",
    b"first",
    b"five",
    b"following",
    b"for",
    b"four",
    b"from",
    b"generate",
    b"get",
    b"give",
    b"given",
    b"going",
    b"good",
    b"has",
    b"have",
    b"her",
    b"here",
    b"him",
    b"his",
    b"how",
    b"hundred",
    b"if",
    b"into",
    b"it",
    b"its",
    b"just",
    b"know",
    b"like",
    b"made",
    b"make",
    b"many",
    b"might",
    b"more",
    b"much",
    b"my",
    b"need",
    b"new",
    b"nine",
    b"not",
    b"one",
    b"only",
    b"other",
    b"our",
    b"own",
    b"people",
    b"please",
    b"provide",
    b"really",
    b"rewrite",
    b"right",
    b"said",
    b"same",
    b"sentence",
    b"sentences",
    b"seven",
    b"she",
    b"should",
    b"some",
    b"someone",
    b"something",
    b"still",
    b"story",
    b"such",
    b"suggest",
    b"summarize",
    b"than",
    b"that",
    b"the",
    b"their",
    b"them",
    b"then",
    b"there",
    b"these",
    b"they",
    b"thing",
    b"things",
    b"think",
    b"this",
    b"those",
    b"three",
    b"through",
    b"time",
    b"to",
    b"twenty",
    b"two",
    b"use",
    b"used",
    b"using",
    b"very",
    b"want",
    b"way",
    b"ways",
    b"were",
    b"what",
    b"when",
    b"where",
    b"which",
    b"while",
    b"who",
    b"why",
    b"with",
    b"without",
    b"word",
    b"words",
    b"work",
    b"world",
    b"would",
    b"write",
    b"year",
    b"years",
    b"you",
    b"your",
];

/// Frequent English function words that other languages also have ("in", "a", "was").
const ENGLISH_SHARED: &[&[u8]] = &[
    b"a", b"also", b"am", b"an", b"as", b"do", b"go", b"he", b"i", b"in", b"is", b"me", b"no", b"of", b"on",
    b"or", b"out", b"see", b"so", b"up", b"us", b"was", b"we", b"will",
];

/// `Some(true)` for an English-only word, `Some(false)` for a shared one.
fn english_word(w: &[u8]) -> Option<bool> {
    let mut buf = [0u8; 10];
    if w.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(w) {
        *d = s.to_ascii_lowercase();
    }
    let w = &buf[..w.len()];
    if ENGLISH_ONLY.binary_search(&w).is_ok() {
        Some(true)
    } else if ENGLISH_SHARED.binary_search(&w).is_ok() {
        Some(false)
    } else {
        None
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_compiled_in_european_languages() {
        assert_eq!(
            detect_language("What is the capital of France and why is it famous?"),
            Some(("English", "en"))
        );
        assert_eq!(
            detect_language("¿Cuál es la capital de Francia y por qué es famosa?"),
            Some(("Spanish", "es"))
        );
        assert_eq!(
            detect_language("Quelle est la capitale de la France et pourquoi est-elle célèbre ?"),
            Some(("French", "fr"))
        );
        assert_eq!(
            detect_language("Was ist die Hauptstadt von Frankreich und warum ist sie berühmt?"),
            Some(("German", "de"))
        );
    }

    #[test]
    fn detects_the_added_languages() {
        assert_eq!(detect_language("你好，请问今天北京的天气怎么样？"), Some(("Chinese", "zh")));
        assert_eq!(detect_language("こんにちは、今日はいい天気ですね。"), Some(("Japanese", "ja")));
        assert_eq!(detect_language("안녕하세요, 오늘 날씨가 어때요?"), Some(("Korean", "ko")));
        assert_eq!(detect_language("Привет, как у тебя дела сегодня?"), Some(("Russian", "ru")));
        assert_eq!(
            detect_language("Olá, você pode me ajudar com a minha lição de casa?"),
            Some(("Portuguese", "pt"))
        );
        assert_eq!(
            detect_language("Ciao, puoi aiutarmi a scrivere una lettera per mia nonna?"),
            Some(("Italian", "it"))
        );
    }

    #[test]
    fn too_little_text_has_no_language() {
        assert_eq!(detect_language(""), None);
        assert_eq!(detect_language("   \n"), None);
        assert_eq!(detect_language("12 + 7 = ?"), None);
        assert_eq!(detect_language("ok"), None);
    }

    #[test]
    fn prefix_respects_char_boundaries() {
        let s = "é".repeat(10); // 2 bytes each
        assert_eq!(prefix(&s, 5), "éé");
        assert_eq!(prefix(&s, 100), s);
    }

    #[test]
    fn word_lists_are_sorted_and_disjoint() {
        for list in [ENGLISH_ONLY, ENGLISH_SHARED] {
            assert!(list.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(ENGLISH_ONLY.iter().all(|w| !ENGLISH_SHARED.contains(w)));
    }

    #[test]
    fn fast_path_takes_english_instructions_and_leaves_other_languages_to_lingua() {
        assert!(is_plainly_english("Name five benefits of exercising daily."));
        assert!(is_plainly_english("Suggest an eco-friendly way to travel"));
        assert!(!is_plainly_english("Explain: Pathos, Ethos, Logos"));
        assert!(!is_plainly_english("Je suis dans la maison avec mon chien et il est content"));
        assert!(!is_plainly_english("Ich habe in der Stadt was gesehen, also bin ich so froh"));
        assert!(!is_plainly_english("Yo no se lo que me pasa con mi hermano en la casa"));
        assert!(!is_plainly_english("Il a mangé une pomme dans le jardin"));
    }

    #[test]
    fn english_is_supported() {
        assert!(supported_languages().contains(&"English"));
    }
}
