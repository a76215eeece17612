//! Times the PPM fit on 500 synthetic candidates (the paper's candidate count)
//! and, in the same run, scikit-learn on the same data, then prints both and
//! how closely the two agree.
//!
//! ```text
//! cargo run --release --example bench_ppm_fit
//! PREFROUTE_REF_PYTHON=/path/to/python cargo run --release --example bench_ppm_fit
//! ```
//!
//! The candidates mimic 7000-pair candidate datasets: 1–7000 routed instances,
//! per-tag rates skewed towards rare tags, integer counts, a nonlinear target
//! plus noise. The reference python (default `.venv/ref/bin/python`, override
//! with `PREFROUTE_REF_PYTHON`) needs numpy and scikit-learn; without it only
//! prefroute's timings are printed.

use prefroute::ppm::{fit, fit_model, FitOptions, Form, Model};
use prefroute::tags::{Counts, N_TAGS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::process::Command;
use std::time::Instant;

const N_CANDIDATES: usize = 500;
const N_NEW: usize = 50;
const REPEATS: usize = 3;
/// Ridge penalty for the comparison: ~1e-6 of the largest eigenvalue of the
/// centred kernel here, so the ridge system (prefroute's and sklearn's alike)
/// has a condition number near 1e6 and both sides are accurate to ~1e-10.
const RIDGE_L2: f64 = 1e11;

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let rates: Vec<f64> = (0..N_TAGS).map(|_| 0.6 * rng.random::<f64>().powi(3)).collect();
    let (counts, target) = candidates(&mut rng, &rates, N_CANDIDATES + N_NEW);
    let (train_x, new_x) = counts.split_at(N_CANDIDATES);
    let train_y = &target[..N_CANDIDATES];
    let set = prefroute::ppm::TrainingSet { counts: train_x.to_vec(), target: train_y.to_vec() };

    println!("PPM fit, quadratic (90 + 4095 terms), {N_CANDIDATES} synthetic candidates, best of {REPEATS}");
    let paper = FitOptions { form: Form::Quadratic, l2: 0.0, test_fraction: 0.2, seed: 42, folds: None };
    let t = best_of(|| fit(&set, &paper).map(|r| r.model));
    println!("  prefroute fit(), min-norm, 20% held out (400 train rows): {t:8.3} s");
    let report = fit(&set, &paper).expect("fit");
    if let Some(test) = report.test {
        println!(
            "    rank {:?}; held-out RMSE {:.4}, R² {:.3}, Spearman {:.3}",
            report.rank, test.rmse, test.r2, test.spearman
        );
    }
    let held_out_ridge = fit(&set, &FitOptions { l2: RIDGE_L2, ..paper }).expect("fit");
    if let Some(test) = held_out_ridge.test {
        println!(
            "    (with ridge l2 = {RIDGE_L2:e}: held-out RMSE {:.4}, R² {:.3}, Spearman {:.3})",
            test.rmse, test.r2, test.spearman
        );
    }
    let all = FitOptions { test_fraction: 0.0, ..paper };
    let t_ols = best_of(|| fit(&set, &all).map(|r| r.model));
    println!("  prefroute fit(), min-norm, all {N_CANDIDATES} rows:                {t_ols:8.3} s");
    let ridge = FitOptions { l2: RIDGE_L2, ..all };
    let t_ridge = best_of(|| fit(&set, &ridge).map(|r| r.model));
    println!("  prefroute fit(), ridge l2 = {RIDGE_L2:e}, all rows:            {t_ridge:8.3} s");

    let ours_ols = fit_model(train_x, train_y, Form::Quadratic, 0.0).expect("fit").0;
    let ours_ridge = fit_model(train_x, train_y, Form::Quadratic, RIDGE_L2).expect("fit").0;

    let python = std::env::var("PREFROUTE_REF_PYTHON").unwrap_or_else(|_| ".venv/ref/bin/python".into());
    match sklearn(&python, train_x, train_y, new_x) {
        Ok(sk) => {
            let f = |k: &str| sk[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "  scikit-learn {} PolynomialFeatures(2)+LinearRegression, all rows: {:8.3} s",
                sk["version"].as_str().unwrap_or("?"),
                f("t_ols")
            );
            println!(
                "  scikit-learn PolynomialFeatures(2)+Ridge, all rows:            {:8.3} s",
                f("t_ridge")
            );
            println!("    (numpy BLAS threads: {})", sk["threads"]);
            for (what, model, key) in
                [("min-norm", &ours_ols, "pred_ols"), ("ridge", &ours_ridge, "pred_ridge")]
            {
                let want: Vec<f64> = sk[key]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                    .unwrap_or_default();
                println!(
                    "  agreement on {N_NEW} new candidates, {what}: max relative difference {:.1e}",
                    max_rel(model, new_x, &want)
                );
            }
            if let Some(rank) = sk["rank"].as_u64() {
                println!(
                    "    sklearn rank {rank}, prefroute rank {:?}",
                    fit_model(train_x, train_y, Form::Quadratic, 0.0).expect("fit").1
                );
            }
        }
        Err(e) => println!("  scikit-learn comparison skipped: {e}"),
    }
}

