//! The PPM seen as an objective over routed sets: the predicted score of a
//! routing, and how one instance entering or leaving the routed set changes it.
//!
//! With counts `c` (a 90-vector), the PPM is `f(c) = b + w·c + cᵀUc` with `U`
//! upper-triangular. Let `S = U + Uᵀ`, `g = w + S c` (the gradient) and, for an
//! instance with tag indicator `x`, `q(x) = xᵀUx` (the quadratic terms within
//! its own tags). Exactly, with no approximation:
//!
//! * adding `x`:   `f(c + x) − f(c) = x·g + q(x)`
//! * removing `x`: `f(c) − f(c − x) = x·g − q(x)`
//! * alone:        `f(x) − f(0)     = x·w + q(x)` (the paper's `topk` gain)

use crate::error::{Error, Result};
use crate::ppm::DenseModel;
use crate::tags::{Counts, TagMatrix, TagSet, N_TAGS};

/// A PPM laid out for routing: linear weights, `U`, and `S = U + Uᵀ`.
#[derive(Clone, Debug)]
pub(crate) struct Objective {
    intercept: f64,
    linear: [f64; N_TAGS],
    /// `U[a][b]` for `a ≤ b`; zero elsewhere and when the model is linear.
    upper: Vec<[f64; N_TAGS]>,
    /// `S = U + Uᵀ` (so the diagonal is `2·U[a][a]`).
    sym: Vec<[f64; N_TAGS]>,
    quadratic: bool,
}

impl Objective {
    /// Checks the model (finite coefficients, 90 quadratic rows) and lays it out.
    pub(crate) fn new(model: &DenseModel) -> Result<Objective> {
        let bad = |what: String| {
            Error::model(
                "PPM",
                what,
                "refit the model, or check the model file for NaN or infinite coefficients",
            )
        };
        if !model.intercept.is_finite() {
            return Err(bad(format!("the intercept is {}", model.intercept)));
        }
        if let Some(t) = model.linear.iter().position(|w| !w.is_finite()) {
            return Err(bad(format!("the linear coefficient of tag {t} is {}", model.linear[t])));
        }
        let mut upper = vec![[0.0; N_TAGS]; N_TAGS];
        if model.has_quadratic {
            if model.quadratic.len() != N_TAGS {
                return Err(Error::Internal(format!(
                    "a dense quadratic model has {} rows, expected {N_TAGS}",
                    model.quadratic.len()
                )));
            }
            for (a, (row, given)) in upper.iter_mut().zip(&model.quadratic).enumerate() {
                for (b, (u, &q)) in row.iter_mut().zip(given).enumerate().skip(a) {
                    if !q.is_finite() {
                        return Err(bad(format!("the quadratic coefficient of tags ({a}, {b}) is {q}")));
                    }
                    *u = q;
                }
            }
        }
        let mut sym = vec![[0.0; N_TAGS]; N_TAGS];
        for a in 0..N_TAGS {
            for b in a..N_TAGS {
                sym[a][b] += upper[a][b];
                sym[b][a] += upper[a][b];
            }
        }
        let quadratic = model.has_quadratic && upper.iter().any(|row| row.iter().any(|q| *q != 0.0));
        Ok(Objective { intercept: model.intercept, linear: model.linear, upper, sym, quadratic })
    }

    /// Does the model have any non-zero quadratic term?
    pub(crate) fn is_quadratic(&self) -> bool {
        self.quadratic
    }

    /// The predicted score `f(c)`.
    pub(crate) fn value(&self, counts: &Counts) -> f64 {
        let mut y = self.intercept;
        for a in 0..N_TAGS {
            if counts[a] == 0.0 {
                continue;
            }
            y += self.linear[a] * counts[a];
            if self.quadratic {
                let row: f64 = self.upper[a][a..].iter().zip(&counts[a..]).map(|(u, c)| u * c).sum();
                y += row * counts[a];
            }
        }
        y
    }

    /// The gradient `g = w + S c`.
    pub(crate) fn gradient(&self, counts: &Counts) -> [f64; N_TAGS] {
        let mut g = self.linear;
        if self.quadratic {
            for (b, &cb) in counts.iter().enumerate() {
                if cb != 0.0 {
                    for (a, ga) in g.iter_mut().enumerate() {
                        *ga += self.sym[a][b] * cb;
                    }
                }
            }
        }
        g
    }

