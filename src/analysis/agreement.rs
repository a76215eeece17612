//! Judge agreement by slice: how often the AI label equals the human label,
//! with an interval, chance-corrected agreement, tie habits, length bias,
//! position consistency, and a test of whether the slice differs from the
//! dataset as a whole.
//!
//! # Choices
//! - **Agreement** counts a row when both labels are present and equal (a tie
//!   matching a tie counts). Its interval is the 95 % Wilson score interval.
//! - **Length bias** (`ai_prefers_longer`) looks only at real disagreements:
//!   both labels present, neither a tie, and different. Of those, the share
//!   where the AI picked the completion with more characters (Unicode scalar
//!   values, Python's `len`). Disagreements on completions of **equal length**
//!   have no longer side and are left out of numerator and denominator; the
//!   denominator is reported as `n_length_disagreements`.
//! - **p-value**: two-sided exact binomial test of the slice's `n_agree` out
//!   of `n_both` against the overall agreement rate (over every row of the
//!   call with both labels, whatever its slice), as `scipy.stats.binomtest`.
//!   Chosen over a two-proportion test of slice vs the rest because (1) it is
//!   exact, and most tag slices are small, where normal approximations fail;
//!   (2) it is defined for every slicing: with `by := 'none'` or a tag that
//!   nearly every instance carries, "the rest" is empty or tiny; (3) tag
//!   slices overlap, so "the rest" would be a different population for each
//!   slice. The cost: the overall rate is treated as known although it
//!   includes the slice, which makes the test conservative for slices that
//!   are a large share of the data.
//! - **q-value**: Benjamini–Hochberg over the slices of one call that have a
//!   p-value. Tag slices overlap and are positively dependent, the case
//!   (PRDS) where BH still controls the false discovery rate.
//! - Every rate is `None` (SQL NULL) when its denominator is zero.

use super::stats::{benjamini_hochberg, binomial_two_sided_p, cohen_kappa, wilson_interval, Z_95};
use crate::data::{InstanceBatch, Label};
use crate::error::{Error, Result};
use crate::tags::{TagSet, N_TAGS, TAG_NAMES};
use std::collections::BTreeMap;

/// Default `min_n`: slices with fewer rows having both labels are flagged small.
pub const DEFAULT_MIN_N: usize = 30;

/// The labels and completion lengths of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairLabels {
    /// Human preference label.
    pub human: Option<Label>,
    /// AI judge label (original A/B order).
    pub ai: Option<Label>,
    /// AI label from the run with A and B swapped, already mapped back to the original order.
    pub ai_alt: Option<Label>,
    /// Length of completion A in characters (Unicode scalar values); 0 when NULL.
    pub len_a: usize,
    /// Length of completion B in characters (Unicode scalar values); 0 when NULL.
    pub len_b: usize,
}

impl PairLabels {
    /// The rows of one batch; `ai_alt` is the batch's swapped-order label column, if any.
    pub fn from_batch(batch: &InstanceBatch, ai_alt: Option<&[Option<Label>]>) -> Vec<PairLabels> {
        let chars = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
        (0..batch.len())
            .map(|i| PairLabels {
                human: batch.human_pref[i],
                ai: batch.ai_pref[i],
                ai_alt: ai_alt.and_then(|v| v.get(i).copied().flatten()),
                len_a: chars(&batch.completion_a[i]),
                len_b: chars(&batch.completion_b[i]),
            })
            .collect()
    }
}

/// Agreement statistics of one slice; `None` fields are SQL NULLs.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceStats {
    /// Slice name: a tag, a column value (`None` for the NULL group), or `"all"`.
    pub slice: Option<String>,
    /// Rows in the slice.
    pub n: usize,
    /// Rows with both a human and an AI label.
    pub n_both: usize,
    /// Rows with both labels where they are equal.
    pub n_agree: usize,
    /// `n_agree / n_both`.
    pub agreement: Option<f64>,
    /// Lower end of the 95 % Wilson interval of `agreement`.
    pub agreement_low: Option<f64>,
    /// Upper end of the 95 % Wilson interval of `agreement`.
    pub agreement_high: Option<f64>,
    /// Cohen's kappa of human vs AI over A/B/tie, on rows with both labels.
    pub cohen_kappa: Option<f64>,
    /// Share of ties among rows with a human label.
    pub human_tie_rate: Option<f64>,
    /// Share of ties among rows with an AI label.
    pub ai_tie_rate: Option<f64>,
    /// Of non-tie disagreements on completions of unequal length, the share where the AI chose the longer one.
    pub ai_prefers_longer: Option<f64>,
    /// Denominator of `ai_prefers_longer`.
    pub n_length_disagreements: usize,
    /// Share of rows with both AI labels (original and swapped order) where they agree.
    pub position_consistency: Option<f64>,
    /// Rows with both AI labels: the denominator of `position_consistency`.
    pub n_ai_both: usize,
    /// `n_both < min_n`: too few rows to read much into the figures.
    pub small_slice: bool,
    /// Two-sided exact binomial test of `n_agree` of `n_both` against the overall agreement rate.
    pub p_value: Option<f64>,
    /// Benjamini–Hochberg adjusted `p_value` across the slices of the call.
    pub q_value: Option<f64>,
}

