//! The paper's `simulated` strategy (SPEC §4.2): draw knapsack candidates of
//! the budget's size, score each with the PPM, route the best.
//!
//! Differences from the paper's pipeline, on purpose: a candidate is scored on
//! the tag counts of its whole routed set. The paper first drops ties and
//! downsamples the hybrid dataset to 7000 pairs, then counts only the routed
//! instances that survive; that makes the score of a routing random and
//! depend on the labels, which routing here does not read. The number of
//! candidates is a parameter (the paper hard-codes 500, [`PAPER_N_SIMULATIONS`]).
//! Ties in predicted score go to the lower candidate index.
//!
//! [`PAPER_N_SIMULATIONS`]: super::PAPER_N_SIMULATIONS

use super::knapsack::{candidate_rng, knapsack_candidate, TagIndex};
use super::objective::Objective;
use super::{check_k, Routing};
use crate::error::{Error, Result};
use crate::parallel::map_ordered;
use crate::ppm::DenseModel;
use crate::tags::TagMatrix;

/// Routes the best of `n_simulations` knapsack candidates of `k` instances.
///
/// Candidate `j` uses the RNG stream `(seed, j)`, so the result depends on
/// `seed` and `n_simulations` but never on `threads`. Only when fewer than
/// `k` instances carry any tag is the candidate topped up, with untagged
/// instances in input order (they do not change the prediction), so that
/// exactly `k` instances are routed.
pub fn simulated(
    tags: &TagMatrix,
    model: &DenseModel,
    k: usize,
    n_simulations: usize,
    seed: u64,
    threads: usize,
) -> Result<Routing> {
    check_k(k, tags.len())?;
    if n_simulations == 0 {
        return Err(Error::argument(
            "the number of simulations is 0",
            format!("draw at least 1 candidate; the paper draws {}", super::PAPER_N_SIMULATIONS),
        ));
    }
    let obj = Objective::new(model)?;
    let index = TagIndex::new(tags)?;
    let jobs: Vec<u64> = (0..n_simulations as u64).collect();
    let predicted = map_ordered(&jobs, threads, |&j| {
        let routed = knapsack_candidate(&index, k, &mut candidate_rng(seed, j));
        Ok(model.predict(&tags.counts_of(routed)))
    })?;
    let mut best = 0;
    for (j, p) in predicted.iter().enumerate() {
        if p.total_cmp(&predicted[best]).is_gt() {
            best = j;
        }
    }
    // Regenerate the winner rather than keeping every candidate in memory.
    let human = topped_up(tags, &knapsack_candidate(&index, k, &mut candidate_rng(seed, best as u64)), k);
    Ok(Routing::with_marginals(tags, model, &obj, human))
}

/// The membership vector of a candidate's `routed` instances, topped up to
/// `k` with untagged instances in input order.
fn topped_up(tags: &TagMatrix, routed: &[usize], k: usize) -> Vec<bool> {
    let mut human = vec![false; tags.len()];
    for &i in routed {
        human[i] = true;
    }
    let mut missing = k.saturating_sub(routed.len());
    for (i, s) in tags.rows().iter().enumerate() {
        if missing == 0 {
            break;
        }
        if s.is_empty() && !human[i] {
            human[i] = true;
            missing -= 1;
        }
    }
    human
}

/// The best of `n_simulations` knapsack candidates of `k` instances under any
/// score of a membership vector (the judge-error model's expected accuracy),
/// topped up as in [`simulated`]. Candidate `j` uses the RNG stream `(seed, j)`.
pub(crate) fn best_candidate(
    tags: &TagMatrix,
    k: usize,
    n_simulations: usize,
    seed: u64,
    threads: usize,
    score: impl Fn(&[bool]) -> f64 + Sync,
) -> Result<Vec<bool>> {
    if n_simulations == 0 {
        return Err(Error::argument("the number of simulations is 0", "draw at least 1 candidate"));
    }
    let index = TagIndex::new(tags)?;
    let member = |j: u64| topped_up(tags, &knapsack_candidate(&index, k, &mut candidate_rng(seed, j)), k);
    let jobs: Vec<u64> = (0..n_simulations as u64).collect();
    let scores = map_ordered(&jobs, threads, |&j| Ok(score(&member(j))))?;
    let best = (0..scores.len()).fold(0, |b, j| if scores[j].total_cmp(&scores[b]).is_gt() { j } else { b });
    Ok(member(best as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppm::Form;
    use crate::route::synthetic::{random_model, synthetic_tags};
    use crate::tags::TagSet;

    #[test]
    fn the_winner_is_the_best_candidate_and_threads_do_not_matter() {
        let tags = synthetic_tags(400, 2);
        let model = random_model(Form::Quadratic, 30.0, 5);
        let r = simulated(&tags, &model, 150, 40, 17, 1).unwrap();
        assert_eq!(r, simulated(&tags, &model, 150, 40, 17, 3).unwrap());
        assert_eq!(r.n_human(), 150);
        let index = TagIndex::new(&tags).unwrap();
        let best = (0..40)
            .map(|j| {
                model.predict(&tags.counts_of(knapsack_candidate(&index, 150, &mut candidate_rng(17, j))))
            })
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(r.predicted, best);
        assert!(simulated(&tags, &model, 150, 0, 17, 1).is_err());
    }

    #[test]
    fn short_candidates_are_topped_up_with_untagged_instances() {
        let tags = TagMatrix::new(vec![TagSet(1), TagSet(0), TagSet(2), TagSet(0), TagSet(0)]);
        let model = random_model(Form::Linear, 1.0, 5);
        let r = simulated(&tags, &model, 3, 5, 1, 1).unwrap();
        assert_eq!(r.human, vec![true, true, true, false, false]);
    }
}
