//! The paper's knapsack candidate sampler (SPEC §3.1 step 3), used to draw
//! candidate routings for PPM training and for the `simulated` strategy.
//!
//! The paper shuffles the 90 tags, then walks them in that order, shuffles
//! each tag's instance list and appends every instance not yet selected, until
//! the capacity is reached. A candidate is thus a union of whole random tags
//! plus part of the last one. Only the last tag's shuffle affects which
//! instances are chosen (earlier tags are taken whole), and the first `r`
//! unseen instances of a uniformly shuffled list are a uniform `r`-subset of
//! its unseen instances. So this sampler shuffles the tag order and draws that
//! subset directly: the same distribution over candidates, in time
//! proportional to the tags it visits rather than to the whole dataset.
//!
//! Exact candidates cannot match the paper's (Python `random` across threads,
//! SPEC §8.11); here every candidate has its own RNG stream derived from
//! `(seed, candidate index)`, so results never depend on the thread count.

use crate::error::{Error, Result};
use crate::parallel::map_ordered;
use crate::tags::{TagMatrix, N_TAGS};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// For each tag, the instances (row indices, ascending) that carry it.
#[derive(Clone, Debug)]
pub struct TagIndex {
    lists: Vec<Vec<u32>>,
    n_instances: usize,
}

impl TagIndex {
    /// Builds the tag → instances map over the whole dataset.
    pub fn new(tags: &TagMatrix) -> Result<TagIndex> {
        if tags.len() > u32::MAX as usize {
            return Err(Error::argument(
                format!("{} instances are more than the {} the sampler supports", tags.len(), u32::MAX),
                "route a smaller dataset, or split it",
            ));
        }
        let mut sizes = [0usize; N_TAGS];
        for s in tags.rows() {
            for t in s.iter() {
                sizes[t] += 1;
            }
        }
        let mut lists: Vec<Vec<u32>> = sizes.iter().map(|n| Vec::with_capacity(*n)).collect();
        for (i, s) in tags.rows().iter().enumerate() {
            for t in s.iter() {
                lists[t].push(i as u32);
            }
        }
        Ok(TagIndex { lists, n_instances: tags.len() })
    }

    /// Instances carrying tag `t`, ascending.
    pub fn instances(&self, t: usize) -> &[u32] {
        &self.lists[t]
    }

    /// Number of instances in the dataset (tagged or not).
    pub fn n_instances(&self) -> usize {
        self.n_instances
    }
}

/// The RNG of candidate `index` under `seed`: its own ChaCha stream.
pub fn candidate_rng(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Stream 0 is left for draws that are not per candidate (budgets).
    rng.set_stream(index.wrapping_add(1));
    rng
}

/// One knapsack candidate: up to `capacity` instances, in selection order.
///
/// Fewer than `capacity` instances are returned only when fewer than
/// `capacity` instances carry any tag (as in the paper).
pub fn knapsack_candidate(index: &TagIndex, capacity: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut seen = vec![0u64; index.n_instances.div_ceil(64)];
    let mut routed = Vec::with_capacity(capacity.min(index.n_instances));
    let mut order: Vec<usize> = (0..N_TAGS).collect();
    order.shuffle(rng);
    let mut unseen: Vec<u32> = Vec::new();
    for t in order {
        let room = capacity - routed.len();
        if room == 0 {
            break;
        }
        unseen.clear();
        unseen.extend(index.lists[t].iter().copied().filter(|&i| seen[i as usize / 64] >> (i % 64) & 1 == 0));
        if unseen.len() > room {
            // Partial Fisher–Yates: a uniform `room`-subset of the unseen instances.
            for j in 0..room {
                let pick = rng.random_range(j..unseen.len());
                unseen.swap(j, pick);
            }
            unseen.truncate(room);
        }
        for &i in &unseen {
            seen[i as usize / 64] |= 1 << (i % 64);
            routed.push(i as usize);
        }
    }
    routed
}

/// A candidate routing drawn for PPM training.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The requested budget (instances); the paper's file names use this.
    pub budget: usize,
    /// The routed instances, ascending (may be fewer than `budget`, see [`knapsack_candidate`]).
    pub routed: Vec<usize>,
}

