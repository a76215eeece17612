//! The knapsack sampler against a literal transcription of the paper's
//! procedure (SPEC §3.1 step 3): same distribution over candidates.

use prefroute::route::knapsack::{candidate_rng, knapsack_candidate, sample_candidates, TagIndex};
use prefroute::tags::{TagMatrix, TagSet, N_TAGS};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// The paper's loop as written: shuffle the tags, shuffle each tag's ids in
/// place, append every id not yet selected, stop at `capacity`.
fn paper_knapsack(lists: &mut [Vec<usize>], capacity: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lists.len()).collect();
    order.shuffle(rng);
    let mut selected: Vec<usize> = Vec::new();
    'outer: for t in order {
        lists[t].shuffle(rng);
        for &i in &lists[t] {
            if selected.len() == capacity {
                break 'outer;
            }
            if !selected.contains(&i) {
                selected.push(i);
            }
        }
    }
    selected
}

fn mask(ids: &[usize]) -> u32 {
    ids.iter().fold(0, |m, i| m | 1 << i)
}

/// Ten instances with four overlapping tags (and one untagged instance).
fn small_matrix() -> TagMatrix {
    let tag_sets: [&[usize]; 10] =
        [&[0], &[0, 1], &[1], &[1, 2], &[2], &[2, 3], &[3], &[0, 3], &[0, 1, 2, 3], &[]];
    TagMatrix::new(
        tag_sets
            .iter()
            .map(|ts| {
                let mut s = TagSet::EMPTY;
                for t in *ts {
                    s.insert(*t);
                }
                s
            })
            .collect(),
    )
}

#[test]
fn the_candidate_distribution_matches_the_papers_procedure() {
    let m = small_matrix();
    let index = TagIndex::new(&m).unwrap();
    let mut lists: Vec<Vec<usize>> =
        (0..N_TAGS).map(|t| index.instances(t).iter().map(|i| *i as usize).collect()).collect();
    let draws = 40_000;
    for capacity in [2, 4, 6] {
        let mut ours: HashMap<u32, f64> = HashMap::new();
        let mut paper: HashMap<u32, f64> = HashMap::new();
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        for j in 0..draws {
            let c = knapsack_candidate(&index, capacity, &mut candidate_rng(5, j));
            assert_eq!(c.len(), capacity);
            *ours.entry(mask(&c)).or_default() += 1.0 / draws as f64;
            *paper.entry(mask(&paper_knapsack(&mut lists, capacity, &mut rng))).or_default() +=
                1.0 / draws as f64;
        }
        let keys: std::collections::HashSet<u32> = ours.keys().chain(paper.keys()).copied().collect();
        let tv: f64 = keys
            .iter()
            .map(|k| (ours.get(k).unwrap_or(&0.0) - paper.get(k).unwrap_or(&0.0)).abs())
            .sum::<f64>()
            / 2.0;
        println!("capacity {capacity}: {} distinct candidates, total variation {tv:.4}", keys.len());
        assert!(tv < 0.03, "capacity {capacity}: total variation {tv}");
        assert!(!ours.keys().any(|k| k & (1 << 9) != 0), "the untagged instance is never sampled");
    }
}

#[test]
fn candidates_are_reproducible_per_seed() {
    let m = prefroute::route::synthetic::synthetic_tags(2000, 12);
    let index = TagIndex::new(&m).unwrap();
    let a = knapsack_candidate(&index, 700, &mut candidate_rng(3, 8));
    assert_eq!(a, knapsack_candidate(&index, 700, &mut candidate_rng(3, 8)));
    assert_ne!(a, knapsack_candidate(&index, 700, &mut candidate_rng(3, 9)));
    assert_ne!(a, knapsack_candidate(&index, 700, &mut candidate_rng(4, 8)));
    let mut sorted = a.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 700, "no instance is selected twice");

    let one = sample_candidates(&m, 25, 42, 1).unwrap();
    let four = sample_candidates(&m, 25, 42, 4).unwrap();
    assert_eq!(one, four);
    // Budgets are distinct draws from 1..=N: asking for N of them gives every budget.
    let all = sample_candidates(&small_matrix(), 10, 1, 2).unwrap();
    let mut budgets: Vec<usize> = all.iter().map(|c| c.budget).collect();
    budgets.sort_unstable();
    assert_eq!(budgets, (1..=10).collect::<Vec<_>>(), "10 distinct budgets out of 10 is every budget");
    for c in &all {
        assert_eq!(c.routed.len(), c.budget.min(9), "only 9 instances carry a tag");
    }
}
