//! `describe_prompts(path, base_url := …, llm_model := …, fields := …, …)`: the eight descriptive
//! fields of every prompt from an LLM, asked as the paper's analyzer asks them (see
//! `crate::llm::analyzer`), one request per (prompt, field), through the request runner shared with
//! `judge_pairs`.

use super::args::{named, Args, ParamType, MAPPING_PARAMS};
use super::files::QueryFiles;
use super::llm_params::{batch_source, chunk_rows, llm_setup, requests_progress, LlmSetup, LLM_PARAMS};
use super::output::{emit, Block, BlockSource, ColType, Column, Emitter};
use super::{declare, fail};
use crate::data::{Dataset, Field};
use crate::llm::analyzer::{parse_fields, Analyzer, DescribeItem, DescribeWork, Described, FIELDS};
use crate::llm::runner::Runner;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::{Arc, Mutex};

const NAME: &str = "describe_prompts";

const COLUMNS: [(&str, ColType); 12] = [
    ("id", ColType::Varchar),
    ("subject_of_expertise", ColType::VarcharList),
    ("languages", ColType::VarcharList),
    ("expertise_level", ColType::Varchar),
    ("open_endedness", ColType::Varchar),
    ("safety_concern", ColType::Varchar),
    ("complexity_of_intents", ColType::Varchar),
    ("type_of_in_context_material", ColType::VarcharList),
    ("format_constraints", ColType::VarcharList),
    ("missing", ColType::VarcharList),
    ("tagger_model", ColType::Varchar),
    ("error", ColType::Varchar),
];

const PARAMS: [(&str, ParamType); 2] = [("fields", ParamType::Any), ("progress", ParamType::Boolean)];

pub struct DescribePrompts;

pub struct Bind {
    dataset: Dataset,
    analyzer: Arc<Analyzer>,
    asked: Vec<usize>,
    fail_fast: bool,
    chunk: usize,
    progress: Option<bool>,
    /// The file system the dataset reads through, held for the query.
    _files: QueryFiles,
}

/// `fields :=` (default: all eight), as indices into `FIELDS`.
pub(super) fn asked_fields(args: &Args) -> Result<Vec<usize>, String> {
    match args.text_list("fields")? {
        None => Ok((0..FIELDS.len()).collect()),
        Some(names) => parse_fields(&names).map_err(|e| {
            format!("{}: fields := {names:?}: {e}. Hint: e.g. fields := ['subject_of_expertise', 'safety_concern']", args.function)
        }),
    }
}

/// The analyzer of the shared LLM parameters.
pub(super) fn analyzer(setup: LlmSetup) -> (Arc<Analyzer>, bool) {
    let LlmSetup { client, model, cache, fail_fast } = setup;
    (Arc::new(Analyzer { client, model, cache }), fail_fast)
}

