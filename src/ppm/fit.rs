//! Fitting a PPM to candidate datasets: per-tag counts of each candidate's
//! human-routed instances → the score of the reward model trained on it
//! (SPEC §3.3). Holds the input checks, the seeded held-out split, k-fold
//! cross-validation and the metrics report; the algebra is in `solve`.

use super::metrics::Metrics;
use super::model::{Form, Model};
use super::solve::{design, quadratic_pairs, solve, RCOND};
use crate::error::{Error, Result};
use crate::tags::{Counts, N_TAGS, TAG_NAMES};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Candidate datasets with their observed scores: the PPM's training data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingSet {
    /// Per-tag counts of each candidate's human-routed instances (NaN stands for NULL).
    pub counts: Vec<Counts>,
    /// Observed score of each candidate (e.g. RewardBench Overall, 0–1).
    pub target: Vec<f64>,
}

/// How to fit and evaluate a PPM.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    pub form: Form,
    /// Ridge penalty on the slopes (the intercept is never penalised); 0 = minimum-norm OLS.
    pub l2: f64,
    /// Share of candidates held out for testing, in `[0, 1)`; the test size is `ceil(fraction·n)`.
    pub test_fraction: f64,
    /// Seed of the held-out shuffle.
    pub seed: u64,
    /// Number of cross-validation folds over the training candidates (None = no CV).
    pub folds: Option<usize>,
}

impl Default for FitOptions {
    /// The paper's setup: quadratic, unregularised, 20% held out.
    fn default() -> Self {
        FitOptions { form: Form::Quadratic, l2: 0.0, test_fraction: 0.2, seed: 42, folds: None }
    }
}

/// A fitted model and how well it fits.
#[derive(Clone, Debug)]
pub struct FitReport {
    /// Fitted on the training candidates only; its `meta` repeats this report.
    pub model: Model,
    /// In-sample fit on the training candidates.
    pub train: Metrics,
    /// Fit on the held-out candidates (None when `test_fraction` is 0).
    pub test: Option<Metrics>,
    /// Pooled out-of-fold fit over the training candidates (None without `folds`).
    pub cv: Option<Metrics>,
    pub n_train: usize,
    pub n_test: usize,
    /// Effective rank of the centred design (minimum-norm fits only).
    pub rank: Option<usize>,
}