    /// `f(c + d) − f(c) = d·g + dᵀUd` for a count change `d`, where `g` is the
    /// gradient at `c`; also the sum of the absolute terms, to judge rounding.
    pub(crate) fn change(&self, g: &[f64; N_TAGS], d: &Counts) -> (f64, f64) {
        let (mut delta, mut gross) = (0.0, 0.0);
        for a in 0..N_TAGS {
            if d[a] == 0.0 {
                continue;
            }
            delta += g[a] * d[a];
            gross += (g[a] * d[a]).abs();
            if self.quadratic {
                for b in a..N_TAGS {
                    let term = self.upper[a][b] * d[a] * d[b];
                    delta += term;
                    gross += term.abs();
                }
            }
        }
        (delta, gross)
    }

    /// `xᵀSy`: how two instances' tags interact (the cross term of a swap).
    pub(crate) fn cross(&self, x: TagSet, y: TagSet) -> f64 {
        if !self.quadratic {
            return 0.0;
        }
        let mut s = 0.0;
        for a in x.iter() {
            for b in y.iter() {
                s += self.sym[a][b];
            }
        }
        s
    }

    /// `q(x)`: the quadratic terms within one instance's own tags.
    pub(crate) fn within(&self, set: TagSet) -> f64 {
        if !self.quadratic {
            return 0.0;
        }
        let mut s = 0.0;
        let mut rest = set.0;
        while rest != 0 {
            let a = rest.trailing_zeros() as usize;
            let mut inner = rest; // b ≥ a, including a itself
            while inner != 0 {
                let b = inner.trailing_zeros() as usize;
                s += self.upper[a][b];
                inner &= inner - 1;
            }
            rest &= rest - 1;
        }
        s
    }

    /// `x·v`: the sum of `v` over the instance's tags.
    pub(crate) fn dot(set: TagSet, v: &[f64; N_TAGS]) -> f64 {
        set.iter().map(|t| v[t]).sum()
    }

    /// `f(x) − f(0)`: the predicted gain of routing this instance alone.
    pub(crate) fn standalone(&self, set: TagSet) -> f64 {
        Objective::dot(set, &self.linear) + self.within(set)
    }

    /// Each instance's marginal value for the routed set `human` with counts
    /// `counts`: the loss if a routed instance is removed, the gain if an
    /// unrouted one is added.
    pub(crate) fn marginals(&self, tags: &TagMatrix, human: &[bool], counts: &Counts) -> Vec<f64> {
        let g = self.gradient(counts);
        tags.rows()
            .iter()
            .zip(human)
            .map(|(s, &h)| {
                let q = self.within(*s);
                let d = Objective::dot(*s, &g);
                if h {
                    d - q
                } else {
                    d + q
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppm::Form;
    use crate::route::synthetic::{random_model, synthetic_tags};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn value_matches_the_model_and_marginals_are_exact_differences() {
        let tags = synthetic_tags(60, 7);
        let model = random_model(Form::Quadratic, 5.0, 11);
        let obj = Objective::new(&model).unwrap();
        let human: Vec<bool> = (0..60).map(|i| i % 3 == 0).collect();
        let counts = tags.counts_of((0..60).filter(|i| human[*i]));
        assert!(close(obj.value(&counts), model.predict(&counts)));
        let m = obj.marginals(&tags, &human, &counts);
        for i in 0..60 {
            let mut with = human.clone();
            with[i] = !human[i];
            let other = model.predict(&tags.counts_of((0..60).filter(|j| with[*j])));
            let want = if human[i] { model.predict(&counts) - other } else { other - model.predict(&counts) };
            assert!(close(m[i], want), "instance {i}: {} vs {want}", m[i]);
        }
        // Standalone gain = PPM({i}) − PPM(0).
        for i in 0..5 {
            let want = model.predict(&tags.counts_of([i])) - model.predict(&[0.0; N_TAGS]);
            assert!(close(obj.standalone(tags.row(i)), want));
        }
    }

    #[test]
    fn non_finite_coefficients_are_model_errors() {
        let mut model = random_model(Form::Quadratic, 5.0, 1);
        model.quadratic[3][40] = f64::NAN;
        let e = Objective::new(&model).unwrap_err().to_string();
        assert!(e.contains("(3, 40)") && e.contains("NaN"), "{e}");
        let mut model = random_model(Form::Linear, 5.0, 1);
        model.linear[7] = f64::INFINITY;
        assert!(Objective::new(&model).unwrap_err().to_string().contains("tag 7"));
    }
}
