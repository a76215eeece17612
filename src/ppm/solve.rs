//! Least squares with an unpenalised intercept, the way scikit-learn does it:
//! centre the design matrix X and the target y, solve for the slopes on the
//! centred data, then `intercept = ȳ − x̄·w`.
//!
//! * `l2 > 0`: ridge, `(XcᵀXc + l2·I)·w = Xcᵀyc` (`Ridge(alpha=l2)`).
//! * `l2 = 0`: the minimum-norm least-squares solution `w = Xc⁺·yc`
//!   (`LinearRegression`), with singular values below [`RCOND`]`·σ_max`
//!   treated as zero, as scikit-learn ≥ 1.9 passes `cond=tol=1e-6` to `lstsq`.
//!
//! With more terms than rows (the quadratic PPM: 4185 terms, a few hundred
//! candidates) the work is done in the dual: `K = Xc·Xcᵀ` (n×n) and
//! `w = Xcᵀ·α` with `(K + l2·I)·α = yc`, or `α = K⁺·yc` at `l2 = 0`; ridge
//! is then the same algebra scikit-learn's Ridge uses in that regime. The
//! minimum-norm solution takes a second, more careful pass (see [`min_norm`])
//! so that it matches LAPACK's SVD-based `lstsq` even on badly scaled counts.

use super::model::Form;
use crate::error::{Error, Result};
use crate::linalg::{cholesky, cholesky_solve, jacobi_eigen, sym_eigen, SymEigen};
use crate::tags::{Counts, N_TAGS};
use ndarray::{s, Array1, Array2, ArrayView2, Axis};

/// Relative cutoff on singular values of the centred design matrix below which
/// a direction is treated as rank-deficient (scikit-learn `LinearRegression(tol=1e-6)`).
pub const RCOND: f64 = 1e-6;

/// Number of non-bias terms of a form over `n_tags` tags: `n` or `n + n(n+1)/2`.
pub fn n_terms(form: Form, n_tags: usize) -> usize {
    match form {
        Form::Linear => n_tags,
        Form::Quadratic => n_tags + n_tags * (n_tags + 1) / 2,
    }
}

/// The raw (uncentred) terms of each row, in scikit-learn `PolynomialFeatures`
/// order without the bias: `c_0..c_89`, then `c_i·c_j` for `i ≤ j` row by row.
pub(crate) fn design(counts: &[Counts], form: Form) -> Array2<f64> {
    let p = n_terms(form, N_TAGS);
    let mut x = Array2::zeros((counts.len(), p));
    for (mut row, c) in x.axis_iter_mut(Axis(0)).zip(counts) {
        let row = row.as_slice_mut().expect("a fresh standard-layout array has contiguous rows");
        row[..N_TAGS].copy_from_slice(c);
        if form == Form::Quadratic {
            let mut k = N_TAGS;
            for i in 0..N_TAGS {
                for j in i..N_TAGS {
                    row[k] = c[i] * c[j];
                    k += 1;
                }
            }
        }
    }
    x
}

/// `(i, j)` of each quadratic term, in [`design`] order.
pub(crate) fn quadratic_pairs(n_tags: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n_tags).flat_map(move |i| (i..n_tags).map(move |j| (i, j)))
}

/// A fitted linear function of the design terms.
#[derive(Clone, Debug)]
pub(crate) struct Solution {
    pub intercept: f64,
    /// One slope per design column.
    pub coef: Vec<f64>,
    /// Effective rank of the centred design (minimum-norm fits only).
    pub rank: Option<usize>,
}

/// Fits `y ≈ intercept + x·coef` on the rows of `x` (see the module doc).
pub(crate) fn solve(mut x: Array2<f64>, y: &[f64], l2: f64) -> Result<Solution> {
    let n = x.nrows();
    if n == 0 || y.len() != n {
        return Err(Error::Internal(format!("solve: {n} design rows for {} targets", y.len())));
    }
    let x_mean = x.mean_axis(Axis(0)).expect("n > 0");
    let y_mean = y.iter().sum::<f64>() / n as f64;
    x -= &x_mean;
    let yc = Array1::from_iter(y.iter().map(|v| v - y_mean));
    let (coef, rank) = if l2 > 0.0 { (ridge(&x, &yc, l2)?, None) } else { min_norm(&x, &yc)? };
    let intercept = y_mean - x_mean.iter().zip(&coef).map(|(m, w)| m * w).sum::<f64>();
    Ok(Solution { intercept, coef, rank })
}

