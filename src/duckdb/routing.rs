//! `route_instances`, `budget_curve` and `hybrid_dataset`: budgeted routing
//! of a dataset with a PPM, and the hybrid preference dataset it yields. With
//! a judge-error model, `target_accuracy :=` routes to an expected accuracy
//! and `confidence :=` turns that into a promise ([`crate::guarantee`]).

use super::args::{named, Args, ParamType, MAPPING_PARAMS};
use super::common::{
    budget_arg, matrix, routing_model_arg, strategy_arg, Scored, Tagged, TaggedInput, ROUTE_PARAMS,
};
use super::output::{deferred, emit, Block, BlockSource, ColType, Column, Emitter, Nested, NestedType};
use super::tagging::TAG_PARAMS;
use super::{declare, fail};
use crate::data::{read_labels_file, Dataset, Label, Unit, UnitReader, DEFAULT_BATCH_ROWS};
use crate::guarantee::{plan, Plan};
use crate::model_file::RoutingModel;
use crate::route::hybrid::{
    apply_human_labels, assemble_with, Chosen, HybridRow, MissingPolicy, OnMissingHuman, OnMissingLabel,
};
use crate::route::{fewest_for_target, route_with, Budget, Routing, Strategy};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::Mutex;

pub(super) fn route_params(extra: &[(&'static str, ParamType)]) -> Option<Vec<(String, LogicalTypeHandle)>> {
    let mut p = MAPPING_PARAMS.to_vec();
    p.extend(TAG_PARAMS);
    p.extend(ROUTE_PARAMS);
    p.extend_from_slice(extra);
    named(&p)
}

/// What every routing function binds: the input, the model, the strategy.
#[derive(Clone)]
pub struct RouteBind {
    pub(super) input: TaggedInput,
    pub(super) model: RoutingModel,
    strategy: Strategy,
}

impl RouteBind {
    pub(super) fn bind(args: &Args) -> Result<RouteBind, String> {
        Ok(RouteBind {
            model: routing_model_arg(args)?,
            strategy: strategy_arg(args)?,
            input: TaggedInput::bind(args)?,
        })
    }
}

/// How many instances to route: a budget, or the fewest that reach an
/// expected accuracy (judge-error models only), at most the budget if both;
/// with a confidence, the fewest that promise the accuracy.
#[derive(Clone, Copy, Debug)]
pub struct RouteSize {
    budget: Option<Budget>,
    pub(super) target_accuracy: Option<f64>,
    pub(super) confidence: Option<f64>,
}

/// `target_accuracy :=` and `confidence :=`, checked: the target in [0, 1] and
/// for a judge-error model; the confidence in (0, 1), with a target, for a
/// model file that has calibration data, and with a threshold strategy.
pub(super) fn accuracy_args(args: &Args, model: &RoutingModel) -> Result<(Option<f64>, Option<f64>), String> {
    let f = args.function;
    let target_accuracy = args.f64("target_accuracy")?;
    let confidence = args.f64("confidence")?;
    if let Some(t) = target_accuracy {
        if !(0.0..=1.0).contains(&t) {
            return Err(format!("{f}: target_accuracy := {t} must be between 0 and 1"));
        }
        if let RoutingModel::Ppm(m) = model {
            return Err(format!(
                "{f}: target_accuracy := needs a judge-error model (risk_fit(…, save := …)); '{}' is a PPM, \
                 whose predicted score is not an accuracy. Hint: give a budget instead",
                m.name
            ));
        }
    }
    let Some(c) = confidence else { return Ok((target_accuracy, None)) };
    if !(c > 0.0 && c < 1.0) {
        return Err(format!(
            "{f}: confidence := {c} must be between 0 and 1 (exclusive). Hint: the probability the promised \
             accuracy must hold with, such as 0.9"
        ));
    }
    if target_accuracy.is_none() {
        return Err(format!(
            "{f}: confidence := needs target_accuracy := (the accuracy to promise). Hint: {f}(path, NULL, \
             model := 'risk.json', target_accuracy := 0.9, confidence := 0.9)"
        ));
    }
    if let RoutingModel::Risk(m) = model {
        m.calibration_set().map_err(|e| fail(f, e))?;
    }
    match args.text("strategy")?.as_deref() {
        None | Some("auto" | "optimize" | "topk") => Ok((target_accuracy, confidence)),
        Some(s) => Err(format!(
            "{f}: confidence := routes the rows above a threshold of the judge-error probability; strategy := \
             '{s}' routes otherwise. Hint: leave strategy out (or use 'auto', 'optimize' or 'topk')"
        )),
    }
}

impl RouteSize {
    /// The positional budget at `index` (NULL allowed with `target_accuracy :=`).
    pub(super) fn bind(args: &Args, index: u64, model: &RoutingModel, n: usize) -> Result<RouteSize, String> {
        let (target_accuracy, confidence) = accuracy_args(args, model)?;
        let budget = match (target_accuracy, args.positional_f64(index, "the budget")) {
            (Some(_), Err(_)) => None,
            (_, Ok(_)) => Some(budget_arg(args, index)?),
            (None, Err(e)) => return Err(e),
        };
        if let Some(b) = budget {
            b.resolve(n).map_err(|e| fail(args.function, e))?;
        }
        Ok(RouteSize { budget, target_accuracy, confidence })
    }
}

/// Tags the input and routes it: the one path every routing function takes.
/// A target that only all-human routing can promise is an error.
pub fn tag_and_route(b: &RouteBind, size: RouteSize) -> crate::Result<(Tagged, Routing)> {
    let (tagged, routing, plan) = tag_and_route_planned(b, size)?;
    if let Some(e) = plan.as_ref().and_then(Plan::all_human_error) {
        return Err(e);
    }
    Ok((tagged, routing))
}

/// [`tag_and_route`], with the promise made (under `confidence :=`); when
/// only all-human routing keeps it, every row is routed and the plan says so.
pub fn tag_and_route_planned(
    b: &RouteBind,
    size: RouteSize,
) -> crate::Result<(Tagged, Routing, Option<Plan>)> {
    let tagged = b.input.tag_for(&b.model)?;
    let mut strategy = b.strategy;
    let mut promise = None;
    let budget = match (size.target_accuracy, &tagged.model) {
        (Some(target), Scored::Errors(p)) => {
            let max_k = match size.budget {
                Some(b) => b.resolve(p.len())?,
                None => p.len(),
            };
            match (size.confidence, &b.model) {
                (Some(confidence), RoutingModel::Risk(m)) => {
                    let n_ai = tagged.rows.iter().filter(|r| r.ai_pref.is_some()).count();
                    let pl = plan(&m.calibration_set()?, p.len(), n_ai, target, confidence)?;
                    let k = pl.human(p).iter().filter(|h| **h).count();
                    if k > max_k && pl.threshold().is_some() {
                        return Err(crate::Error::argument(
                            format!(
                                "the promise of accuracy {target} at confidence {confidence} needs {k} instances \
                                 routed to humans, more than the budget of {max_k}"
                            ),
                            "allow a larger budget, or lower target_accuracy or confidence",
                        ));
                    }
                    // The k largest p are exactly the rows at or above the threshold.
                    strategy = Strategy::TopK;
                    promise = Some(pl);
                    Budget::Count(k as u64)
                }
                _ => Budget::Count(fewest_for_target(p, target, max_k)? as u64),
            }
        }
        _ => size.budget.unwrap_or(Budget::Count(0)),
    };
    let routing = route_with(
        &matrix(&tagged.rows),
        &tagged.ids(),
        tagged.route_model(),
        budget,
        strategy,
        b.input.threads(),
    )?;
    Ok((tagged, routing, promise))
}

// ---------------------------------------------------------------- route_instances

const ROUTE: &str = "route_instances";

pub struct RouteInstances;

#[derive(Clone)]
pub struct RouteInstancesBind {
    common: RouteBind,
    size: RouteSize,
}

impl VTab for RouteInstances {
    type BindData = RouteInstancesBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let args = Args::new(ROUTE, bind);
        let common = RouteBind::bind(&args)?;
        let size = RouteSize::bind(&args, 1, &common.model, common.input.dataset.num_rows() as usize)?;
        declare(
            bind,
            &[
                ("id", ColType::Varchar),
                ("route", ColType::Varchar),
                ("gain", ColType::Double),
                ("rank", ColType::BigInt),
                ("label", ColType::Varchar),
            ],
        );
        bind.set_cardinality(common.input.dataset.num_rows(), true);
        Ok(RouteInstancesBind { common, size })
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        Ok(deferred(init, ROUTE, route_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(ROUTE, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into(), LogicalTypeId::Double.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        route_params(&[("target_accuracy", ParamType::Double), ("confidence", ParamType::Double)])
    }
}

fn route_rows(b: RouteInstancesBind) -> crate::Result<Vec<Block>> {
    let (tagged, routing) = tag_and_route(&b.common, b.size)?;
    let rows = &tagged.rows;
    let label = |i: usize| {
        let l = if routing.human[i] { rows[i].human_pref } else { rows[i].ai_pref };
        l.map(|l| l.as_str().to_string())
    };
    Ok(vec![Block {
        columns: vec![
            Column::Text(rows.iter().map(|r| Some(r.id.clone())).collect()),
            Column::Text(
                routing.human.iter().map(|h| Some(if *h { "human" } else { "ai" }.to_string())).collect(),
            ),
            Column::Float(routing.gain.iter().map(|g| Some(*g)).collect()),
            Column::Int(routing.rank.iter().map(|r| Some(*r as i64)).collect()),
            Column::Text((0..rows.len()).map(label).collect()),
        ],
    }])
}

// ---------------------------------------------------------------- budget_curve

const CURVE: &str = "budget_curve";

pub struct BudgetCurve;

#[derive(Clone)]
pub struct BudgetCurveBind {
    common: RouteBind,
    steps: usize,
    /// `target_accuracy :=` and `confidence :=`: add `meets_target`.
    target_accuracy: Option<f64>,
    confidence: Option<f64>,
}

impl VTab for BudgetCurve {
    type BindData = BudgetCurveBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let args = Args::new(CURVE, bind);
        let steps = match args.i64("steps")? {
            None => 20,
            Some(s) if (1..=1000).contains(&s) => s as usize,
            Some(s) => return Err(format!("{CURVE}: steps := {s} must be between 1 and 1000").into()),
        };
        let common = RouteBind::bind(&args)?;
        let (target_accuracy, confidence) = accuracy_args(&args, &common.model)?;
        let mut columns = vec![
            ("budget", ColType::Double),
            ("n_human", ColType::BigInt),
            ("predicted_score", ColType::Double),
            ("best", ColType::Boolean),
        ];
        if target_accuracy.is_some() {
            columns.push(("meets_target", ColType::Boolean));
        }
        declare(bind, &columns);
        Ok(BudgetCurveBind { common, steps, target_accuracy, confidence })
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        Ok(deferred(init, CURVE, curve_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(CURVE, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        route_params(&[
            ("steps", ParamType::BigInt),
            ("target_accuracy", ParamType::Double),
            ("confidence", ParamType::Double),
        ])
    }
}

fn curve_rows(b: BudgetCurveBind) -> crate::Result<Vec<Block>> {
    let tagged = b.common.input.tag_for(&b.common.model)?;
    let tags = matrix(&tagged.rows);
    let ids = tagged.ids();
    let mut budgets = Vec::with_capacity(b.steps + 1);
    let mut n_human = Vec::with_capacity(b.steps + 1);
    let mut scores = Vec::with_capacity(b.steps + 1);
    for s in 0..=b.steps {
        let fraction = s as f64 / b.steps as f64;
        let routing = route_with(
            &tags,
            &ids,
            tagged.route_model(),
            Budget::Fraction(fraction),
            b.common.strategy,
            b.common.input.threads(),
        )?;
        budgets.push(Some(fraction));
        n_human.push(Some(routing.n_human() as i64));
        scores.push(routing.predicted);
    }
    // The paper's ★: the first budget with the highest predicted score.
    let best = scores.iter().enumerate().fold(0, |best, (i, s)| if *s > scores[best] { i } else { best });
    let mut columns = vec![
        Column::Float(budgets),
        Column::Int(n_human.clone()),
        Column::Float(scores.iter().copied().map(Some).collect()),
        Column::Bool((0..=b.steps).map(|i| Some(i == best)).collect()),
    ];
    if let Some(target) = b.target_accuracy {
        let meets: Vec<Option<bool>> = match (b.confidence, &b.common.model, &tagged.model) {
            // Promised: the budget routes at least the rows the promise needs (the
            // largest p first, so a superset of them).
            (Some(confidence), RoutingModel::Risk(m), Scored::Errors(p)) => {
                let n_ai = tagged.rows.iter().filter(|r| r.ai_pref.is_some()).count();
                let pl = plan(&m.calibration_set()?, p.len(), n_ai, target, confidence)?;
                let needed = pl.human(p).iter().filter(|h| **h).count() as i64;
                n_human.iter().map(|k| k.map(|k| k >= needed)).collect()
            }
            // Expected only.
            _ => scores.iter().map(|s| Some(*s >= target - 1e-12)).collect(),
        };
        columns.push(Column::Bool(meets));
    }
    Ok(vec![Block { columns }])
}

// ---------------------------------------------------------------- hybrid_dataset

const HYBRID: &str = "hybrid_dataset";

pub struct HybridDataset;

#[derive(Clone)]
pub struct HybridBind {
    common: RouteBind,
    size: RouteSize,
    policy: MissingPolicy,
    /// `human_labels :=`: a Parquet file (or glob) of `id, human_pref`.
    human_labels: Option<String>,
    conversational: bool,
}

/// `format := 'conversational'`: a list of chat messages.
static MESSAGES: NestedType =
    NestedType::List(&NestedType::Struct(&[("role", NestedType::Varchar), ("content", NestedType::Varchar)]));

/// The user prompt and one assistant completion as chat messages.
fn messages(prompt: &Option<String>, completion: Option<String>) -> Nested {
    let message = |role: &str, content: Option<String>| {
        Nested::Struct(vec![Nested::Text(role.into()), content.map_or(Nested::Null, Nested::Text)])
    };
    Nested::List(vec![message("user", prompt.clone()), message("assistant", completion)])
}

impl VTab for HybridDataset {
    type BindData = HybridBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let args = Args::new(HYBRID, bind);
        let label = match args.text("on_missing_label")?.as_deref().unwrap_or("error") {
            "error" => OnMissingLabel::Error,
            "drop" => OnMissingLabel::Drop,
            other => {
                return Err(format!("{HYBRID}: on_missing_label := '{other}' is not 'error' or 'drop'").into())
            }
        };
        let human = match args.text("on_missing_human")?.as_deref().unwrap_or("error") {
            "error" => OnMissingHuman::Error,
            "ai" => OnMissingHuman::Ai,
            "drop" => OnMissingHuman::Drop,
            other => {
                return Err(
                    format!("{HYBRID}: on_missing_human := '{other}' is not 'error', 'ai' or 'drop'").into()
                )
            }
        };
        let conversational = match args.text("format")?.as_deref().unwrap_or("trl") {
            "trl" => false,
            "conversational" => true,
            other => {
                return Err(format!(
                "{HYBRID}: format := '{other}' is not 'trl' or 'conversational'. Hint: 'trl' gives prompt, \
                     chosen and rejected as text; 'conversational' gives chosen and rejected as lists of \
                     {{role, content}} messages"
            )
                .into())
            }
        };
        let human_labels = args.text("human_labels")?;
        let common = RouteBind::bind(&args)?;
        if let Some(path) = &human_labels {
            // Read at bind time so that a missing file or column fails before any work.
            read_labels_file(common.input.dataset.opener().as_ref(), path).map_err(|e| fail(HYBRID, e))?;
        }
        let size = RouteSize::bind(&args, 1, &common.model, common.input.dataset.num_rows() as usize)?;
        if conversational {
            declare(
                bind,
                &[
                    ("id", ColType::Varchar),
                    ("chosen", ColType::Nested(&MESSAGES)),
                    ("rejected", ColType::Nested(&MESSAGES)),
                    ("label_source", ColType::Varchar),
                ],
            );
        } else {
            declare(
                bind,
                &[
                    ("id", ColType::Varchar),
                    ("prompt", ColType::Varchar),
                    ("chosen", ColType::Varchar),
                    ("rejected", ColType::Varchar),
                    ("label_source", ColType::Varchar),
                ],
            );
        }
        let policy = MissingPolicy { human, label };
        Ok(HybridBind { common, size, policy, human_labels, conversational })
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        // SAFETY: DuckDB passes the bind data this function's bind stored; it outlives init.
        let b = unsafe { &*init.get_bind_data::<HybridBind>() }.clone();
        init.set_max_threads(1);
        Ok(Mutex::new(Emitter::new(Box::new(HybridSource::new(b)))))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(HYBRID, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into(), LogicalTypeId::Double.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        route_params(&[
            ("on_missing_label", ParamType::Varchar),
            ("on_missing_human", ParamType::Varchar),
            ("human_labels", ParamType::Varchar),
            ("format", ParamType::Varchar),
            ("target_accuracy", ParamType::Double),
            ("confidence", ParamType::Double),
        ])
    }
}

/// Routes on the first call, then streams the texts again in order and emits
/// the kept rows: the texts are never all in memory at once.
struct HybridSource {
    job: Option<HybridBind>,
    conversational: bool,
    dataset: Option<Dataset>,
    /// Kept rows, ascending by input index, and the next one to emit.
    plan: Vec<HybridRow>,
    next: usize,
    units: Vec<Unit>,
    unit: usize,
    reader: Option<UnitReader>,
}

impl HybridSource {
    fn new(bind: HybridBind) -> HybridSource {
        HybridSource {
            conversational: bind.conversational,
            job: Some(bind),
            dataset: None,
            plan: Vec::new(),
            next: 0,
            units: Vec::new(),
            unit: 0,
            reader: None,
        }
    }

    fn plan(b: &HybridBind) -> crate::Result<Vec<HybridRow>> {
        let (tagged, routing) = tag_and_route(&b.common, b.size)?;
        let rows = &tagged.rows;
        let mut human: Vec<Option<Label>> = rows.iter().map(|r| r.human_pref).collect();
        let ai: Vec<Option<Label>> = rows.iter().map(|r| r.ai_pref).collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        if let Some(path) = &b.human_labels {
            let labels = read_labels_file(b.common.input.dataset.opener().as_ref(), path)?;
            apply_human_labels(&ids, &routing.human, &mut human, &labels, path)?;
        }
        let (kept, _summary) = assemble_with(&routing.human, &human, &ai, &ids, b.policy)?;
        Ok(kept)
    }

    /// The next batch of the second pass, if any.
    fn next_batch(&mut self) -> crate::Result<Option<crate::data::InstanceBatch>> {
        let Some(dataset) = &self.dataset else { return Ok(None) };
        loop {
            if let Some(reader) = &mut self.reader {
                if let Some(batch) = reader.next() {
                    return batch.map(Some);
                }
            }
            let Some(unit) = self.units.get(self.unit) else { return Ok(None) };
            self.unit += 1;
            self.reader = Some(dataset.read_unit(unit, DEFAULT_BATCH_ROWS)?);
        }
    }

    fn step(&mut self) -> crate::Result<Option<Block>> {
        if let Some(b) = self.job.take() {
            self.plan = Self::plan(&b)?;
            self.units = b.common.input.dataset.units();
            self.dataset = Some(b.common.input.dataset);
        }
        while self.next < self.plan.len() {
            let Some(batch) = self.next_batch()? else {
                return Err(crate::Error::Internal(
                    "the input ended before every routed row was read".into(),
                ));
            };
            let first = batch.first_row as usize;
            let mut ids = Vec::new();
            let mut prompts = Vec::new();
            let mut chosen = Vec::new();
            let mut rejected = Vec::new();
            let mut sources = Vec::new();
            while let Some(row) = self.plan.get(self.next) {
                if row.index >= first + batch.len() {
                    break;
                }
                let i = row.index - first;
                let (a, b) = (batch.completion_a[i].clone(), batch.completion_b[i].clone());
                let (c, r) = match row.chosen {
                    Chosen::A => (a, b),
                    Chosen::B => (b, a),
                };
                ids.push(Some(batch.ids[i].clone()));
                prompts.push(batch.prompt[i].clone());
                chosen.push(c);
                rejected.push(r);
                sources.push(Some(row.label_source.as_str().to_string()));
                self.next += 1;
            }
            if !ids.is_empty() && self.conversational {
                return Ok(Some(Block {
                    columns: vec![
                        Column::Text(ids),
                        Column::Nested(
                            &MESSAGES,
                            chosen.into_iter().zip(&prompts).map(|(c, p)| messages(p, c)).collect(),
                        ),
                        Column::Nested(
                            &MESSAGES,
                            rejected.into_iter().zip(&prompts).map(|(r, p)| messages(p, r)).collect(),
                        ),
                        Column::Text(sources),
                    ],
                }));
            }
            if !ids.is_empty() {
                return Ok(Some(Block {
                    columns: vec![
                        Column::Text(ids),
                        Column::Text(prompts),
                        Column::Text(chosen),
                        Column::Text(rejected),
                        Column::Text(sources),
                    ],
                }));
            }
        }
        Ok(None)
    }
}

impl BlockSource for HybridSource {
    fn next_block(&mut self) -> Result<Option<Block>, String> {
        self.step().map_err(|e| fail(HYBRID, e))
    }
}
