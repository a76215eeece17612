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
//! humans whose expected accuracy reaches the target), the model's ranking in
//! hindsight (the fewest humans, likeliest errors first, that would have
//! reached the target in that draw: what the ranking alone costs) and the
//! oracle (the fewest humans that reach the target knowing which AI labels
//! are wrong).
//!
//! The file is tagged once; each draw only refits. A draw's seed set is the
//! `random` strategy's sample under seed `seed + draw`, and its cross-fit uses
//! the same seed, so the table depends only on the arguments, never on the
//! thread count.

use super::{max_errors, plan};
use crate::error::{Error, Result};
use crate::risk::eval::{model_scores, score_routing, EvalData};
use crate::risk::fit::{cross_fit, fit_model, fit_platt};
use crate::risk::CalibrationData;
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
    /// Recalibrate the probabilities with Platt scaling fitted on the seed's
    /// cross-fitted ones, as `risk_fit` does (`false`: the logistic model's
    /// own). Only the point estimate changes: the promise depends on the
    /// order of `p` only.
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
    /// The model's ranking in hindsight: mean human share.
    pub ranked_human_share: f64,
    /// The oracle: mean human share, and its median over the draws.
    pub oracle_human_share: f64,
    pub oracle_median_share: f64,
}

/// One draw's outcome for one target: per confidence (met, human share,
/// accuracy, all-human), then the estimate's (met, share), the ranking's and
/// the oracle's share.
struct DrawTarget {
    promise: Vec<(bool, f64, f64, bool)>,
    estimate: (bool, f64),
    ranked: f64,
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
                    ranked_human_share: mean(&|r| r.ranked),
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
    // The model as risk_fit saves it: Platt-scaled (unless asked not to), with its calibration rows.
    let mut model = fit_model(&train, &features, opts.l2, serde_json::Value::Null)?;
    if opts.platt {
        model.platt = fit_platt(&cal_p, &train.y)?;
    }
    model.calibration = Some(CalibrationData { p: cal_p, wrong: train.y });
    let cal = model.calibration_set()?;
    let p = model_scores(data, &model, &rest)?;
    let agree: Vec<bool> = rest.iter().map(|&i| data.agree(i)).collect();
    let n = rest.len();
    let n_ai = rest.iter().filter(|&&i| data.ai[i].is_some()).count();
    let wrong_total = agree.iter().filter(|a| !**a).count();
    let share = |human: &[bool]| human.iter().filter(|h| **h).count() as f64 / n as f64;
    // Judge errors left to the AI (a row without an AI label counts as one unless routed).
    let errors = |human: &[bool]| agree.iter().zip(human).filter(|(a, h)| !**a && !**h).count();
    // Judge errors left to the AI after routing the first k rows in the model's order, k = 0..=n.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let mut left = vec![wrong_total; n + 1];
    for (k, &i) in order.iter().enumerate() {
        left[k + 1] = left[k] - usize::from(!agree[i]);
    }
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
        let human = top_k_by(&p, fewest_for_target(&p, target, n)?);
        out.push(DrawTarget {
            promise,
            estimate: (errors(&human) <= b, share(&human)),
            ranked: left.iter().position(|l| *l <= b).unwrap_or(n) as f64 / n as f64,
            oracle: wrong_total.saturating_sub(b) as f64 / n as f64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Label;
    use crate::risk::features::{FeatureSet, InputSignals};
    use crate::tags::TagSet;
    use rand::{Rng, SeedableRng};

    /// 400 rows: the judge errs with probability σ(2x − 1.5) on a feature x;
    /// 10 rows have no AI label.
    fn data() -> EvalData {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let features = FeatureSet::catalogue(&InputSignals::default())
            .unwrap()
            .select(&["rouge".to_string(), "log_len_ratio".to_string()], "test")
            .unwrap();
        let n = 400;
        let (mut ai, mut raw) = (Vec::new(), Vec::new());
        for i in 0..n {
            let x: f64 = rng.random::<f64>() * 2.0;
            raw.extend([x, rng.random::<f64>()]);
            let wrong = rng.random::<f64>() < 1.0 / (1.0 + (1.5 - 2.0 * x).exp());
            ai.push(if i % 40 == 0 {
                None
            } else if wrong {
                Some(Label::B)
            } else {
                Some(Label::A)
            });
        }
        EvalData {
            ids: (0..n).map(|i| format!("r{i}")).collect(),
            tags: vec![TagSet::default(); n],
            human: vec![Label::A; n],
            ai,
            features,
            raw,
        }
    }

    fn opts(threads: usize) -> GuaranteeOptions {
        GuaranteeOptions {
            seed_fractions: vec![0.3],
            targets: vec![0.8, 0.9],
            confidences: vec![0.8, 0.9],
            draws: 12,
            seed: 3,
            folds: 5,
            l2: 1.0,
            platt: true,
            threads,
        }
    }

    #[test]
    fn rows_are_the_same_for_any_thread_count_and_add_up() {
        let d = data();
        let one = guarantee_eval(&d, &opts(1)).unwrap();
        assert_eq!(one, guarantee_eval(&d, &opts(3)).unwrap());
        assert_eq!(one.len(), 4);
        for r in &one {
            assert_eq!((r.n_seed, r.n_routed, r.draws), (120, 280, 12));
            for share in [r.met, r.human_share, r.all_human, r.estimate_met, r.estimate_human_share] {
                assert!((0.0..=1.0).contains(&share));
            }
            // Whatever meets the target needs at least the oracle's humans, and
            // the promise's threshold routing in the model's order at least the ranking's.
            assert!(r.ranked_human_share >= r.oracle_human_share - 1e-12);
            if r.met == 1.0 {
                assert!(r.human_share >= r.ranked_human_share - 1e-12);
            }
        }
        // A higher confidence never takes fewer humans.
        assert!(one[1].human_share >= one[0].human_share && one[3].human_share >= one[2].human_share);
        assert_ne!(one, guarantee_eval(&d, &GuaranteeOptions { seed: 4, ..opts(1) }).unwrap());
    }
}
