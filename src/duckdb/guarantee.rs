//! What a routing promises, in SQL: `route_summary` (one row: the expected
//! accuracy and, with `confidence :=`, the promised bound and what it costs),
//! `risk_threshold` (the probability threshold of a promise, for routing in
//! plain SQL) and `guarantee_eval` (how often the promise held on repeated
//! seed/rest splits). The method is [`crate::guarantee`]'s.

use super::args::{Args, ParamType};
use super::declare;
use super::fail;
use super::output::{deferred, emit, Block, ColType, Column, Emitter};
use super::risk::{risk_params, RiskBind};
use super::routing::{route_params, tag_and_route_planned, RouteBind, RouteSize};
use super::scalars::{strings, write_doubles};
use crate::guarantee::eval::{guarantee_eval, GuaranteeOptions};
use crate::guarantee::{check_levels, plan, Calibration, Outcome};
use crate::model_file::RoutingModel;
use crate::risk::RiskModel;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vscalar::{ScalarFunctionSignature, VScalar};
use duckdb::vtab::arrow::WritableVector;
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::Mutex;

// ---------------------------------------------------------------- route_summary

const SUMMARY: &str = "route_summary";

pub struct RouteSummary;

#[derive(Clone)]
pub struct SummaryBind {
    common: RouteBind,
    size: RouteSize,
}

const SUMMARY_COLUMNS: [(&str, ColType); 13] = [
    ("n", ColType::BigInt),
    ("n_human", ColType::BigInt),
    ("human_share", ColType::Double),
    ("expected_accuracy", ColType::Double),
    ("target_accuracy", ColType::Double),
    ("confidence", ColType::Double),
    ("promised_accuracy", ColType::Double),
    ("p_threshold", ColType::Double),
    ("calibration_rows", ColType::BigInt),
    ("calibration_errors_allowed", ColType::BigInt),
    ("miss_probability", ColType::Double),
    ("basis", ColType::Varchar),
    ("note", ColType::Varchar),
];

