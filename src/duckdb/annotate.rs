//! `label_studio_tasks`, `label_studio_labels` and `label_studio_config`: the
//! annotation round trip with Label Studio (the formats live in
//! [`crate::annotate::label_studio`]).

use super::args::{named, Args, ParamType};
use super::declare;
use super::files::QueryFiles;
use super::output::{deferred, emit, Block, ColType, Column, Emitter, Nested, NestedType};
use super::routing::{route_params, tag_and_route, RouteBind, RouteSize};
use crate::annotate::label_studio::{parse_export, Task, CONFIG_XML, FROM_NAME, TO_NAME};
use crate::data::{ExtraColumn, ExtraKind, ExtraRequest, Field, DEFAULT_BATCH_ROWS};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::Mutex;

// ---------------------------------------------------------------- label_studio_tasks

const TASKS: &str = "label_studio_tasks";

/// The column whose values become the prediction's score, when the input has it.
const CONFIDENCE: &str = "ai_confidence";
/// The column naming each row's judge (the prediction's `model_version`), when the input has it.
const JUDGE: &str = "ai_judge";

/// Label Studio's `data`.
static DATA: NestedType = NestedType::Struct(&[
    ("id", NestedType::Varchar),
    ("prompt", NestedType::Varchar),
    ("completion_a", NestedType::Varchar),
    ("completion_b", NestedType::Varchar),
]);

/// Label Studio's `predictions`: a list of `{model_version, score, result}`.
static PREDICTIONS: NestedType = NestedType::List(&NestedType::Struct(&[
    ("model_version", NestedType::Varchar),
    ("score", NestedType::Double),
    (
        "result",
        NestedType::List(&NestedType::Struct(&[
            ("from_name", NestedType::Varchar),
            ("to_name", NestedType::Varchar),
            ("type", NestedType::Varchar),
            ("value", NestedType::Struct(&[("choices", NestedType::List(&NestedType::Varchar))])),
        ])),
    ),
]));

pub struct LabelStudioTasks;

#[derive(Clone)]
pub struct TasksBind {
    common: RouteBind,
    size: RouteSize,
    /// `model_version :=`, else the name of the AI label column.
    model_version: String,
    confidence: bool,
    /// Read each row's judge from `ai_judge` (only when `model_version :=` was not given).
    judge: bool,
}

