//! A promise that holds: routing to a target accuracy with a stated confidence.
//!
//! Routing to `target_accuracy := t` alone picks the fewest humans whose
//! *expected* hybrid accuracy (routed rows right, an AI-labelled row right with
//! probability `1 − p`) reaches `t`: a point estimate that is only as good as
//! the judge-error model's probabilities, and on new data often missed. This
//! module turns it into a promise:
//!
//! > the hybrid's label accuracy on the `n` rows being routed is at least `t`
//! > with probability at least `1 − δ` (`confidence := 1 − δ`),
//!
//! using labelled rows the model was not fitted on: the seed's cross-fitted
//! predictions that `risk_fit` stores in the model file (`m` calibration rows,
//! each a probability `p` and whether the judge was wrong).
//!
//! **The rule.** Route the rows with `p ≥ τ` to humans. Let `b = ⌊n(1 − t)⌋`
//! be the number of judge errors the promise tolerates among the AI-labelled
//! rows, `N = m + n_ai` the pool (calibration rows plus the rows being routed
//! that have an AI label; a row without one always goes to a human), and
//!
//! ```text
//! c = the largest x with P(Hypergeometric(N, b + x + 1, m) ≤ x) ≤ δ
//! τ = the (c + 1)-th smallest p among the calibration rows the judge got wrong
//! ```
//!
//! (τ = 1 when there are at most `c` of them; nothing short of all-human can
//! be promised when even `x = 0` fails the test, see [`Outcome::AllHuman`]).
//! So at most `c` calibration errors fall below τ: the threshold is the
//! largest one at which the seed shows few enough judge errors left to AI.
//!
//! **Why it holds.** Assume the `N` rows are exchangeable — the seed is a
//! uniformly random subset of one pool, as a random seed of the data is — and
//! order the pool's judge errors by `p`. If the routed rows miss the target
//! (more than `b` AI-labelled errors below τ), then among the first `b + c + 1`
//! errors of the pool at most `c` are calibration rows: otherwise the
//! `(c + 1)`-th calibration error among them would sit at or above τ with at
//! most `b` errors of the routed rows before it. How many of a fixed set of
//! `b + c + 1` pool rows land in a random seed of `m` is hypergeometric, so
//! `P(miss) ≤ P(Hypergeometric(N, b + c + 1, m) ≤ c) ≤ δ` — conditional on the
//! pool, with no union bound and no split of `δ`. (The test's left side rises
//! with `x`, by coupling: one more marked row adds at most one to the count;
//! so `c` is found by bisection.)
//!
//! This is the fixed-sequence testing of Learn-then-Test (Angelopoulos, Bates,
//! Candès, Jordan, Lei, 2021), as "Trust or Escalate" (Jung, Brahman, Choi,
//! ICLR 2025) uses it for LLM judges: test thresholds from the most-human end,
//! null "routing at τ misses the target", stop at the first non-rejection.
//! Here every test compares the same monotone count `X(τ)` (calibration errors
//! below τ) with the same critical value `c`, so the sequence collapses to
//! "the largest τ with `X(τ) ≤ c`", and the test is exact for a finite pool.
//! As the pool grows, the hypergeometric test becomes the binomial one whose
//! inversion is the Clopper–Pearson bound.
//!
//! **What is assumed, and what is approximate.** Exchangeability fails if the
//! seed was not drawn at random from the rows being routed (a different source,
//! a hand-picked seed, or routing rows that were in the seed). The proof treats
//! each row's `p` as fixed, while the calibration rows' `p` are cross-fitted
//! (each from a model fitted on 4/5 of the seed) and the routed rows' `p` come
//! from the model fitted on the whole seed: close, not identical.
//! [`eval::guarantee_eval`] measures the promise on repeated seed/rest splits.

pub mod eval;
pub mod tails;

use crate::error::{Error, Result};
use tails::{hypergeom_cdf, hypergeom_pmf};

/// The calibration rows of a judge-error model: how many, and the sorted
/// probabilities of those the judge got wrong (all the rule reads).
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    rows: usize,
    wrong_p: Vec<f64>,
}

impl Calibration {
    /// From each calibration row's probability and whether the judge was wrong.
    pub fn new(p: &[f64], wrong: &[bool]) -> Calibration {
        let mut wrong_p: Vec<f64> = p.iter().zip(wrong).filter(|(_, w)| **w).map(|(p, _)| *p).collect();
        wrong_p.sort_unstable_by(f64::total_cmp);
        Calibration { rows: p.len().min(wrong.len()), wrong_p }
    }

    /// Calibration rows (`m`).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Calibration rows the judge got wrong.
    pub fn wrong(&self) -> usize {
        self.wrong_p.len()
    }

    /// Their probabilities, ascending.
    pub fn wrong_p(&self) -> &[f64] {
        &self.wrong_p
    }
}

/// What the rule decided for one target and confidence.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Route the rows with `p ≥ threshold`. `allowed` is `c`, the calibration
    /// errors allowed below the threshold (`None` when the target holds
    /// whatever the AI labels are: `b ≥ n_ai`); `miss_bound` the test's
    /// probability, at most `δ`.
    Route { threshold: f64, allowed: Option<usize>, miss_bound: f64 },
    /// Nothing short of all-human keeps the promise: even no calibration
    /// error below a threshold leaves a miss probability of `miss_at_zero > δ`.
    /// `min_calibration_rows`: the fewest calibration rows with which some
    /// threshold could be tested (for the message; `None` if beyond reach).
    AllHuman { miss_at_zero: f64, min_calibration_rows: Option<usize> },
}

