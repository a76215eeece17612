//! `tag_instances(path, …)`: the paper's measures, descriptive fields and tags
//! of every instance.

use super::args::{named, Args, ParamType, MAPPING_PARAMS};
use super::describe::{analyzer, row_error};
use super::files::QueryFiles;
use super::llm_params::{chunk_rows, llm_setup, requests_progress, LLM_PARAMS};
use super::output::{emit, Block, BlockSource, ColType, Column, Emitter};
use super::{declare, fail};
use crate::data::{Dataset, Unit, UnitReader, DEFAULT_BATCH_ROWS};
use crate::embed::{model_dir_from_env, EmbeddingModel};
use crate::llm::analyzer::{Analyzer, DescribeItem, DescribeWork, Described};
use crate::llm::runner::{Runner, Source};
use crate::progress::Progress;
use crate::tags::pipeline::{
    apply_llm_fields, computed_fields, AskedFields, InputColumns, InstanceTags, Origin, PacedStream,
    TagOptions, DESCRIPTIVE_FIELDS, MEASURES,
};
use crate::tags::TokenizerKind;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

const NAME: &str = "tag_instances";

/// The measures in output order (the order), as indices into MEASURES.
const MEASURE_OUTPUT: [(&str, ColType); 9] = [
    ("rouge", ColType::Double),
    ("bertscore", ColType::Double),
    ("bertscore_length", ColType::Double),
    ("cosine_sim", ColType::Double),
    ("entity_sim", ColType::Double),
    ("prompt_len", ColType::BigInt),
    ("len_shorter", ColType::BigInt),
    ("len_longer", ColType::BigInt),
    ("token_len_diff", ColType::BigInt),
];

fn columns() -> Vec<(&'static str, ColType)> {
    let mut c = vec![("id", ColType::Varchar)];
    c.extend(value_columns());
    c
}

/// The columns of a tagged row after its id: measures, descriptive fields, tags,
/// and where each value came from (also the fields of `pref_tags`' STRUCT).
pub(super) fn value_columns() -> Vec<(&'static str, ColType)> {
    let mut c = Vec::new();
    c.extend(MEASURE_OUTPUT);
    c.extend([("rouge_l", ColType::Double), ("tfidf_cosine", ColType::Double)]);
    c.extend([
        ("subject_of_expertise", ColType::VarcharList),
        ("languages", ColType::VarcharList),
        ("expertise_level", ColType::Varchar),
        ("open_endedness", ColType::Varchar),
        ("safety_concern", ColType::Varchar),
        ("complexity_of_intents", ColType::Varchar),
        ("type_of_in_context_material", ColType::VarcharList),
        ("format_constraints", ColType::VarcharList),
        ("tags", ColType::VarcharList),
        ("computed", ColType::VarcharList),
        ("from_input", ColType::VarcharList),
        ("missing", ColType::VarcharList),
    ]);
    c
}

pub struct TagInstances;

pub struct Bind {
    dataset: Dataset,
    inputs: InputColumns,
    options: TagOptions,
    llm: Option<LlmTagger>,
    /// The file system the dataset reads through, held for the query.
    _files: QueryFiles,
}

/// `tagger := 'llm'`: the analyzer, `on_error := 'error'`, and `progress :=`.
type LlmTagger = (Arc<Analyzer>, bool, Option<bool>);

/// `tag_instances`' own parameters: which descriptive tagger, and the LLM's (for `tagger := 'llm'`).
const TAGGER_PARAM: (&str, ParamType) = ("tagger", ParamType::Varchar);

