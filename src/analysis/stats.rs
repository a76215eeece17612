//! The small statistics behind [`judge_agreement`](super::judge_agreement):
//! Wilson intervals, Cohen's kappa, the exact two-sided binomial test and
//! Benjamini–Hochberg q-values. Each matches a named Python reference
//! (statsmodels, scikit-learn, scipy) to ~1e-14; `tests/agreement_reference.rs`
//! checks that against fixtures those packages wrote.

use crate::data::Label;

/// The two-sided 95 % normal quantile, `scipy.stats.norm.isf(0.025)` (the
/// value statsmodels' `proportion_confint` uses, down to the last bit).
pub const Z_95: f64 = 1.959_963_984_540_054_5;

/// Wilson score interval for `successes` out of `n` trials at normal quantile
/// `z`, clipped to [0, 1] as statsmodels does; `None` when `n` is 0.
pub fn wilson_interval(successes: usize, n: usize, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    Some(((center - half).clamp(0.0, 1.0), (center + half).clamp(0.0, 1.0)))
}

/// Cohen's kappa of paired labels over the three categories A/B/tie, as
/// scikit-learn's `cohen_kappa_score`; `None` when there is no pair or chance
/// agreement is certain (every label of both raters in one category), where
/// kappa is 0/0.
pub fn cohen_kappa(pairs: impl IntoIterator<Item = (Label, Label)>) -> Option<f64> {
    let idx = |l: Label| match l {
        Label::A => 0,
        Label::B => 1,
        Label::Tie => 2,
    };
    let mut confusion = [[0f64; 3]; 3];
    for (x, y) in pairs {
        confusion[idx(x)][idx(y)] += 1.0;
    }
    let rows: Vec<f64> = confusion.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..3).map(|j| confusion.iter().map(|r| r[j]).sum()).collect();
    let total: f64 = rows.iter().sum();
    if total == 0.0 {
        return None;
    }
    // kappa = 1 - observed disagreement / disagreement expected by chance.
    let mut observed = 0.0;
    let mut expected = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                observed += confusion[i][j];
                expected += rows[i] * cols[j] / total;
            }
        }
    }
    if expected == 0.0 {
        return None;
    }
    Some(1.0 - observed / expected)
}

/// Two-sided exact binomial test of `k` successes in `n` trials against
/// success probability `p`, as `scipy.stats.binomtest(k, n, p).pvalue`: the
/// total probability of outcomes no more likely than `k`, where "no more
/// likely" allows scipy's relative tolerance of 1e-7. `None` for `n` = 0 or
/// `p` outside [0, 1].
pub fn binomial_two_sided_p(k: usize, n: usize, p: f64) -> Option<f64> {
    if n == 0 || k > n || !(0.0..=1.0).contains(&p) {
        return None;
    }
    // The same floating-point expressions as scipy, so that the branch taken
    // (and the degenerate p = 0 or 1 cases) agree with it exactly.
    let mean = p * n as f64;
    if k as f64 == mean {
        return Some(1.0);
    }
    let d = binom_pmf(k, n, p) * (1.0 + 1e-7);
    let pval = if (k as f64) < mean {
        // Observed below the mode: its whole lower tail, plus the upper tail
        // of outcomes at most as likely. pmf falls monotonically on [ceil(np), n].
        let first = mean.ceil() as usize;
        let start = first_at_most(first, n, d, |x| binom_pmf(x, n, p));
        lower_tail(k, n, p) + start.map_or(0.0, |s| upper_tail(s, n, p))
    } else {
        // Mirror image: pmf rises monotonically on [0, floor(np)].
        let last = mean.floor() as usize;
        let end = last_at_most(0, last, d, |x| binom_pmf(x, n, p));
        end.map_or(0.0, |e| lower_tail(e, n, p)) + upper_tail(k, n, p)
    };
    Some(pval.min(1.0))
}

