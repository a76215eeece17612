//! Exact hypergeometric tails, the one distribution the promise needs.
//!
//! `X ~ Hypergeometric(pool, successes, draws)`: the number of marked rows in
//! a uniformly random sample of `draws` rows from a pool of `pool` rows of
//! which `successes` are marked. [`hypergeom_pmf`] uses Loader's saddle-point
//! form (as R's `dhyper` and scipy do): `b(x; K, q)·b(m−x; N−K, q) / b(m; N, q)`
//! with `q = m/N` and `b` the binomial probability of
//! [`crate::analysis::stats::binom_pmf`], accurate to near machine precision
//! for any pool size. [`hypergeom_cdf`] sums the pmf from `x` away from the
//! mode with the exact term ratio (the terms shrink geometrically, so the sum
//! stops when they no longer change it), and takes the complement of the
//! upper tail when `x` is above the mean. Checked against
//! `scipy.stats.hypergeom` in `tests/guarantee_scipy.py`.

use crate::analysis::stats::binom_pmf;

/// The support `[lo, hi]` of the hypergeometric distribution.
fn support(pool: usize, successes: usize, draws: usize) -> (usize, usize) {
    (draws.saturating_sub(pool - successes), draws.min(successes))
}

/// `P(X = x)` for `X ~ Hypergeometric(pool, successes, draws)`; 0 outside the
/// support. Needs `successes ≤ pool` and `draws ≤ pool` (else NaN).
pub fn hypergeom_pmf(x: usize, pool: usize, successes: usize, draws: usize) -> f64 {
    if successes > pool || draws > pool {
        return f64::NAN;
    }
    let (lo, hi) = support(pool, successes, draws);
    if x < lo || x > hi {
        return 0.0;
    }
    if pool == 0 {
        return 1.0;
    }
    let q = draws as f64 / pool as f64;
    binom_pmf(x, successes, q) * binom_pmf(draws - x, pool - successes, q) / binom_pmf(draws, pool, q)
}

/// `P(X ≤ x)` for `X ~ Hypergeometric(pool, successes, draws)`. Needs
/// `successes ≤ pool` and `draws ≤ pool` (else NaN).
pub fn hypergeom_cdf(x: usize, pool: usize, successes: usize, draws: usize) -> f64 {
    if successes > pool || draws > pool {
        return f64::NAN;
    }
    let (lo, hi) = support(pool, successes, draws);
    if x < lo {
        return 0.0;
    }
    if x >= hi {
        return 1.0;
    }
    let (n, k, m) = (pool as f64, successes as f64, draws as f64);
    // pmf(j) / pmf(j + 1) = (j + 1)(N − K − m + j + 1) / ((K − j)(m − j)).
    let down = |j: usize| {
        let j = j as f64;
        (j + 1.0) * (n - k - m + j + 1.0) / ((k - j) * (m - j))
    };
    if (x as f64) <= k * m / n {
        let mut term = hypergeom_pmf(x, pool, successes, draws);
        let mut sum = term;
        for j in (lo..x).rev() {
            term *= down(j);
            if sum + term == sum {
                break;
            }
            sum += term;
        }
        sum.min(1.0)
    } else {
        let mut term = hypergeom_pmf(x + 1, pool, successes, draws);
        let mut sum = term;
        for j in x + 1..hi {
            term /= down(j);
            if sum + term == sum {
                break;
            }
            sum += term;
        }
        (1.0 - sum).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C(n, k) exactly (small n), as f64.
    fn choose(n: u64, k: u64) -> f64 {
        if k > n {
            return 0.0;
        }
        let mut c: u128 = 1;
        for i in 0..k {
            c = c * u128::from(n - i) / u128::from(i + 1);
        }
        c as f64
    }

    #[test]
    fn pmf_and_cdf_match_exact_counting_on_small_pools() {
        for pool in 0..=24usize {
            for successes in 0..=pool {
                for draws in 0..=pool {
                    let total = choose(pool as u64, draws as u64);
                    let mut cdf = 0.0;
                    for x in 0..=draws {
                        let exact = choose(successes as u64, x as u64)
                            * choose((pool - successes) as u64, (draws - x) as u64)
                            / total;
                        cdf += exact;
                        let pmf = hypergeom_pmf(x, pool, successes, draws);
                        assert!(
                            (pmf - exact).abs() <= 1e-13 * exact.max(1e-300) + 1e-300,
                            "pmf {pool} {successes} {draws} {x}: {pmf} vs {exact}"
                        );
                        let got = hypergeom_cdf(x, pool, successes, draws);
                        assert!(
                            (got - cdf).abs() <= 1e-13,
                            "cdf {pool} {successes} {draws} {x}: {got} vs {cdf}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn large_pools_keep_tiny_tails_accurate() {
        // P(X = 0) = Π_{i<K} (N − m − i)/(N − i), a product with no cancellation.
        let (pool, successes, draws) = (1_000_000usize, 300usize, 20_000usize);
        let exact: f64 =
            (0..successes).map(|i| ((pool - draws - i) as f64 / (pool - i) as f64).ln()).sum::<f64>().exp();
        let got = hypergeom_cdf(0, pool, successes, draws);
        assert!((got / exact - 1.0).abs() < 1e-9, "{got} vs {exact}");
    }
}