/// The paper's PPM training candidates (SPEC §3.1): `n_candidates` distinct
/// budgets uniform on `1..=N`, one knapsack candidate each. Deterministic for
/// `seed` whatever `threads` is.
///
/// The paper then drops ties and downsamples to 7000 pairs before counting;
/// that is the PPM trainer's step, not done here.
pub fn sample_candidates(
    tags: &TagMatrix,
    n_candidates: usize,
    seed: u64,
    threads: usize,
) -> Result<Vec<Candidate>> {
    let n = tags.len();
    if n_candidates > n {
        return Err(Error::argument(
            format!("{n_candidates} candidates need {n_candidates} distinct budgets, but there are only {n} instances"),
            format!("ask for at most {n} candidates"),
        ));
    }
    let index = TagIndex::new(tags)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let budgets: Vec<usize> =
        rand::seq::index::sample(&mut rng, n, n_candidates).iter().map(|b| b + 1).collect();
    let jobs: Vec<(usize, usize)> = budgets.into_iter().enumerate().collect();
    map_ordered(&jobs, threads, |&(j, budget)| {
        let mut routed = knapsack_candidate(&index, budget, &mut candidate_rng(seed, j as u64));
        routed.sort_unstable();
        Ok(Candidate { budget, routed })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::synthetic::synthetic_tags;
    use crate::tags::TagSet;

    #[test]
    fn the_index_lists_each_tags_instances() {
        let m = TagMatrix::new(vec![TagSet(0b101), TagSet(0b100), TagSet(0)]);
        let idx = TagIndex::new(&m).unwrap();
        assert_eq!(idx.instances(0), &[0]);
        assert_eq!(idx.instances(2), &[0, 1]);
        assert!(idx.instances(1).is_empty());
    }

    #[test]
    fn candidates_are_unions_of_whole_tags_plus_part_of_one() {
        // Three disjoint tags of sizes 3, 4, 5 and two untagged instances.
        let mut rows = vec![TagSet(1); 3];
        rows.extend(vec![TagSet(2); 4]);
        rows.extend(vec![TagSet(4); 5]);
        rows.extend(vec![TagSet(0); 2]);
        let m = TagMatrix::new(rows);
        let idx = TagIndex::new(&m).unwrap();
        for seed in 0..50 {
            let c = knapsack_candidate(&idx, 6, &mut candidate_rng(seed, 0));
            assert_eq!(c.len(), 6);
            let per_tag: Vec<usize> =
                (0..3).map(|t| c.iter().filter(|i| m.row(**i).contains(t)).count()).collect();
            let whole = [3, 4, 5];
            // Exactly one tag is partial (or none if 6 is a sum of whole tags: never here);
            // the first tag walked is whole unless it alone exceeds 6.
            let partial = (0..3).filter(|t| per_tag[*t] != 0 && per_tag[*t] != whole[*t]).count();
            assert!(partial <= 1, "seed {seed}: {per_tag:?}");
            assert!(c.iter().all(|i| *i < 12), "untagged instances are never sampled");
        }
        // Asking for more than the tagged instances returns all 12 tagged ones.
        let c = knapsack_candidate(&idx, 14, &mut candidate_rng(1, 0));
        assert_eq!(c.len(), 12);
    }

    #[test]
    fn sampling_is_deterministic_per_seed_and_thread_count() {
        let m = synthetic_tags(500, 1);
        let a = sample_candidates(&m, 40, 9, 1).unwrap();
        assert_eq!(a, sample_candidates(&m, 40, 9, 3).unwrap());
        assert_ne!(a, sample_candidates(&m, 40, 10, 1).unwrap());
        let mut budgets: Vec<usize> = a.iter().map(|c| c.budget).collect();
        budgets.sort_unstable();
        budgets.dedup();
        assert_eq!(budgets.len(), 40, "budgets are distinct");
        assert!(budgets.iter().all(|b| (1..=500).contains(b)));
        for c in &a {
            assert_eq!(c.routed.len(), c.budget, "every synthetic instance is tagged");
            assert!(c.routed.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(sample_candidates(&m, 501, 9, 1).is_err());
    }
}
