//! The promise checked by brute force: on small pools, every assignment of
//! judge errors and every seed/rest split, the exact miss probability.

use super::*;

/// All `k`-subsets of `0..n` as membership masks.
fn subsets(n: usize, k: usize) -> Vec<u32> {
    (0u32..1 << n).filter(|m| m.count_ones() as usize == k).collect()
}

/// The exact probability, over every seed of size `m` of a pool with
/// probabilities `p` and errors `wrong`, that routing the rest by [`plan`]
/// leaves more than `b` judge errors to AI; and the mean human share.
fn exact_miss(p: &[f64], wrong: &[bool], m: usize, target: f64, confidence: f64) -> (f64, f64) {
    let n_pool = p.len();
    let seeds = subsets(n_pool, m);
    let (mut miss, mut share) = (0usize, 0.0);
    for &seed in &seeds {
        let in_seed = |i: usize| seed >> i & 1 == 1;
        let cal_p: Vec<f64> = (0..n_pool).filter(|&i| in_seed(i)).map(|i| p[i]).collect();
        let cal_w: Vec<bool> = (0..n_pool).filter(|&i| in_seed(i)).map(|i| wrong[i]).collect();
        let rest: Vec<usize> = (0..n_pool).filter(|&i| !in_seed(i)).collect();
        let n = rest.len();
        let pl = plan(&Calibration::new(&cal_p, &cal_w), n, n, target, confidence).unwrap();
        let human = pl.human(&rest.iter().map(|&i| p[i]).collect::<Vec<_>>());
        let errors = rest.iter().zip(&human).filter(|(&i, h)| wrong[i] && !**h).count();
        miss += usize::from(errors > pl.max_errors);
        share += human.iter().filter(|h| **h).count() as f64 / n as f64;
    }
    (miss as f64 / seeds.len() as f64, share / seeds.len() as f64)
}

#[test]
fn no_assignment_of_errors_misses_more_often_than_promised() {
    // Pool of 10, seed of 5: every one of the 1024 error patterns, 252 splits each,
    // with distinct probabilities and with ties (three values).
    let n_pool = 10;
    let distinct: Vec<f64> = (0..n_pool).map(|i| i as f64 / n_pool as f64).collect();
    let tied: Vec<f64> = (0..n_pool).map(|i| (i % 3) as f64 / 3.0).collect();
    let mut worst = 0.0f64;
    let mut routed_fewer = 0;
    for (target, confidence) in [(0.5, 0.7), (0.67, 0.5), (0.84, 0.4)] {
        for pattern in 0u32..1 << n_pool {
            let wrong: Vec<bool> = (0..n_pool).map(|i| pattern >> i & 1 == 1).collect();
            for p in [&distinct, &tied] {
                let (miss, share) = exact_miss(p, &wrong, 5, target, confidence);
                assert!(
                    miss <= 1.0 - confidence + 1e-12,
                    "pattern {pattern:010b}, target {target}, confidence {confidence}: misses {miss}"
                );
                worst = worst.max(miss / (1.0 - confidence));
                routed_fewer += usize::from(share < 1.0);
            }
        }
    }
    // The check has teeth: some patterns come close to the bound, and most
    // routings leave rows to the AI.
    assert!(worst > 0.5, "the worst pattern used only {worst} of the allowed miss probability");
    assert!(routed_fewer > 1000, "{routed_fewer}");
}

#[test]
fn allowed_errors_is_the_last_passing_count() {
    let (pool, m, b, delta) = (885, 177, 70, 0.1);
    let (c, bound) = allowed_errors(pool, m, b, delta).unwrap();
    assert!(bound <= delta && (bound - tails::hypergeom_cdf(c, pool, b + c + 1, m)).abs() < 1e-15);
    assert!(tails::hypergeom_cdf(c + 1, pool, b + c + 2, m) > delta);
    // A pool too small for the target: even zero seed errors are too likely by chance.
    assert_eq!(allowed_errors(20, 2, 3, 0.1), None);
    assert_eq!(allowed_errors(20, 0, 3, 0.1), None);
}

#[test]
fn plans_route_above_the_threshold_and_explain_the_impossible() {
    // 10 calibration rows, 4 wrong at p = 0.2, 0.4, 0.6, 0.8.
    let p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
    let wrong = [false, true, false, true, false, true, false, true, false, false];
    let cal = Calibration::new(&p, &wrong);
    assert_eq!((cal.rows(), cal.wrong()), (10, 4));
    // Target 0: anything goes, the AI labels everything (but a row without an AI label, p = 1).
    let easy = plan(&cal, 5, 5, 0.0, 0.9).unwrap();
    assert_eq!(easy.human(&[0.99, 1.0]), vec![false, true]);
    assert_eq!(easy.promised_accuracy(), 0.0);
    // Ten calibration rows cannot promise 0.99 of 1000 rows at 0.9.
    let hard = plan(&cal, 1000, 1000, 0.99, 0.9).unwrap();
    assert_eq!(hard.threshold(), None);
    assert_eq!(hard.human(&[0.0, 0.5]), vec![true, true]);
    let e = hard.all_human_error().unwrap().to_string();
    assert!(e.contains("cannot be promised at confidence := 0.9") && e.contains("a seed of at least"), "{e}");
    let Outcome::AllHuman { min_calibration_rows: Some(rows), .. } = hard.outcome else { panic!() };
    // With that many calibration rows some threshold passes, with one fewer none does.
    assert!(allowed_errors(rows + 1000, rows, 10, 0.1).is_some());
    assert!(allowed_errors(rows - 1 + 1000, rows - 1, 10, 0.1).is_none());
    assert!(plan(&cal, 10, 10, 0.9, 1.0).unwrap_err().to_string().contains("confidence := 1 must be"));
    assert!(plan(&cal, 10, 10, 1.2, 0.9).unwrap_err().to_string().contains("target_accuracy := 1.2"));
}

#[test]
fn max_errors_floors_without_float_surprises() {
    assert_eq!(max_errors(100, 0.9), 10);
    assert_eq!(max_errors(100, 0.7), 30);
    assert_eq!(max_errors(708, 0.9), 70);
    assert_eq!(max_errors(3, 1.0), 0);
    assert_eq!(max_errors(3, 0.0), 3);
}
