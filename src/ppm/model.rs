//! The PPM itself: a linear or quadratic function of per-tag counts.

use crate::tags::{Counts, N_TAGS, TAG_NAMES};

/// Linear: `b + Σ w_t c_t`. Quadratic: linear plus `Σ_{i≤j} q_ij c_i c_j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Linear,
    Quadratic,
}

impl Form {
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Linear => "linear",
            Form::Quadratic => "quadratic",
        }
    }
}

/// A PPM over a subset of the canonical tags, as stored in a model file.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Where the model came from (a path or an embedded name), for messages.
    pub name: String,
    pub form: Form,
    /// Canonical tag index of each model column, in the model's column order.
    pub tags: Vec<usize>,
    pub intercept: f64,
    /// One coefficient per model column.
    pub linear: Vec<f64>,
    /// `(i, j, coef)` with `i ≤ j` indexing model columns: the term `coef·c_i·c_j`.
    pub quadratic: Vec<(usize, usize, f64)>,
    /// Training facts (free-form JSON object).
    pub meta: serde_json::Value,
}

impl Model {
    /// The predicted score of a routing whose human-routed instances have these tag counts.
    pub fn predict(&self, counts: &Counts) -> f64 {
        let c = |k: usize| counts[self.tags[k]];
        let mut y = self.intercept;
        for (k, w) in self.linear.iter().enumerate() {
            y += w * c(k);
        }
        for &(i, j, q) in &self.quadratic {
            y += q * c(i) * c(j);
        }
        y
    }

    /// The embedded `paper-prior` model: a linear prior from the paper's
    /// published per-tag gains on MultiPref (Table 12), not fitted to any user data.
    pub fn paper_prior() -> Model {
        let coefs = crate::generated::PAPER_PRIOR_COEFFICIENTS;
        Model {
            name: "paper-prior".into(),
            form: Form::Linear,
            tags: coefs.iter().map(|(t, _)| *t).collect(),
            intercept: 0.665,
            linear: coefs.iter().map(|(_, c)| *c).collect(),
            quadratic: Vec::new(),
            meta: serde_json::json!({
                "source": "Miranda et al. 2024, Table 12: mean gain (x1e-3 RewardBench Overall) of routing 100 \
                           MultiPref instances with the tag to humans, quadratic PPM",
                "coefficient": "gain x 1e-3 / 100",
                "intercept": "0.665, the paper's all-AI MultiPref score",
                "fitted_to_user_data": false
            }),
        }
    }

    /// The model with coefficients laid out over all 90 canonical tags, for fast evaluation.
    pub fn dense(&self) -> DenseModel {
        let mut linear = [0.0; N_TAGS];
        for (k, w) in self.linear.iter().enumerate() {
            linear[self.tags[k]] += w;
        }
        let mut quadratic = vec![[0.0; N_TAGS]; N_TAGS];
        for &(i, j, q) in &self.quadratic {
            let (a, b) = (self.tags[i].min(self.tags[j]), self.tags[i].max(self.tags[j]));
            quadratic[a][b] += q;
        }
        let has_quadratic = self.quadratic.iter().any(|t| t.2 != 0.0);
        DenseModel { intercept: self.intercept, linear, quadratic, has_quadratic }
    }

    /// Canonical names of the model's columns.
    pub fn tag_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tags.iter().map(|t| TAG_NAMES[*t])
    }
}

/// A model over all 90 canonical tags: `b + w·c + Σ_{a≤b} Q[a][b]·c_a·c_b`
/// (Q is upper-triangular). Routing strategies evaluate this form.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseModel {
    pub intercept: f64,
    pub linear: [f64; N_TAGS],
    /// Upper-triangular: only `quadratic[a][b]` with `a ≤ b` is used.
    pub quadratic: Vec<[f64; N_TAGS]>,
    /// False when every quadratic coefficient is zero (a linear model).
    pub has_quadratic: bool,
}

impl DenseModel {
    /// The predicted score for these counts.
    pub fn predict(&self, counts: &Counts) -> f64 {
        let mut y = self.intercept;
        for a in 0..N_TAGS {
            if counts[a] == 0.0 {
                continue;
            }
            y += self.linear[a] * counts[a];
            if self.has_quadratic {
                for b in a..N_TAGS {
                    y += self.quadratic[a][b] * counts[a] * counts[b];
                }
            }
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_prior_follows_the_published_gains() {
        let m = Model::paper_prior();
        assert_eq!(m.tags.len(), 89, "tag 0 (bertscore < 0.33) has no published gain");
        let family = crate::tags::tag_index(
            "analyzer_closed_set::feature_name=subject_of_expertise|constraints=Family and consumer science",
        )
        .unwrap();
        let k = m.tags.iter().position(|t| *t == family).unwrap();
        // Table 12: -0.63321 x 1e-3 for 100 instances.
        assert!((m.linear[k] - (-0.63321e-3 / 100.0)).abs() < 1e-18);
        assert_eq!(m.predict(&[0.0; N_TAGS]), 0.665);
    }

    #[test]
    fn dense_form_predicts_the_same() {
        let m = Model {
            name: "t".into(),
            form: Form::Quadratic,
            tags: vec![5, 2, 80],
            intercept: 0.5,
            linear: vec![0.1, -0.2, 0.3],
            quadratic: vec![(0, 0, 0.01), (0, 1, -0.02), (1, 2, 0.03), (2, 2, 0.004)],
            meta: serde_json::Value::Null,
        };
        let mut c = [0.0; N_TAGS];
        c[5] = 3.0;
        c[2] = 2.0;
        c[80] = 7.0;
        // by hand: 0.5 + 0.3 - 0.4 + 2.1 + 0.01*9 - 0.02*6 + 0.03*14 + 0.004*49
        let want = 0.5 + 0.3 - 0.4 + 2.1 + 0.09 - 0.12 + 0.42 + 0.196;
        assert!((m.predict(&c) - want).abs() < 1e-12);
        assert!((m.dense().predict(&c) - want).abs() < 1e-12);
    }
}