/// The LLM tagger when `tagger := 'llm'`; `None` for the rules (the default).
fn llm_tagger(args: &Args) -> Result<Option<LlmTagger>, String> {
    match args.text("tagger")?.as_deref().unwrap_or("rules") {
        "rules" => {
            let given: Vec<&str> =
                LLM_PARAMS.iter().map(|(n, _)| *n).filter(|n| args.given(n)).collect();
            if !given.is_empty() {
                return Err(format!(
                    "{NAME}: {} := is a parameter of the LLM tagger. Hint: add tagger := 'llm' (the default \
                     tagger := 'rules' sends no requests)",
                    given.join(" :=, ")
                ));
            }
            Ok(None)
        }
        "llm" => {
            let (a, fail_fast) = analyzer(llm_setup(args)?);
            Ok(Some((a, fail_fast, args.bool("progress")?)))
        }
        other => Err(format!(
            "{NAME}: unknown tagger '{other}'. Hint: use tagger := 'rules' (default: local rules, no network) or \
             tagger := 'llm' (the paper's analyzer prompt, asked of an OpenAI-compatible server: needs base_url := \
             or PREFROUTE_LLM_BASE_URL; llm_model := unless the server serves one model)"
        )),
    }
}

/// Reads the tagging options shared by every function that tags.
pub(super) fn tag_options(args: &Args) -> Result<TagOptions, String> {
    let tokenizer = match args.text("tokenizer")? {
        None => TokenizerKind::Cl100k,
        Some(name) => TokenizerKind::parse(&name).ok_or_else(|| {
            format!(
                "{}: unknown tokenizer '{name}'. Hint: use 'cl100k_base' (default) or 'o200k_base'",
                args.function
            )
        })?,
    };
    // `model_dir := ''` means no model, even when PREFROUTE_MODEL_DIR is set.
    let model_dir = match args.text("model_dir")? {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(std::path::PathBuf::from(dir)),
        None => model_dir_from_env(),
    };
    let model =
        model_dir.map(|dir| EmbeddingModel::load(&dir)).transpose().map_err(|e| fail(args.function, e))?;
    Ok(TagOptions {
        tokenizer,
        threads: args.threads(),
        tfidf: args.bool("tfidf")?.unwrap_or(true),
        recompute: args.bool("recompute")?.unwrap_or(false),
        model,
        progress: if Progress::wanted(args.bool("progress")?) {
            Progress::stderr(args.function)
        } else {
            Progress::off()
        },
        ..TagOptions::default()
    })
}

/// Opens a dataset (through `files`) with the pass-through columns it has.
pub(super) fn open_for_tagging(
    args: &Args,
    files: &QueryFiles,
    options: &TagOptions,
) -> Result<(Dataset, InputColumns), String> {
    let path = args.positional_text(0, "the path")?;
    let overrides = args.overrides()?;
    let open = |extras: &[_]| {
        Dataset::open_with(files.opener(), &path, &overrides, extras).map_err(|e| fail(args.function, e))
    };
    let (inputs, extras) = InputColumns::detect(&open(&[])?, options.recompute);
    Ok((open(&extras)?, inputs))
}

/// Named parameters of every function that tags. `model_dir`: a sentence-transformers
/// directory for the embedding measures (default: $PREFROUTE_MODEL_DIR, else none).
/// `progress`: a progress line on stderr (default: on when $PREFROUTE_PROGRESS=1).
pub(super) const TAG_PARAMS: [(&str, ParamType); 5] = [
    ("progress", ParamType::Boolean),
    ("tokenizer", ParamType::Varchar),
    ("tfidf", ParamType::Boolean),
    ("recompute", ParamType::Boolean),
    ("model_dir", ParamType::Varchar),
];

impl VTab for TagInstances {
    type BindData = Bind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Bind, Box<dyn std::error::Error>> {
        let args = Args::new(NAME, bind);
        let options = tag_options(&args)?;
        let llm = llm_tagger(&args)?;
        let files = args.files()?;
        let (dataset, inputs) = open_for_tagging(&args, &files, &options)?;
        let mut cols = columns();
        if llm.is_some() {
            cols.push(("error", ColType::Varchar));
        }
        declare(bind, &cols);
        bind.set_cardinality(dataset.num_rows(), true);
        Ok(Bind { dataset, inputs, options, llm, _files: files })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        // SAFETY: DuckDB passes the bind data this function's bind stored; it outlives init.
        let bind = unsafe { &*init.get_bind_data::<Bind>() };
        init.set_max_threads(1);
        let work = (bind.dataset.clone(), bind.inputs.clone(), bind.options.clone());
        if let Some((analyzer, fail_fast, progress)) = &bind.llm {
            let chunk = chunk_rows(analyzer.client.limits().max_concurrency);
            let progress = requests_progress(*progress, NAME, None);
            let runner = analyzer.start(llm_items(work), chunk, progress);
            let source = LlmTagged {
                runner,
                dataset: bind.dataset.clone(),
                base_url: analyzer.client.endpoint().base_url.clone(),
                fail_fast: *fail_fast,
                chunk,
            };
            return Ok(Mutex::new(Emitter::new(Box::new(source))));
        }
        let source = Streamed { work: Some(work), stream: None };
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
        p.extend(TAG_PARAMS);
        p.push(TAGGER_PARAM);
        p.extend(LLM_PARAMS);
        named(&p)
    }
}

