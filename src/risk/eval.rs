//! Measuring routers on data with both labels, human labels as the reference.
//!
//! For a routing of `k` of `n` instances, the hybrid dataset's label accuracy
//! counts a routed instance as right (a human labels it) and an AI-routed one
//! as right when the judge agrees with the human. Against it:
//!
//! * **random** — the expectation of a random routing of `k`:
//!   `k/n + (1 − k/n)·A/n`, with `A` the number of agreements;
//! * **oracle** — the best any routing of `k` can do: `min(1, (k + A)/n)`;
//! * **captured** — `(accuracy − random) / (oracle − random)`: the share of the
//!   possible gain over random that the router achieves (NULL when oracle =
//!   random, e.g. at budget 0 or when the judge is never wrong).
//!
//! [`route_eval`] runs this for several routers and budgets: a PPM (routing
//! on tags), a judge-error model file, the seeded `random` routing, and
//! `risk` — a judge-error model cross-fitted on the data itself, so that no
//! row is scored by a model that saw its label. With a `seed_fraction` the
//! model is instead fitted on a random seed set and every router is measured
//! on the other rows: the real workflow (label a seed, route the rest).

use super::features::FeatureSet;
use super::fit::{cross_fit, fit_model, Training};
use super::model::RiskModel;
use crate::data::Label;
use crate::error::{Error, Result};
use crate::ppm::Model;
use crate::route::random::random_routing;
use crate::route::{route, Budget, Strategy};
use crate::tags::{TagMatrix, TagSet};
use std::sync::Arc;

/// One router's figures at one budget.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalRow {
    pub model: String,
    pub budget: f64,
    pub n: usize,
    pub n_human: usize,
    pub accuracy: f64,
    pub random: f64,
    pub oracle: f64,
    pub captured: Option<f64>,
}

/// The figures of routing `human` when the judge agrees on `agree`.
pub fn score_routing(model: &str, budget: f64, agree: &[bool], human: &[bool]) -> EvalRow {
    let n = agree.len();
    let k = human.iter().filter(|h| **h).count();
    let a = agree.iter().filter(|x| **x).count();
    let right = k + agree.iter().zip(human).filter(|(ag, h)| **ag && !**h).count();
    let nf = n.max(1) as f64;
    let accuracy = right as f64 / nf;
    let random = k as f64 / nf + (1.0 - k as f64 / nf) * a as f64 / nf;
    let oracle = ((k + a) as f64 / nf).min(1.0);
    let captured = (oracle - random > 1e-12).then(|| (accuracy - random) / (oracle - random));
    EvalRow { model: model.to_string(), budget, n, n_human: k, accuracy, random, oracle, captured }
}

/// A router to measure.
#[derive(Clone, Debug)]
pub enum Router {
    /// A PPM, routing with `optimize` on the instances' tags.
    Ppm(String, Arc<Model>),
    /// A judge-error model file.
    RiskFile(String, Arc<RiskModel>),
    /// The seeded random routing.
    Random,
    /// A judge-error model fitted on the data (cross-fitted, or on the seed set).
    Risk,
}

/// Everything about the rows with a human label that routing and scoring need.
#[derive(Clone, Debug)]
pub struct EvalData {
    pub ids: Vec<String>,
    pub tags: Vec<TagSet>,
    pub human: Vec<Label>,
    pub ai: Vec<Option<Label>>,
    /// The features in `raw` (all the input offers, or the caller's selection).
    pub features: FeatureSet,
    /// Raw feature values, `ids.len() × features.len()`, NaN = unknown.
    pub raw: Vec<f64>,
}

/// How to fit the `risk` router and draw `random`.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    pub budgets: Vec<f64>,
    pub folds: usize,
    pub seed: u64,
    pub seed_fraction: Option<f64>,
    pub l2: f64,
    pub threads: usize,
}

impl EvalData {
    pub(crate) fn agree(&self, i: usize) -> bool {
        self.ai[i] == Some(self.human[i])
    }

    /// Training rows (both labels) among `rows`, over the features with a
    /// known value in them.
    pub(crate) fn training(&self, rows: &[usize]) -> Result<(Training, FeatureSet)> {
        let d = self.features.len();
        let both: Vec<usize> = rows.iter().copied().filter(|&i| self.ai[i].is_some()).collect();
        let known: Vec<usize> =
            (0..d).filter(|&j| both.iter().any(|&i| !self.raw[i * d + j].is_nan())).collect();
        let names: Vec<String> = known.iter().map(|&j| self.features.names[j].clone()).collect();
        let features = self.features.select(&names, "route_eval")?;
        let mut x = Vec::with_capacity(both.len() * known.len());
        for &i in &both {
            x.extend(known.iter().map(|&j| self.raw[i * d + j]));
        }
        let y = both.iter().map(|&i| !self.agree(i)).collect();
        Ok((Training { d: known.len(), x, y }, features))
    }

