//! Measuring the promise: `guarantee_eval` repeats the real workflow — label a
//! random seed, fit the judge-error model on it, route the rest — over many
//! seeded draws of one file with both labels, and counts how often the
//! realised accuracy of the routed rest met the target.
//!
//! Per seed fraction, target and confidence it reports the share of draws
//! that met the target with the promise (`met`, which should be at least the
//! confidence up to sampling noise: its standard error over `D` draws is
//! `√(c(1 − c)/D)`, 0.03 for 100 draws at 0.9), the mean human share it took,
//! and, side by side, the point estimate (`target_accuracy` alone: the fewest
//! humans whose expected accuracy reaches the target) and the oracle (the
//! fewest humans that reach the target knowing which AI labels are wrong).
//!
//! The file is tagged once; each draw only refits. A draw's seed set is the
//! `random` strategy's sample under seed `seed + draw`, and its cross-fit uses
//! the same seed, so the table depends only on the arguments, never on the
//! thread count.

use super::{max_errors, plan, Calibration};
use crate::error::{Error, Result};
use crate::risk::eval::{model_scores, score_routing, EvalData};
use crate::risk::fit::{cross_fit, fit_model, platt, Platt};
use crate::route::random::random_routing;
use crate::route::topk::top_k_by;
use crate::route::{fewest_for_target, Budget};

/// What to measure.
#[derive(Clone, Debug)]
pub struct GuaranteeOptions {
    pub seed_fractions: Vec<f64>,
    pub targets: Vec<f64>,
    pub confidences: Vec<f64>,
    pub draws: usize,
    pub seed: u64,
    pub folds: usize,
    pub l2: f64,
    /// Recalibrate the point estimate's probabilities with Platt scaling
    /// fitted on the seed's cross-fitted ones (the promise is unaffected:
    /// it depends on the order of `p` only).
    pub platt: bool,
    pub threads: usize,
}

/// One seed fraction, target and confidence over all draws.
#[derive(Clone, Debug, PartialEq)]
pub struct GuaranteeRow {
    pub seed_fraction: f64,
    pub target: f64,
    pub confidence: f64,
    pub draws: usize,
    /// Rows in each draw's seed and in its rest (the rows routed and measured).
    pub n_seed: usize,
    pub n_routed: usize,
    /// With the promise: share of draws whose realised accuracy met the target,
    /// mean human share, mean realised accuracy, and the share of draws where
    /// only all-human could keep the promise (counted as all-human).
    pub met: f64,
    pub human_share: f64,
    pub accuracy: f64,
    pub all_human: f64,
    /// The point estimate: share of draws meeting the target, mean human share.
    pub estimate_met: f64,
    pub estimate_human_share: f64,
    /// The oracle: mean human share, and its median over the draws.
    pub oracle_human_share: f64,
    pub oracle_median_share: f64,
}

/// One draw's outcome for one target: per confidence (met, human share,
/// accuracy, all-human), then the estimate's (met, share) and the oracle's share.
struct DrawTarget {
    promise: Vec<(bool, f64, f64, bool)>,
    estimate: (bool, f64),
    oracle: f64,
}

