//! Budgeted routing: which instances go to humans, and the hybrid dataset.
//!
//! A [`Budget`] resolves to `k` instances. A strategy then picks the `k`
//! instances to route to human annotators, scoring routings with the PPM
//! (a [`DenseModel`]):
//!
//! * [`topk`](topk::topk): the paper's per-instance gain, sorted (SPEC §4.1);
//! * [`simulated`](simulated::simulated): the best of many knapsack candidates (SPEC §4.2);
//! * [`optimize`](optimize::optimize): prefroute's own search for the routed set
//!   with the highest predicted score.
//!
//! Each returns a [`Routing`]; [`hybrid::assemble`] turns it and the two label
//! columns into the training-ready preference dataset.

pub mod budget;
pub mod hybrid;
pub mod knapsack;
mod objective;
pub mod optimize;
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
}

/// Routes `tags` under `budget` with `strategy`, scoring with `model`.
/// `threads` only affects speed, never the result.
pub fn route(
    tags: &TagMatrix,
    model: &DenseModel,
    budget: Budget,
    strategy: Strategy,
    threads: usize,
) -> Result<Routing> {
    let k = budget.resolve(tags.len())?;
    match strategy {
        Strategy::TopK => topk::topk(tags, model, k),
        Strategy::Simulated { n_simulations, seed } => {
            simulated::simulated(tags, model, k, n_simulations, seed, threads)
        }
        Strategy::Optimize => optimize::optimize(tags, model, k, threads),
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