    /// Column of each of `names` in `raw`; a name this data lacks is an error.
    fn columns_of(&self, names: &[String]) -> Result<Vec<usize>> {
        names
            .iter()
            .map(|f| {
                self.features.names.iter().position(|g| g == f).ok_or_else(|| {
                    Error::argument(
                        format!("the model needs the feature '{f}', which this input does not offer"),
                        "evaluate on data that has the columns the model was fitted with",
                    )
                })
            })
            .collect()
    }
}

/// The probability that the AI label is wrong for each of `rows`, by a
/// model; 1 where there is no AI label.
pub(crate) fn model_scores(data: &EvalData, model: &RiskModel, rows: &[usize]) -> Result<Vec<f64>> {
    let cols = data.columns_of(&model.features)?;
    let d = data.features.len();
    let mut x = Vec::with_capacity(cols.len());
    Ok(rows
        .iter()
        .map(|&i| {
            if data.ai[i].is_none() {
                return 1.0;
            }
            x.clear();
            x.extend(cols.iter().map(|&j| data.raw[i * d + j]));
            model.predict(&x)
        })
        .collect())
}

/// Measures every router at every budget. See the module doc.
pub fn route_eval(data: &EvalData, routers: &[Router], opts: &EvalOptions) -> Result<Vec<EvalRow>> {
    route_eval_with(data, routers, opts, None)
}

/// [`route_eval`], given the `risk` router's cross-fitted probabilities over
/// all training rows when the caller already has them (`fit_report`).
fn route_eval_with(
    data: &EvalData,
    routers: &[Router],
    opts: &EvalOptions,
    cross_fitted: Option<&[f64]>,
) -> Result<Vec<EvalRow>> {
    let n_all = data.ids.len();
    // The seed set (smallest random keys) is fitted on; the rest is measured.
    let (seed_rows, rows): (Vec<usize>, Vec<usize>) = match opts.seed_fraction {
        None => (Vec::new(), (0..n_all).collect()),
        Some(f) => {
            let k = Budget::Fraction(f).resolve(n_all)?;
            let ids: Vec<&str> = data.ids.iter().map(String::as_str).collect();
            let seed = random_routing(&ids, k, opts.seed);
            (0..n_all).partition(|&i| seed[i])
        }
    };
    if rows.is_empty() {
        return Err(Error::argument("no rows are left to measure routers on", "use a smaller seed_fraction"));
    }
    let agree: Vec<bool> = rows.iter().map(|&i| data.agree(i)).collect();
    let ids: Vec<&str> = rows.iter().map(|&i| data.ids[i].as_str()).collect();
    let tags = TagMatrix::new(rows.iter().map(|&i| data.tags[i]).collect());
    let mut out = Vec::new();
    for router in routers {
        // Per router: a priority (higher → human first) or a routing per budget.
        let priority: Option<Vec<f64>> = match router {
            Router::Risk => Some(match cross_fitted {
                Some(p) if seed_rows.is_empty() => back_to_rows(data, &rows, p.iter().copied()),
                _ => fitted_scores(data, &seed_rows, &rows, opts)?,
            }),
            Router::RiskFile(_, m) => Some(model_scores(data, m, &rows)?),
            Router::Ppm(..) | Router::Random => None,
        };
        let name = match router {
            Router::Ppm(name, _) | Router::RiskFile(name, _) => name.clone(),
            Router::Random => "random".into(),
            Router::Risk => "risk".into(),
        };
        for &b in &opts.budgets {
            let k = Budget::Fraction(b).resolve(rows.len())?;
            let human = match (router, &priority) {
                (_, Some(p)) => crate::route::topk::top_k_by(p, k),
                (Router::Ppm(_, m), None) => {
                    route(&tags, &m.dense(), Budget::Count(k as u64), Strategy::Optimize, opts.threads)?.human
                }
                _ => random_routing(&ids, k, opts.seed),
            };
            out.push(score_routing(&name, b, &agree, &human));
        }
    }
    Ok(out)
}

/// What `risk_fit` reports: the cross-fitted quality of a judge-error model
/// on the data, and the model fitted on all of it.
#[derive(Clone, Debug)]
pub struct FitReport {
    /// Rows with both labels (the training rows) and how many disagree.
    pub n: usize,
    pub n_disagree: usize,
    pub calibration: super::fit::Calibration,
    /// `route_eval`'s figures for the cross-fitted model at `budgets`.
    pub captured: Vec<EvalRow>,
    pub model: RiskModel,
}

