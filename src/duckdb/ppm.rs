//! The PPM in SQL: `ppm_fit`, `ppm_predict`, `ppm_weights`, `ppm_score`,
//! `tag_gains` and `simulate_candidates`.

use super::args::{named, Args, ParamType, MAPPING_PARAMS};
use super::common::{matrix, model_arg, routing_model_arg, seed_arg, TaggedInput};
use super::files::QueryFiles;
use super::output::{deferred, emit, Block, ColType, Column, Emitter};
use super::tagging::TAG_PARAMS;
use super::{declare, fail};
use crate::data::ExtraKind;
use crate::model_file::RoutingModel;
use crate::ppm::{fit, read_training_set, resolve_model, tag_gains, FitOptions, Form, Model};
use crate::route::knapsack::sample_candidates;
use crate::tags::{Counts, TAG_NAMES};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::{Arc, Mutex};

fn varchar() -> LogicalTypeHandle {
    LogicalTypeId::Varchar.into()
}

// ---------------------------------------------------------------- ppm_fit

const FIT: &str = "ppm_fit";

pub struct PpmFit;

#[derive(Clone)]
pub struct FitBind {
    path: String,
    target: String,
    options: FitOptions,
    save: Option<String>,
    files: QueryFiles,
}

const FIT_COLUMNS: [(&str, ColType); 17] = [
    ("form", ColType::Varchar),
    ("l2", ColType::Double),
    ("n_train", ColType::BigInt),
    ("n_test", ColType::BigInt),
    ("n_terms", ColType::BigInt),
    ("rank", ColType::BigInt),
    ("train_rmse", ColType::Double),
    ("train_r2", ColType::Double),
    ("train_spearman", ColType::Double),
    ("test_rmse", ColType::Double),
    ("test_r2", ColType::Double),
    ("test_spearman", ColType::Double),
    ("cv_rmse", ColType::Double),
    ("cv_r2", ColType::Double),
    ("cv_spearman", ColType::Double),
    ("saved_to", ColType::Varchar),
    ("model_json", ColType::Varchar),
];

