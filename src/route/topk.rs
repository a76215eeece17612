//! The paper's `topk` strategy (SPEC §4.1): each instance's stand-alone gain
//! `PPM({i}) − PPM(∅)`, sorted descending; the first `k` go to humans.
//!
//! With a linear PPM the gain is `Σ_t w_t·B_it`. With a quadratic PPM it also
//! includes the instance's own squares and cross terms (`B_it² = B_it`), so it
//! ignores how instances interact once many are routed; `optimize` does not.
//! The paper's pandas sort is not stable; here ties go to the lower input index.

use super::objective::Objective;
use super::{check_k, Routing};
use crate::error::Result;
use crate::ppm::DenseModel;
use crate::tags::TagMatrix;

/// Each instance's stand-alone gain `PPM({i}) − PPM(∅)`, in input order.
pub fn standalone_gains(tags: &TagMatrix, model: &DenseModel) -> Result<Vec<f64>> {
    let obj = Objective::new(model)?;
    Ok(tags.rows().iter().map(|s| obj.standalone(*s)).collect())
}

/// Routes the `k` instances with the highest stand-alone gain.
pub fn topk(tags: &TagMatrix, model: &DenseModel, k: usize) -> Result<Routing> {
    check_k(k, tags.len())?;
    let gain = standalone_gains(tags, model)?;
    let human = top_k_by(&gain, k);
    Ok(Routing::new(tags, model, human, gain))
}

/// The `k` highest scores (ties → lower index) as a membership vector.
pub(crate) fn top_k_by(score: &[f64], k: usize) -> Vec<bool> {
    let mut human = vec![false; score.len()];
    if k == 0 {
        return human;
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    if k < order.len() {
        order.select_nth_unstable_by(k - 1, |&a, &b| score[b].total_cmp(&score[a]).then_with(|| a.cmp(&b)));
    }
    for &i in &order[..k] {
        human[i] = true;
    }
    human
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppm::{Form, Model};
    use crate::tags::{TagSet, N_TAGS};

    fn set(tags: &[usize]) -> TagSet {
        let mut s = TagSet::EMPTY;
        for t in tags {
            s.insert(*t);
        }
        s
    }

    #[test]
    fn linear_gain_is_the_sum_of_tag_weights() {
        // w0 = 0.5, w1 = -0.25, w2 = 0.25 (binary-exact, so the tie below is exact).
        let model = Model {
            name: "t".into(),
            form: Form::Linear,
            tags: vec![0, 1, 2],
            intercept: 0.5,
            linear: vec![0.5, -0.25, 0.25],
            quadratic: vec![],
            meta: serde_json::Value::Null,
        }
        .dense();
        let tags =
            TagMatrix::new(vec![set(&[0]), set(&[1]), set(&[0, 1]), set(&[2]), set(&[0, 2]), set(&[])]);
        let r = topk(&tags, &model, 2).unwrap();
        // gains: 0.5, -0.25, 0.25, 0.25, 0.75, 0 → order 4, 0, {2, 3} (tie → 2), 5, 1
        assert_eq!(r.gain, vec![0.5, -0.25, 0.25, 0.25, 0.75, 0.0]);
        assert_eq!(r.human, vec![true, false, false, false, true, false]);
        assert_eq!(r.rank, vec![2, 6, 3, 4, 1, 5]);
        // counts of {0, 4}: tag 0 twice, tag 2 once → 0.5 + 2·0.5 + 0.25
        assert_eq!(r.predicted, 1.75);
        assert_eq!((r.counts[0], r.counts[1], r.counts[2]), (2.0, 0.0, 1.0));
    }

    #[test]
    fn quadratic_gain_includes_the_instances_own_terms() {
        let mut linear = [0.0; N_TAGS];
        linear[0] = 0.1;
        linear[1] = 0.1;
        let mut quadratic = vec![[0.0; N_TAGS]; N_TAGS];
        quadratic[0][0] = 0.05; // c0²
        quadratic[0][1] = -0.3; // c0·c1
        let model = DenseModel { intercept: 0.0, linear, quadratic, has_quadratic: true };
        let tags = TagMatrix::new(vec![set(&[0]), set(&[1]), set(&[0, 1])]);
        let r = topk(&tags, &model, 1).unwrap();
        // {0}: 0.1 + 0.05; {1}: 0.1; {0,1}: 0.2 + 0.05 - 0.3 = -0.05
        let want = [0.15, 0.1, -0.05];
        for (g, w) in r.gain.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
        assert_eq!(r.human, vec![true, false, false]);
        assert!(topk(&tags, &model, 4).unwrap_err().to_string().contains("4 instances"));
        assert_eq!(topk(&tags, &model, 0).unwrap().n_human(), 0);
        assert_eq!(topk(&tags, &model, 3).unwrap().n_human(), 3);
    }
}