impl VTab for DescribePrompts {
    type BindData = Bind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Bind, Box<dyn std::error::Error>> {
        let args = Args::new(NAME, bind);
        let path = args.positional_text(0, "the path")?;
        let overrides = args.overrides()?;
        let files = args.files()?;
        let dataset =
            Dataset::open_with(files.opener(), &path, &overrides, &[]).map_err(|e| fail(NAME, e))?;
        if dataset.mapping.column(Field::Prompt).is_none() {
            return Err(format!(
                "{NAME}: file '{path}' has no prompt column. Hint: name it with prompt := '<column>'; its columns are {}",
                dataset.column_names().join(", ")
            )
            .into());
        }
        let asked = asked_fields(&args)?;
        let (analyzer, fail_fast) = analyzer(llm_setup(&args)?);
        let chunk = chunk_rows(analyzer.client.limits().max_concurrency);
        let progress = args.bool("progress")?;
        declare(bind, &COLUMNS);
        bind.set_cardinality(dataset.num_rows(), true);
        Ok(Bind { dataset, analyzer, asked, fail_fast, chunk, progress, _files: files })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        // SAFETY: DuckDB passes the bind data this function's bind stored; it outlives init.
        let bind = unsafe { &*init.get_bind_data::<Bind>() };
        init.set_max_threads(1);
        let total = bind.dataset.num_rows() * bind.asked.len() as u64;
        let progress = requests_progress(bind.progress, NAME, Some(total));
        let asked = bind.asked.clone();
        let source = batch_source(NAME, bind.dataset.clone(), move |batch, i| DescribeItem {
            prompt: batch.prompt[i].clone(),
            asked: asked.clone(),
            carry: batch.ids[i].clone(),
        });
        let runner = bind.analyzer.start(source, bind.chunk, progress);
        let out = Prompts {
            dataset: bind.dataset.clone(),
            runner,
            model: bind.analyzer.model.clone(),
            base_url: bind.analyzer.client.endpoint().base_url.clone(),
            fail_fast: bind.fail_fast,
            chunk: bind.chunk,
        };
        Ok(Mutex::new(Emitter::new(Box::new(out))))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(NAME, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        let mut p = MAPPING_PARAMS.to_vec();
        p.extend(LLM_PARAMS);
        p.extend(PARAMS);
        named(&p)
    }
}

struct Prompts {
    dataset: Dataset,
    runner: Runner<DescribeWork<String>>,
    model: String,
    base_url: String,
    fail_fast: bool,
    chunk: usize,
}

impl BlockSource for Prompts {
    fn next_block(&mut self) -> Result<Option<Block>, String> {
        let Some(rows) = self.runner.next(self.chunk)? else { return Ok(None) };
        if self.fail_fast {
            if let Some((id, d)) = rows.iter().find(|(_, d)| d.error.is_some()) {
                return Err(row_error(NAME, &self.dataset, &self.base_url, id, d));
            }
        }
        let mut columns = vec![Column::Text(rows.iter().map(|(id, _)| Some(id.clone())).collect())];
        columns.extend(field_columns(&rows));
        columns.push(Column::TextList(
            rows.iter().map(|(_, d)| Some(d.missing.iter().map(|m| m.to_string()).collect())).collect(),
        ));
        columns.push(Column::Text(rows.iter().map(|_| Some(self.model.clone())).collect()));
        columns.push(Column::Text(rows.iter().map(|(_, d)| d.error.clone()).collect()));
        Ok(Some(Block { columns }))
    }
}

/// The eight field columns; a field that was not asked, or got no value, is NULL.
fn field_columns<T>(rows: &[(T, Described)]) -> Vec<Column> {
    let has = |d: &Described, k: usize| -> bool { d.asked.contains(&k) && !d.missing.contains(&FIELDS[k]) };
    let list = |k: usize, get: fn(&Described) -> &Vec<String>| {
        Column::TextList(rows.iter().map(|(_, d)| has(d, k).then(|| get(d).clone())).collect())
    };
    let one = |k: usize, get: fn(&Described) -> &Option<String>| {
        Column::Text(rows.iter().map(|(_, d)| if has(d, k) { get(d).clone() } else { None }).collect())
    };
    vec![
        list(0, |d| &d.fields.subject_of_expertise),
        list(1, |d| &d.fields.languages),
        one(2, |d| &d.fields.expertise_level),
        one(3, |d| &d.fields.open_endedness),
        one(4, |d| &d.fields.safety_concern),
        one(5, |d| &d.fields.complexity_of_intents),
        list(6, |d| &d.fields.type_of_in_context_material),
        list(7, |d| &d.fields.format_constraints),
    ]
}

/// The SQL error for a row whose requests failed under `on_error := 'error'`.
pub(super) fn row_error(
    function: &'static str,
    dataset: &Dataset,
    base_url: &str,
    id: &str,
    d: &Described,
) -> String {
    let column = dataset.mapping.column(Field::Prompt).unwrap_or("prompt").to_string();
    let e = crate::Error::Value {
        path: dataset.pattern.clone(),
        column,
        id: id.to_string(),
        value: d.prompt_head.clone(),
        message: format!("the tagger at '{base_url}' gave no answer: {}", d.error.as_deref().unwrap_or("")),
        hint:
            "on_error := 'null' (the default) keeps going, leaves the fields NULL and reports the reason in \
               the `error` column; finished replies are cached, so a re-run only asks for the rest"
                .into(),
    };
    fail(function, e)
}
