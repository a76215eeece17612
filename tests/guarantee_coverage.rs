//! The promise of `confidence :=` on synthetic pools where the judge's true
//! error probabilities are known: over thousands of seeded seed/rest splits
//! the routed rest must reach the target in at least the promised share of
//! draws (up to three standard errors of the share), while leaving rows to
//! the AI.
//!
//! Each row has a true error probability `π = σ(z)`, `z ~ N(−1.6, 1.3)`, and
//! the model's probability is a noisy view of it, `σ(z + N(0, 0.7))`, so the
//! routing order is informative but imperfect, as a fitted model's is. Two
//! settings: a fixed pool split many ways (the promise is conditional on the
//! pool: it must hold for this one), and a fresh pool per draw.

use prefroute::guarantee::{max_errors, plan, Calibration};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const POOL: usize = 600;
const SEED_ROWS: usize = 120;

struct Pool {
    p: Vec<f64>,
    wrong: Vec<bool>,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn pool(rng: &mut ChaCha8Rng) -> Pool {
    let (mut p, mut wrong) = (Vec::with_capacity(POOL), Vec::with_capacity(POOL));
    for _ in 0..POOL {
        let z = -1.6 + 1.3 * normal(rng);
        wrong.push(rng.random::<f64>() < sigmoid(z));
        p.push(sigmoid(z + 0.7 * normal(rng)));
    }
    Pool { p, wrong }
}

/// One split: a random seed of SEED_ROWS rows calibrates, the rest is routed.
/// Returns (target met, human share, oracle share).
fn split(pool: &Pool, rng: &mut ChaCha8Rng, target: f64, confidence: f64) -> (bool, f64, f64) {
    let mut order: Vec<usize> = (0..POOL).collect();
    // Partial Fisher–Yates: the first SEED_ROWS are a uniform random subset.
    for i in 0..SEED_ROWS {
        let j = rng.random_range(i..POOL);
        order.swap(i, j);
    }
    let (seed, rest) = order.split_at(SEED_ROWS);
    let cal_p: Vec<f64> = seed.iter().map(|&i| pool.p[i]).collect();
    let cal_w: Vec<bool> = seed.iter().map(|&i| pool.wrong[i]).collect();
    let n = rest.len();
    let pl = plan(&Calibration::new(&cal_p, &cal_w), n, n, target, confidence).unwrap();
    let human = pl.human(&rest.iter().map(|&i| pool.p[i]).collect::<Vec<_>>());
    let errors = rest.iter().zip(&human).filter(|(&i, h)| pool.wrong[i] && !**h).count();
    let wrong_rest = rest.iter().filter(|&&i| pool.wrong[i]).count();
    let b = max_errors(n, target);
    let share = human.iter().filter(|h| **h).count() as f64 / n as f64;
    (errors <= b, share, wrong_rest.saturating_sub(b) as f64 / n as f64)
}

fn check(label: &str, draws: usize, mut one: impl FnMut(f64, f64) -> (bool, f64, f64)) {
    for confidence in [0.8, 0.9] {
        for target in [0.85, 0.9, 0.95] {
            let (mut met, mut share, mut oracle) = (0usize, 0.0, 0.0);
            for _ in 0..draws {
                let (m, s, o) = one(target, confidence);
                met += usize::from(m);
                share += s;
                oracle += o;
            }
            let rate = met as f64 / draws as f64;
            let se = (confidence * (1.0 - confidence) / draws as f64).sqrt();
            let (share, oracle) = (share / draws as f64, oracle / draws as f64);
            println!("{label}: target {target} confidence {confidence}: met {rate:.4}, human share {share:.3}, oracle {oracle:.3}");
            assert!(rate >= confidence - 3.0 * se, "{label}: target {target} at {confidence}: met in {rate}");
            // Not the trivial promise: rows are left to the AI.
            assert!(share < 0.95, "{label}: target {target} at {confidence}: human share {share}");
        }
    }
}

#[test]
fn the_promise_holds_on_splits_of_one_pool() {
    let mut rng = ChaCha8Rng::seed_from_u64(20250101);
    let fixed = pool(&mut rng);
    check("one pool", 4000, |t, c| split(&fixed, &mut rng, t, c));
}

#[test]
fn the_promise_holds_on_fresh_pools() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    check("fresh pools", 3000, |t, c| {
        let p = pool(&mut rng);
        split(&p, &mut rng, t, c)
    });
}
