//! Budgeted routing: which instances go to humans, and the hybrid dataset.
//!
//! A [`Budget`] resolves to `k` instances. A strategy then picks the `k`
//! instances to route to human annotators, scoring routings with a
//! [`RouteModel`]: a PPM (a [`DenseModel`] over the tag counts of the routed
//! set) or a judge-error model (each instance's probability that the AI label
//! is wrong, [`crate::risk`]):
//!
//! * [`topk`](topk::topk): the paper's per-instance gain, sorted (SPEC §4.1);
//! * [`simulated`](simulated::simulated): the best of many knapsack candidates (SPEC §4.2);
//! * [`optimize`](optimize::optimize): prefroute's own search for the routed set
//!   with the highest predicted score;
//! * [`random`](random::random_routing): a seeded random sample, the baseline.
//!
//! Under a judge-error model the predicted score of a routing is the hybrid
//! dataset's expected label accuracy `1 − Σ_{i routed to AI} p_i / n`: a sum of
//! per-instance gains `p_i / n`, so `topk` and `optimize` are the same exact
//! answer (the `k` largest `p_i`) and `simulated` scores its candidates with it.
//!
//! Each returns a [`Routing`]; [`hybrid::assemble`] turns it and the two label
//! columns into the training-ready preference dataset.

pub mod budget;
pub mod hybrid;
pub mod knapsack;
mod objective;
pub mod optimize;
pub mod random;
pub mod simulated;
pub mod synthetic;
pub mod topk;

pub use budget::Budget;

use crate::error::{Error, Result};
use crate::ppm::DenseModel;
use crate::tags::{Counts, TagMatrix};
use objective::Objective;

/// The paper's number of knapsack candidates per budget for `simulated`.
pub const PAPER_N_SIMULATIONS: usize = 500;

/// The outcome of routing one dataset under one budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Routing {
    /// Per instance, in input order: route to a human annotator?
    pub human: Vec<bool>,
    /// Per instance: its gain in predicted score (PPM units). `topk` reports
    /// the paper's stand-alone gain `PPM({i}) − PPM(∅)`; `simulated` and
    /// `optimize` report the marginal gain with respect to the routed set (for
    /// a routed instance, the loss if it were removed; for the others, the
    /// gain if it were added). With a linear PPM all three are the same number.
    pub gain: Vec<f64>,
    /// Per instance: 1 = most worth a human. Routed instances come first (by
    /// gain, descending), then the others (by gain, descending); ties go to the
    /// lower input index. So `rank ≤ k` exactly when the instance is routed.
    pub rank: Vec<usize>,
    /// The PPM's predicted score of the routing (e.g. RewardBench Overall).
    pub predicted: f64,
    /// Per-tag counts of the routed instances (the PPM's input).
    pub counts: Counts,
}

impl Routing {
    /// Number of instances routed to humans.
    pub fn n_human(&self) -> usize {
        self.human.iter().filter(|h| **h).count()
    }

    /// Builds a routing from the routed set and a per-instance gain.
    fn new(tags: &TagMatrix, model: &DenseModel, human: Vec<bool>, gain: Vec<f64>) -> Routing {
        let counts = tags.counts_of(human.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| i));
        let rank = rank_routed_first(&human, &gain);
        Routing { human, gain, rank, predicted: model.predict(&counts), counts }
    }

    /// Builds a routing under a judge-error model: gain `p_i / n` (the
    /// expected accuracy an instance adds when routed), predicted score the
    /// expected accuracy.
    fn of_errors(tags: &TagMatrix, p: &[f64], human: Vec<bool>) -> Routing {
        let n = p.len().max(1) as f64;
        let gain: Vec<f64> = p.iter().map(|p| p / n).collect();
        let rank = rank_routed_first(&human, &gain);
        let predicted = expected_accuracy(p, &human);
        Routing { counts: routed_counts(tags, &human), human, gain, rank, predicted }
    }

    /// Builds a routing whose gains are the marginals with respect to the routed set.
    fn with_marginals(tags: &TagMatrix, model: &DenseModel, obj: &Objective, human: Vec<bool>) -> Routing {
        let counts = tags.counts_of(human.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| i));
        let gain = obj.marginals(tags, &human, &counts);
        Routing::new(tags, model, human, gain)
    }
}

/// Ranks 1..=n: routed first, then by gain descending, then by input index.
fn rank_routed_first(human: &[bool], gain: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..human.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        human[b].cmp(&human[a]).then_with(|| gain[b].total_cmp(&gain[a])).then_with(|| a.cmp(&b))
    });
    let mut rank = vec![0; human.len()];
    for (p, &i) in order.iter().enumerate() {
        rank[i] = p + 1;
    }
    rank
}

/// Rejects a budget of more instances than the data has (for direct callers
/// that bypass [`Budget::resolve`]).
fn check_k(k: usize, n: usize) -> Result<()> {
    if k > n {
        Err(Error::argument(
            format!("the budget of {k} instances is more than the {n} instances in the data"),
            format!("give at most {n}"),
        ))
    } else {
        Ok(())
    }
}

/// Which routing strategy to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The paper's per-instance gain, sorted (SPEC §4.1).
    TopK,
    /// The best of `n_simulations` knapsack candidates drawn with `seed` (SPEC §4.2).
    Simulated { n_simulations: usize, seed: u64 },
    /// prefroute's search for the routed set with the highest predicted score.
    Optimize,
    /// The `k` instances whose hash of (seed, id) is smallest: a random sample
    /// that is the same for any thread count and row order.
    Random { seed: u64 },
}