/// Runs the draws and folds them into one row per seed fraction, target and confidence.
pub fn guarantee_eval(data: &EvalData, opts: &GuaranteeOptions) -> Result<Vec<GuaranteeRow>> {
    if opts.draws == 0 {
        return Err(Error::argument("draws := 0 measures nothing", "use 100 draws or more"));
    }
    let n_all = data.ids.len();
    let ids: Vec<&str> = data.ids.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for &fraction in &opts.seed_fractions {
        let k = Budget::Fraction(fraction).resolve(n_all)?;
        if k == 0 || k == n_all {
            return Err(Error::argument(
                format!("seed_fraction := {fraction} leaves {k} of the {n_all} rows with a human label in the seed"),
                "use a fraction that leaves rows on both sides, such as 0.2",
            ));
        }
        let draws: Vec<u64> = (0..opts.draws as u64).collect();
        let results = crate::parallel::map_ordered(&draws, opts.threads, |&d| {
            one_draw(data, &ids, k, opts.seed.wrapping_add(d), opts).map_err(|e| {
                Error::argument(
                    format!("draw {d} (seed {}) of seed_fraction {fraction}: {e}", opts.seed.wrapping_add(d)),
                    "use a larger seed_fraction",
                )
            })
        })?;
        for (t, &target) in opts.targets.iter().enumerate() {
            let mut oracle: Vec<f64> = results.iter().map(|r| r[t].oracle).collect();
            oracle.sort_unstable_by(f64::total_cmp);
            let nd = opts.draws as f64;
            let mean = |f: &dyn Fn(&DrawTarget) -> f64| results.iter().map(|r| f(&r[t])).sum::<f64>() / nd;
            for (c, &confidence) in opts.confidences.iter().enumerate() {
                out.push(GuaranteeRow {
                    seed_fraction: fraction,
                    target,
                    confidence,
                    draws: opts.draws,
                    n_seed: k,
                    n_routed: n_all - k,
                    met: mean(&|r| f64::from(u8::from(r.promise[c].0))),
                    human_share: mean(&|r| r.promise[c].1),
                    accuracy: mean(&|r| r.promise[c].2),
                    all_human: mean(&|r| f64::from(u8::from(r.promise[c].3))),
                    estimate_met: mean(&|r| f64::from(u8::from(r.estimate.0))),
                    estimate_human_share: mean(&|r| r.estimate.1),
                    oracle_human_share: mean(&|r| r.oracle),
                    oracle_median_share: median(&oracle),
                });
            }
        }
    }
    Ok(out)
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// One draw: seed of `k` rows under `seed`, fit, route the rest every way.
fn one_draw(
    data: &EvalData,
    ids: &[&str],
    k: usize,
    seed: u64,
    opts: &GuaranteeOptions,
) -> Result<Vec<DrawTarget>> {
    let in_seed = random_routing(ids, k, seed);
    let (seed_rows, rest): (Vec<usize>, Vec<usize>) = (0..ids.len()).partition(|&i| in_seed[i]);
    let (train, features) = data.training(&seed_rows)?;
    let cal_p = cross_fit(&train, &features, opts.l2, opts.folds, seed)?;
    let cal = Calibration::new(&cal_p, &train.y);
    let model = fit_model(&train, &features, opts.l2, serde_json::Value::Null)?;
    let p = model_scores(data, &model, &rest)?;
    let estimate_p = if opts.platt {
        let Platt { slope, intercept } = platt(&cal_p, &train.y)?;
        p.iter().map(|&q| if q >= 1.0 { q } else { Platt { slope, intercept }.apply(q) }).collect()
    } else {
        p.clone()
    };
    let agree: Vec<bool> = rest.iter().map(|&i| data.agree(i)).collect();
    let n = rest.len();
    let n_ai = rest.iter().filter(|&&i| data.ai[i].is_some()).count();
    let wrong_total = agree.iter().filter(|a| !**a).count();
    let share = |human: &[bool]| human.iter().filter(|h| **h).count() as f64 / n as f64;
    // Judge errors left to the AI (a row without an AI label counts as one unless routed).
    let errors = |human: &[bool]| agree.iter().zip(human).filter(|(a, h)| !**a && !**h).count();
    let mut out = Vec::with_capacity(opts.targets.len());
    for &target in &opts.targets {
        let b = max_errors(n, target);
        let mut promise = Vec::with_capacity(opts.confidences.len());
        for &confidence in &opts.confidences {
            let pl = plan(&cal, n, n_ai, target, confidence)?;
            let human = pl.human(&p);
            let accuracy = score_routing("promise", 0.0, &agree, &human).accuracy;
            promise.push((errors(&human) <= b, share(&human), accuracy, pl.threshold().is_none()));
        }
        let human = top_k_by(&estimate_p, fewest_for_target(&estimate_p, target, n)?);
        out.push(DrawTarget {
            promise,
            estimate: (errors(&human) <= b, share(&human)),
            oracle: wrong_total.saturating_sub(b) as f64 / n as f64,
        });
    }
    Ok(out)
}