/// Ridge on centred data, in scikit-learn's Cholesky form: primal
/// `(XcᵀXc + l2·I)·w = Xcᵀyc` when `p ≤ n`, else dual `w = Xcᵀ·(XcXcᵀ + l2·I)⁻¹·yc`.
fn ridge(xc: &Array2<f64>, yc: &Array1<f64>, l2: f64) -> Result<Vec<f64>> {
    let (n, p) = xc.dim();
    let dual = p > n;
    let mut g = if dual { gram(xc.view()) } else { gram(xc.t()) };
    let b = if dual { yc.to_vec() } else { xc.t().dot(yc).to_vec() };
    let m = g.nrows();
    g.diag_mut().mapv_inplace(|d| d + l2);
    let flat = g.into_raw_vec_and_offset().0;
    let z = match cholesky(&flat, m) {
        Some(l) => cholesky_solve(&l, m, &b),
        // Numerically singular despite the shift: solve on the (shifted) spectrum.
        None => spectral_solve(&sym_eigen(&flat, m)?, &b, 0.0),
    };
    Ok(if dual { xc.t().dot(&Array1::from(z)).to_vec() } else { z })
}

/// The minimum-norm least-squares slopes `Xc⁺·yc`, singular values below
/// `RCOND·σ_max` dropped, and the effective rank.
///
/// Squaring `Xc` into a Gram matrix squares its condition number, and real
/// candidate counts (quadratic terms ~10⁷ beside linear ones ~10³) spread the
/// singular values over six or more decades, so a single eigendecomposition
/// of the Gram matrix loses the small ones. Two passes fix that without an
/// SVD: (1) eigenvectors `U₁` of the Gram matrix `G` (m×m, m = min(n, p));
/// (2) the rotated data `R = U₁ᵀ·Xc` (dual) or `U₁ᵀ·Xcᵀ` (primal), recomputed
/// from `Xc` so each row is accurate relative to its own norm, whose Gram
/// matrix `R·Rᵀ` is nearly diagonal and graded; Jacobi rotations then give
/// its eigenpairs `(Λ, W)` to high *relative* accuracy. With `Xc = U₁·R`
/// (dual) the solution is `w = Rᵀ·W·Λ⁺·Wᵀ·U₁ᵀ·yc`; with `Xc = Rᵀ·U₁ᵀ`
/// (primal) it is `w = U₁·W·Λ⁺·Wᵀ·R·yc`. Agreement with LAPACK's SVD-based
/// `lstsq` is then ~ε·κ(Xc) rather than ε·κ(Xc)².
fn min_norm(xc: &Array2<f64>, yc: &Array1<f64>) -> Result<(Vec<f64>, Option<usize>)> {
    let (n, p) = xc.dim();
    let dual = p > n;
    let short = if dual { xc.view() } else { xc.t() };
    let m = short.nrows();
    let g = gram(short).into_raw_vec_and_offset().0;
    let first = sym_eigen(&g, m)?;
    // U₁ as an m×m matrix whose columns are the eigenvectors (stored column-major = U₁ᵀ row-major).
    let u1t = Array2::from_shape_vec((m, m), first.vectors).map_err(|e| Error::Internal(e.to_string()))?;
    let r = u1t.dot(&short);
    let h = gram(r.view()).into_raw_vec_and_offset().0;
    let second = jacobi_eigen(&h, m)?;
    let lambda_max = second.values.last().copied().unwrap_or(0.0).max(0.0);
    // σ² are the eigenvalues, so σ < RCOND·σ_max ⇔ λ < RCOND²·λ_max.
    let cutoff = RCOND * RCOND * lambda_max;
    let rank = second.values.iter().filter(|&&v| v > cutoff && v > 0.0).count();
    let coef = if dual {
        let t = u1t.dot(yc).to_vec();
        r.t().dot(&Array1::from(spectral_solve(&second, &t, cutoff))).to_vec()
    } else {
        let t = r.dot(yc).to_vec();
        u1t.t().dot(&Array1::from(spectral_solve(&second, &t, cutoff))).to_vec()
    };
    Ok((coef, Some(rank)))
}

/// `A·Aᵀ` for the rows of `a`, exactly symmetric; computed blockwise so only
/// the lower-triangular blocks cost a matrix product.
fn gram(a: ArrayView2<f64>) -> Array2<f64> {
    const BLOCK: usize = 128;
    let m = a.nrows();
    let mut g = Array2::zeros((m, m));
    for i0 in (0..m).step_by(BLOCK) {
        let i1 = (i0 + BLOCK).min(m);
        for j0 in (0..=i0).step_by(BLOCK) {
            let j1 = (j0 + BLOCK).min(m);
            let block = a.slice(s![i0..i1, ..]).dot(&a.slice(s![j0..j1, ..]).t());
            g.slice_mut(s![i0..i1, j0..j1]).assign(&block);
        }
    }
    // Mirror the lower triangle (diagonal blocks may differ from their transpose by rounding).
    for i in 0..m {
        for j in 0..i {
            g[[j, i]] = g[[i, j]];
        }
    }
    g
}

