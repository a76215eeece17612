//! L2-regularised logistic regression with an unpenalised intercept, fitted
//! by Newton's method: the objective scikit-learn's
//! `LogisticRegression(C = 1/l2)` minimises,
//!
//! ```text
//! Σ_i [ ln(1 + e^{z_i}) − y_i·z_i ] + (l2 / 2)·‖w‖²,   z_i = b + w·x_i
//! ```
//!
//! The objective is strictly convex in `w` for `l2 > 0`; each Newton step
//! solves the `(d+1)×(d+1)` system by Cholesky and is damped by backtracking
//! until the objective decreases, so the iteration converges from zero to the
//! unique optimum (until the gradient's largest component is at most
//! 1e-12·n) in a handful of steps. The optimum is unique, so the fitted
//! coefficients do not depend on the order of the rows beyond rounding.

use crate::error::{Error, Result};
use crate::linalg::{cholesky, cholesky_solve};

/// A fitted logistic model over `d` standardised features.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    pub intercept: f64,
    pub coef: Vec<f64>,
    /// Newton steps taken.
    pub iterations: usize,
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Logistic {
    /// `b + w·x` for one row.
    pub fn logit(&self, x: &[f64]) -> f64 {
        self.intercept + self.coef.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }

    /// P(y = 1 | x).
    pub fn predict(&self, x: &[f64]) -> f64 {
        sigmoid(self.logit(x))
    }
}

/// Fits on `x` (`n` rows of `d` values, row-major) and `y`. Needs both
/// classes and `l2 > 0`.
pub fn fit(x: &[f64], d: usize, y: &[bool], l2: f64) -> Result<Logistic> {
    let n = y.len();
    if x.len() != n * d {
        return Err(Error::Internal(format!("logistic fit: {} values for {n}×{d}", x.len())));
    }
    if !(l2 > 0.0 && l2.is_finite()) {
        return Err(Error::argument(
            format!("l2 := {l2} must be a positive finite number"),
            "use the default 1.0; larger values shrink the model towards the overall disagreement rate",
        ));
    }
    let positives = y.iter().filter(|v| **v).count();
    if positives == 0 || positives == n {
        return Err(Error::argument(
            format!(
                "the judge {} the human label on all {n} training rows: there is nothing to learn",
                if positives == 0 { "agrees with" } else { "disagrees with" }
            ),
            "fit on rows where the judge is sometimes right and sometimes wrong (a larger labelled seed)",
        ));
    }
    let p = d + 1; // θ = [b, w]
    let objective = |theta: &[f64]| -> f64 {
        let mut f = 0.5 * l2 * theta[1..].iter().map(|w| w * w).sum::<f64>();
        for (i, &yi) in y.iter().enumerate() {
            let z = theta[0] + dot(&theta[1..], &x[i * d..(i + 1) * d]);
            f += softplus(z) - if yi { z } else { 0.0 };
        }
        f
    };
    let mut theta = vec![0.0; p];
    let mut f = objective(&theta);
    let mut iterations = 0;
    for _ in 0..100 {
        // Gradient and Hessian at θ.
        let mut g = vec![0.0; p];
        let mut h = vec![0.0; p * p];
        for (i, &yi) in y.iter().enumerate() {
            let row = &x[i * d..(i + 1) * d];
            let q = sigmoid(theta[0] + dot(&theta[1..], row));
            let r = q - f64::from(u8::from(yi));
            let s = q * (1.0 - q);
            g[0] += r;
            h[0] += s;
            for (a, &xa) in row.iter().enumerate() {
                let sa = s * xa;
                g[a + 1] += r * xa;
                h[a + 1] += sa;
                // Lower triangle of row a+1: one contiguous multiply-add (no bounds checks).
                let ha = &mut h[(a + 1) * p + 1..(a + 1) * p + a + 2];
                for (hv, &xb) in ha.iter_mut().zip(&row[..=a]) {
                    *hv += sa * xb;
                }
            }
        }
        for a in 1..p {
            g[a] += l2 * theta[a];
            h[a * p + a] += l2;
            for b in 0..a {
                h[b * p + a] = h[a * p + b];
            }
        }
        let grad_max = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if grad_max <= 1e-12 * (n as f64).max(1.0) {
            break;
        }
        let Some(l) = cholesky(&h, p) else {
            return Err(Error::Internal("logistic fit: the Hessian is not positive definite".into()));
        };
        let step = cholesky_solve(&l, p, &g);
        // Backtracking: halve the step until the objective does not increase (beyond
        // its rounding: near the optimum a Newton step changes it by less than that,
        // and refusing such steps would stop the iteration short of the optimum).
        let mut t = 1.0;
        let mut next = theta.clone();
        let mut f_next = f;
        for _ in 0..60 {
            for k in 0..p {
                next[k] = theta[k] - t * step[k];
            }
            f_next = objective(&next);
            if f_next <= f + 1e-12 * f.abs().max(1.0) {
                break;
            }
            t *= 0.5;
        }
        iterations += 1;
        let moved = step.iter().fold(0.0f64, |m, v| m.max((t * v).abs()));
        theta = next;
        f = f_next;
        if moved <= 1e-14 {
            break;
        }
    }
    if !theta.iter().all(|v| v.is_finite()) {
        return Err(Error::Internal("logistic fit: non-finite coefficients".into()));
    }
    Ok(Logistic { intercept: theta[0], coef: theta[1..].to_vec(), iterations })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_feature_optimum_has_zero_gradient() {
        // Hand-checkable: at the optimum Σ(p−y) = 0 and Σ(p−y)x + l2·w = 0.
        let x = [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0];
        let y = [false, false, true, false, true, true];
        let m = fit(&x, 1, &y, 0.5).unwrap();
        let r: Vec<f64> = x.iter().zip(&y).map(|(v, t)| m.predict(&[*v]) - f64::from(u8::from(*t))).collect();
        assert!(r.iter().sum::<f64>().abs() < 1e-9);
        let gw: f64 = r.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>() + 0.5 * m.coef[0];
        assert!(gw.abs() < 1e-9, "{gw}");
        assert!(m.coef[0] > 0.0);
    }

    #[test]
    fn separable_data_stays_finite_and_one_class_is_an_error() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let m = fit(&x, 1, &[false, false, true, true], 1.0).unwrap();
        assert!(m.coef[0].is_finite() && m.coef[0] > 0.0);
        let e = fit(&x, 1, &[false; 4], 1.0).unwrap_err().to_string();
        assert!(e.contains("agrees with the human label on all 4"), "{e}");
        assert!(fit(&x, 1, &[true, false, true, false], 0.0).is_err());
    }

    #[test]
    fn sigmoid_and_softplus_do_not_overflow() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!((softplus(1000.0) - 1000.0).abs() < 1e-12);
        assert!(softplus(-1000.0) >= 0.0);
    }
}
