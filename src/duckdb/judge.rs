//! `judge_pairs(path, base_url := …, llm_model := …, …)`: an AI judge's label for every pair, asked
//! of an OpenAI-compatible server (see `crate::llm`). Results stream out in input order, one chunk of
//! pairs per call, so an interrupt stops the run between chunks with every finished reply cached.

use super::args::{named, Args, ParamType, MAPPING_PARAMS};
use super::output::{emit, Block, BlockSource, ColType, Column, Emitter, VECTOR_SIZE};
use super::{declare, fail};
use crate::data::{Dataset, Field, Unit, UnitReader, DEFAULT_BATCH_ROWS};
use crate::llm::cache::{Cache, DEFAULT_CACHE_DIR};
use crate::llm::client::{Client, Endpoint, Limits};
use crate::llm::judge::Template;
use crate::llm::{PairInput, PairJudge, PairJudgement};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NAME: &str = "judge_pairs";

const COLUMNS: [(&str, ColType); 6] = [
    ("id", ColType::Varchar),
    ("ai_pref", ColType::Varchar),
    ("ai_pref_alt", ColType::Varchar),
    ("ai_confidence", ColType::Double),
    ("judge_model", ColType::Varchar),
    ("error", ColType::Varchar),
];

const PARAMS: [(&str, ParamType); 11] = [
    ("base_url", ParamType::Varchar),
    ("llm_model", ParamType::Varchar),
    ("max_concurrency", ParamType::BigInt),
    ("requests_per_minute", ParamType::Double),
    ("timeout", ParamType::Double),
    ("max_retries", ParamType::BigInt),
    ("swap", ParamType::Boolean),
    ("template", ParamType::Varchar),
    ("cache", ParamType::Boolean),
    ("cache_dir", ParamType::Varchar),
    ("on_error", ParamType::Varchar),
];

/// How long the bind-time reachability check waits for a TCP connection.
const CONNECT_CHECK: Duration = Duration::from_secs(5);

pub struct JudgePairs;

pub struct Bind {
    dataset: Dataset,
    judge: Arc<PairJudge>,
    fail_fast: bool,
    /// Pairs judged per callback: small enough that an interrupt is prompt.
    chunk: usize,
}

/// `name :=`, else the environment variable `env`.
fn text_or_env(args: &Args, name: &str, env: &str) -> Result<Option<String>, String> {
    Ok(args.text(name)?.or_else(|| std::env::var(env).ok()).filter(|v| !v.is_empty()))
}

fn positive(args: &Args, name: &str, default: i64) -> Result<i64, String> {
    match args.i64(name)?.unwrap_or(default) {
        n if n >= 1 => Ok(n),
        n => Err(format!("{NAME}: {name} := {n} must be at least 1")),
    }
}

fn bind_judge(args: &Args) -> Result<(Arc<PairJudge>, bool), String> {
    let base_url = text_or_env(args, "base_url", "PREFROUTE_LLM_BASE_URL")?.ok_or_else(|| {
        format!(
            "{NAME}: no server given. Hint: pass base_url := 'http://HOST:PORT/v1' (or set PREFROUTE_LLM_BASE_URL) \
             naming an OpenAI-compatible server, e.g. llama.cpp's `llama-server -m model.gguf --port 8080` \
             (base_url := 'http://127.0.0.1:8080/v1'), vLLM, Ollama or OpenAI"
        )
    })?;
    let model = text_or_env(args, "llm_model", "PREFROUTE_LLM_MODEL")?.ok_or_else(|| {
        format!(
            "{NAME}: no model named. Hint: pass llm_model := '<model name the server knows>' (or set \
             PREFROUTE_LLM_MODEL); it is sent with every request and is part of the cache key"
        )
    })?;
    let max_concurrency = positive(args, "max_concurrency", 4)?.min(256) as usize;
    let max_retries = match args.i64("max_retries")?.unwrap_or(4) {
        n if (0..=20).contains(&n) => n as u32,
        n => return Err(format!("{NAME}: max_retries := {n} must be between 0 and 20")),
    };
    let timeout = match args.f64("timeout")?.unwrap_or(60.0) {
        t if t.is_finite() && t > 0.0 && t <= 3600.0 => Duration::from_secs_f64(t),
        t => return Err(format!("{NAME}: timeout := {t} must be a number of seconds in (0, 3600]")),
    };
    let requests_per_minute = match args.f64("requests_per_minute")? {
        None => None,
        Some(r) if r.is_finite() && r > 0.0 => Some(r),
        Some(r) => return Err(format!("{NAME}: requests_per_minute := {r} must be more than 0")),
    };
    let fail_fast = match args.text("on_error")?.as_deref().unwrap_or("null") {
        "null" => false,
        "error" => true,
        other => {
            return Err(format!(
                "{NAME}: unknown on_error '{other}'. Hint: use 'null' (default: the row gets NULL labels and \
                 the reason in `error`) or 'error' (the first failure stops the query)"
            ))
        }
    };
    let template = match args.text("template")? {
        None => Template::builtin(),
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!("{NAME}: template := '{path}': cannot read it: {e}. Hint: give a UTF-8 text file with {{prompt}}, {{completion_a}} and {{completion_b}}")
            })?;
            Template::user(text).map_err(|e| {
                format!("{NAME}: template := '{path}': {e}. Hint: the template must contain {{prompt}}, {{completion_a}} and {{completion_b}}")
            })?
        }
    };
    let cache = if args.bool("cache")?.unwrap_or(true) {
        let dir = args.text("cache_dir")?.unwrap_or_else(|| DEFAULT_CACHE_DIR.to_string());
        Some(Cache::open(std::path::Path::new(&dir)).map_err(|e| {
            format!("{NAME}: {e}. Hint: pass cache_dir := '<writable directory>', or cache := false")
        })?)
    } else {
        None
    };
    let endpoint = Endpoint::new(&base_url, Endpoint::api_key_from_env());
    let limits = Limits { max_concurrency, requests_per_minute, timeout, max_retries };
    let client = Client::new(endpoint, limits);
    if let Err(e) = client.check_reachable(CONNECT_CHECK) {
        let url = client.endpoint().redact(&client.endpoint().base_url);
        return Err(client.endpoint().redact(&format!(
            "{NAME}: the server at '{url}' is unreachable ({e}). Hint: start an OpenAI-compatible server there \
             (e.g. `llama-server -m model.gguf --host 127.0.0.1 --port PORT`), or point base_url := / \
             PREFROUTE_LLM_BASE_URL at one that runs"
        )));
    }
    let swap = args.bool("swap")?.unwrap_or(true);
    Ok((Arc::new(PairJudge { client, model, template, cache, swap }), fail_fast))
}