/// `n` candidates: per-tag counts of the routed instances and a score.
fn candidates(rng: &mut ChaCha8Rng, rates: &[f64], n: usize) -> (Vec<Counts>, Vec<f64>) {
    let mut counts = Vec::with_capacity(n);
    let mut target = Vec::with_capacity(n);
    for _ in 0..n {
        let budget = rng.random_range(1..=7000) as f64;
        let mut c = [0.0; N_TAGS];
        for (t, rate) in rates.iter().enumerate() {
            c[t] = (budget * rate * rng.random_range(0.8..1.2)).floor();
        }
        // The signal lives on the four most common tags (their share of the routed set).
        let mut common: Vec<usize> = (0..N_TAGS).collect();
        common.sort_by(|&a, &b| rates[b].total_cmp(&rates[a]));
        let s = |k: usize| c[common[k]] / budget * 10.0;
        let noise = (-2.0 * rng.random::<f64>().max(1e-300).ln()).sqrt()
            * (std::f64::consts::TAU * rng.random::<f64>()).cos();
        target.push(0.62 + 0.02 * s(0).sqrt() - 0.01 * s(1) + 0.004 * s(2) * s(3) + 0.005 * noise);
        counts.push(c);
    }
    (counts, target)
}

fn best_of(mut f: impl FnMut() -> prefroute::Result<Model>) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..REPEATS {
        let start = Instant::now();
        f().expect("fit");
        best = best.min(start.elapsed().as_secs_f64());
    }
    best
}

fn max_rel(model: &Model, xs: &[Counts], want: &[f64]) -> f64 {
    if want.len() != xs.len() {
        return f64::NAN;
    }
    xs.iter().zip(want).map(|(x, w)| (model.predict(x) - w).abs() / w.abs()).fold(0.0, f64::max)
}

const SKLEARN_SCRIPT: &str = r#"
import json, sys, time
import numpy as np, sklearn
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.preprocessing import PolynomialFeatures
d = json.load(open(sys.argv[1]))
x, y, new = np.array(d["x"]), np.array(d["y"]), np.array(d["new"])
def best(make):
    t = float("inf")
    for _ in range(int(d["repeats"])):
        s = time.perf_counter(); poly = PolynomialFeatures(2); m = make().fit(poly.fit_transform(x), y)
        t = min(t, time.perf_counter() - s)
    return t, m, poly
t_ols, ols, poly = best(LinearRegression)
t_ridge, ridge, _ = best(lambda: Ridge(alpha=d["l2"]))
p = poly.transform(new)
try:
    from threadpoolctl import threadpool_info
    threads = [i.get("num_threads") for i in threadpool_info()]
except Exception:
    threads = "unknown"
print(json.dumps({"version": sklearn.__version__, "t_ols": t_ols, "t_ridge": t_ridge, "rank": int(ols.rank_),
                  "pred_ols": ols.predict(p).tolist(), "pred_ridge": ridge.predict(p).tolist(), "threads": threads}))
"#;

fn sklearn(python: &str, x: &[Counts], y: &[f64], new: &[Counts]) -> Result<serde_json::Value, String> {
    let rows = |r: &[Counts]| r.iter().map(|c| c.to_vec()).collect::<Vec<_>>();
    let data =
        serde_json::json!({ "x": rows(x), "y": y, "new": rows(new), "l2": RIDGE_L2, "repeats": REPEATS });
    let path = std::env::temp_dir().join(format!("prefroute-bench-ppm-{}.json", std::process::id()));
    std::fs::write(&path, data.to_string()).map_err(|e| e.to_string())?;
    let out = Command::new(python).arg("-c").arg(SKLEARN_SCRIPT).arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let out = out.map_err(|e| format!("cannot run {python}: {e} (set PREFROUTE_REF_PYTHON)"))?;
    if !out.status.success() {
        return Err(format!("{python} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("unexpected output from {python}: {e}"))
}
