//! `judge_pairs(path, base_url := …, llm_model := …, …)`: an AI judge's label for every pair, asked
//! of an OpenAI-compatible server (see `crate::llm`). The shared request runner judges in the
//! background and each call returns the pairs finished in input order within about a second, so an
//! interrupt stops the run promptly with every finished reply cached.

use super::args::{named, Args, ParamType, MAPPING_PARAMS};
use super::files::QueryFiles;
use super::llm_params::{batch_source, chunk_rows, llm_setup, requests_progress, LlmSetup, LLM_PARAMS};
use super::output::{emit, Block, BlockSource, ColType, Column, Emitter};
use super::{declare, fail};
use crate::data::{Dataset, Field};
use crate::llm::judge::Template;
use crate::llm::runner::Runner;
use crate::llm::{PairInput, PairJudge, PairJudgement, PairWork};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::{Arc, Mutex};

const NAME: &str = "judge_pairs";

const COLUMNS: [(&str, ColType); 6] = [
    ("id", ColType::Varchar),
    ("ai_pref", ColType::Varchar),
    ("ai_pref_alt", ColType::Varchar),
    ("ai_confidence", ColType::Double),
    ("judge_model", ColType::Varchar),
    ("error", ColType::Varchar),
];

/// judge_pairs' own parameters; the server, limits and cache ones are [`LLM_PARAMS`].
const PARAMS: [(&str, ParamType); 3] =
    [("swap", ParamType::Boolean), ("template", ParamType::Varchar), ("progress", ParamType::Boolean)];

pub struct JudgePairs;

pub struct Bind {
    dataset: Dataset,
    judge: Arc<PairJudge>,
    fail_fast: bool,
    /// Most pairs returned per callback (each call also returns after about a second).
    chunk: usize,
    /// `progress := true`.
    progress: Option<bool>,
    /// The file system the dataset reads through, held for the query.
    _files: QueryFiles,
}

fn bind_judge(args: &Args, files: &QueryFiles) -> Result<(Arc<PairJudge>, bool), String> {
    // The template is read before the server is contacted: a bad path is the user's first error.
    let template = match args.text("template")? {
        None => Template::builtin(),
        Some(path) => {
            let text = files.opener().read_to_string(&path).map_err(|e| {
                format!("{NAME}: template := '{path}': cannot read it: {e}. Hint: give a UTF-8 text file with {{prompt}}, {{completion_a}} and {{completion_b}}")
            })?;
            Template::user(text).map_err(|e| {
                format!("{NAME}: template := '{path}': {e}. Hint: the template must contain {{prompt}}, {{completion_a}} and {{completion_b}}")
            })?
        }
    };
    let swap = args.bool("swap")?.unwrap_or(true);
    let LlmSetup { client, model, cache, fail_fast } = llm_setup(args)?;
    Ok((Arc::new(PairJudge { client, model, template, cache, swap }), fail_fast))
}

impl VTab for JudgePairs {
    type BindData = Bind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Bind, Box<dyn std::error::Error>> {
        let args = Args::new(NAME, bind);
        let path = args.positional_text(0, "the path")?;
        let overrides = args.overrides()?;
        let files = args.files()?;
        let dataset =
            Dataset::open_with(files.opener(), &path, &overrides, &[]).map_err(|e| fail(NAME, e))?;
        for f in [Field::Prompt, Field::CompletionA, Field::CompletionB] {
            if dataset.mapping.column(f).is_none() {
                return Err(format!(
                    "{NAME}: file '{path}' has no {} column. Hint: name it with {} := '<column>'; its columns are {}",
                    f.name(),
                    f.name(),
                    dataset.column_names().join(", ")
                )
                .into());
            }
        }
        let (judge, fail_fast) = bind_judge(&args, &files)?;
        let chunk = chunk_rows(judge.client.limits().max_concurrency);
        let progress = args.bool("progress")?;
        declare(bind, &COLUMNS);
        bind.set_cardinality(dataset.num_rows(), true);
        Ok(Bind { dataset, judge, fail_fast, chunk, progress, _files: files })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        // SAFETY: DuckDB passes the bind data this function's bind stored; it outlives init.
        let bind = unsafe { &*init.get_bind_data::<Bind>() };
        init.set_max_threads(1);
        let orders = if bind.judge.swap { 2 } else { 1 };
        let progress = requests_progress(bind.progress, NAME, Some(bind.dataset.num_rows() * orders));
        let reader = batch_source(NAME, bind.dataset.clone(), |batch, i| PairInput {
            id: batch.ids[i].clone(),
            prompt: batch.prompt[i].clone(),
            a: batch.completion_a[i].clone(),
            b: batch.completion_b[i].clone(),
        });
        let runner = bind.judge.start(reader, bind.chunk, progress);
        let source = Pairs {
            dataset: bind.dataset.clone(),
            runner,
            judge: Arc::clone(&bind.judge),
            fail_fast: bind.fail_fast,
            chunk: bind.chunk,
        };
        Ok(Mutex::new(Emitter::new(Box::new(source))))
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

/// Hands out the judged pairs, in input order, as the runner finishes them.
struct Pairs {
    dataset: Dataset,
    runner: Runner<PairWork>,
    judge: Arc<PairJudge>,
    fail_fast: bool,
    chunk: usize,
}

impl Pairs {
    /// The SQL error for a failed pair under `on_error := 'error'`.
    fn row_error(&self, out: &PairJudgement) -> String {
        let column = self.dataset.mapping.column(Field::Prompt).unwrap_or("prompt").to_string();
        let shown = &out.prompt_head;
        let e = crate::Error::Value {
            path: self.dataset.pattern.clone(),
            column,
            id: out.id.clone(),
            value: shown.clone(),
            message: format!(
                "the judge at '{}' gave no label: {}",
                self.judge.client.endpoint().base_url,
                out.error.as_deref().unwrap_or("")
            ),
            hint:
                "on_error := 'null' (the default) keeps going and reports the reason in the `error` column; \
                   finished rows are cached, so a re-run only asks for the rest"
                    .into(),
        };
        self.judge.client.endpoint().redact(&fail(NAME, e))
    }
}

impl BlockSource for Pairs {
    fn next_block(&mut self) -> Result<Option<Block>, String> {
        let Some(results) = self.runner.next(self.chunk)? else { return Ok(None) };
        if self.fail_fast {
            if let Some(out) = results.iter().find(|r| r.error.is_some()) {
                return Err(self.row_error(out));
            }
        }
        let label = |f: &dyn Fn(&PairJudgement) -> Option<crate::data::Label>| {
            Column::Text(results.iter().map(|r| f(r).map(|l| l.as_str().to_string())).collect())
        };
        Ok(Some(Block {
            columns: vec![
                Column::Text(results.iter().map(|r| Some(r.id.clone())).collect()),
                label(&|r| r.ai_pref),
                label(&|r| r.ai_pref_alt),
                Column::Float(results.iter().map(|r| r.ai_confidence).collect()),
                Column::Text(results.iter().map(|_| Some(self.judge.model.clone())).collect()),
                Column::Text(results.iter().map(|r| r.error.clone()).collect()),
            ],
        }))
    }
}
