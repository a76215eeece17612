//! The judge-error model in SQL: `risk_fit` (fit and cross-fitted report)
//! and `route_eval` (every router against random and the oracle).

use super::args::{named, Args, ParamType, MAPPING_PARAMS};
use super::common::{seed_arg, TaggedInput};
use super::output::{deferred, emit, Block, ColType, Column, Emitter, Nested, NestedType};
use super::tagging::TAG_PARAMS;
use super::{declare, fail};
use crate::model_file::RoutingModel;
use crate::risk::eval::{fit_report, route_eval, EvalOptions, EvalRow, Router};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::Mutex;

/// The budgets `risk_fit` reports `captured` at, and `route_eval`'s default.
pub(super) const DEFAULT_BUDGETS: [f64; 4] = [0.1, 0.2, 0.3, 0.5];

/// `captured`: a list of `{budget, accuracy, random, oracle, captured}` records.
static CAPTURED: NestedType = NestedType::List(&NestedType::Struct(&[
    ("budget", NestedType::Double),
    ("accuracy", NestedType::Double),
    ("random", NestedType::Double),
    ("oracle", NestedType::Double),
    ("captured", NestedType::Double),
]));

/// What both functions bind: the input and how to fit.
#[derive(Clone)]
pub struct RiskBind {
    input: TaggedInput,
    pub(super) opts: EvalOptions,
    /// `features :=`: `None` = 'auto' (all the input offers).
    features: Option<Vec<String>>,
    extra: Vec<String>,
}

