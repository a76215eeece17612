//! `optimize` against independent references: the exhaustive optimum on small
//! problems (every subset of size k), and the paper's strategies (`topk`,
//! `simulated` with 500 candidates) on synthetic data with quadratic PPMs.

use prefroute::ppm::{DenseModel, Form};
use prefroute::route::optimize::optimize;
use prefroute::route::simulated::simulated;
use prefroute::route::synthetic::{random_model, synthetic_tags};
use prefroute::route::topk::topk;
use prefroute::route::{route, Budget, Strategy};
use prefroute::tags::{TagMatrix, TagSet, N_TAGS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The best predicted score over every subset of size `k`, by enumeration.
fn brute_force(tags: &TagMatrix, model: &DenseModel, k: usize) -> f64 {
    let n = tags.len();
    let mut best = f64::NEG_INFINITY;
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize == k {
            let counts = tags.counts_of((0..n).filter(|i| mask >> i & 1 == 1));
            best = best.max(model.predict(&counts));
        }
    }
    best
}

/// Small random tag sets over the first `n_tags` tags: strong interactions.
fn dense_small_tags(n: usize, n_tags: usize, rng: &mut ChaCha8Rng) -> TagMatrix {
    TagMatrix::new(
        (0..n)
            .map(|_| {
                let mut s = TagSet::EMPTY;
                for t in 0..n_tags {
                    if rng.random::<f64>() < 0.4 {
                        s.insert(t);
                    }
                }
                s
            })
            .collect(),
    )
}

/// A quadratic model whose quadratic part dominates (unit-scale coefficients).
fn strong_quadratic(rng: &mut ChaCha8Rng) -> DenseModel {
    let mut linear = [0.0; N_TAGS];
    let mut quadratic = vec![[0.0; N_TAGS]; N_TAGS];
    for a in 0..N_TAGS {
        linear[a] = rng.random::<f64>() * 2.0 - 1.0;
        for q in quadratic[a].iter_mut().skip(a) {
            *q = rng.random::<f64>() * 2.0 - 1.0;
        }
    }
    DenseModel { intercept: 0.0, linear, quadratic, has_quadratic: true }
}

#[test]
fn optimize_matches_the_exhaustive_optimum_on_small_problems() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let (mut cases, mut exact, mut worst_gap) = (0, 0, 0.0f64);
    for trial in 0..60 {
        let n = 8 + trial % 5; // 8..=12
        let (tags, model) = match trial % 3 {
            0 => (synthetic_tags(n, trial as u64), random_model(Form::Quadratic, 2.0, trial as u64)),
            1 => (dense_small_tags(n, 6, &mut rng), strong_quadratic(&mut rng)),
            _ => (dense_small_tags(n, 12, &mut rng), strong_quadratic(&mut rng)),
        };
        for k in 1..n {
            let best = brute_force(&tags, &model, k);
            let got = optimize(&tags, &model, k, 1).unwrap();
            assert_eq!(got.n_human(), k);
            assert!(got.predicted <= best + 1e-9 * (1.0 + best.abs()), "cannot beat the optimum");
            let scale = (best - model.intercept).abs().max(1e-12);
            let gap = (best - got.predicted) / scale;
            cases += 1;
            if gap <= 1e-9 {
                exact += 1;
            }
            if gap > 1e-9 {
                println!("miss: trial {trial} n={n} k={k} gap={gap:.3e} best={best} got={}", got.predicted);
            }
            worst_gap = worst_gap.max(gap);
        }
    }
    println!("optimize found the exact optimum in {exact}/{cases} cases; worst relative gap {worst_gap:.3e}");
    assert!(exact * 100 >= cases * 95, "{exact}/{cases}");
    assert!(worst_gap < 0.05, "{worst_gap}");
}

#[test]
fn optimize_beats_topk_and_500_simulations_at_every_budget() {
    for (n, seed) in [(300, 1u64), (1000, 2), (3000, 3)] {
        let tags = synthetic_tags(n, seed);
        // Counts of a routed tag are about k/6; the model's scale is set for mid budgets.
        let model = random_model(Form::Quadratic, n as f64 / 12.0, 100 + seed);
        for b in 1..=9 {
            let budget = Budget::parse(b as f64 / 10.0).unwrap();
            let k = budget.resolve(n).unwrap();
            let o = route(&tags, &model, budget, Strategy::Optimize, 2).unwrap();
            let t = topk(&tags, &model, k).unwrap();
            let s = simulated(&tags, &model, k, 500, seed, 2).unwrap();
            println!(
                "n={n} budget=0.{b} k={k}: optimize {:.6} topk {:.6} simulated {:.6}",
                o.predicted, t.predicted, s.predicted
            );
            assert_eq!(o.n_human(), k);
            assert!(o.predicted >= t.predicted, "n={n} b=0.{b}: below topk");
            assert!(o.predicted >= s.predicted, "n={n} b=0.{b}: below simulated");
        }
    }
}

#[test]
fn optimize_is_the_exact_top_k_for_a_linear_model() {
    // With a linear PPM the score is additive, so the optimum is the k best gains:
    // check against the brute force too.
    let tags = synthetic_tags(12, 9);
    let model = random_model(Form::Linear, 1.0, 9);
    for k in 0..=12 {
        let got = optimize(&tags, &model, k, 1).unwrap();
        let best = if k == 0 { model.intercept } else { brute_force(&tags, &model, k) };
        assert!((got.predicted - best).abs() < 1e-12, "k={k}");
    }
}