impl VTab for RouteSummary {
    type BindData = SummaryBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let args = Args::new(SUMMARY, bind);
        let common = RouteBind::bind(&args)?;
        if let RoutingModel::Ppm(m) = &common.model {
            return Err(format!(
                "{SUMMARY}: needs a judge-error model (risk_fit(…, save := …)); '{}' is a PPM, whose predicted \
                 score is not an accuracy. Hint: ppm_score and budget_curve report a PPM's predicted score",
                m.name
            )
            .into());
        }
        let size = RouteSize::bind(&args, 1, &common.model, common.input.dataset.num_rows() as usize)?;
        declare(bind, &SUMMARY_COLUMNS);
        Ok(SummaryBind { common, size })
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        Ok(deferred(init, SUMMARY, summary_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(SUMMARY, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into(), LogicalTypeId::Double.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        route_params(&[("target_accuracy", ParamType::Double), ("confidence", ParamType::Double)])
    }
}

fn summary_rows(b: SummaryBind) -> crate::Result<Vec<Block>> {
    let (tagged, routing, promise) = tag_and_route_planned(&b.common, b.size)?;
    let n = tagged.rows.len();
    let k = routing.n_human();
    let float = |x: Option<f64>| Column::Float(vec![x]);
    let int = |x: Option<usize>| Column::Int(vec![x.map(|x| x as i64)]);
    let text = |s: String| Column::Text(vec![Some(s)]);
    let (promised, threshold, m, allowed, miss, basis, note) = match &promise {
        None => (
            None,
            None,
            None,
            None,
            None,
            "estimate",
            "expected accuracy under the model's probabilities (routed rows right, the others right with \
             probability 1 - p): an estimate, not a promise; add target_accuracy := and confidence := for one"
                .to_string(),
        ),
        Some(pl) => match &pl.outcome {
            Outcome::Route { threshold, allowed, miss_bound } => (
                Some(pl.promised_accuracy()),
                Some(*threshold),
                Some(pl.calibration_rows),
                *allowed,
                Some(*miss_bound),
                "promise",
                format!(
                    "accuracy >= {:.4} with probability >= {} if the model's seed was a random sample of the same \
                     pool as these rows (exact hypergeometric test on {} calibration rows)",
                    pl.promised_accuracy(),
                    pl.confidence,
                    pl.calibration_rows
                ),
            ),
            Outcome::AllHuman { .. } => (
                None,
                None,
                Some(pl.calibration_rows),
                None,
                None,
                "cannot promise",
                pl.all_human_error().map(|e| e.to_string()).unwrap_or_default(),
            ),
        },
    };
    Ok(vec![Block {
        columns: vec![
            int(Some(n)),
            int(Some(k)),
            float(Some(if n == 0 { 0.0 } else { k as f64 / n as f64 })),
            float(Some(routing.predicted)),
            float(b.size.target_accuracy),
            float(b.size.confidence),
            float(promised),
            float(threshold),
            int(m),
            int(allowed),
            float(miss),
            text(basis.to_string()),
            text(note),
        ],
    }])
}

// ---------------------------------------------------------------- guarantee_eval

const EVAL: &str = "guarantee_eval";

pub struct GuaranteeEval;

#[derive(Clone)]
pub struct GuaranteeBind {
    common: RiskBind,
    opts: GuaranteeOptions,
}

const EVAL_COLUMNS: [(&str, ColType); 15] = [
    ("seed_fraction", ColType::Double),
    ("target_accuracy", ColType::Double),
    ("confidence", ColType::Double),
    ("draws", ColType::BigInt),
    ("n_seed", ColType::BigInt),
    ("n_routed", ColType::BigInt),
    ("met", ColType::Double),
    ("human_share", ColType::Double),
    ("accuracy", ColType::Double),
    ("all_human", ColType::Double),
    ("estimate_met", ColType::Double),
    ("estimate_human_share", ColType::Double),
    ("ranked_human_share", ColType::Double),
    ("oracle_human_share", ColType::Double),
    ("oracle_median_share", ColType::Double),
];

impl VTab for GuaranteeEval {
    type BindData = GuaranteeBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<GuaranteeBind, Box<dyn std::error::Error>> {
        let args = Args::new(EVAL, bind);
        let seed_fractions = args.f64_list("seed_fraction")?.unwrap_or_else(|| vec![0.2]);
        if let Some(f) = seed_fractions.iter().find(|f| !(**f > 0.0 && **f < 1.0)) {
            return Err(format!("{EVAL}: seed_fraction := {f} must be between 0 and 1 (exclusive)").into());
        }
        let targets = args.f64_list("target_accuracy")?.unwrap_or_else(|| vec![0.85, 0.9, 0.95]);
        let confidences = args.f64_list("confidence")?.unwrap_or_else(|| vec![0.9]);
        for &t in &targets {
            for &c in &confidences {
                check_levels(t, c).map_err(|e| fail(EVAL, e))?;
            }
        }
        let draws = match args.i64("draws")? {
            None => 100,
            Some(d) if (1..=100_000).contains(&d) => d as usize,
            Some(d) => return Err(format!("{EVAL}: draws := {d} must be between 1 and 100000").into()),
        };
        let platt = match args.text("calibrate")?.as_deref().unwrap_or("platt") {
            "platt" => true,
            "none" => false,
            other => return Err(format!("{EVAL}: calibrate := '{other}' is not 'platt' or 'none'").into()),
        };
        let common = RiskBind::bind(&args, Vec::new(), None)?;
        let o = &common.opts;
        let opts = GuaranteeOptions {
            seed_fractions,
            targets,
            confidences,
            draws,
            seed: o.seed,
            folds: o.folds,
            l2: o.l2,
            platt,
            threads: o.threads,
        };
        declare(bind, &EVAL_COLUMNS);
        Ok(GuaranteeBind { common, opts })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        Ok(deferred(init, EVAL, eval_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(EVAL, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        risk_params(&[
            ("seed_fraction", ParamType::Any),
            ("target_accuracy", ParamType::Any),
            ("confidence", ParamType::Any),
            ("draws", ParamType::BigInt),
            ("calibrate", ParamType::Varchar),
        ])
    }
}

fn eval_rows(b: GuaranteeBind) -> crate::Result<Vec<Block>> {
    let data = b.common.data(EVAL)?;
    let rows = guarantee_eval(&data, &b.opts)?;
    let f = |g: fn(&crate::guarantee::eval::GuaranteeRow) -> f64| {
        Column::Float(rows.iter().map(|r| Some(g(r))).collect())
    };
    let i = |g: fn(&crate::guarantee::eval::GuaranteeRow) -> usize| {
        Column::Int(rows.iter().map(|r| Some(g(r) as i64)).collect())
    };
    Ok(vec![Block {
        columns: vec![
            f(|r| r.seed_fraction),
            f(|r| r.target),
            f(|r| r.confidence),
            i(|r| r.draws),
            i(|r| r.n_seed),
            i(|r| r.n_routed),
            f(|r| r.met),
            f(|r| r.human_share),
            f(|r| r.accuracy),
            f(|r| r.all_human),
            f(|r| r.estimate_met),
            f(|r| r.estimate_human_share),
            f(|r| r.ranked_human_share),
            f(|r| r.oracle_human_share),
            f(|r| r.oracle_median_share),
        ],
    }])
}

// ---------------------------------------------------------------- risk_threshold

/// `risk_threshold(model, n_rows, target_accuracy, confidence)`: the threshold
/// `τ` such that routing the rows with `p ≥ τ` (`p` by the same model) to
/// humans promises the target at the confidence for `n_rows` rows. `model` is
/// a `prefroute-risk/2` file or its JSON text (`risk_fit`'s `model_json`).
/// NULL in any argument gives NULL; a target only all-human routing can
/// promise is an error (a NULL would silently route every row to the AI).
pub struct RiskThreshold;

const THRESHOLD: &str = "risk_threshold";

/// The calibration rows of the model named by `spec` (a path or JSON text).
fn calibration_of(spec: &str) -> crate::Result<Calibration> {
    let model = if spec.trim_start().starts_with('{') {
        RiskModel::from_json(spec, "the model JSON")?
    } else {
        RiskModel::load(std::path::Path::new(spec))?
    };
    model.calibration_set()
}

/// The values of a BIGINT (`i64`) or DOUBLE (`f64`) input column, NULL as None.
fn numbers<T: Copy>(input: &DataChunkHandle, col: usize) -> Vec<Option<T>> {
    let n = input.len();
    let vector = input.flat_vector(col);
    // SAFETY: the signature declares this argument with T's physical storage
    // (BIGINT → i64, DOUBLE → f64), and DuckDB provides `n` rows for this call.
    let raw = unsafe { vector.as_slice_with_len::<T>(n) };
    (0..n).map(|i| (!vector.row_is_null(i as u64)).then(|| raw[i])).collect()
}

impl VScalar for RiskThreshold {
    type State = ();
    fn invoke(
        _: &(),
        input: &mut DataChunkHandle,
        output: &mut dyn WritableVector,
    ) -> super::scalars::ScalarResult {
        let models = strings(input, 0);
        let rows: Vec<Option<i64>> = numbers(input, 1);
        let targets: Vec<Option<f64>> = numbers(input, 2);
        let confidences: Vec<Option<f64>> = numbers(input, 3);
        let mut loaded: Option<(String, Calibration)> = None;
        let mut last: Option<((i64, u64, u64), f64)> = None;
        let mut out = Vec::with_capacity(models.len());
        for i in 0..models.len() {
            let (Some(spec), Some(n), Some(t), Some(c)) = (&models[i], rows[i], targets[i], confidences[i])
            else {
                out.push(None);
                continue;
            };
            if n < 0 {
                return Err(
                    format!("{THRESHOLD}: n_rows := {n} must be 0 or more (the rows being routed)").into()
                );
            }
            if loaded.as_ref().is_none_or(|(s, _)| s != spec) {
                loaded = Some((spec.clone(), calibration_of(spec).map_err(|e| fail(THRESHOLD, e))?));
                last = None;
            }
            let key = (n, t.to_bits(), c.to_bits());
            if let Some((_, tau)) = last.filter(|(k, _)| *k == key) {
                out.push(Some(tau));
                continue;
            }
            let Some((_, cal)) = &loaded else { return Err(format!("{THRESHOLD}: no model loaded").into()) };
            let pl = plan(cal, n as usize, n as usize, t, c).map_err(|e| fail(THRESHOLD, e))?;
            let Some(tau) = pl.threshold() else {
                let e = pl.all_human_error().map(|e| e.to_string()).unwrap_or_default();
                return Err(format!("{THRESHOLD}: {e}").into());
            };
            last = Some((key, tau));
            out.push(Some(tau));
        }
        write_doubles(output, &out);
        Ok(())
    }

    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(
            vec![
                LogicalTypeId::Varchar.into(),
                LogicalTypeId::Bigint.into(),
                LogicalTypeId::Double.into(),
                LogicalTypeId::Double.into(),
            ],
            LogicalTypeId::Double.into(),
        )]
    }
}