pub(super) fn risk_params(extra: &[(&'static str, ParamType)]) -> Option<Vec<(String, LogicalTypeHandle)>> {
    let mut p = MAPPING_PARAMS.to_vec();
    p.extend(TAG_PARAMS);
    p.extend([
        ("l2", ParamType::Double),
        ("folds", ParamType::BigInt),
        ("seed", ParamType::BigInt),
        ("features", ParamType::Any),
        ("extra", ParamType::Any),
    ]);
    p.extend_from_slice(extra);
    named(&p)
}

impl RiskBind {
    pub(super) fn bind(
        args: &Args,
        budgets: Vec<f64>,
        seed_fraction: Option<f64>,
    ) -> Result<RiskBind, String> {
        let f = args.function;
        let l2 = args.f64("l2")?.unwrap_or(1.0);
        if !(l2 > 0.0 && l2.is_finite()) {
            return Err(format!("{f}: l2 := {l2} must be a positive number (default 1.0)"));
        }
        let folds = match args.i64("folds")? {
            None => 5,
            Some(k) if (2..=100).contains(&k) => k as usize,
            Some(k) => return Err(format!("{f}: folds := {k} must be between 2 and 100")),
        };
        let features = match args.text_list("features")? {
            None => None,
            Some(list) if list.len() == 1 && list[0] == "auto" => None,
            Some(list) => Some(list),
        };
        let extra = args.text_list("extra")?.unwrap_or_default();
        let input = TaggedInput::bind(args)?;
        for c in &extra {
            if !input.dataset.has_column(c) {
                return Err(format!(
                    "{f}: extra := ['{c}'] names no column of '{}'. Hint: its columns are {}",
                    input.dataset.pattern,
                    input.dataset.column_names().join(", ")
                ));
            }
        }
        let threads = input.threads();
        let opts = EvalOptions { budgets, folds, seed: seed_arg(args)?, seed_fraction, l2, threads };
        Ok(RiskBind { input, opts, features, extra })
    }

    pub(super) fn data(&self, what: &str) -> crate::Result<crate::risk::eval::EvalData> {
        self.input.eval_data(&self.extra, self.features.as_deref(), what)
    }
}

// ---------------------------------------------------------------- risk_fit

const FIT: &str = "risk_fit";

pub struct RiskFit;

#[derive(Clone)]
pub struct FitBind {
    common: RiskBind,
    save: Option<String>,
}

const FIT_COLUMNS: [(&str, ColType); 10] = [
    ("n", ColType::BigInt),
    ("n_disagree", ColType::BigInt),
    ("features", ColType::VarcharList),
    ("auc", ColType::Double),
    ("log_loss", ColType::Double),
    ("brier", ColType::Double),
    ("ece", ColType::Double),
    ("captured", ColType::Nested(&CAPTURED)),
    ("saved_to", ColType::Varchar),
    ("model_json", ColType::Varchar),
];

impl VTab for RiskFit {
    type BindData = FitBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<FitBind, Box<dyn std::error::Error>> {
        let args = Args::new(FIT, bind);
        let save = args.text("save")?;
        if save.as_deref() == Some("") {
            return Err(
                format!("{FIT}: save := '' names no file. Hint: give a path such as 'risk.json'").into()
            );
        }
        let common = RiskBind::bind(&args, DEFAULT_BUDGETS.to_vec(), None)?;
        declare(bind, &FIT_COLUMNS);
        Ok(FitBind { common, save })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        Ok(deferred(init, FIT, fit_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(FIT, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        risk_params(&[("save", ParamType::Varchar)])
    }
}

fn record(r: &EvalRow) -> Nested {
    let v = |x: Option<f64>| x.map_or(Nested::Null, Nested::Float);
    Nested::Struct(vec![
        v(Some(r.budget)),
        v(Some(r.accuracy)),
        v(Some(r.random)),
        v(Some(r.oracle)),
        v(r.captured),
    ])
}

fn fit_rows(b: FitBind) -> crate::Result<Vec<Block>> {
    let data = b.common.data(FIT)?;
    let report = fit_report(&data, &b.common.opts)?;
    let mut model = report.model;
    if let Some(path) = &b.save {
        model.name = path.clone();
        model.save_atomic(std::path::Path::new(path))?;
    }
    let c = &report.calibration;
    let finite = |x: f64| x.is_finite().then_some(x);
    Ok(vec![Block {
        columns: vec![
            Column::Int(vec![Some(report.n as i64)]),
            Column::Int(vec![Some(report.n_disagree as i64)]),
            Column::TextList(vec![Some(model.features.clone())]),
            Column::Float(vec![finite(c.auc)]),
            Column::Float(vec![Some(c.log_loss)]),
            Column::Float(vec![Some(c.brier)]),
            Column::Float(vec![Some(c.ece)]),
            Column::Nested(&CAPTURED, vec![Nested::List(report.captured.iter().map(record).collect())]),
            Column::Text(vec![b.save.clone()]),
            Column::Text(vec![Some(model.to_json()?)]),
        ],
    }])
}

// ---------------------------------------------------------------- route_eval

const EVAL: &str = "route_eval";

pub struct RouteEval;

#[derive(Clone)]
pub struct EvalBind {
    common: RiskBind,
    routers: Vec<Router>,
}

impl VTab for RouteEval {
    type BindData = EvalBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<EvalBind, Box<dyn std::error::Error>> {
        let args = Args::new(EVAL, bind);
        let budgets = args.f64_list("budgets")?.unwrap_or_else(|| DEFAULT_BUDGETS.to_vec());
        if let Some(b) = budgets.iter().find(|b| !(0.0..=1.0).contains(*b)) {
            return Err(
                format!("{EVAL}: budgets := [… {b} …]: each budget is a fraction between 0 and 1").into()
            );
        }
        let seed_fraction = args.f64("seed_fraction")?;
        if let Some(f) = seed_fraction {
            if !(f > 0.0 && f < 1.0) {
                return Err(
                    format!("{EVAL}: seed_fraction := {f} must be between 0 and 1 (exclusive)").into()
                );
            }
        }
        let names = args
            .text_list("model")?
            .unwrap_or_else(|| vec!["paper-prior".into(), "random".into(), "risk".into()]);
        let mut routers = Vec::new();
        for name in names {
            routers.push(match name.as_str() {
                "random" => Router::Random,
                "risk" => Router::Risk,
                _ => match RoutingModel::load(&name).map_err(|e| fail(EVAL, e))? {
                    RoutingModel::Ppm(m) => Router::Ppm(name.clone(), m),
                    RoutingModel::Risk(m) => Router::RiskFile(name.clone(), m),
                },
            });
        }
        let common = RiskBind::bind(&args, budgets, seed_fraction)?;
        declare(
            bind,
            &[
                ("model", ColType::Varchar),
                ("budget", ColType::Double),
                ("n", ColType::BigInt),
                ("n_human", ColType::BigInt),
                ("accuracy", ColType::Double),
                ("random", ColType::Double),
                ("oracle", ColType::Double),
                ("captured", ColType::Double),
            ],
        );
        Ok(EvalBind { common, routers })
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
            ("model", ParamType::Any),
            ("budgets", ParamType::Any),
            ("seed_fraction", ParamType::Double),
        ])
    }
}

fn eval_rows(b: EvalBind) -> crate::Result<Vec<Block>> {
    let data = b.common.data(EVAL)?;
    let rows = route_eval(&data, &b.routers, &b.common.opts)?;
    Ok(vec![Block {
        columns: vec![
            Column::Text(rows.iter().map(|r| Some(r.model.clone())).collect()),
            Column::Float(rows.iter().map(|r| Some(r.budget)).collect()),
            Column::Int(rows.iter().map(|r| Some(r.n as i64)).collect()),
            Column::Int(rows.iter().map(|r| Some(r.n_human as i64)).collect()),
            Column::Float(rows.iter().map(|r| Some(r.accuracy)).collect()),
            Column::Float(rows.iter().map(|r| Some(r.random)).collect()),
            Column::Float(rows.iter().map(|r| Some(r.oracle)).collect()),
            Column::Float(rows.iter().map(|r| r.captured).collect()),
        ],
    }])
}