/// Cross-fits and scores a judge-error model on `data`, then fits it on all
/// rows with both labels.
pub fn fit_report(data: &EvalData, opts: &EvalOptions) -> Result<FitReport> {
    let all: Vec<usize> = (0..data.ids.len()).collect();
    let (train, features) = data.training(&all)?;
    let p = cross_fit(&train, &features, opts.l2, opts.folds, opts.seed)?;
    let calibration = super::fit::calibration(&p, &train.y);
    let captured = route_eval_with(data, &[Router::Risk], opts, Some(&p))?;
    let meta = serde_json::json!({
        "fitted_by": format!("prefroute {} risk_fit", env!("CARGO_PKG_VERSION")),
        "n": train.len(),
        "n_disagree": train.y.iter().filter(|y| **y).count(),
        "l2": opts.l2,
        "cross_fitted": {"folds": opts.folds, "seed": opts.seed, "auc": finite(calibration.auc),
                         "log_loss": calibration.log_loss, "brier": calibration.brier, "ece": calibration.ece},
    });
    let mut model = fit_model(&train, &features, opts.l2, meta)?;
    // The cross-fitted predictions recalibrate the model (Platt scaling) and are the
    // calibration rows of a promise (crate::guarantee).
    model.platt = super::fit::fit_platt(&p, &train.y)?;
    model.calibration = Some(super::model::CalibrationData { p: p.clone(), wrong: train.y.clone() });
    Ok(FitReport {
        n: train.len(),
        n_disagree: train.y.iter().filter(|y| **y).count(),
        calibration,
        captured,
        model,
    })
}

fn finite(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::Value::from(x)
    } else {
        serde_json::Value::Null
    }
}

/// The `risk` router's probabilities for `rows`: fitted on the seed rows, or
/// cross-fitted over `rows` themselves.
fn fitted_scores(
    data: &EvalData,
    seed_rows: &[usize],
    rows: &[usize],
    opts: &EvalOptions,
) -> Result<Vec<f64>> {
    if !seed_rows.is_empty() {
        let (train, features) = data.training(seed_rows)?;
        let model = fit_model(&train, &features, opts.l2, serde_json::Value::Null).map_err(|e| {
            Error::argument(
                format!("fitting on the seed set of {} rows: {e}", seed_rows.len()),
                "use a larger seed_fraction",
            )
        })?;
        return model_scores(data, &model, rows);
    }
    let (train, features) = data.training(rows)?;
    let p = cross_fit(&train, &features, opts.l2, opts.folds, opts.seed)?;
    Ok(back_to_rows(data, rows, p.into_iter()))
}

/// Probabilities of the training rows among `rows` (in order) back in `rows`
/// order, with 1 where a row has no AI label (it must go to a human).
fn back_to_rows(data: &EvalData, rows: &[usize], mut p: impl Iterator<Item = f64>) -> Vec<f64> {
    rows.iter().map(|&i| if data.ai[i].is_some() { p.next().unwrap_or(1.0) } else { 1.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_is_zero_for_random_expectation_and_one_for_the_oracle() {
        // 10 rows, the judge is wrong on rows 0..3 (A = 7).
        let agree: Vec<bool> = (0..10).map(|i| i >= 3).collect();
        // Oracle routing of 3: exactly the wrong rows → accuracy 1.
        let human: Vec<bool> = (0..10).map(|i| i < 3).collect();
        let r = score_routing("o", 0.3, &agree, &human);
        assert_eq!((r.n, r.n_human), (10, 3));
        assert!((r.accuracy - 1.0).abs() < 1e-15 && (r.oracle - 1.0).abs() < 1e-15);
        assert!((r.random - (0.3 + 0.7 * 0.7)).abs() < 1e-15);
        assert!((r.captured.unwrap() - 1.0).abs() < 1e-12);
        // Routing 3 rows the judge got right: accuracy 0.7, below random.
        let human: Vec<bool> = (0..10).map(|i| i >= 7).collect();
        let r = score_routing("w", 0.3, &agree, &human);
        assert!((r.accuracy - 0.7).abs() < 1e-15);
        assert!(((r.captured.unwrap()) - (0.7 - 0.79) / (1.0 - 0.79)).abs() < 1e-12);
        // Budget 0: oracle = random, captured undefined.
        assert_eq!(score_routing("z", 0.0, &agree, &[false; 10]).captured, None);
    }
}
