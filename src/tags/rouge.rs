//! ROUGE-1 and ROUGE-L F-measures between the two completions of an instance.
//!
//! The values are those of Google's `rouge-score` 0.1.2 with `use_stemmer=True`,
//! called as `score(target=b, prediction=a)`: lowercase, every character outside
//! `[a-z0-9]` separates tokens, NLTK's Porter stemmer on tokens longer than three
//! characters. The `rougers` crate reproduces that package bit for bit (checked on
//! every pair of the example data in `tests/oracle_parity.rs`). The paper's `rouge`
//! tag is ROUGE-1 F1, although its plots call it ROUGE-L (SPEC §2.2).

use once_cell::sync::Lazy;
use rougers::{RougeScorer, RougeType};

/// ROUGE F-measures of one pair, each in [0, 1].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RougeScores {
    /// ROUGE-1 (unigram overlap) F1, the paper's `rouge` tag.
    pub rouge1: f64,
    /// ROUGE-L (longest common subsequence) F1.
    pub rouge_l: f64,
}

/// One scorer per variant set; a scorer is an immutable list of variants plus the
/// tokenizer profile, so sharing it across threads is free.
static BOTH: Lazy<RougeScorer> = Lazy::new(|| scorer(&["rouge1", "rougeL"]));
static ROUGE1: Lazy<RougeScorer> = Lazy::new(|| scorer(&["rouge1"]));
static ROUGE_L: Lazy<RougeScorer> = Lazy::new(|| scorer(&["rougeL"]));

fn scorer(types: &[&str]) -> RougeScorer {
    // The names are constants known to the crate; failure would be a bug here.
    RougeScorer::new(types.iter().copied(), true).expect("valid ROUGE variant names")
}

/// ROUGE-1 and ROUGE-L F-measures of `a` (prediction) against `b` (target),
/// tokenising each text once.
pub fn rouge_scores(a: &str, b: &str) -> RougeScores {
    let s = BOTH.score(b, a);
    RougeScores { rouge1: fmeasure(&s, RougeType::N(1)), rouge_l: fmeasure(&s, RougeType::L) }
}

/// ROUGE-1 F-measure of `a` against `b` (symmetric in `a`, `b`).
pub fn rouge1_f(a: &str, b: &str) -> f64 {
    fmeasure(&ROUGE1.score(b, a), RougeType::N(1))
}

/// ROUGE-L F-measure of `a` against `b` (symmetric in `a`, `b`).
pub fn rouge_l_f(a: &str, b: &str) -> f64 {
    fmeasure(&ROUGE_L.score(b, a), RougeType::L)
}

fn fmeasure(scores: &rougers::Scores, t: RougeType) -> f64 {
    // Every variant asked for is present in the scores; 0 keeps this total anyway.
    scores.get(t).map_or(0.0, |s| s.fmeasure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_counted_unigram_and_lcs_overlap() {
        // Tokens a: [the, cat, sat], b: [the, cat, ran, away] ("away" stems to "away").
        // ROUGE-1: 2 hits, P = 2/3, R = 2/4, F = 2PR/(P+R) = 4/7. LCS = "the cat" = 2: same F.
        let s = rouge_scores("The cat sat.", "the CAT ran away");
        assert!((s.rouge1 - 4.0 / 7.0).abs() < 1e-15);
        assert!((s.rouge_l - 4.0 / 7.0).abs() < 1e-15);
        // Order matters for LCS only: [a, b, c] vs [c, b, a] share all unigrams, LCS 1.
        let s = rouge_scores("a b c", "c b a");
        assert_eq!(s.rouge1, 1.0);
        assert!((s.rouge_l - 1.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn stems_long_tokens_and_handles_empty_text() {
        // "running" -> "run", "cats" -> "cat" (Porter), so the pair is identical after stemming.
        assert_eq!(rouge1_f("running cats", "run cat"), 1.0);
        assert_eq!(rouge1_f("", "anything"), 0.0);
        assert_eq!(rouge_l_f("", ""), 0.0);
        // Non-ASCII letters are separators in rouge-score, so this has no tokens at all.
        assert_eq!(rouge1_f("Привет мир", "Привет мир"), 0.0);
    }
}