/// The model a routing is scored with. The two kinds answer different
/// questions: a PPM predicts a downstream score (e.g. a reward model's
/// RewardBench score) from the tag counts of the routed set; a judge-error
/// model predicts, per instance, the probability that the AI label is wrong,
/// and scores a routing by the hybrid dataset's expected label accuracy.
#[derive(Clone, Copy, Debug)]
pub enum RouteModel<'a> {
    Ppm(&'a DenseModel),
    /// `P(AI label ≠ human label)` per instance, in input order.
    JudgeError(&'a [f64]),
}

impl RouteModel<'_> {
    /// The predicted score of routing the instances marked in `human`.
    pub fn score(&self, tags: &TagMatrix, human: &[bool]) -> f64 {
        match self {
            RouteModel::Ppm(m) => m.predict(&routed_counts(tags, human)),
            RouteModel::JudgeError(p) => expected_accuracy(p, human),
        }
    }
}

/// Expected label accuracy of the hybrid dataset: a routed instance gets the
/// human label (right by definition), the others are right with probability
/// `1 − p_i`. 1 for no instances.
pub fn expected_accuracy(p: &[f64], human: &[bool]) -> f64 {
    if p.is_empty() {
        return 1.0;
    }
    let wrong: f64 = p.iter().zip(human).filter(|(_, h)| !**h).map(|(p, _)| p).sum();
    1.0 - wrong / p.len() as f64
}

/// The fewest instances (at most `max_k`) whose routing to humans, likeliest
/// judge errors first, gives an expected hybrid accuracy of at least `target`.
/// A target out of reach within `max_k` is an error saying the best reachable.
pub fn fewest_for_target(p: &[f64], target: f64, max_k: usize) -> Result<usize> {
    let n = p.len();
    let mut sorted = p.to_vec();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let mut wrong: f64 = sorted.iter().sum();
    let accuracy = |wrong: f64| if n == 0 { 1.0 } else { 1.0 - wrong / n as f64 };
    for (k, pk) in std::iter::once(0.0).chain(sorted.iter().copied()).enumerate().take(max_k.min(n) + 1) {
        wrong -= pk;
        // Float sums: accept within 1e-12 of the target.
        if accuracy(wrong.max(0.0)) >= target - 1e-12 {
            return Ok(k);
        }
    }
    Err(Error::argument(
        format!(
            "the target accuracy {target} cannot be reached with at most {} instances: the best reachable is {:.6}",
            max_k.min(n),
            accuracy(wrong.max(0.0))
        ),
        "lower target_accuracy, or allow a larger budget",
    ))
}

fn routed_counts(tags: &TagMatrix, human: &[bool]) -> Counts {
    tags.counts_of(human.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| i))
}

/// Routes `tags` under `budget` with `strategy`, scoring with the PPM `model`.
/// `threads` only affects speed, never the result. `ids` are needed only by
/// [`Strategy::Random`] (see [`route_with`]).
pub fn route(
    tags: &TagMatrix,
    model: &DenseModel,
    budget: Budget,
    strategy: Strategy,
    threads: usize,
) -> Result<Routing> {
    route_with(tags, &[], RouteModel::Ppm(model), budget, strategy, threads)
}

/// Routes `tags` (with instance ids `ids`, for `random`) under `budget` with
/// `strategy`, scoring with `model`. `threads` only affects speed.
pub fn route_with(
    tags: &TagMatrix,
    ids: &[&str],
    model: RouteModel,
    budget: Budget,
    strategy: Strategy,
    threads: usize,
) -> Result<Routing> {
    let k = budget.resolve(tags.len())?;
    if let RouteModel::JudgeError(p) = model {
        check_k(k, tags.len())?;
        if p.len() != tags.len() {
            return Err(Error::Internal(format!("{} probabilities for {} rows", p.len(), tags.len())));
        }
    }
    match (model, strategy) {
        (model, Strategy::Random { seed }) => {
            if ids.len() != tags.len() {
                return Err(Error::Internal(format!(
                    "random routing: {} ids for {} rows",
                    ids.len(),
                    tags.len()
                )));
            }
            let human = random::random_routing(ids, k, seed);
            match model {
                RouteModel::Ppm(m) => Ok(Routing::with_marginals(tags, m, &Objective::new(m)?, human)),
                RouteModel::JudgeError(p) => Ok(Routing::of_errors(tags, p, human)),
            }
        }
        (RouteModel::Ppm(m), Strategy::TopK) => topk::topk(tags, m, k),
        (RouteModel::Ppm(m), Strategy::Optimize) => optimize::optimize(tags, m, k, threads),
        (RouteModel::Ppm(m), Strategy::Simulated { n_simulations, seed }) => {
            simulated::simulated(tags, m, k, n_simulations, seed, threads)
        }
        // Under an error model top-k and optimize coincide: the k likeliest errors.
        (RouteModel::JudgeError(p), Strategy::TopK | Strategy::Optimize) => {
            Ok(Routing::of_errors(tags, p, topk::top_k_by(p, k)))
        }
        (RouteModel::JudgeError(p), Strategy::Simulated { n_simulations, seed }) => {
            let human = simulated::best_candidate(tags, k, n_simulations, seed, threads, |h| {
                expected_accuracy(p, h)
            })?;
            Ok(Routing::of_errors(tags, p, human))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_put_routed_instances_first() {
        let human = [false, true, false, true, false];
        let gain = [9.0, 1.0, 2.0, 3.0, 2.0];
        // routed: 3 (3.0), 1 (1.0); then 0 (9.0), 2 and 4 tie at 2.0 → lower index first.
        assert_eq!(rank_routed_first(&human, &gain), vec![3, 2, 4, 1, 5]);
    }
}