/// Fits a PPM: checks the input, holds out a seeded random `test_fraction`,
/// fits on the rest, and reports train / test / cross-validated metrics.
///
/// The shuffle follows scikit-learn's `train_test_split` convention (test =
/// the first `ceil(fraction·n)` of a random permutation, train = the rest);
/// the permutation itself comes from `ChaCha8Rng(seed)`, so splits are
/// reproducible here but not identical to scikit-learn's.
pub fn fit(set: &TrainingSet, opts: &FitOptions) -> Result<FitReport> {
    check_options(opts)?;
    check_training_set(set)?;
    let n = set.target.len();
    let n_test = if opts.test_fraction > 0.0 { (opts.test_fraction * n as f64).ceil() as usize } else { 0 };
    let n_train = n.saturating_sub(n_test);
    if n_train < 2 {
        return Err(Error::argument(
            format!(
                "training set too small to split: {n} candidates with test_fraction {} leave {n_train} for training",
                opts.test_fraction
            ),
            "at least 2 training candidates are needed: add candidates or lower test_fraction (0 disables the split)",
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(opts.seed));
    let (test_rows, train_rows) = order.split_at(n_test);
    let pick = |rows: &[usize]| -> (Vec<Counts>, Vec<f64>) {
        (rows.iter().map(|&r| set.counts[r]).collect(), rows.iter().map(|&r| set.target[r]).collect())
    };
    let (train_x, train_y) = pick(train_rows);
    if is_constant(&train_y) {
        return Err(Error::argument(
            format!("all {n_train} training candidates have the same target ({})", train_y[0]),
            "a constant target cannot be modelled: try another seed or a smaller test_fraction",
        ));
    }
    if let Some(k) = opts.folds {
        if k > n_train {
            return Err(Error::argument(
                format!("{k} cross-validation folds for {n_train} training candidates"),
                "use at most as many folds as training candidates",
            ));
        }
    }

    let (mut model, rank) = fit_model(&train_x, &train_y, opts.form, opts.l2)?;
    let dense = model.dense();
    let predict = |xs: &[Counts]| xs.iter().map(|c| dense.predict(c)).collect::<Vec<f64>>();
    let train = Metrics::of(&train_y, &predict(&train_x));
    let test = (n_test > 0).then(|| {
        let (test_x, test_y) = pick(test_rows);
        Metrics::of(&test_y, &predict(&test_x))
    });
    let cv = match opts.folds {
        Some(k) => {
            Some(Metrics::of(&train_y, &cross_val_predict(&train_x, &train_y, opts.form, opts.l2, k)?))
        }
        None => None,
    };
    let none = serde_json::Value::Null;
    model.meta = serde_json::json!({
        "fitted_by": concat!("prefroute ", env!("CARGO_PKG_VERSION")),
        "method": if opts.l2 > 0.0 { "ridge, unpenalised intercept" } else { "minimum-norm least squares" },
        "l2": opts.l2,
        "rcond": if opts.l2 > 0.0 { none.clone() } else { RCOND.into() },
        "rank": rank,
        "n_candidates": n,
        "n_train": n_train,
        "n_test": n_test,
        "test_fraction": opts.test_fraction,
        "seed": opts.seed,
        "folds": opts.folds,
        "train": train.to_json(),
        "test": test.map_or(none.clone(), |m| m.to_json()),
        "cv": cv.map_or(none, |m| m.to_json()),
    });
    Ok(FitReport { model, train, test, cv, n_train, n_test, rank })
}

/// Fits a PPM over all 90 tags on exactly these rows (no split, no checks on
/// the data beyond the shapes). Returns the model (named `fitted`, empty meta)
/// and, for minimum-norm fits, the effective rank of the centred design.
pub fn fit_model(counts: &[Counts], target: &[f64], form: Form, l2: f64) -> Result<(Model, Option<usize>)> {
    if counts.is_empty() || counts.len() != target.len() {
        return Err(Error::argument(
            format!("{} count rows for {} targets", counts.len(), target.len()),
            "give one target per candidate, at least one candidate",
        ));
    }
    let sol = solve(design(counts, form), target, l2)?;
    let quadratic = match form {
        Form::Linear => Vec::new(),
        // Terms whose column is constant get an exactly-zero slope; leave them out of the file.
        Form::Quadratic => quadratic_pairs(N_TAGS)
            .zip(&sol.coef[N_TAGS..])
            .filter(|(_, &c)| c != 0.0)
            .map(|((i, j), &c)| (i, j, c))
            .collect(),
    };
    let model = Model {
        name: "fitted".into(),
        form,
        tags: (0..N_TAGS).collect(),
        intercept: sol.intercept,
        linear: sol.coef[..N_TAGS].to_vec(),
        quadratic,
        meta: serde_json::json!({}),
    };
    Ok((model, sol.rank))
}

/// Out-of-fold predictions: the rows are cut, in the given order, into `folds`
/// contiguous folds (scikit-learn `KFold(folds, shuffle=False)` sizes: the first
/// `n % folds` folds get one extra row); each fold is predicted by a model fitted
/// on the others.
pub fn cross_val_predict(
    counts: &[Counts],
    target: &[f64],
    form: Form,
    l2: f64,
    folds: usize,
) -> Result<Vec<f64>> {
    let n = target.len();
    if folds < 2 || folds > n {
        return Err(Error::argument(
            format!("{folds} cross-validation folds for {n} candidates"),
            "use between 2 folds and one fold per candidate",
        ));
    }
    let mut out = vec![0.0; n];
    let mut start = 0;
    for f in 0..folds {
        let end = start + n / folds + usize::from(f < n % folds);
        let (model, _) = fit_model(&without(counts, start..end), &without(target, start..end), form, l2)?;
        let dense = model.dense();
        for r in start..end {
            out[r] = dense.predict(&counts[r]);
        }
        start = end;
    }
    Ok(out)
}

/// The rows of `v` outside `skip`.
fn without<T: Copy>(v: &[T], skip: std::ops::Range<usize>) -> Vec<T> {
    v[..skip.start].iter().chain(&v[skip.end..]).copied().collect()
}

fn is_constant(y: &[f64]) -> bool {
    y.iter().all(|v| *v == y[0])
}

fn check_options(opts: &FitOptions) -> Result<()> {
    if !(opts.l2.is_finite() && opts.l2 >= 0.0) {
        return Err(Error::argument(
            format!("l2 must be a finite number ≥ 0, got {}", opts.l2),
            "use 0 for the unregularised (minimum-norm) fit or a positive ridge penalty",
        ));
    }
    if !(opts.test_fraction.is_finite() && (0.0..1.0).contains(&opts.test_fraction)) {
        return Err(Error::argument(
            format!("test_fraction must be in [0, 1), got {}", opts.test_fraction),
            "the paper holds out 0.2; 0 disables the held-out split",
        ));
    }
    if matches!(opts.folds, Some(k) if k < 2) {
        return Err(Error::argument(
            format!("cross-validation needs at least 2 folds, got {}", opts.folds.unwrap_or(0)),
            "use folds ≥ 2, or leave folds unset for no cross-validation",
        ));
    }
    Ok(())
}

fn check_training_set(set: &TrainingSet) -> Result<()> {
    let n = set.target.len();
    if set.counts.len() != n {
        return Err(Error::argument(
            format!("{} count rows for {n} targets", set.counts.len()),
            "give exactly one target per candidate",
        ));
    }
    if n < 2 {
        return Err(Error::argument(
            format!("a PPM needs at least 2 candidates, got {n}"),
            "generate more candidate datasets (the paper used 500)",
        ));
    }
    for (r, (counts, &y)) in set.counts.iter().zip(&set.target).enumerate() {
        for (t, &c) in counts.iter().enumerate() {
            let problem = if c.is_nan() {
                "is NULL or NaN"
            } else if c.is_infinite() {
                "is infinite"
            } else if c < 0.0 {
                "is negative"
            } else {
                continue;
            };
            return Err(Error::argument(
                format!("candidate {} (1-based): count of tag '{}' {problem} ({c})", r + 1, TAG_NAMES[t]),
                "counts are numbers of human-routed instances carrying the tag: finite and ≥ 0",
            ));
        }
        if !y.is_finite() {
            return Err(Error::argument(
                format!("candidate {} (1-based): target is NULL, NaN or infinite ({y})", r + 1),
                "drop candidates without a score before fitting",
            ));
        }
    }
    if is_constant(&set.target) {
        return Err(Error::argument(
            format!("all {n} candidates have the same target ({})", set.target[0]),
            "a constant target cannot be modelled: the scores must vary across candidates",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts_row(pairs: &[(usize, f64)]) -> Counts {
        let mut c = [0.0; N_TAGS];
        for &(t, v) in pairs {
            c[t] = v;
        }
        c
    }

    /// y = 0.5 + 0.01·c3 − 0.002·c7 exactly, on 12 candidates.
    fn linear_set() -> TrainingSet {
        let mut set = TrainingSet::default();
        for r in 0..12 {
            let (a, b) = ((r * 7 % 11) as f64, (r * r % 13) as f64);
            set.counts.push(counts_row(&[(3, a), (7, b), (20, 1.0)]));
            set.target.push(0.5 + 0.01 * a - 0.002 * b);
        }
        set
    }

    #[test]
    fn recovers_an_exact_linear_law_and_reports_perfect_metrics() {
        let opts =
            FitOptions { form: Form::Linear, test_fraction: 0.25, folds: Some(3), ..FitOptions::default() };
        let r = fit(&linear_set(), &opts).unwrap();
        assert_eq!((r.n_train, r.n_test), (9, 3));
        let m = &r.model;
        assert!((m.intercept - 0.5).abs() < 1e-10);
        assert!((m.linear[3] - 0.01).abs() < 1e-10 && (m.linear[7] + 0.002).abs() < 1e-10);
        // Tag 20 is constant (1 everywhere) and the others are 0: no slope.
        assert!(m.linear[20].abs() < 1e-12 && m.linear[0] == 0.0);
        let test = r.test.unwrap();
        assert!(test.rmse < 1e-10 && (test.r2 - 1.0).abs() < 1e-9 && (test.spearman - 1.0).abs() < 1e-12);
        assert!(r.cv.unwrap().rmse < 1e-10);
        assert_eq!(m.meta["n_train"], 9);
        assert_eq!(r.rank, Some(2));
    }

    #[test]
    fn split_is_seeded() {
        let set = linear_set();
        let opts = FitOptions { form: Form::Linear, l2: 1.0, ..FitOptions::default() };
        let a = fit(&set, &opts).unwrap();
        let b = fit(&set, &opts).unwrap();
        let c = fit(&set, &FitOptions { seed: 7, ..opts }).unwrap();
        assert_eq!(a.model, b.model);
        assert_ne!(a.model.linear, c.model.linear, "another seed holds out other candidates");
        // sklearn's convention: ceil(0.2·12) = 3 held out.
        assert_eq!(a.n_test, 3);
    }

    #[test]
    fn cross_val_predict_uses_kfold_fold_sizes() {
        // 7 rows, 3 folds → rows 0..3, 3..5, 5..7 (KFold sizes 3, 2, 2); a noisy target so
        // every training subset gives a different model.
        let mut set = linear_set();
        set.target.iter_mut().enumerate().for_each(|(r, y)| *y += 0.003 * ((r * r) % 5) as f64);
        let (x, y) = (&set.counts[..7], &set.target[..7]);
        let p = cross_val_predict(x, y, Form::Linear, 0.5, 3).unwrap();
        for (lo, hi) in [(0, 3), (3, 5), (5, 7)] {
            let rest: Vec<usize> = (0..7).filter(|r| !(lo..hi).contains(r)).collect();
            let xs: Vec<Counts> = rest.iter().map(|&r| x[r]).collect();
            let ys: Vec<f64> = rest.iter().map(|&r| y[r]).collect();
            let (m, _) = fit_model(&xs, &ys, Form::Linear, 0.5).unwrap();
            for r in lo..hi {
                assert!((p[r] - m.predict(&x[r])).abs() < 1e-12, "row {r}");
            }
        }
        assert!(cross_val_predict(&set.counts[..3], &set.target[..3], Form::Linear, 0.0, 4).is_err());
    }

    #[test]
    fn bad_training_sets_are_clear_errors() {
        let good = linear_set();
        let opts = FitOptions { form: Form::Linear, ..FitOptions::default() };
        let err = |set: &TrainingSet, o: &FitOptions| fit(set, o).unwrap_err().to_string();

        let mut s = good.clone();
        s.counts[4][7] = f64::NAN;
        let e = err(&s, &opts);
        assert!(e.contains("candidate 5") && e.contains("NULL") && e.contains(TAG_NAMES[7]), "{e}");
        s.counts[4][7] = -1.0;
        assert!(err(&s, &opts).contains("negative"));
        s.counts[4][7] = f64::INFINITY;
        assert!(err(&s, &opts).contains("infinite"));

        let mut s = good.clone();
        s.target[2] = f64::NAN;
        assert!(err(&s, &opts).contains("target is NULL"));
        s.target = vec![0.6; 12];
        assert!(err(&s, &opts).contains("same target"));

        let one = TrainingSet { counts: vec![good.counts[0]], target: vec![0.5] };
        assert!(err(&one, &opts).contains("at least 2 candidates"));
        let two = TrainingSet { counts: good.counts[..2].to_vec(), target: good.target[..2].to_vec() };
        assert!(err(&two, &opts).contains("too small to split"));
        assert!(fit(&two, &FitOptions { test_fraction: 0.0, ..opts }).is_ok());

        assert!(err(&good, &FitOptions { l2: -1.0, ..opts }).contains("l2"));
        assert!(err(&good, &FitOptions { test_fraction: 1.0, ..opts }).contains("test_fraction"));
        assert!(err(&good, &FitOptions { folds: Some(1), ..opts }).contains("at least 2 folds"));
        assert!(err(&good, &FitOptions { folds: Some(10), ..opts }).contains("10 cross-validation folds"));
    }
}