/// Starts tagging on a background thread on the first call, then yields the
/// tagged rows as they come, a few windows at most in memory. Each call returns
/// within a fraction of a second once the first rows are out, so DuckDB can act
/// on an interrupt between calls (see `PacedStream`).
struct Streamed {
    work: Option<(Dataset, InputColumns, TagOptions)>,
    stream: Option<PacedStream>,
}

impl BlockSource for Streamed {
    fn next_block(&mut self) -> Result<Option<Block>, String> {
        if let Some((ds, inputs, options)) = self.work.take() {
            self.stream = Some(PacedStream::start(&ds, &inputs, &options).map_err(|e| fail(NAME, e))?);
        }
        let Some(stream) = &mut self.stream else { return Ok(None) };
        match stream.next_rows().map_err(|e| fail(NAME, e))? {
            Some(rows) => Ok(Some(rows_block(&rows))),
            None => {
                self.stream = None; // frees the first pass's arrays
                Ok(None)
            }
        }
    }
}

/// The rows of the rule pipeline, each with its prompt and the fields to ask the LLM tagger (those
/// not passed through from the input). The pipeline runs on its own thread ([`PacedStream`]); the
/// prompts are read again beside it, in the same input order.
fn llm_items(work: (Dataset, InputColumns, TagOptions)) -> Source<DescribeItem<InstanceTags>> {
    let (dataset, inputs, options) = work;
    let mut stream: Option<PacedStream> = None;
    let mut units: VecDeque<Unit> = dataset.units().into();
    let mut reader: Option<UnitReader> = None;
    let mut prompts: VecDeque<(String, Option<String>)> = VecDeque::new();
    Box::new(move || {
        if stream.is_none() {
            stream = Some(PacedStream::start(&dataset, &inputs, &options).map_err(|e| fail(NAME, e))?);
        }
        let Some(s) = stream.as_mut() else { return Ok(None) };
        let Some(rows) = s.next_rows().map_err(|e| fail(NAME, e))? else { return Ok(None) };
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            while prompts.is_empty() {
                if let Some(r) = &mut reader {
                    match r.next() {
                        Some(batch) => {
                            let batch = batch.map_err(|e| fail(NAME, e))?;
                            prompts.extend(
                                (0..batch.len()).map(|i| (batch.ids[i].clone(), batch.prompt[i].clone())),
                            );
                            continue;
                        }
                        None => reader = None,
                    }
                }
                match units.pop_front() {
                    Some(unit) => {
                        reader =
                            Some(dataset.read_unit(&unit, DEFAULT_BATCH_ROWS).map_err(|e| fail(NAME, e))?)
                    }
                    None => {
                        return Err(format!("{NAME}: internal error: more tagged rows than prompts (a bug)"))
                    }
                }
            }
            let Some((id, prompt)) = prompts.pop_front() else { continue };
            if id != row.id {
                return Err(format!("{NAME}: internal error: row '{}' read beside '{id}' (a bug)", row.id));
            }
            items.push(DescribeItem { prompt, asked: computed_fields(&row), carry: row });
        }
        Ok(Some(items))
    })
}