impl VTab for LabelStudioTasks {
    type BindData = TasksBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let args = Args::new(TASKS, bind);
        let common = RouteBind::bind(&args)?;
        let dataset = &common.input.dataset;
        let size = RouteSize::bind(&args, 1, &common.model, dataset.num_rows() as usize)?;
        let given = args.text("model_version")?;
        let model_version_given = given.is_some();
        let model_version = match given {
            Some(m) => m,
            None => dataset.mapping.column(Field::AiPref).unwrap_or("ai_pref").to_string(),
        };
        let confidence = dataset.has_column(CONFIDENCE);
        let judge = !model_version_given && dataset.has_column(JUDGE);
        declare(bind, &[("data", ColType::Nested(&DATA)), ("predictions", ColType::Nested(&PREDICTIONS))]);
        Ok(TasksBind { common, size, model_version, confidence, judge })
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        Ok(deferred(init, TASKS, task_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(TASKS, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into(), LogicalTypeId::Double.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        route_params(&[
            ("model_version", ParamType::Varchar),
            ("target_accuracy", ParamType::Double),
            ("confidence", ParamType::Double),
        ])
    }
}

/// Routes, then reads the routed rows' texts (and confidences) in a second pass;
/// the routed rows' texts are held in memory (the tasks of one annotation batch).
fn task_rows(b: TasksBind) -> crate::Result<Vec<Block>> {
    let (_, routing) = tag_and_route(&b.common, b.size)?;
    let mut dataset = b.common.input.dataset.clone();
    if b.confidence {
        dataset.add_extra(ExtraRequest { column: CONFIDENCE.into(), kind: ExtraKind::Float })?;
    }
    if b.judge {
        dataset.add_extra(ExtraRequest { column: JUDGE.into(), kind: ExtraKind::Text })?;
    }
    let (k_conf, k_judge) = (0, usize::from(b.confidence));
    let source = (dataset.pattern.clone(), CONFIDENCE.to_string());
    let mut tasks = Vec::with_capacity(routing.n_human());
    for unit in dataset.units() {
        for batch in dataset.read_unit(&unit, DEFAULT_BATCH_ROWS)? {
            let batch = batch?;
            let confidences = match (b.confidence, batch.extras.get(k_conf)) {
                (true, Some(ExtraColumn::Float(c))) => Some(c),
                (false, _) => None,
                _ => return Err(crate::Error::Internal("ai_confidence was not read as numbers".into())),
            };
            let judges = match (b.judge, batch.extras.get(k_judge)) {
                (true, Some(ExtraColumn::Text(j))) => Some(j),
                (false, _) => None,
                _ => return Err(crate::Error::Internal("ai_judge was not read as text".into())),
            };
            for i in 0..batch.len() {
                if !routing.human.get(batch.first_row as usize + i).copied().unwrap_or(false) {
                    continue;
                }
                tasks.push(Task::new(
                    batch.ids[i].clone(),
                    batch.prompt[i].clone(),
                    batch.completion_a[i].clone(),
                    batch.completion_b[i].clone(),
                    batch.ai_pref[i],
                    confidences.and_then(|c| c[i]),
                    judges.and_then(|j| j[i].as_deref()).unwrap_or(&b.model_version),
                    (&source.0, &source.1),
                )?);
            }
        }
    }
    let text = |s: &Option<String>| s.clone().map_or(Nested::Null, Nested::Text);
    let data = tasks
        .iter()
        .map(|t| {
            Nested::Struct(vec![
                Nested::Text(t.id.clone()),
                text(&t.prompt),
                text(&t.completion_a),
                text(&t.completion_b),
            ])
        })
        .collect();
    let predictions = tasks
        .iter()
        .map(|t| {
            Nested::List(
                t.prediction
                    .iter()
                    .map(|p| {
                        let result = Nested::Struct(vec![
                            Nested::Text(FROM_NAME.into()),
                            Nested::Text(TO_NAME.into()),
                            Nested::Text("choices".into()),
                            Nested::Struct(vec![Nested::List(vec![Nested::Text(p.choice.into())])]),
                        ]);
                        Nested::Struct(vec![
                            Nested::Text(p.model_version.clone()),
                            p.score.map_or(Nested::Null, Nested::Float),
                            Nested::List(vec![result]),
                        ])
                    })
                    .collect(),
            )
        })
        .collect();
    Ok(vec![Block { columns: vec![Column::Nested(&DATA, data), Column::Nested(&PREDICTIONS, predictions)] }])
}

// ---------------------------------------------------------------- label_studio_labels

const LABELS: &str = "label_studio_labels";

pub struct LabelStudioLabels;

#[derive(Clone)]
pub struct LabelsBind {
    path: String,
    files: QueryFiles,
}

impl VTab for LabelStudioLabels {
    type BindData = LabelsBind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let args = Args::new(LABELS, bind);
        let path = args.positional_text(0, "the export path")?;
        declare(
            bind,
            &[
                ("id", ColType::Varchar),
                ("human_pref", ColType::Varchar),
                ("annotator", ColType::Varchar),
                ("n_annotations", ColType::BigInt),
                ("n_skipped", ColType::BigInt),
                ("lead_time", ColType::Double),
                ("agreement", ColType::Double),
                ("task_id", ColType::BigInt),
            ],
        );
        Ok(LabelsBind { path, files: args.files()? })
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        Ok(deferred(init, LABELS, label_rows))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(LABELS, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into()])
    }
}

fn label_rows(b: LabelsBind) -> crate::Result<Vec<Block>> {
    let text = b.files.opener().read_to_string(&b.path).map_err(|e| {
        crate::Error::file(
            &b.path,
            format!("cannot read: {e}"),
            "give the path of a Label Studio export (exportType=JSON)",
        )
    })?;
    let labels = parse_export(&text, &b.path)?;
    Ok(vec![Block {
        columns: vec![
            Column::Text(labels.iter().map(|l| Some(l.id.clone())).collect()),
            Column::Text(labels.iter().map(|l| l.human_pref.map(|p| p.as_str().to_string())).collect()),
            Column::Text(
                labels.iter().map(|l| (!l.annotators.is_empty()).then(|| l.annotators.join(","))).collect(),
            ),
            Column::Int(labels.iter().map(|l| Some(l.n_annotations as i64)).collect()),
            Column::Int(labels.iter().map(|l| Some(l.n_skipped as i64)).collect()),
            Column::Float(labels.iter().map(|l| l.lead_time).collect()),
            Column::Float(labels.iter().map(|l| l.agreement).collect()),
            Column::Int(labels.iter().map(|l| l.task_id).collect()),
        ],
    }])
}

// ---------------------------------------------------------------- label_studio_config

const CONFIG: &str = "label_studio_config";

pub struct LabelStudioConfig;

impl VTab for LabelStudioConfig {
    type BindData = ();
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        declare(bind, &[("label_config", ColType::Varchar)]);
        Ok(())
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        Ok(deferred(init, CONFIG, |()| {
            Ok(vec![Block { columns: vec![Column::Text(vec![Some(CONFIG_XML.into())])] }])
        }))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(CONFIG, func.get_init_data(), output)
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        named(&[])
    }
}
