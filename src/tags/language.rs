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

/// Only the first this many bytes (cut back to a char boundary) are classified.
/// lingua switches to trigram-only scoring above 120 characters, so a longer
/// prefix adds time but little evidence; RLHF prompts rarely switch language.
pub const MAX_BYTES: usize = 1024;

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
const FAST_MIN_WORDS: usize = 6;
/// Minimum share of words that are English-only function words (typical English prose: 0.35–0.5).
const FAST_MIN_SHARE: f64 = 0.25;

/// True when `text` is ASCII-lettered prose in which at least a quarter of the
/// words are function words that no other Latin-script language spells the same
/// way ("the", "and", "you", …). Such text is English for lingua too; see the
/// agreement figures in the descriptive-tags report.
pub fn is_plainly_english(text: &str) -> bool {
    let (mut words, mut hits, mut ascii_letters, mut foreign) = (0usize, 0usize, 0usize, 0usize);
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
            hits += is_english_function_word(&bytes[start..i]) as usize;
        } else if b >= 0x80 {
            let c = text[i..].chars().next().unwrap_or(' ');
            foreign += c.is_alphabetic() as usize;
            i += c.len_utf8().max(1);
        } else {
            i += 1;
        }
    }
    words >= FAST_MIN_WORDS && foreign * 50 <= ascii_letters && hits as f64 >= FAST_MIN_SHARE * words as f64
}

/// English function words that are not words of French, German, Spanish,
/// Portuguese, Italian, Dutch or Latin ("a", "in", "is", "was", "will", "also",
/// "we", "do", "me", "on" are left out for that reason). Sorted, lowercase.
const ENGLISH_ONLY: &[&[u8]] = &[
    b"about", b"all", b"and", b"any", b"are", b"at", b"be", b"been", b"but", b"by", b"can", b"could", b"did",
    b"does", b"for", b"from", b"get", b"give", b"has", b"have", b"her", b"him", b"his", b"how", b"if",
    b"into", b"it", b"its", b"just", b"know", b"like", b"make", b"more", b"my", b"need", b"not", b"one",
    b"other", b"our", b"please", b"she", b"should", b"some", b"tell", b"than", b"that", b"the", b"their",
    b"them", b"then", b"there", b"these", b"they", b"think", b"this", b"those", b"to", b"want", b"were",
    b"what", b"when", b"where", b"which", b"who", b"why", b"with", b"would", b"write", b"you", b"your",
];

fn is_english_function_word(w: &[u8]) -> bool {
    let mut buf = [0u8; 8];
    if w.len() > buf.len() {
        return false;
    }
    for (d, s) in buf.iter_mut().zip(w) {
        *d = s.to_ascii_lowercase();
    }
    ENGLISH_ONLY.binary_search(&&buf[..w.len()]).is_ok()
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
    fn english_is_supported() {
        assert!(supported_languages().contains(&"English"));
    }
}
