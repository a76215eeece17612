//! The named parameters every function that asks an LLM shares (`judge_pairs`, `describe_prompts`,
//! `tag_instances(…, tagger := 'llm')`): the server, the model, the limits, the cache, `on_error`.
//! Parsed once here so the functions cannot drift apart.

use super::args::{Args, ParamType};
use super::fail;
use crate::data::{Dataset, InstanceBatch, Unit, UnitReader, DEFAULT_BATCH_ROWS};
use crate::llm::cache::{Cache, DEFAULT_CACHE_DIR};
use crate::llm::client::{Client, Endpoint, Limits};
use crate::llm::runner::Source;
use crate::progress::Progress;
use std::collections::VecDeque;
use std::time::Duration;

/// The shared parameters (`progress` is declared by each function with its other options).
pub(super) const LLM_PARAMS: [(&str, ParamType); 9] = [
    ("base_url", ParamType::Varchar),
    ("llm_model", ParamType::Varchar),
    ("max_concurrency", ParamType::BigInt),
    ("requests_per_minute", ParamType::Double),
    ("timeout", ParamType::Double),
    ("max_retries", ParamType::BigInt),
    ("cache", ParamType::Boolean),
    ("cache_dir", ParamType::Varchar),
    ("on_error", ParamType::Varchar),
];

/// How long the bind-time reachability check waits for a TCP connection.
const CONNECT_CHECK: Duration = Duration::from_secs(5);

/// A configured client, model and cache, and what to do on a failure. The model is `llm_model :=`,
/// else `PREFROUTE_LLM_MODEL`, else the one model the server lists (`GET {base_url}/models`).
pub(super) struct LlmSetup {
    pub client: Client,
    pub model: String,
    pub cache: Option<Cache>,
    /// `on_error := 'error'`: the first failed row stops the query.
    pub fail_fast: bool,
}

/// `name :=`, else the environment variable `env`.
fn text_or_env(args: &Args, name: &str, env: &str) -> Result<Option<String>, String> {
    Ok(args.text(name)?.or_else(|| std::env::var(env).ok()).filter(|v| !v.is_empty()))
}

/// Reads the shared parameters and checks that the server is reachable (a TCP connection, no
/// request); without a model named, asks the server's model list (one request). Every error names
/// the function and the parameter, and never holds the API key.
pub(super) fn llm_setup(args: &Args) -> Result<LlmSetup, String> {
    let name = args.function;
    let base_url = text_or_env(args, "base_url", "PREFROUTE_LLM_BASE_URL")?.ok_or_else(|| {
        format!(
            "{name}: no server given. Hint: pass base_url := 'http://HOST:PORT/v1' (or set PREFROUTE_LLM_BASE_URL) \
             naming an OpenAI-compatible server, e.g. llama.cpp's `llama-server -m model.gguf --port 8080` \
             (base_url := 'http://127.0.0.1:8080/v1'), vLLM, Ollama or OpenAI"
        )
    })?;
    let model = text_or_env(args, "llm_model", "PREFROUTE_LLM_MODEL")?;
    let max_concurrency = match args.i64("max_concurrency")?.unwrap_or(4) {
        n if n >= 1 => n.min(256) as usize,
        n => return Err(format!("{name}: max_concurrency := {n} must be at least 1")),
    };
    let max_retries = match args.i64("max_retries")?.unwrap_or(4) {
        n if (0..=20).contains(&n) => n as u32,
        n => return Err(format!("{name}: max_retries := {n} must be between 0 and 20")),
    };
    let timeout = match args.f64("timeout")?.unwrap_or(60.0) {
        t if t.is_finite() && t > 0.0 && t <= 3600.0 => Duration::from_secs_f64(t),
        t => return Err(format!("{name}: timeout := {t} must be a number of seconds in (0, 3600]")),
    };
    let requests_per_minute = match args.f64("requests_per_minute")? {
        None => None,
        Some(r) if r.is_finite() && r > 0.0 => Some(r),
        Some(r) => return Err(format!("{name}: requests_per_minute := {r} must be more than 0")),
    };
    let fail_fast = match args.text("on_error")?.as_deref().unwrap_or("null") {
        "null" => false,
        "error" => true,
        other => {
            return Err(format!(
                "{name}: unknown on_error '{other}'. Hint: use 'null' (default: the row gets NULL values and \
                 the reason in `error`) or 'error' (the first failure stops the query)"
            ))
        }
    };
    let cache = if args.bool("cache")?.unwrap_or(true) {
        let dir = args.text("cache_dir")?.unwrap_or_else(|| DEFAULT_CACHE_DIR.to_string());
        Some(Cache::open(std::path::Path::new(&dir)).map_err(|e| {
            format!("{name}: {e}. Hint: pass cache_dir := '<writable directory>', or cache := false")
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
            "{name}: the server at '{url}' is unreachable ({e}). Hint: start an OpenAI-compatible server there \
             (e.g. `llama-server -m model.gguf --host 127.0.0.1 --port PORT`), or point base_url := / \
             PREFROUTE_LLM_BASE_URL at one that runs"
        )));
    }
    let model = match model {
        Some(m) => m,
        None => server_model(name, &client)?,
    };
    Ok(LlmSetup { client, model, cache, fail_fast })
}