/// Agreement rate over all rows with both labels; `None` when there is none.
pub fn overall_agreement(rows: &[PairLabels]) -> Option<f64> {
    let (agree, both) = rows.iter().fold((0usize, 0usize), |(a, b), r| match (r.human, r.ai) {
        (Some(h), Some(x)) => (a + usize::from(h == x), b + 1),
        _ => (a, b),
    });
    (both > 0).then(|| agree as f64 / both as f64)
}

/// Statistics of one slice's rows; `overall_rate` is the rate its p-value
/// tests against (`None`: no p-value). `q_value` is left `None`.
pub fn agreement_stats<'a>(
    slice: Option<String>,
    rows: impl IntoIterator<Item = &'a PairLabels>,
    overall_rate: Option<f64>,
    min_n: usize,
) -> SliceStats {
    let ratio = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);
    let (mut n, mut n_both, mut n_agree) = (0, 0, 0);
    let (mut n_human, mut human_ties, mut n_ai, mut ai_ties) = (0, 0, 0, 0);
    let (mut n_len, mut ai_longer, mut n_ai_both, mut ai_consistent) = (0, 0, 0, 0);
    let mut pairs = Vec::new();
    for r in rows {
        n += 1;
        if let Some(h) = r.human {
            n_human += 1;
            human_ties += usize::from(h == Label::Tie);
        }
        if let Some(a) = r.ai {
            n_ai += 1;
            ai_ties += usize::from(a == Label::Tie);
        }
        if let (Some(a), Some(alt)) = (r.ai, r.ai_alt) {
            n_ai_both += 1;
            ai_consistent += usize::from(a == alt);
        }
        let (Some(h), Some(a)) = (r.human, r.ai) else { continue };
        n_both += 1;
        n_agree += usize::from(h == a);
        pairs.push((h, a));
        if h != a && h != Label::Tie && a != Label::Tie && r.len_a != r.len_b {
            n_len += 1;
            let longer = if r.len_a > r.len_b { Label::A } else { Label::B };
            ai_longer += usize::from(a == longer);
        }
    }
    let interval = wilson_interval(n_agree, n_both, Z_95);
    SliceStats {
        slice,
        n,
        n_both,
        n_agree,
        agreement: ratio(n_agree, n_both),
        agreement_low: interval.map(|i| i.0),
        agreement_high: interval.map(|i| i.1),
        cohen_kappa: cohen_kappa(pairs),
        human_tie_rate: ratio(human_ties, n_human),
        ai_tie_rate: ratio(ai_ties, n_ai),
        ai_prefers_longer: ratio(ai_longer, n_len),
        n_length_disagreements: n_len,
        position_consistency: ratio(ai_consistent, n_ai_both),
        n_ai_both,
        small_slice: n_both < min_n,
        p_value: overall_rate.and_then(|p| binomial_two_sided_p(n_agree, n_both, p)),
        q_value: None,
    }
}

/// One row of statistics per slice (row indices into `rows`), in the given
/// order, with p-values against the agreement rate over all `rows` and
/// Benjamini–Hochberg q-values across the slices.
pub fn judge_agreement(
    slices: Vec<(Option<String>, Vec<usize>)>,
    rows: &[PairLabels],
    min_n: usize,
) -> Result<Vec<SliceStats>> {
    let overall = overall_agreement(rows);
    let mut out = Vec::with_capacity(slices.len());
    for (name, idx) in slices {
        if let Some(bad) = idx.iter().find(|&&i| i >= rows.len()) {
            return Err(Error::Internal(format!("slice row {bad} out of range ({} rows)", rows.len())));
        }
        out.push(agreement_stats(name, idx.iter().map(|&i| &rows[i]), overall, min_n));
    }
    let q = benjamini_hochberg(&out.iter().map(|s| s.p_value).collect::<Vec<_>>());
    for (s, q) in out.iter_mut().zip(q) {
        s.q_value = q;
    }
    Ok(out)
}

/// `by := 'none'`: one slice named `"all"` holding every row.
pub fn slices_all(n_rows: usize) -> Vec<(Option<String>, Vec<usize>)> {
    vec![(Some("all".to_string()), (0..n_rows).collect())]
}