impl VTab for PpmFit {
    type BindData = FitBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<FitBind, Box<dyn std::error::Error>> {
        let args = Args::new(FIT, bind);
        let path = args.positional_text(0, "the path")?;
        let form = match args.text("form")?.as_deref().unwrap_or("quadratic") {
            "linear" => Form::Linear,
            "quadratic" => Form::Quadratic,
            other => return Err(format!("{FIT}: form := '{other}' is not 'linear' or 'quadratic'").into()),
        };
        let folds = match args.i64("folds")? {
            None => None,
            Some(k) if k >= 2 => Some(k as usize),
            Some(k) => return Err(format!("{FIT}: folds := {k} must be at least 2").into()),
        };
        let options = FitOptions {
            form,
            l2: args.f64("l2")?.unwrap_or(0.0),
            test_fraction: args.f64("test_fraction")?.unwrap_or(0.2),
            seed: seed_arg(&args)?,
            folds,
        };
        let target = args.text("target")?.unwrap_or_else(|| "score".into());
        let save = args.text("save")?;
        declare(bind, &FIT_COLUMNS);
        Ok(FitBind { path, target, options, save, files: args.files()? })
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
        Some(vec![varchar()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        named(&[
            ("target", ParamType::Varchar),
            ("form", ParamType::Varchar),
            ("l2", ParamType::Double),
            ("test_fraction", ParamType::Double),
            ("seed", ParamType::BigInt),
            ("folds", ParamType::BigInt),
            ("save", ParamType::Varchar),
        ])
    }
}

fn fit_rows(b: FitBind) -> crate::Result<Vec<Block>> {
    let set = read_training_set(b.files.opener().as_ref(), &b.path, &b.target)?;
    let report = fit(&set, &b.options)?;
    if let Some(path) = &b.save {
        report.model.save_atomic(path)?;
    }
    let m = |x: Option<crate::ppm::Metrics>, f: fn(&crate::ppm::Metrics) -> f64| {
        Column::Float(vec![x.map(|m| f(&m)).filter(|v| v.is_finite())])
    };
    let model = &report.model;
    let n_terms = model.linear.len() + model.quadratic.len();
    Ok(vec![Block {
        columns: vec![
            Column::Text(vec![Some(b.options.form.as_str().to_string())]),
            Column::Float(vec![Some(b.options.l2)]),
            Column::Int(vec![Some(report.n_train as i64)]),
            Column::Int(vec![Some(report.n_test as i64)]),
            Column::Int(vec![Some(n_terms as i64)]),
            Column::Int(vec![report.rank.map(|r| r as i64)]),
            m(Some(report.train), |m| m.rmse),
            m(Some(report.train), |m| m.r2),
            m(Some(report.train), |m| m.spearman),
            m(report.test, |m| m.rmse),
            m(report.test, |m| m.r2),
            m(report.test, |m| m.spearman),
            m(report.cv, |m| m.rmse),
            m(report.cv, |m| m.r2),
            m(report.cv, |m| m.spearman),
            Column::Text(vec![b.save.clone()]),
            Column::Text(vec![Some(model.to_json()?)]),
        ],
    }])
}

// ---------------------------------------------------------------- ppm_weights

const WEIGHTS: &str = "ppm_weights";

pub struct PpmWeights;

impl VTab for PpmWeights {
    type BindData = Arc<Model>;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Arc<Model>, Box<dyn std::error::Error>> {
        let args = Args::new(WEIGHTS, bind);
        let name = args.positional_text(0, "the model")?;
        let model = resolve_model(&name).map_err(|e| fail(WEIGHTS, e))?;
        declare(
            bind,
            &[
                ("tag", ColType::Varchar),
                ("tag_2", ColType::Varchar),
                ("term", ColType::Varchar),
                ("coefficient", ColType::Double),
            ],
        );
        Ok(model)
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        Ok(deferred(init, WEIGHTS, weights_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(WEIGHTS, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![varchar()])
    }
}

fn weights_rows(model: Arc<Model>) -> crate::Result<Vec<Block>> {
    let name = |k: usize| Some(TAG_NAMES[model.tags[k]].to_string());
    let mut tag = vec![None];
    let mut tag2 = vec![None];
    let mut term = vec![Some("intercept".to_string())];
    let mut coef = vec![Some(model.intercept)];
    for (k, w) in model.linear.iter().enumerate() {
        tag.push(name(k));
        tag2.push(None);
        term.push(Some("linear".into()));
        coef.push(Some(*w));
    }
    for &(i, j, q) in &model.quadratic {
        tag.push(name(i));
        tag2.push(name(j));
        term.push(Some(if i == j { "square" } else { "product" }.into()));
        coef.push(Some(q));
    }
    Ok(vec![Block {
        columns: vec![Column::Text(tag), Column::Text(tag2), Column::Text(term), Column::Float(coef)],
    }])
}

// ---------------------------------------------------------------- ppm_score

const SCORE: &str = "ppm_score";

pub struct PpmScore;

#[derive(Clone)]
pub struct ScoreBind {
    input: TaggedInput,
    model: RoutingModel,
    routed: Option<String>,
}

impl VTab for PpmScore {
    type BindData = ScoreBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<ScoreBind, Box<dyn std::error::Error>> {
        let args = Args::new(SCORE, bind);
        let model = routing_model_arg(&args)?;
        let routed = args.text("routed")?;
        let mut input = TaggedInput::bind(&args)?;
        if let Some(column) = &routed {
            input = input.with_extra(column, ExtraKind::Text).map_err(|e| fail(SCORE, e))?;
        }
        declare(
            bind,
            &[
                ("routing", ColType::Varchar),
                ("n_human", ColType::BigInt),
                ("predicted_score", ColType::Double),
            ],
        );
        Ok(ScoreBind { input, model, routed })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        Ok(deferred(init, SCORE, score_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(SCORE, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![varchar()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        let mut p = MAPPING_PARAMS.to_vec();
        p.extend(TAG_PARAMS);
        p.extend([("model", ParamType::Varchar), ("routed", ParamType::Varchar)]);
        named(&p)
    }
}

/// The all-AI, routed (with `routed :=`) and all-human scores: a PPM's
/// prediction, or a judge-error model's expected label accuracy.
fn score_rows(b: ScoreBind) -> crate::Result<Vec<Block>> {
    let tagged = b.input.tag_for(&b.model)?;
    let tags = matrix(&tagged.rows);
    let model = tagged.route_model();
    let n = tags.len();
    let mut names = vec![Some("all-ai".to_string())];
    let mut n_human = vec![Some(0i64)];
    let mut scores = vec![Some(model.score(&tags, &vec![false; n]))];
    if let Some(column) = &b.routed {
        let flags = b.input.extra_flags(column)?;
        names.push(Some(format!("routed ({column})")));
        n_human.push(Some(flags.iter().filter(|f| **f).count() as i64));
        scores.push(Some(model.score(&tags, &flags)));
    }
    names.push(Some("all-human".to_string()));
    n_human.push(Some(n as i64));
    scores.push(Some(model.score(&tags, &vec![true; n])));
    Ok(vec![Block { columns: vec![Column::Text(names), Column::Int(n_human), Column::Float(scores)] }])
}

// ---------------------------------------------------------------- tag_gains

const GAINS: &str = "tag_gains";

pub struct TagGains;

#[derive(Clone)]
pub struct GainsBind {
    input: TaggedInput,
    model: Arc<Model>,
    n: usize,
    trials: usize,
    seed: u64,
}

impl VTab for TagGains {
    type BindData = GainsBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<GainsBind, Box<dyn std::error::Error>> {
        let args = Args::new(GAINS, bind);
        let positive = |name: &str, default: usize| -> Result<usize, String> {
            match args.i64(name)? {
                None => Ok(default),
                Some(v) if v >= 1 => Ok(v as usize),
                Some(v) => Err(format!("{GAINS}: {name} := {v} must be at least 1")),
            }
        };
        let n = positive("n", 100)?;
        let trials = positive("trials", 3)?;
        let seed = seed_arg(&args)?;
        let model = model_arg(&args)?;
        let input = TaggedInput::bind(&args)?;
        declare(
            bind,
            &[
                ("tag", ColType::Varchar),
                ("n_with_tag", ColType::BigInt),
                ("gain", ColType::Double),
                ("label", ColType::Varchar),
            ],
        );
        Ok(GainsBind { input, model, n, trials, seed })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        Ok(deferred(init, GAINS, gains_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(GAINS, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![varchar()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        let mut p = MAPPING_PARAMS.to_vec();
        p.extend(TAG_PARAMS);
        p.extend([
            ("model", ParamType::Varchar),
            ("n", ParamType::BigInt),
            ("trials", ParamType::BigInt),
            ("seed", ParamType::BigInt),
        ]);
        named(&p)
    }
}

fn gains_rows(b: GainsBind) -> crate::Result<Vec<Block>> {
    let rows = b.input.tag()?;
    let gains = tag_gains(&matrix(&rows), &b.model, b.n, b.trials, b.seed)?;
    Ok(vec![Block {
        columns: vec![
            Column::Text(gains.iter().map(|g| Some(TAG_NAMES[g.tag].to_string())).collect()),
            Column::Int(gains.iter().map(|g| Some(g.n_with_tag as i64)).collect()),
            Column::Float(gains.iter().map(|g| Some(g.gain).filter(|v| v.is_finite())).collect()),
            Column::Text(gains.iter().map(|g| crate::tags::tag_label(TAG_NAMES[g.tag])).collect()),
        ],
    }])
}

// ---------------------------------------------------------------- simulate_candidates

const SIMULATE: &str = "simulate_candidates";

pub struct SimulateCandidates;

#[derive(Clone)]
pub struct SimulateBind {
    input: TaggedInput,
    n: usize,
    seed: u64,
    with_ids: bool,
}

impl VTab for SimulateCandidates {
    type BindData = SimulateBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<SimulateBind, Box<dyn std::error::Error>> {
        let args = Args::new(SIMULATE, bind);
        let n = match args.i64("n")? {
            None => 500,
            Some(v) if v >= 1 => v as usize,
            Some(v) => return Err(format!("{SIMULATE}: n := {v} must be at least 1").into()),
        };
        let seed = seed_arg(&args)?;
        let with_ids = args.bool("with_ids")?.unwrap_or(false);
        let input = TaggedInput::bind(&args)?;
        let mut columns = vec![
            ("candidate_id", ColType::BigInt),
            ("budget", ColType::BigInt),
            ("n_human", ColType::BigInt),
            ("counts", ColType::DoubleList),
        ];
        if with_ids {
            columns.push(("routed_ids", ColType::VarcharList));
        }
        declare(bind, &columns);
        Ok(SimulateBind { input, n, seed, with_ids })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        Ok(deferred(init, SIMULATE, simulate_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(SIMULATE, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![varchar()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        let mut p = MAPPING_PARAMS.to_vec();
        p.extend(TAG_PARAMS);
        p.extend([("n", ParamType::BigInt), ("seed", ParamType::BigInt), ("with_ids", ParamType::Boolean)]);
        named(&p)
    }
}

fn simulate_rows(b: SimulateBind) -> crate::Result<Vec<Block>> {
    let rows = b.input.tag()?;
    let tags = matrix(&rows);
    let candidates = sample_candidates(&tags, b.n, b.seed, b.input.threads())?;
    let counts: Vec<Counts> = candidates.iter().map(|c| tags.counts_of(c.routed.iter().copied())).collect();
    let mut columns = vec![
        Column::Int((0..candidates.len()).map(|i| Some(i as i64)).collect()),
        Column::Int(candidates.iter().map(|c| Some(c.budget as i64)).collect()),
        Column::Int(candidates.iter().map(|c| Some(c.routed.len() as i64)).collect()),
        Column::FloatList(counts.iter().map(|c| Some(c.to_vec())).collect()),
    ];
    if b.with_ids {
        columns.push(Column::TextList(
            candidates.iter().map(|c| Some(c.routed.iter().map(|i| rows[*i].id.clone()).collect())).collect(),
        ));
    }
    Ok(vec![Block { columns }])
}