/// Hands out the rule pipeline's rows with the LLM tagger's fields, in input order.
struct LlmTagged {
    runner: Runner<DescribeWork<InstanceTags>>,
    dataset: Dataset,
    base_url: String,
    fail_fast: bool,
    chunk: usize,
}

impl BlockSource for LlmTagged {
    fn next_block(&mut self) -> Result<Option<Block>, String> {
        let Some(done) = self.runner.next(self.chunk)? else { return Ok(None) };
        if self.fail_fast {
            if let Some((row, d)) = done.iter().find(|(_, d)| d.error.is_some()) {
                return Err(row_error(NAME, &self.dataset, &self.base_url, &row.id, d));
            }
        }
        let (rows, errors): (Vec<InstanceTags>, Vec<Option<String>>) = done
            .into_iter()
            .map(|(mut row, d): (InstanceTags, Described)| {
                apply_llm_fields(
                    &mut row,
                    AskedFields { asked: &d.asked, values: &d.fields, missing: &d.missing },
                );
                (row, d.error)
            })
            .unzip();
        let mut block = rows_block(&rows);
        block.columns.push(Column::Text(errors));
        Ok(Some(block))
    }
}

fn rows_block(rows: &[InstanceTags]) -> Block {
    let mut columns = vec![Column::Text(rows.iter().map(|r| Some(r.id.clone())).collect())];
    columns.extend(value_block(rows));
    Block { columns }
}

/// The [`value_columns`] of `rows`.
pub(super) fn value_block(rows: &[InstanceTags]) -> Vec<Column> {
    let mut columns = Vec::new();
    for (name, ty) in MEASURE_OUTPUT {
        let k = MEASURES.iter().position(|m| *m == name).unwrap_or(0);
        columns.push(match ty {
            ColType::BigInt => {
                Column::Int(rows.iter().map(|r| r.measures[k].map(|v| v.round() as i64)).collect())
            }
            _ => Column::Float(rows.iter().map(|r| r.measures[k]).collect()),
        });
    }
    columns.push(Column::Float(rows.iter().map(|r| r.rouge_l).collect()));
    columns.push(Column::Float(rows.iter().map(|r| r.tfidf_cosine).collect()));
    let list = |f: &dyn Fn(&InstanceTags) -> &Vec<String>| {
        Column::TextList(rows.iter().map(|r| Some(f(r).clone())).collect())
    };
    let text = |f: &dyn Fn(&InstanceTags) -> &Option<String>| {
        Column::Text(rows.iter().map(|r| f(r).clone()).collect())
    };
    columns.push(list(&|r| &r.descriptive.subject_of_expertise));
    columns.push(list(&|r| &r.descriptive.languages));
    columns.push(text(&|r| &r.descriptive.expertise_level));
    columns.push(text(&|r| &r.descriptive.open_endedness));
    columns.push(text(&|r| &r.descriptive.safety_concern));
    columns.push(text(&|r| &r.descriptive.complexity_of_intents));
    columns.push(list(&|r| &r.descriptive.type_of_in_context_material));
    columns.push(list(&|r| &r.descriptive.format_constraints));
    columns.push(Column::TextList(
        rows.iter().map(|r| Some(r.tags.names().map(str::to_string).collect())).collect(),
    ));
    for wanted in [Origin::Computed, Origin::Input, Origin::Missing] {
        columns.push(Column::TextList(rows.iter().map(|r| Some(origins(r, wanted))).collect()));
    }
    columns
}

/// Names of the measures and fields of `r` whose origin is `wanted`.
fn origins(r: &InstanceTags, wanted: Origin) -> Vec<String> {
    let mut out: Vec<String> = MEASURE_OUTPUT
        .iter()
        .filter(|(name, _)| {
            let k = MEASURES.iter().position(|m| m == name).unwrap_or(0);
            r.measure_origin[k] == wanted
        })
        .map(|(name, _)| name.to_string())
        .collect();
    out.extend(
        DESCRIPTIVE_FIELDS
            .iter()
            .zip(r.descriptive_origin)
            .filter(|(_, o)| *o == wanted)
            .map(|(n, _)| n.to_string()),
    );
    out
}