/// The model a server serves, when no model is named: `GET {base_url}/models` (one request, at
/// bind) must list exactly one.
fn server_model(name: &str, client: &Client) -> Result<String, String> {
    let endpoint = client.endpoint();
    let url = endpoint.redact(&endpoint.base_url);
    let hint =
        "Hint: pass llm_model := '<model>' (or set PREFROUTE_LLM_MODEL); it is sent with every request \
                and is part of the cache key";
    let models = client.models().map_err(|e| {
        endpoint.redact(&format!(
            "{name}: no model named, and the server's model list (GET {url}/models) could not be read: {}. {hint}",
            e.message
        ))
    })?;
    match models.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "{name}: no model named, and the server at '{url}' lists no model (GET {url}/models). {hint}"
        )),
        many => {
            const SHOWN: usize = 20;
            let mut listed: Vec<String> = many.iter().take(SHOWN).map(|m| format!("'{m}'")).collect();
            if many.len() > SHOWN {
                listed.push(format!("… ({} more)", many.len() - SHOWN));
            }
            Err(endpoint.redact(&format!(
                "{name}: no model named, and the server at '{url}' lists {} models: {}. Hint: pick one with \
                 llm_model := '{}' (or set PREFROUTE_LLM_MODEL)",
                many.len(),
                listed.join(", "),
                many[0]
            )))
        }
    }
}

/// The "requests" progress line of `function` (on with `progress := true`, `flag`, or
/// PREFROUTE_PROGRESS=1), its stage started with `total` requests when known.
pub(super) fn requests_progress(flag: Option<bool>, function: &str, total: Option<u64>) -> Progress {
    let p = if Progress::wanted(flag) { Progress::stderr(function) } else { Progress::off() };
    p.stage_counting("requests", total, "requests");
    p
}

/// Items each scan call may return, and how far ahead of them the workers read.
pub(super) fn chunk_rows(max_concurrency: usize) -> usize {
    (max_concurrency * 8).clamp(8, super::output::VECTOR_SIZE)
}

/// The rows of `dataset` as runner items, a batch at a time, in input order: `item(batch, i)` makes
/// row `i`'s item. A read error becomes `function`'s SQL error and ends the run after the rows before it.
pub fn batch_source<T: 'static>(
    function: &'static str,
    dataset: Dataset,
    mut item: impl FnMut(&InstanceBatch, usize) -> T + Send + 'static,
) -> Source<T> {
    let mut units: VecDeque<Unit> = dataset.units().into();
    let mut reader: Option<UnitReader> = None;
    Box::new(move || loop {
        if let Some(r) = &mut reader {
            match r.next() {
                Some(batch) => {
                    let batch = batch.map_err(|e| fail(function, e))?;
                    return Ok(Some((0..batch.len()).map(|i| item(&batch, i)).collect()));
                }
                None => reader = None,
            }
        }
        match units.pop_front() {
            Some(unit) => {
                reader = Some(dataset.read_unit(&unit, DEFAULT_BATCH_ROWS).map_err(|e| fail(function, e))?)
            }
            None => return Ok(None),
        }
    })
}
