//! Times the judge-error model: fitting on 1,000 labelled rows (5-fold
//! cross-fitting plus the final fit, as `risk_fit` does after tagging) beside
//! scikit-learn's `LogisticRegression` on the same standardised features in the
//! same run, and routing 1,000,000 instances with the fitted model (scoring
//! every instance, then the top-k at a 37 % budget).
//!
//! ```text
//! cargo run --release --example bench_risk
//! PREFROUTE_REF_PYTHON=/path/to/python cargo run --release --example bench_risk
//! ```
//!
//! The features are synthetic at the scale of `features := 'auto'` on the bundled
//! files: 90 sparse 0/1 tag indicators, 11 measures, 3 judge signals. Tagging is
//! not timed here (see `bench_tag`); the reference python (default
//! `.venv/ref/bin/python`) needs numpy and scikit-learn.

use prefroute::risk::{cross_fit, fit_model, FeatureSet, InputSignals, Training};
use prefroute::route::{route_with, Budget, RouteModel, Strategy};
use prefroute::tags::{TagMatrix, TagSet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::process::Command;
use std::time::Instant;

const N_FIT: usize = 1_000;
const N_ROUTE: usize = 1_000_000;
const L2: f64 = 1.0;

fn main() {
    let features = FeatureSet::catalogue(&InputSignals { has_alt: true, ..Default::default() }).unwrap();
    let features = features.select(&features.names[..104], "bench").unwrap();
    let d = features.len();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (x, y) = synthetic(&mut rng, N_FIT, d);
    let data = Training { d, x, y };

    let t = Instant::now();
    let p = cross_fit(&data, &features, L2, 5, 42).unwrap();
    let model = fit_model(&data, &features, L2, serde_json::Value::Null).unwrap();
    let fit_s = t.elapsed().as_secs_f64();
    assert!(p.iter().all(|p| p.is_finite()));
    println!("judge-error model, {N_FIT} rows × {d} features, l2 = {L2}");
    println!(
        "  prefroute: 5-fold cross-fit + final fit (6 fits): {:.3} s ({:.1} ms per fit)",
        fit_s,
        fit_s / 6.0 * 1e3
    );
    match sklearn_time(&data) {
        Ok(s) => println!("  scikit-learn LogisticRegression(lbfgs), same standardised features: {s}"),
        Err(e) => println!("  scikit-learn: not run ({e})"),
    }

    // Routing: score 1M instances, then top-k.
    let (xr, _) = synthetic(&mut rng, N_ROUTE, d);
    let t = Instant::now();
    let probabilities: Vec<f64> = xr.chunks(d).map(|row| model.predict(row)).collect();
    let score_s = t.elapsed().as_secs_f64();
    let tags = TagMatrix::new(vec![TagSet::EMPTY; N_ROUTE]);
    let t = Instant::now();
    let routing = route_with(
        &tags,
        &[],
        RouteModel::JudgeError(&probabilities),
        Budget::Fraction(0.37),
        Strategy::Optimize,
        1,
    )
    .unwrap();
    let route_s = t.elapsed().as_secs_f64();
    println!(
        "routing {N_ROUTE} instances at 37 %: scoring {score_s:.3} s + top-k {route_s:.3} s = {:.3} s; \
         {} routed, expected accuracy {:.4}",
        score_s + route_s,
        routing.n_human(),
        routing.predicted
    );
}

/// `n` rows of `d` features: 90 indicators with rates 1–30 %, then
/// continuous values; the judge is wrong more often where a few are high.
fn synthetic(rng: &mut ChaCha8Rng, n: usize, d: usize) -> (Vec<f64>, Vec<bool>) {
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let start = x.len();
        for j in 0..d {
            x.push(if j < 90 {
                f64::from(u8::from(rng.random::<f64>() < 0.01 + 0.003 * j as f64))
            } else {
                rng.random::<f64>() * (1.0 + (j % 3) as f64)
            });
        }
        let row = &x[start..];
        let z = -1.5 + 1.2 * row[d - 1] - 0.8 * row[d - 5] + 0.6 * row[3];
        y.push(rng.random::<f64>() < 1.0 / (1.0 + (-z).exp()));
    }
    (x, y)
}

const SKLEARN_SCRIPT: &str = r#"
import sys, time, numpy as np
from sklearn.linear_model import LogisticRegression
data = np.loadtxt(sys.argv[1], delimiter=",")
x, y = data[:, :-1], data[:, -1]
mu, sd = x.mean(0), x.std(0)
z = (x - mu) / np.where(sd > 0, sd, 1)
best = {}
for solver in ["lbfgs", "newton-cholesky"]:
    times = []
    for _ in range(3):
        t = time.perf_counter()
        LogisticRegression(C=1.0, solver=solver, max_iter=1000).fit(z, y)
        times.append(time.perf_counter() - t)
    best[solver] = min(times)
print(f"lbfgs {best['lbfgs']*1e3:.1f} ms per fit, newton-cholesky {best['newton-cholesky']*1e3:.1f} ms per fit (best of 3)")
"#;

fn sklearn_time(data: &Training) -> Result<String, String> {
    let python = std::env::var("PREFROUTE_REF_PYTHON").unwrap_or_else(|_| ".venv/ref/bin/python".into());
    let path = std::env::temp_dir().join(format!("prefroute_bench_risk_{}.csv", std::process::id()));
    let mut text = String::new();
    for i in 0..data.len() {
        let row: Vec<String> = data.row(i).iter().map(|v| v.to_string()).collect();
        text.push_str(&format!("{},{}\n", row.join(","), u8::from(data.y[i])));
    }
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let out = Command::new(&python).arg("-c").arg(SKLEARN_SCRIPT).arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let out = out.map_err(|e| format!("cannot run {python}: {e} (set PREFROUTE_REF_PYTHON)"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
