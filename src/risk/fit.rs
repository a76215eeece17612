//! Fitting a judge-error model on rows with both labels, and scoring it
//! honestly: every row's cross-fitted probability comes from a model that did
//! not see that row.

use super::features::FeatureSet;
use super::logistic;
use super::model::{Platt, RiskModel};
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Training rows: raw feature values (row-major, NaN = unknown) and whether
/// the judge was wrong.
#[derive(Clone, Debug, Default)]
pub struct Training {
    /// Features per row.
    pub d: usize,
    pub x: Vec<f64>,
    pub y: Vec<bool>,
}

impl Training {
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// The rows at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Training {
        let mut x = Vec::with_capacity(idx.len() * self.d);
        for &i in idx {
            x.extend_from_slice(self.row(i));
        }
        Training { d: self.d, x, y: idx.iter().map(|&i| self.y[i]).collect() }
    }

    /// Indices of the features with at least one known value.
    pub fn known_features(&self) -> Vec<usize> {
        (0..self.d).filter(|&j| (0..self.len()).any(|i| !self.x[i * self.d + j].is_nan())).collect()
    }
}

/// Fits a model on `data` (columns named by `features`): standardises each
/// feature with its mean and population deviation over the known values
/// (deviation 0 → 1), takes unknowns as the mean, and fits the logistic
/// regression. A feature with no known value is an error naming it.
pub fn fit_model(
    data: &Training,
    features: &FeatureSet,
    l2: f64,
    meta: serde_json::Value,
) -> Result<RiskModel> {
    let (d, n) = (data.d, data.len());
    let mut mean = vec![0.0; d];
    let mut scale = vec![1.0; d];
    for j in 0..d {
        let known: Vec<f64> = (0..n).map(|i| data.x[i * d + j]).filter(|v| !v.is_nan()).collect();
        if known.is_empty() {
            return Err(Error::argument(
                format!("the feature '{}' has no value in any of the {n} training rows", features.names[j]),
                "leave it out of features := […], or give the input that column (or the model_dir it needs)",
            ));
        }
        let mu = known.iter().sum::<f64>() / known.len() as f64;
        let var = known.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / known.len() as f64;
        mean[j] = mu;
        let indicator = matches!(features.sources.get(j), Some(super::features::Source::Tag(_)));
        scale[j] = if !indicator && var.sqrt() > 1e-12 * mu.abs().max(1.0) { var.sqrt() } else { 1.0 };
    }
    let mut z = Vec::with_capacity(n * d);
    for i in 0..n {
        for j in 0..d {
            let v = data.x[i * d + j];
            z.push(if v.is_nan() { 0.0 } else { (v - mean[j]) / scale[j] });
        }
    }
    let fit = logistic::fit(&z, d, &data.y, l2)?;
    Ok(RiskModel {
        name: "risk_fit".into(),
        features: features.names.clone(),
        extra: features.extra.clone(),
        mean,
        scale,
        intercept: fit.intercept,
        coef: fit.coef,
        platt: None,
        calibration: None,
        meta,
    })
}

/// Fold of each of `n` rows: a seeded shuffle dealt round-robin, so folds
/// differ in size by at most one.
pub fn folds_of(n: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut fold = vec![0; n];
    for (p, &i) in order.iter().enumerate() {
        fold[i] = p % folds;
    }
    fold
}

/// Cross-fitted probabilities: row i scored by the model fitted on the other
/// folds. `folds` must be 2..=n.
pub fn cross_fit(
    data: &Training,
    features: &FeatureSet,
    l2: f64,
    folds: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let n = data.len();
    if folds < 2 || folds > n {
        return Err(Error::argument(
            format!("folds := {folds} must be between 2 and the {n} rows with both labels"),
            "use 5 (the default) or 10",
        ));
    }
    let fold = folds_of(n, folds, seed);
    let mut p = vec![f64::NAN; n];
    for f in 0..folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
        let model = fit_model(&data.subset(&train), features, l2, serde_json::Value::Null).map_err(|e| {
            Error::argument(
                format!("cross-fitting fold {} of {folds}: {e}", f + 1),
                "use fewer folds or more rows",
            )
        })?;
        for i in (0..n).filter(|&i| fold[i] == f) {
            p[i] = model.predict(data.row(i));
        }
    }
    Ok(p)
}

/// Fits Platt scaling of held-out (cross-fitted) probabilities `p` to outcomes
/// `y`: a logistic regression of `y` on `logit(p)`, with a negligible penalty
/// (1e-6) on the slope so that a degenerate set still has one answer. `None`
/// when the slope is not positive: the held-out probabilities do not rise with
/// the errors, and a map that flattened or reversed their order would change
/// the routing, not only the numbers.
pub fn fit_platt(p: &[f64], y: &[bool]) -> Result<Option<Platt>> {
    let z: Vec<f64> = p.iter().map(|&p| super::model::logit(p)).collect();
    let fit = logistic::fit(&z, 1, y, 1e-6)?;
    Ok((fit.coef[0] > 0.0).then_some(Platt { slope: fit.coef[0], intercept: fit.intercept }))
}