/// `z = Σ_{λ_k > cutoff} v_k·(v_kᵀb)/λ_k`.
fn spectral_solve(eig: &SymEigen, b: &[f64], cutoff: f64) -> Vec<f64> {
    let mut z = vec![0.0; eig.n];
    for (k, &lambda) in eig.values.iter().enumerate() {
        if lambda <= cutoff || lambda <= 0.0 {
            continue;
        }
        let v = eig.vector(k);
        let proj = v.iter().zip(b).map(|(a, b)| a * b).sum::<f64>() / lambda;
        for (zi, vi) in z.iter_mut().zip(v) {
            *zi += proj * vi;
        }
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_design_has_sklearn_order() {
        let mut c = [0.0; N_TAGS];
        c[0] = 2.0;
        c[1] = 3.0;
        c[89] = 5.0;
        let x = design(&[c], Form::Quadratic);
        assert_eq!(x.ncols(), 4185);
        // PolynomialFeatures order after the bias: c0..c89, c0², c0c1, …, c0c89, c1², …, c89².
        assert_eq!(x[[0, 90]], 4.0);
        assert_eq!(x[[0, 91]], 6.0);
        assert_eq!(x[[0, 90 + 89]], 10.0);
        assert_eq!(x[[0, 90 + 90]], 9.0);
        assert_eq!(x[[0, 4184]], 25.0);
        assert_eq!(quadratic_pairs(90).nth(90), Some((1, 1)));
    }

    #[test]
    fn exact_line_and_min_norm_on_duplicate_columns() {
        // y = 1 + 2·x exactly → intercept 1, slope 2.
        let x = Array2::from_shape_vec((3, 1), vec![0.0, 1.0, 2.0]).unwrap();
        let s = solve(x, &[1.0, 3.0, 5.0], 0.0).unwrap();
        assert!((s.intercept - 1.0).abs() < 1e-12 && (s.coef[0] - 2.0).abs() < 1e-12);
        // Two identical columns: min-norm splits the slope evenly (1, 1), rank 1.
        let x = Array2::from_shape_vec((3, 2), vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0]).unwrap();
        let s = solve(x, &[1.0, 3.0, 5.0], 0.0).unwrap();
        assert_eq!(s.rank, Some(1));
        assert!((s.coef[0] - 1.0).abs() < 1e-12 && (s.coef[1] - 1.0).abs() < 1e-12);
        // Ridge by hand: xc = (-1,0,1), yc = (-2,0,2): w = 4/(2+l2); l2 = 2 → w = 1, b = 3 - 1 = 2.
        let x = Array2::from_shape_vec((3, 1), vec![0.0, 1.0, 2.0]).unwrap();
        let s = solve(x, &[1.0, 3.0, 5.0], 2.0).unwrap();
        assert!((s.coef[0] - 1.0).abs() < 1e-12 && (s.intercept - 2.0).abs() < 1e-12);
    }

    #[test]
    fn dual_solution_satisfies_the_primal_equations() {
        // 3 rows, 4 columns: solved in the dual. Check against the primal normal equations.
        let x = Array2::from_shape_vec((3, 4), vec![1., 0., 2., 5., 0., 1., 1., 3., 4., 4., 0., 1.]).unwrap();
        let y = [0.3, -1.0, 2.5];
        let xc = &x - &x.mean_axis(Axis(0)).unwrap();
        let ym = y.iter().sum::<f64>() / 3.0;
        let yc = Array1::from_iter(y.iter().map(|v| v - ym));
        for l2 in [0.0, 0.5] {
            let s = solve(x.clone(), &y, l2).unwrap();
            let w = Array1::from(s.coef.clone());
            let lhs = xc.t().dot(&xc.dot(&w)) + &(&w * l2);
            let rhs = xc.t().dot(&yc);
            for (a, b) in lhs.iter().zip(&rhs) {
                assert!((a - b).abs() < 1e-12, "l2 = {l2}: {a} vs {b}");
            }
            assert!((s.intercept - (ym - x.mean_axis(Axis(0)).unwrap().dot(&w))).abs() < 1e-12);
            if l2 == 0.0 {
                // Underdetermined: rank n − 1 = 2 after centring, and y is interpolated.
                assert_eq!(s.rank, Some(2));
                for (row, want) in x.rows().into_iter().zip(y) {
                    assert!((s.intercept + row.dot(&w) - want).abs() < 1e-12);
                }
            }
        }
    }
}
