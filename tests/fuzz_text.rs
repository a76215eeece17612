//! Property tests of the text functions over arbitrary Unicode: they run on the
//! user's text inside the user's process, so none may panic on any input, each
//! value stays in its documented range, and the symmetric measures are symmetric.
//!
//! Inputs mix control characters (NUL, ESC, DEL, NEL, the line and paragraph
//! separators), combining marks, right-to-left scripts and direction overrides,
//! emoji with joiners and variation selectors, CJK, lone surrogates' neighbours,
//! any `char` at all, English words that look like names, numbers and dates, and
//! long runs of one character or of whitespace. The seed is fixed (proptest's
//! deterministic RNG) and the case count kept small so `cargo test` stays quick;
//! set `PROPTEST_CASES` to run more (e.g. `PROPTEST_CASES=5000 cargo test --release
//! --test fuzz_text`). The 1 MB inputs are timed in `examples/bench_text_1mb.rs`.

use prefroute::embed::{bertscore_length, word_count};
use prefroute::tags::language::supported_languages;
use prefroute::tags::pipeline::descriptive_tags;
use prefroute::tags::{
    describe, detect_language, entities, entity_jaccard, rouge1_f, rouge_l_f, rouge_scores, token_count,
    DocumentFrequencies, TokenizerKind,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 64;

/// A fixed-seed runner: every run tries the same inputs.
fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(CASES);
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

/// One "piece" of awkward text.
fn piece() -> impl Strategy<Value = String> {
    let chars = |ranges: &'static [(u32, u32)]| {
        proptest::collection::vec(proptest::sample::select(ranges).prop_flat_map(|(lo, hi)| lo..=hi), 1..12)
            .prop_map(|v| v.into_iter().filter_map(char::from_u32).collect::<String>())
    };
    prop_oneof![
        // Plain English words, names, numbers, dates and punctuation.
        proptest::sample::select(&WORDS[..]).prop_map(str::to_string),
        // Control characters, including NUL, ESC, DEL, NEL, LS, PS, BOM.
        chars(&[(0, 0x1f), (0x7f, 0x9f), (0x2028, 0x2029), (0xfeff, 0xfeff)]),
        // Combining marks, alone or after letters.
        chars(&[(0x300, 0x36f), (0x61, 0x7a), (0x20d0, 0x20ff)]),
        // Right-to-left: Hebrew, Arabic, direction marks and overrides.
        chars(&[(0x5d0, 0x5ea), (0x627, 0x64a), (0x200e, 0x200f), (0x202a, 0x202e), (0x2066, 0x2069)]),
        // Emoji, joiners, variation selectors, regional indicators, skin tones.
        chars(&[
            (0x1f600, 0x1f64f),
            (0x200d, 0x200d),
            (0xfe0f, 0xfe0f),
            (0x1f1e6, 0x1f1ff),
            (0x1f3fb, 0x1f3ff)
        ]),
        // CJK ideographs, kana, Hangul, full-width forms.
        chars(&[(0x4e00, 0x9fff), (0x3040, 0x30ff), (0xac00, 0xd7a3), (0xff01, 0xff5e)]),
        // Letters whose lowercase grows or changes script (İ, Kelvin sign, ß, Σ).
        chars(&[(0x130, 0x130), (0x212a, 0x212a), (0xdf, 0xdf), (0x3a3, 0x3a3), (0x1e9e, 0x1e9e)]),
        // Any char at all.
        proptest::collection::vec(any::<char>(), 1..8).prop_map(|v| v.into_iter().collect()),
        // Long runs of one character or of whitespace.
        (
            proptest::sample::select(&['a', ' ', '\n', '\t', '.', '9', 'é', '中', '😀', '\0'][..]),
            1..3000usize
        )
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

/// A text of up to `max` pieces separated by spaces or nothing.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec((piece(), proptest::bool::ANY), 0..max).prop_map(|parts| {
        let mut s = String::new();
        for (p, space) in parts {
            s.push_str(&p);
            if space {
                s.push(' ');
            }
        }
        s
    })
}

const WORDS: [&str; 40] = [
    "the",
    "The",
    "Dan",
    "Brown",
    "Bank",
    "of",
    "America",
    "FBI",
    "I'm",
    "don't",
    "1,000",
    "3.5",
    "1/2",
    "1990s",
    "21st",
    "17-year-old",
    "two",
    "hundred",
    "first",
    "January",
    "5,",
    "2020",
    "Monday",
    "today",
    "next",
    "week",
    "50%",
    "10",
    "km",
    "U.S.",
    "e.g.",
    "Mr.",
    "Dr.",
    "\"",
    "(",
    ")",
    "```",
    "- ",
    "1.",
    "?",
];