/// How well probabilities `p` predict outcomes `y`.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// Area under the ROC curve (ties count one half); NaN with one class.
    pub auc: f64,
    /// Mean negative log-likelihood (probabilities clipped to [1e-15, 1 − 1e-15], as scikit-learn).
    pub log_loss: f64,
    /// Mean squared error of `p`.
    pub brier: f64,
    /// Expected calibration error over 10 equal-width bins of `p`.
    pub ece: f64,
}

pub fn calibration(p: &[f64], y: &[bool]) -> Calibration {
    let n = p.len() as f64;
    let yv = |i: usize| f64::from(u8::from(y[i]));
    let log_loss = (0..p.len())
        .map(|i| {
            let q = p[i].clamp(1e-15, 1.0 - 1e-15);
            -(yv(i) * q.ln() + (1.0 - yv(i)) * (1.0 - q).ln())
        })
        .sum::<f64>()
        / n;
    let brier = (0..p.len()).map(|i| (p[i] - yv(i)).powi(2)).sum::<f64>() / n;
    let mut bins = [(0.0, 0.0, 0usize); 10];
    for (i, &q) in p.iter().enumerate() {
        let b = ((q * 10.0) as usize).min(9);
        bins[b].0 += q;
        bins[b].1 += yv(i);
        bins[b].2 += 1;
    }
    let ece = bins.iter().filter(|b| b.2 > 0).map(|b| (b.0 - b.1).abs()).sum::<f64>() / n;
    Calibration { auc: auc(p, y), log_loss, brier, ece }
}

/// ROC AUC by the rank-sum (Mann–Whitney) formula with average ranks for ties.
fn auc(p: &[f64], y: &[bool]) -> f64 {
    let pos = y.iter().filter(|v| **v).count();
    let neg = y.len() - pos;
    if pos == 0 || neg == 0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && p[order[j + 1]] == p[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += (i..=j).filter(|&k| y[order[k]]).count() as f64 * avg;
        i = j + 1;
    }
    (rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::features::InputSignals;

    #[test]
    fn auc_and_calibration_match_hand_counts() {
        // Pairs (pos, neg): (0.9 > 0.1), (0.9 > 0.4), (0.4 = 0.4 → ½), (0.4 > 0.1): 3.5 / 4.
        let p = [0.1, 0.4, 0.4, 0.9];
        let y = [false, true, false, true];
        let c = calibration(&p, &y);
        assert!((c.auc - 0.875).abs() < 1e-15);
        assert!((c.brier - (0.01 + 0.36 + 0.16 + 0.01) / 4.0).abs() < 1e-15);
        // Bins: {0.1}: |0.1 − 0|, {0.4, 0.4}: |0.8 − 1|, {0.9}: |0.9 − 1|.
        assert!((c.ece - (0.1 + 0.2 + 0.1) / 4.0).abs() < 1e-12);
        let ll = -(0.9f64.ln() + 0.4f64.ln() + 0.6f64.ln() + 0.9f64.ln()) / 4.0;
        assert!((c.log_loss - ll).abs() < 1e-12);
    }

    #[test]
    fn folds_are_balanced_seeded_and_cross_fitting_never_sees_the_row() {
        let f = folds_of(11, 5, 3);
        for k in 0..5 {
            let c = f.iter().filter(|x| **x == k).count();
            assert!(c == 2 || c == 3);
        }
        assert_eq!(f, folds_of(11, 5, 3));
        assert_ne!(f, folds_of(11, 5, 4));
        // One feature, where row 0 is an outlier: its cross-fitted p must not
        // equal the p of the model fitted on all rows.
        let features = FeatureSet::catalogue(&InputSignals::default())
            .unwrap()
            .select(&["rouge".to_string()], "t")
            .unwrap();
        let x: Vec<f64> = (0..40).map(|i| if i == 0 { 9.0 } else { (i % 7) as f64 }).collect();
        let y: Vec<bool> = (0..40).map(|i| i == 0 || i % 7 > 4).collect();
        let data = Training { d: 1, x, y };
        let p = cross_fit(&data, &features, 1.0, 5, 1).unwrap();
        let all = fit_model(&data, &features, 1.0, serde_json::Value::Null).unwrap();
        assert!((p[0] - all.predict(&[9.0])).abs() > 1e-6);
        assert!(cross_fit(&data, &features, 1.0, 1, 1).is_err());
        assert!(cross_fit(&data, &features, 1.0, 41, 1).is_err());
    }
}