/// Smallest x in [lo, hi] with f(x) <= d, for f falling on [lo, hi].
fn first_at_most(lo: usize, hi: usize, d: f64, f: impl Fn(usize) -> f64) -> Option<usize> {
    if lo > hi || f(hi) > d {
        return None;
    }
    let (mut a, mut b) = (lo, hi); // invariant: f(b) <= d
    while a < b {
        let mid = a + (b - a) / 2;
        if f(mid) <= d {
            b = mid;
        } else {
            a = mid + 1;
        }
    }
    Some(b)
}

/// Largest x in [lo, hi] with f(x) <= d, for f rising on [lo, hi].
fn last_at_most(lo: usize, hi: usize, d: f64, f: impl Fn(usize) -> f64) -> Option<usize> {
    if lo > hi || f(lo) > d {
        return None;
    }
    let (mut a, mut b) = (lo, hi); // invariant: f(a) <= d
    while a < b {
        let mid = a + (b - a).div_ceil(2);
        if f(mid) <= d {
            a = mid;
        } else {
            b = mid - 1;
        }
    }
    Some(a)
}

/// P(X <= k) for a tail below the mode, summed from k outward.
fn lower_tail(k: usize, n: usize, p: f64) -> f64 {
    tail_sum((0..=k).rev(), n, p)
}

/// P(X >= k) for a tail above the mode, summed from k outward.
fn upper_tail(k: usize, n: usize, p: f64) -> f64 {
    tail_sum(k..=n, n, p)
}

/// Sums the pmf over `xs`, which walk away from the mode: the terms shrink
/// geometrically, so the sum stops once they no longer change it.
fn tail_sum(xs: impl Iterator<Item = usize>, n: usize, p: f64) -> f64 {
    let mut sum = 0.0;
    for x in xs {
        let next = sum + binom_pmf(x, n, p);
        if next == sum {
            break;
        }
        sum = next;
    }
    sum
}

/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Binomial probability P(X = x) for X ~ Bin(n, p), by Loader's saddle-point
/// expansion (C. Loader, "Fast and Accurate Computation of Binomial
/// Probabilities", 2000): relative error near machine precision for any n.
pub fn binom_pmf(x: usize, n: usize, p: f64) -> f64 {
    let q = 1.0 - p;
    if x > n {
        return 0.0;
    }
    if p == 0.0 {
        return if x == 0 { 1.0 } else { 0.0 };
    }
    if q == 0.0 {
        return if x == n { 1.0 } else { 0.0 };
    }
    let (nf, xf) = (n as f64, x as f64);
    if x == 0 {
        return (nf * (-p).ln_1p()).exp();
    }
    if x == n {
        return (nf * p.ln()).exp();
    }
    let yf = nf - xf;
    let lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(xf, nf * p) - bd0(yf, nf * q);
    lc.exp() * (nf / (xf * yf)).sqrt() * (-LN_SQRT_2PI).exp()
}

/// ln(n!) − ln(√(2πn) (n/e)^n), the error of Stirling's formula.
fn stirlerr(n: usize) -> f64 {
    // Exact values for small n, computed at 60 digits with Python's decimal
    // module from ln n! = Σ ln i (the asymptotic series is poor below 16).
    const SMALL: [f64; 16] = [
        0.0,
        0.081_061_466_795_327_26,
        0.041_340_695_955_409_3,
        0.027_677_925_684_998_34,
        0.020_790_672_103_765_093,
        0.016_644_691_189_821_193,
        0.013_876_128_823_070_748,
        0.011_896_709_945_891_77,
        0.010_411_265_261_972_096,
        0.009_255_462_182_712_733,
        0.008_330_563_433_362_87,
        0.007_573_675_487_951_841,
        0.006_942_840_107_209_53,
        0.006_408_994_188_004_207,
        0.005_951_370_112_758_847_5,
        0.005_554_733_551_962_801,
    ];
    if n < SMALL.len() {
        return SMALL[n];
    }
    // Stirling series 1/(12n) − 1/(360n³) + 1/(1260n⁵) − 1/(1680n⁷) + 1/(1188n⁹);
    // for n ≥ 16 the first omitted term is below 1e-17 relative.
    let nf = n as f64;
    let n2 = nf * nf;
    (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / (1188.0 * n2)) / n2) / n2) / n2) / nf
}