/// `by := 'tag'`: one slice per canonical tag carried by at least one row, in
/// tag (PPM column) order; a row is in every slice whose tag it carries.
pub fn slices_by_tag(tags: &[TagSet]) -> Vec<(Option<String>, Vec<usize>)> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); N_TAGS];
    for (i, set) in tags.iter().enumerate() {
        for t in set.iter() {
            members[t].push(i);
        }
    }
    members
        .into_iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty())
        .map(|(t, m)| (Some(TAG_NAMES[t].to_string()), m))
        .collect()
}

/// `by := '<column>'`: one slice per distinct value, in ascending text order,
/// with the NULL group (name `None`) last, as DuckDB's `ORDER BY ... NULLS LAST`.
pub fn slices_by_value(values: &[Option<String>]) -> Vec<(Option<String>, Vec<usize>)> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut nulls = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(s) => groups.entry(s.as_str()).or_default().push(i),
            None => nulls.push(i),
        }
    }
    let mut out: Vec<_> = groups.into_iter().map(|(k, v)| (Some(k.to_string()), v)).collect();
    if !nulls.is_empty() {
        out.push((None, nulls));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::{Tie, A, B};

    fn row(
        human: Option<Label>,
        ai: Option<Label>,
        ai_alt: Option<Label>,
        len_a: usize,
        len_b: usize,
    ) -> PairLabels {
        PairLabels { human, ai, ai_alt, len_a, len_b }
    }

    #[test]
    fn counts_follow_the_documented_denominators() {
        let rows = [
            row(Some(A), Some(A), Some(A), 5, 9),  // agree
            row(Some(A), Some(B), Some(A), 5, 9),  // disagree, AI chose longer (B)
            row(Some(B), Some(A), None, 5, 9),     // disagree, AI chose shorter (A)
            row(Some(B), Some(A), Some(B), 7, 7),  // disagree on equal length: not in length share
            row(Some(Tie), Some(A), None, 1, 2),   // human tie: not a length disagreement
            row(None, Some(Tie), Some(Tie), 1, 2), // AI only
            row(Some(Tie), None, None, 1, 2),      // human only
        ];
        let s = agreement_stats(None, rows.iter(), None, 30);
        assert_eq!((s.n, s.n_both, s.n_agree), (7, 5, 1));
        assert_eq!(s.agreement, Some(0.2));
        assert_eq!(s.human_tie_rate, Some(2.0 / 6.0));
        assert_eq!(s.ai_tie_rate, Some(1.0 / 6.0));
        assert_eq!((s.n_length_disagreements, s.ai_prefers_longer), (2, Some(0.5)));
        assert_eq!((s.n_ai_both, s.position_consistency), (4, Some(0.5)));
        assert!(s.small_slice);
        assert_eq!(s.p_value, None);
    }

    #[test]
    fn empty_slice_has_null_rates_and_no_q_value() {
        let rows = [row(Some(A), Some(A), None, 1, 1), row(Some(A), Some(B), None, 1, 1)];
        let out = judge_agreement(vec![(Some("x".into()), vec![]), (Some("y".into()), vec![0, 1])], &rows, 1)
            .unwrap();
        assert_eq!(out[0].agreement, None);
        assert_eq!(out[0].agreement_low, None);
        assert_eq!(out[0].cohen_kappa, None);
        assert_eq!(out[0].p_value, None);
        assert_eq!(out[0].q_value, None);
        assert!(out[0].small_slice);
        // The whole set tested against its own rate: k = n·p exactly.
        assert_eq!(out[1].p_value, Some(1.0));
        assert_eq!(out[1].q_value, Some(1.0));
        assert!(judge_agreement(vec![(None, vec![2])], &rows, 1).is_err());
    }

    #[test]
    fn slicing_by_value_sorts_and_puts_null_last() {
        let v = [Some("b".to_string()), None, Some("a".to_string()), Some("b".to_string())];
        let s = slices_by_value(&v);
        assert_eq!(
            s,
            vec![(Some("a".to_string()), vec![2]), (Some("b".to_string()), vec![0, 3]), (None, vec![1])]
        );
        let mut t0 = TagSet::EMPTY;
        t0.insert(3);
        t0.insert(0);
        let mut t1 = TagSet::EMPTY;
        t1.insert(3);
        let s = slices_by_tag(&[t0, t1, TagSet::EMPTY]);
        assert_eq!(
            s,
            vec![(Some(TAG_NAMES[0].to_string()), vec![0]), (Some(TAG_NAMES[3].to_string()), vec![0, 1])]
        );
        assert_eq!(slices_all(2), vec![(Some("all".to_string()), vec![0, 1])]);
    }
}