impl VTab for JudgePairs {
    type BindData = Bind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Bind, Box<dyn std::error::Error>> {
        let args = Args::new(NAME, bind);
        let path = args.positional_text(0, "the path")?;
        let overrides = args.overrides()?;
        let dataset = Dataset::open(&path, &overrides, &[]).map_err(|e| fail(NAME, e))?;
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
        let (judge, fail_fast) = bind_judge(&args)?;
        let chunk = (judge.client.limits().max_concurrency * 8).clamp(8, VECTOR_SIZE);
        declare(bind, &COLUMNS);
        bind.set_cardinality(dataset.num_rows(), true);
        Ok(Bind { dataset, judge, fail_fast, chunk })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        // SAFETY: DuckDB passes the bind data this function's bind stored; it outlives init.
        let bind = unsafe { &*init.get_bind_data::<Bind>() };
        init.set_max_threads(1);
        let source = Pairs {
            dataset: bind.dataset.clone(),
            units: bind.dataset.units().into(),
            reader: None,
            pending: VecDeque::new(),
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
        p.extend(PARAMS);
        named(&p)
    }
}

/// Reads pairs unit by unit and judges them a chunk at a time.
struct Pairs {
    dataset: Dataset,
    units: VecDeque<Unit>,
    reader: Option<UnitReader>,
    pending: VecDeque<PairInput>,
    judge: Arc<PairJudge>,
    fail_fast: bool,
    chunk: usize,
}

impl Pairs {
    /// Tops `pending` up to a chunk (or the end of the input).
    fn fill(&mut self) -> crate::Result<()> {
        while self.pending.len() < self.chunk {
            if let Some(reader) = &mut self.reader {
                match reader.next() {
                    Some(batch) => {
                        let batch = batch?;
                        for i in 0..batch.len() {
                            self.pending.push_back(PairInput {
                                id: batch.ids[i].clone(),
                                prompt: batch.prompt[i].clone(),
                                a: batch.completion_a[i].clone(),
                                b: batch.completion_b[i].clone(),
                            });
                        }
                        continue;
                    }
                    None => self.reader = None,
                }
            }
            match self.units.pop_front() {
                Some(unit) => self.reader = Some(self.dataset.read_unit(&unit, DEFAULT_BATCH_ROWS)?),
                None => break,
            }
        }
        Ok(())
    }

    /// The SQL error for a failed pair under `on_error := 'error'`.
    fn row_error(&self, input: &PairInput, out: &PairJudgement) -> String {
        let column = self.dataset.mapping.column(Field::Prompt).unwrap_or("prompt").to_string();
        let shown: String = input.prompt.as_deref().unwrap_or("NULL").chars().take(60).collect();
        let e = crate::Error::Value {
            path: self.dataset.pattern.clone(),
            column,
            id: out.id.clone(),
            value: format!("{shown:?}"),
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
        self.fill().map_err(|e| fail(NAME, e))?;
        if self.pending.is_empty() {
            return Ok(None);
        }
        let n = self.pending.len().min(self.chunk);
        let inputs: Vec<PairInput> = self.pending.drain(..n).collect();
        let results = self.judge.judge(&inputs);
        if self.fail_fast {
            if let Some((input, out)) = inputs.iter().zip(&results).find(|(_, r)| r.error.is_some()) {
                return Err(self.row_error(input, out));
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
