//! prefroute's PPM fit against scikit-learn, the independent reference.
//!
//! Fixtures come from `tests/reference/make_ppm_fixtures.py` (run with the reference venv; the
//! scikit-learn version is recorded in each file): two seeded synthetic candidate sets × 90
//! integer tag counts — "moderate" (100 training + 20 held-out rows, counts up to ~80) and
//! "large_counts" (150 + 30 rows, counts up to ~7000 as in 7000-pair candidates) — fitted by
//! `LinearRegression`, `Ridge(alpha)` and `PolynomialFeatures(2)` + either. The linear design is
//! exactly rank-deficient (two groups of bins sum to the same budget), the quadratic one has 4185
//! terms for 100–150 rows, and on "large_counts" its singular values spread over six decades with
//! a few below scikit-learn's `tol = 1e-6` cutoff: every minimum-norm corner is exercised.
//!
//! Tolerance at l2 = 0: predictions and coefficients within 1e-9 relative (measured: ≤ 2e-12).
//! The minimum-norm solution is computed through Gram matrices, whose condition number is
//! κ(Xc)²; a single eigendecomposition would only agree to ~ε·κ² (3e-7 on "large_counts",
//! κ ≈ 5e5). The second, Jacobi pass in `ppm::solve` brings it back to ~ε·κ.

use prefroute::ppm::{cross_val_predict, fit_model, Form, Metrics, Model};
use prefroute::tags::{Counts, N_TAGS};
use serde_json::Value;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ppm")
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(data_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn count_rows(v: &Value) -> Vec<Counts> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = floats(row);
            assert_eq!(row.len(), N_TAGS);
            let mut c = [0.0; N_TAGS];
            c.copy_from_slice(&row);
            c
        })
        .collect()
}

/// Largest |a − b| / |b| over the pairs.
fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / y.abs()).fold(0.0, f64::max)
}

/// Largest |a − b| relative to the largest |b| (for coefficient vectors with near-zero entries).
fn max_rel_to_norm(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / scale
}

/// The model's slopes in the fixture's order: 90 linear, then the 4095 (i ≤ j) quadratic terms.
fn flat_coef(m: &Model) -> Vec<f64> {
    let mut coef = m.linear.clone();
    if m.form == Form::Quadratic {
        let mut q = vec![0.0; N_TAGS * (N_TAGS + 1) / 2];
        let pos = |i: usize, j: usize| i * N_TAGS - i * (i + 1) / 2 + j; // row-major upper triangle
        for &(i, j, c) in &m.quadratic {
            q[pos(i, j)] = c;
        }
        coef.extend(q);
    }
    coef
}

struct Case {
    label: String,
    form: Form,
    l2: f64,
    model: Model,
    rank: Option<usize>,
    fixture: Value,
    test_x: Vec<Counts>,
    train_x: Vec<Counts>,
    train_y: Vec<f64>,
}

fn fitted_cases() -> Vec<Case> {
    let fx = read_json("sklearn_fits.json");
    let mut cases = Vec::new();
    for ds in fx["datasets"].as_array().unwrap() {
        let train_x = count_rows(&ds["train"]["counts"]);
        let train_y = floats(&ds["train"]["target"]);
        let test_x = count_rows(&ds["test"]["counts"]);
        for f in ds["fits"].as_array().unwrap() {
            let form = if f["form"] == "quadratic" { Form::Quadratic } else { Form::Linear };
            let l2 = f["l2"].as_f64().unwrap();
            let (model, rank) = fit_model(&train_x, &train_y, form, l2).unwrap();
            cases.push(Case {
                label: format!("{}/{}", ds["name"].as_str().unwrap(), f["name"].as_str().unwrap()),
                form,
                l2,
                model,
                rank,
                fixture: f.clone(),
                test_x: test_x.clone(),
                train_x: train_x.clone(),
                train_y: train_y.clone(),
            });
        }
    }
    assert_eq!(cases.len(), 8, "2 datasets × 4 fits");
    cases
}

fn check_fit(c: &Case, tol: f64) {
    let pred: Vec<f64> = c.test_x.iter().map(|x| c.model.predict(x)).collect();
    let rel = max_rel(&pred, &floats(&c.fixture["pred_test"]));
    let coef = max_rel_to_norm(&flat_coef(&c.model), &floats(&c.fixture["coef"]));
    let b = c.fixture["intercept"].as_f64().unwrap();
    let intercept = (c.model.intercept - b).abs() / b.abs();
    eprintln!(
        "{}: held-out predictions {rel:.1e}, coefficients {coef:.1e}, intercept {intercept:.1e}",
        c.label
    );
    assert!(rel < tol, "{}: predictions differ by {rel:e} (relative)", c.label);
    assert!(coef < tol, "{}: coefficients differ by {coef:e} (relative to the largest)", c.label);
    assert!(intercept < tol, "{}: intercept differs by {intercept:e}", c.label);
}

#[test]
fn ridge_matches_sklearn_ridge() {
    for c in fitted_cases().iter().filter(|c| c.l2 > 0.0) {
        check_fit(c, 1e-8);
    }
}

#[test]
fn min_norm_matches_sklearn_linear_regression() {
    for c in fitted_cases().iter().filter(|c| c.l2 == 0.0) {
        assert_eq!(c.rank, c.fixture["rank"].as_u64().map(|r| r as usize), "{}: effective rank", c.label);
        check_fit(c, 1e-9);
    }
}

#[test]
fn cross_validation_matches_sklearn_kfold() {
    for c in &fitted_cases() {
        let pred = cross_val_predict(&c.train_x, &c.train_y, c.form, c.l2, 5).unwrap();
        let rel = max_rel(&pred, &floats(&c.fixture["cv5_pred_train"]));
        eprintln!("{}: 5-fold out-of-fold predictions {rel:.1e}", c.label);
        assert!(rel < 1e-8, "{}: CV predictions differ by {rel:e}", c.label);
    }
}

#[test]
fn metrics_match_sklearn_and_scipy() {
    let m = &read_json("sklearn_fits.json")["metrics"];
    let got = Metrics::of(&floats(&m["y_true"]), &floats(&m["y_pred"]));
    for (what, g, w) in
        [("rmse", got.rmse, &m["rmse"]), ("r2", got.r2, &m["r2"]), ("spearman", got.spearman, &m["spearman"])]
    {
        let w = w.as_f64().unwrap();
        assert!((g - w).abs() < 1e-12, "{what}: {g} vs {w}");
    }
}

#[test]
fn exported_sklearn_models_predict_like_sklearn() {
    let fx = read_json("export_predictions.json");
    let test_x = count_rows(&fx["test_counts"]);
    for case in fx["cases"].as_array().unwrap() {
        let path = data_dir().join(case["file"].as_str().unwrap());
        let model = Model::load(&path).unwrap();
        let pred: Vec<f64> = test_x.iter().map(|x| model.predict(x)).collect();
        let rel = max_rel(&pred, &floats(&case["pred_test"]));
        eprintln!("{}: {} tags, max rel diff {rel:.2e}", case["case"], model.tags.len());
        assert!(rel < 1e-12, "{}: prefroute and sklearn predictions differ by {rel:e}", case["case"]);
        // Dense evaluation (what the routing strategies use) agrees too.
        let dense = model.dense();
        assert!(test_x.iter().all(|x| (dense.predict(x) - model.predict(x)).abs() < 1e-12));
    }
}