/// The promise for routing `n` rows (`n_ai` of them with an AI label) to
/// `target` at `confidence`.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub target: f64,
    pub confidence: f64,
    pub n: usize,
    pub n_ai: usize,
    pub calibration_rows: usize,
    /// `b`: the AI-labelled judge errors the promise tolerates.
    pub max_errors: usize,
    pub outcome: Outcome,
}

/// `b = ⌊n(1 − t)⌋`: the most errors with accuracy `1 − b/n ≥ t` (with a
/// tolerance of 1e-9 rows for the float product).
pub fn max_errors(n: usize, target: f64) -> usize {
    ((n as f64 * (1.0 - target) + 1e-9).floor().max(0.0) as usize).min(n)
}

/// Checks `target_accuracy` in [0, 1] and `confidence` in (0, 1).
pub fn check_levels(target: f64, confidence: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&target) {
        return Err(Error::argument(
            format!("target_accuracy := {target} must be between 0 and 1"),
            "give an accuracy such as 0.9",
        ));
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(Error::argument(
            format!("confidence := {confidence} must be between 0 and 1 (exclusive)"),
            "give the probability the promise must hold with, such as 0.9",
        ));
    }
    Ok(())
}

/// `c`: the largest `x < m` with `P(Hyper(pool, b + x + 1, m) ≤ x) ≤ δ`, and
/// that probability; `None` when `x = 0` already fails. Needs `b + m < pool`.
pub fn allowed_errors(pool: usize, m: usize, b: usize, delta: f64) -> Option<(usize, f64)> {
    let test = |x: usize| hypergeom_cdf(x, pool, b + x + 1, m);
    if m == 0 || b + m >= pool || test(0) > delta {
        return None;
    }
    // The test rises with x (module doc); bisect for the last x passing it.
    let (mut lo, mut hi) = (0, m - 1);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if test(mid) <= delta {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some((lo, test(lo)))
}

/// The promise for routing `n` rows, `n_ai` with an AI label, to `target` at
/// `confidence`, calibrated on `cal`.
pub fn plan(cal: &Calibration, n: usize, n_ai: usize, target: f64, confidence: f64) -> Result<Plan> {
    check_levels(target, confidence)?;
    if n_ai > n {
        return Err(Error::Internal(format!("{n_ai} rows with an AI label of {n}")));
    }
    let delta = 1.0 - confidence;
    let b = max_errors(n, target);
    let m = cal.rows;
    let outcome = if b >= n_ai {
        Outcome::Route { threshold: 1.0, allowed: None, miss_bound: 0.0 }
    } else {
        match allowed_errors(m + n_ai, m, b, delta) {
            Some((c, miss_bound)) => {
                let threshold = cal.wrong_p.get(c).map_or(1.0, |p| p.min(1.0));
                Outcome::Route { threshold, allowed: Some(c), miss_bound }
            }
            None => Outcome::AllHuman {
                miss_at_zero: if m == 0 { 1.0 } else { hypergeom_pmf(0, m + n_ai, b + 1, m) },
                min_calibration_rows: min_calibration_rows(n_ai, b, delta),
            },
        }
    };
    Ok(Plan { target, confidence, n, n_ai, calibration_rows: m, max_errors: b, outcome })
}

/// The fewest calibration rows `m` with `P(Hyper(m + n_ai, b + 1, m) = 0) ≤ δ`:
/// below it no threshold can be promised. The probability falls as `m` grows.
fn min_calibration_rows(n_ai: usize, b: usize, delta: f64) -> Option<usize> {
    let fails = |m: usize| hypergeom_pmf(0, m + n_ai, b + 1, m) > delta;
    let mut hi = 1usize;
    while fails(hi) {
        hi = hi.checked_mul(2).filter(|h| *h <= 1 << 40)?;
    }
    let mut lo = hi / 2; // fails(lo) or lo = 0
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if fails(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

impl Plan {
    /// The threshold to route at (`p ≥ threshold` → human); `None` when only
    /// all-human keeps the promise.
    pub fn threshold(&self) -> Option<f64> {
        match self.outcome {
            Outcome::Route { threshold, .. } => Some(threshold),
            Outcome::AllHuman { .. } => None,
        }
    }

    /// The accuracy promised: `1 − b/n ≥ target` (1 for no rows).
    pub fn promised_accuracy(&self) -> f64 {
        if self.n == 0 {
            1.0
        } else {
            1.0 - self.max_errors as f64 / self.n as f64
        }
    }

    /// Which of the rows (their `p`, in order) go to humans; every row when
    /// only all-human keeps the promise.
    pub fn human(&self, p: &[f64]) -> Vec<bool> {
        match self.threshold() {
            Some(t) => p.iter().map(|p| *p >= t).collect(),
            None => vec![true; p.len()],
        }
    }

    /// The error to raise when the promise needs every row routed to humans.
    pub fn all_human_error(&self) -> Option<Error> {
        let Outcome::AllHuman { miss_at_zero, min_calibration_rows } = self.outcome else { return None };
        let seed = match min_calibration_rows {
            Some(rows) => {
                format!("a seed of at least {rows} rows with both labels (risk_fit on a larger seed)")
            }
            None => "a much larger seed".to_string(),
        };
        Some(Error::argument(
            format!(
                "target_accuracy := {} cannot be promised at confidence := {} short of routing all {} rows to \
                 humans: with {} calibration rows (the model's seed) and {} rows with an AI label to route, even \
                 a threshold with no calibration error below it misses the target with probability up to {:.4} \
                 (more than {:.4})",
                self.target,
                self.confidence,
                self.n,
                self.calibration_rows,
                self.n_ai,
                miss_at_zero,
                1.0 - self.confidence
            ),
            format!("{seed}, a lower target_accuracy or a lower confidence could; or route every row with budget 1.0"),
        ))
    }
}

#[cfg(test)]
mod tests;