fn in_unit(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

#[test]
fn rouge_is_total_in_range_and_symmetric() {
    runner()
        .run(&(text(24), text(24)), |(a, b)| {
            let s = rouge_scores(&a, &b);
            prop_assert!(in_unit(s.rouge1) && in_unit(s.rouge_l), "{s:?}");
            prop_assert_eq!(s.rouge1, rouge1_f(&a, &b));
            prop_assert_eq!(s.rouge_l, rouge_l_f(&a, &b));
            let t = rouge_scores(&b, &a);
            prop_assert!((s.rouge1 - t.rouge1).abs() <= 1e-12 && (s.rouge_l - t.rouge_l).abs() <= 1e-12);
            // ROUGE-L never exceeds ROUGE-1 (an LCS is a common multiset of unigrams).
            prop_assert!(s.rouge_l <= s.rouge1 + 1e-12, "{s:?}");
            let same = rouge_scores(&a, &a);
            prop_assert!(same.rouge1 == 0.0 || same.rouge1 == 1.0, "{same:?}");
            prop_assert!((same.rouge_l - same.rouge1).abs() <= 1e-12, "{same:?}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn token_counts_are_total_and_bounded_by_bytes() {
    runner()
        .run(&text(24), |a| {
            for kind in [TokenizerKind::Cl100k, TokenizerKind::O200k] {
                let n = token_count(&a, kind);
                prop_assert!(n <= a.len(), "{n} tokens for {} bytes", a.len());
                prop_assert_eq!(n == 0, a.is_empty());
                // Memoised pieces give the same count the second time.
                prop_assert_eq!(token_count(&a, kind), n);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn entities_are_total_and_their_overlap_is_a_symmetric_fraction() {
    runner()
        .run(&(text(24), text(24)), |(a, b)| {
            let ea = entities(&a);
            prop_assert!(ea.windows(2).all(|w| w[0] < w[1]), "sorted and unique: {ea:?}");
            prop_assert!(ea.iter().all(|e| !e.is_empty() && e.trim() == e), "{ea:?}");
            let j = entity_jaccard(&a, &b);
            prop_assert!(in_unit(j), "{j}");
            prop_assert_eq!(j, entity_jaccard(&b, &a));
            prop_assert_eq!(entity_jaccard(&a, &a), 1.0);
            Ok(())
        })
        .unwrap();
}

#[test]
fn descriptive_fields_hold_only_vocabulary_values() {
    let languages = supported_languages();
    runner()
        .run(&text(24), |p| {
            let d = describe(&p);
            prop_assert!(d.subject_of_expertise.len() <= 3, "{d:?}");
            // Every closed and scalar value is a tag of the vocabulary, but for languages:
            // the paper's vocabulary has only English, the others are values without a tag.
            let tags = descriptive_tags(&d);
            let values = d.subject_of_expertise.len()
                + d.languages.iter().filter(|l| *l == "English").count()
                + [&d.expertise_level, &d.open_endedness, &d.safety_concern, &d.complexity_of_intents]
                    .iter()
                    .filter(|v| v.is_some())
                    .count()
                + usize::from(!d.type_of_in_context_material.is_empty())
                + usize::from(!d.format_constraints.is_empty());
            prop_assert_eq!(tags.len(), values, "a value outside the vocabulary: {:?}", d);
            for l in &d.languages {
                prop_assert!(languages.iter().any(|s| s == l), "{l}");
            }
            if p.trim().is_empty() {
                prop_assert_eq!(d, Default::default());
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn language_detection_names_a_supported_language_or_none() {
    let languages = supported_languages();
    runner()
        .run(&text(24), |t| {
            if let Some((name, code)) = detect_language(&t) {
                prop_assert!(languages.contains(&name), "{name}");
                prop_assert!(code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase()), "{code}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn word_counts_and_bertscore_length_are_total_and_finite() {
    runner()
        .run(&(text(24), text(24), 0.0..=1.0f64), |(a, b, f1)| {
            let (na, nb) = (word_count(&a), word_count(&b));
            // A word is at least one character (quotes become two-character `` and '').
            prop_assert!(na <= a.chars().count() && nb <= b.chars().count(), "{na} {nb}");
            let l = bertscore_length(f1, &a, &b);
            prop_assert!(l.is_finite() && l >= 0.0, "{l}");
            // The reference is the longer text by characters, whichever argument it is.
            if a.chars().count() != b.chars().count() {
                prop_assert_eq!(l, bertscore_length(f1, &b, &a));
            }
            prop_assert!(l <= f1 * std::f64::consts::E, "{l}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn tfidf_cosine_is_a_symmetric_fraction() {
    runner()
        .run(&proptest::collection::vec(text(12), 1..6), |docs| {
            let mut df = DocumentFrequencies::new();
            for d in &docs {
                df.add_document(d);
            }
            df.canonicalize();
            for a in &docs {
                for b in &docs {
                    let c = df.cosine(a, b);
                    prop_assert!((-1e-12..=1.0 + 1e-12).contains(&c), "{c}");
                    prop_assert!((c - df.cosine(b, a)).abs() <= 1e-12);
                }
            }
            Ok(())
        })
        .unwrap();
}