/// x ln(x/m) + m − x, the deviance term, without cancellation when x ≈ m.
fn bd0(x: f64, m: f64) -> f64 {
    if (x - m).abs() < 0.1 * (x + m) {
        // With v = (x−m)/(x+m): bd0 = (x−m)v + 2x Σ_{j≥1} v^(2j+1)/(2j+1).
        let v = (x - m) / (x + m);
        let mut sum = (x - m) * v;
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        for j in 1..1000 {
            ej *= v2;
            let next = sum + ej / (2 * j + 1) as f64;
            if next == sum {
                break;
            }
            sum = next;
        }
        sum
    } else {
        x * (x / m).ln() + m - x
    }
}

/// Benjamini–Hochberg adjusted p-values (q-values), as statsmodels'
/// `multipletests(p, method='fdr_bh')[1]`: q_(i) = min over j ≥ i of
/// p_(j)·m/j in ascending order, capped at 1. `None` entries (untestable
/// slices) are left out of the family and stay `None`.
pub fn benjamini_hochberg(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<(usize, f64)> =
        p_values.iter().enumerate().filter_map(|(i, p)| p.map(|p| (i, p))).collect();
    // Ties get the same q whatever their order, so sort stability is irrelevant.
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m = order.len() as f64;
    let mut out = vec![None; p_values.len()];
    let mut running = f64::INFINITY;
    for (rank, (i, p)) in order.iter().enumerate().rev() {
        running = running.min(p / ((rank + 1) as f64 / m));
        out[*i] = Some(running.min(1.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pmf_sums_to_one_and_matches_direct_formula_for_small_n() {
        for (n, p) in [(1usize, 0.3), (7, 0.5), (20, 0.775), (200, 0.01)] {
            let total: f64 = (0..=n).map(|x| binom_pmf(x, n, p)).sum();
            assert!((total - 1.0).abs() < 1e-13, "n={n} p={p} total={total}");
        }
        // C(7,3) 0.4^3 0.6^4 = 35 · 0.064 · 0.1296
        assert!((binom_pmf(3, 7, 0.4) - 35.0 * 0.064 * 0.1296).abs() < 1e-15);
    }

    #[test]
    fn symmetric_binomial_test_counts_both_tails() {
        // Bin(10, 0.5), k = 2: P(X ≤ 2) + P(X ≥ 8) = 2 · (1 + 10 + 45) / 1024.
        let p = binomial_two_sided_p(2, 10, 0.5).unwrap();
        assert!((p - 112.0 / 1024.0).abs() < 1e-15, "{p}");
        assert_eq!(binomial_two_sided_p(5, 10, 0.5), Some(1.0));
        assert_eq!(binomial_two_sided_p(3, 10, 0.0), Some(0.0));
        assert_eq!(binomial_two_sided_p(0, 0, 0.5), None);
    }

    #[test]
    fn kappa_undefined_without_chance_disagreement() {
        assert_eq!(cohen_kappa([(Label::A, Label::A), (Label::A, Label::A)]), None);
        assert_eq!(cohen_kappa(std::iter::empty()), None);
        assert_eq!(cohen_kappa([(Label::A, Label::A), (Label::B, Label::B)]), Some(1.0));
    }

    #[test]
    fn bh_skips_missing_and_caps_at_one() {
        let q = benjamini_hochberg(&[Some(0.01), None, Some(0.04), Some(0.03), Some(0.9)]);
        // m = 4: sorted 0.01, 0.03, 0.04, 0.9 → 0.04, 0.0533…, 0.0533…, 0.9
        assert_eq!(q[1], None);
        assert!((q[0].unwrap() - 0.04).abs() < 1e-15);
        assert!((q[3].unwrap() - 0.04 * 4.0 / 3.0).abs() < 1e-15);
        assert!((q[2].unwrap() - 0.04 * 4.0 / 3.0).abs() < 1e-15);
        assert!((q[4].unwrap() - 0.9).abs() < 1e-15);
    }
}
