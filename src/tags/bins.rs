//! The three bins of every lexical tag, and the percentile ranks that put the
//! length measures on the same [0, 1] scale (SPEC §2.3).
//!
//! The edges come from `np.linspace(0, 1, 4)` rounded to two decimals, so they
//! are exactly 0.33 and 0.67, not 1/3 and 2/3. Bins here are half-open on the
//! right ([0, 0.33), [0.33, 0.67), [0.67, 1]) so that every value in [0, 1] falls
//! in exactly one bin; the upstream inclusive and strict variants differ only at
//! the edges themselves.

/// Inner bin edges of the lexical tags (unitless, on the [0, 1] scale).
pub const BIN_EDGES: [f64; 2] = [0.33, 0.67];

/// Bin index of `v`: [0, 0.33) → 0, [0.33, 0.67) → 1, [0.67, 1] → 2; `None`
/// for NaN and for values outside [0, 1] (e.g. a negative cosine).
pub fn bin_of(v: f64) -> Option<usize> {
    if !(0.0..=1.0).contains(&v) {
        return None; // also catches NaN: every comparison with NaN is false
    }
    Some(BIN_EDGES.iter().filter(|&&edge| v >= edge).count())
}

/// Percentile rank of each value in (0, 1], as pandas `rank(pct=True)` with
/// method `average`: `(#less + (#equal + 1) / 2) / n`.
///
/// NaN values get NaN and are not counted in `n` (pandas' default `na_option='keep'`).
/// −0.0 and 0.0 are equal. O(n log n).
pub fn percentile_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    // total_cmp puts −0.0 right before 0.0, so the `==` grouping below still ties them.
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let n = order.len() as f64;
    let mut ranks = vec![f64::NAN; values.len()];
    let mut start = 0;
    while start < order.len() {
        let v = values[order[start]];
        let end = start + order[start..].iter().take_while(|&&i| values[i] == v).count();
        // `start` values are smaller; the tie group holds `end - start`.
        let rank = (start as f64 + ((end - start) as f64 + 1.0) / 2.0) / n;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_half_open_at_the_exact_edges() {
        assert_eq!(bin_of(0.0), Some(0));
        assert_eq!(bin_of(0.3299999), Some(0));
        assert_eq!(bin_of(0.33), Some(1));
        assert_eq!(bin_of(0.5), Some(1));
        assert_eq!(bin_of(0.6699999), Some(1));
        assert_eq!(bin_of(0.67), Some(2));
        assert_eq!(bin_of(1.0), Some(2));
        // 1/3 and 2/3 are above the edges 0.33 and 0.67.
        assert_eq!(bin_of(1.0 / 3.0), Some(1));
        assert_eq!(bin_of(2.0 / 3.0), Some(1));
        assert_eq!(bin_of(-0.0), Some(0));
    }

    #[test]
    fn out_of_range_values_have_no_bin() {
        for v in [f64::NAN, -1e-12, -0.5, 1.0 + 1e-12, 1.2, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(bin_of(v), None, "{v}");
        }
    }

    #[test]
    fn percentile_ranks_follow_the_spec_worked_example() {
        // SPEC §2.3: lengths [10, 20, 20, 40] -> [0.25, 0.625, 0.625, 1.0].
        assert_eq!(percentile_ranks(&[10.0, 20.0, 20.0, 40.0]), vec![0.25, 0.625, 0.625, 1.0]);
        // Input order is kept: 40 ranks 4/4, 10 ranks 1/4.
        assert_eq!(percentile_ranks(&[40.0, 20.0, 10.0, 20.0]), vec![1.0, 0.625, 0.25, 0.625]);
    }

    #[test]
    fn percentile_ranks_ties_nan_and_empty() {
        // All equal: (0 + (3 + 1) / 2) / 3 = 2/3 each.
        assert_eq!(percentile_ranks(&[5.0, 5.0, 5.0]), vec![2.0 / 3.0; 3]);
        // NaN is skipped and not counted: [1, NaN, 3] ranks as [1, 3] -> 0.5, 1.0.
        let r = percentile_ranks(&[1.0, f64::NAN, 3.0]);
        assert_eq!((r[0], r[2]), (0.5, 1.0));
        assert!(r[1].is_nan());
        // −0.0 ties with 0.0: (0 + 3/2) / 3 = 0.5 each, then 1.0.
        assert_eq!(percentile_ranks(&[-0.0, 0.0, 7.0]), vec![0.5, 0.5, 1.0]);
        assert!(percentile_ranks(&[]).is_empty());
        assert!(percentile_ranks(&[f64::NAN])[0].is_nan());
    }
}
