//! Tagging a whole dataset: the nine measures and eight descriptive fields of
//! every instance, where each value came from, and the resulting tag sets.
//!
//! Two passes over the data, both streaming: the first computes per-instance
//! values in parallel (batches in order, results in order), the second — only
//! when TF-IDF cosine is wanted — re-reads the completions once the document
//! frequencies of the whole input are known. Length tags need percentile ranks
//! over the whole input, so bins are assigned after the first pass.

use super::bins::{bin_of, percentile_ranks};
use super::descriptive::{describe, Descriptive};
use super::entities::entity_jaccard;
use super::rouge::rouge_scores;
use super::tfidf::DocumentFrequencies;
use super::tokens::{token_count, TokenizerKind};
use super::{tag_index, TagSet, N_TAGS};
use crate::data::{Dataset, ExtraColumn, ExtraKind, ExtraRequest, InstanceBatch, Label};
use crate::embed::{bertscore_length, Batching, EmbeddingModel};
use crate::error::{Error, Result};
use crate::parallel::map_ordered;
use std::sync::Arc;

/// The nine measures, in the paper's tag-family order (alphabetical, as in tags.txt).
pub const MEASURES: [&str; 9] = [
    "bertscore",
    "bertscore_length",
    "cosine_sim",
    "entity_sim",
    "len_longer",
    "len_shorter",
    "prompt_len",
    "rouge",
    "token_len_diff",
];

/// Index of each measure in [`MEASURES`].
pub mod m {
    pub const BERTSCORE: usize = 0;
    pub const BERTSCORE_LENGTH: usize = 1;
    pub const COSINE_SIM: usize = 2;
    pub const ENTITY_SIM: usize = 3;
    pub const LEN_LONGER: usize = 4;
    pub const LEN_SHORTER: usize = 5;
    pub const PROMPT_LEN: usize = 6;
    pub const ROUGE: usize = 7;
    pub const TOKEN_LEN_DIFF: usize = 8;
}

/// Length measures are binned by percentile rank over the whole input.
const LENGTH_MEASURES: [usize; 4] = [m::LEN_LONGER, m::LEN_SHORTER, m::PROMPT_LEN, m::TOKEN_LEN_DIFF];

/// The eight descriptive fields, in tag order.
pub const DESCRIPTIVE_FIELDS: [&str; 8] = [
    "subject_of_expertise",
    "languages",
    "expertise_level",
    "open_endedness",
    "safety_concern",
    "complexity_of_intents",
    "type_of_in_context_material",
    "format_constraints",
];

/// Where a value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Computed by prefroute from the texts.
    Computed,
    /// Passed through from a column of the input.
    Input,
    /// Neither: the input has no such column (or NULL) and prefroute cannot compute it.
    Missing,
}

/// How to tag.
#[derive(Clone, Debug)]
pub struct TagOptions {
    pub tokenizer: TokenizerKind,
    pub threads: usize,
    /// Also compute TF-IDF cosine of the completions (costs a second read of the texts).
    pub tfidf: bool,
    /// Ignore measure and descriptive columns of the input and compute everything.
    pub recompute: bool,
    /// The sentence-embedding model for `bertscore`, `bertscore_length` and
    /// `cosine_sim`; without one they come from the input or stay missing.
    pub model: Option<Arc<EmbeddingModel>>,
}

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            tokenizer: TokenizerKind::Cl100k,
            threads: 1,
            tfidf: true,
            recompute: false,
            model: None,
        }
    }
}

/// Everything known about one instance after tagging.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceTags {
    pub id: String,
    /// Raw measure values, indexed as [`MEASURES`].
    pub measures: [Option<f64>; 9],
    pub measure_origin: [Origin; 9],
    pub rouge_l: Option<f64>,
    pub tfidf_cosine: Option<f64>,
    pub descriptive: Descriptive,
    /// Indexed as [`DESCRIPTIVE_FIELDS`].
    pub descriptive_origin: [Origin; 8],
    pub human_pref: Option<Label>,
    pub ai_pref: Option<Label>,
    /// Characters of completion A and B (for reports such as "AI prefers longer").
    pub chars_a: usize,
    pub chars_b: usize,
    /// The canonical tags the instance carries.
    pub tags: TagSet,
}

/// Which optional input columns the dataset has, decided once per dataset.
#[derive(Clone, Debug, Default)]
pub struct InputColumns {
    measures: [bool; 9],
    descriptive: [bool; 8],
}

impl InputColumns {
    /// Detects pass-through columns, and the extra-column requests to read them.
    pub fn detect(ds: &Dataset, recompute: bool) -> (InputColumns, Vec<ExtraRequest>) {
        let mut cols = InputColumns::default();
        let mut requests = Vec::new();
        if recompute {
            return (cols, requests);
        }
        for (k, name) in MEASURES.iter().enumerate() {
            if ds.column_type(name).is_some_and(|t| t.is_numeric()) {
                cols.measures[k] = true;
                requests.push(ExtraRequest { column: name.to_string(), kind: ExtraKind::Float });
            }
        }
        for (k, name) in DESCRIPTIVE_FIELDS.iter().enumerate() {
            if ds.has_column(name) {
                cols.descriptive[k] = true;
                let kind = if is_list_field(k) { ExtraKind::TextList } else { ExtraKind::Text };
                requests.push(ExtraRequest { column: name.to_string(), kind });
            }
        }
        (cols, requests)
    }

    fn any_descriptive_missing(&self) -> bool {
        self.descriptive.iter().any(|x| !x)
    }
}

fn is_list_field(k: usize) -> bool {
    matches!(k, 0 | 1 | 6 | 7)
}

/// Tags every instance of `ds`. `ds` must have been opened with the extra
/// requests returned by [`InputColumns::detect`] (in that order).
pub fn tag_dataset(ds: &Dataset, inputs: &InputColumns, opts: &TagOptions) -> Result<Vec<InstanceTags>> {
    let threads = opts.threads.max(1);
    let mut rows: Vec<InstanceTags> = Vec::with_capacity(ds.num_rows() as usize);
    let mut df = DocumentFrequencies::new();
    for_each_window(ds, threads, |batches| {
        let mut done = map_ordered(&batches, threads, |b| tag_batch(ds, b, inputs, opts))?;
        if let Some(model) = &opts.model {
            embedding_measures(model, &batches, &mut done, threads)?;
        }
        for (part, part_df) in done {
            rows.extend(part);
            if let Some(d) = part_df {
                df.merge(d);
            }
        }
        Ok(())
    })?;
    assign_tags(&mut rows);
    if opts.tfidf {
        let mut next = 0usize;
        for_each_window(ds, threads, |batches| {
            let cos = map_ordered(&batches, threads, |b| {
                Ok(b.completion_a
                    .iter()
                    .zip(&b.completion_b)
                    .map(|(a, b)| match (a, b) {
                        (Some(a), Some(b)) => Some(df.cosine(a, b)),
                        _ => None,
                    })
                    .collect::<Vec<_>>())
            })?;
            for c in cos.into_iter().flatten() {
                rows[next].tfidf_cosine = c;
                next += 1;
            }
            Ok(())
        })?;
    }
    Ok(rows)
}

/// Rows per batch when tagging: small enough to spread a one-row-group file over threads.
const TAG_BATCH_ROWS: usize = 256;

/// Reads the dataset in order, handing windows of batches (a few per thread) to `f`.
fn for_each_window(
    ds: &Dataset,
    threads: usize,
    mut f: impl FnMut(Vec<InstanceBatch>) -> Result<()>,
) -> Result<()> {
    let window = threads * 4;
    let mut pending = Vec::with_capacity(window);
    for unit in ds.units() {
        for batch in ds.read_unit(&unit, TAG_BATCH_ROWS)? {
            pending.push(batch?);
            if pending.len() == window {
                f(std::mem::take(&mut pending))?;
            }
        }
    }
    if !pending.is_empty() {
        f(pending)?;
    }
    Ok(())
}

fn required_text<'a>(ds: &Dataset, b: &'a InstanceBatch, i: usize, which: &str) -> Result<&'a str> {
    let col = match which {
        "prompt" => &b.prompt,
        "completion_a" => &b.completion_a,
        _ => &b.completion_b,
    };
    col[i].as_deref().ok_or_else(|| Error::Value {
        path: ds.pattern.clone(),
        column: ds.mapping.column(field_of(which)).unwrap_or(which).to_string(),
        id: b.ids[i].clone(),
        value: "NULL".into(),
        message: format!("the {which} is NULL, so the instance cannot be tagged"),
        hint: "fill it (an empty string is a valid text) or remove the row from the input".into(),
    })
}

fn field_of(which: &str) -> crate::data::Field {
    use crate::data::Field;
    match which {
        "prompt" => Field::Prompt,
        "completion_a" => Field::CompletionA,
        _ => Field::CompletionB,
    }
}

fn tag_batch(
    ds: &Dataset,
    b: &InstanceBatch,
    inputs: &InputColumns,
    opts: &TagOptions,
) -> Result<(Vec<InstanceTags>, Option<DocumentFrequencies>)> {
    let mut out = Vec::with_capacity(b.len());
    let mut df = opts.tfidf.then(DocumentFrequencies::new);
    let measure_cols: Vec<(usize, &ExtraColumn)> =
        (0..9).filter(|k| inputs.measures[*k]).zip(b.extras.iter()).collect();
    let descriptive_cols: Vec<(usize, &ExtraColumn)> =
        (0..8).filter(|k| inputs.descriptive[*k]).zip(b.extras.iter().skip(measure_cols.len())).collect();
    for i in 0..b.len() {
        let prompt = required_text(ds, b, i, "prompt")?;
        let a = required_text(ds, b, i, "completion_a")?;
        let bb = required_text(ds, b, i, "completion_b")?;
        if let Some(df) = &mut df {
            df.add_document(a);
            df.add_document(bb);
        }
        let mut measures = [None; 9];
        let mut origin = [Origin::Missing; 9];
        for (k, col) in &measure_cols {
            if let ExtraColumn::Float(v) = col {
                if let Some(x) = v[i] {
                    measures[*k] = Some(x);
                    origin[*k] = Origin::Input;
                }
            }
        }
        let rouge = rouge_scores(a, bb);
        let fill = |k: usize, measures: &mut [Option<f64>; 9], origin: &mut [Origin; 9], v: f64| {
            if origin[k] == Origin::Missing {
                measures[k] = Some(v);
                origin[k] = Origin::Computed;
            }
        };
        fill(m::ROUGE, &mut measures, &mut origin, rouge.rouge1);
        if origin[m::ENTITY_SIM] == Origin::Missing {
            fill(m::ENTITY_SIM, &mut measures, &mut origin, entity_jaccard(a, bb));
        }
        if LENGTH_MEASURES.iter().any(|k| origin[*k] == Origin::Missing) {
            let (ta, tb) = (token_count(a, opts.tokenizer) as f64, token_count(bb, opts.tokenizer) as f64);
            if origin[m::PROMPT_LEN] == Origin::Missing {
                fill(m::PROMPT_LEN, &mut measures, &mut origin, token_count(prompt, opts.tokenizer) as f64);
            }
            fill(m::LEN_SHORTER, &mut measures, &mut origin, ta.min(tb));
            fill(m::LEN_LONGER, &mut measures, &mut origin, ta.max(tb));
            fill(m::TOKEN_LEN_DIFF, &mut measures, &mut origin, (ta - tb).abs());
        }
        let (descriptive, descriptive_origin) = descriptive_of(prompt, i, &descriptive_cols, inputs);
        out.push(InstanceTags {
            id: b.ids[i].clone(),
            measures,
            measure_origin: origin,
            rouge_l: Some(rouge.rouge_l),
            tfidf_cosine: None,
            descriptive,
            descriptive_origin,
            human_pref: b.human_pref[i],
            ai_pref: b.ai_pref[i],
            chars_a: a.chars().count(),
            chars_b: bb.chars().count(),
            tags: TagSet::EMPTY,
        });
    }
    Ok((out, df))
}

const EMBEDDING_MEASURES: [usize; 3] = [m::BERTSCORE, m::BERTSCORE_LENGTH, m::COSINE_SIM];

/// Pairs per unit of embedding work: small enough to spread a window over the
/// threads, large enough to batch texts of similar length.
const EMBED_CHUNK_PAIRS: usize = 16;

/// Fills the embedding measures still missing in the rows of a window of batches
/// (`tagged[i]` holds the rows of `batches[i]`), over `threads` threads.
///
/// Work is cut into chunks inside each batch, and batches are the same whatever
/// the thread count, so every pair is computed with the same batch-mates and the
/// values do not depend on `threads`. `bertscore_length` uses the row's
/// `bertscore`, whether computed or from the input.
fn embedding_measures(
    model: &EmbeddingModel,
    batches: &[InstanceBatch],
    tagged: &mut [(Vec<InstanceTags>, Option<DocumentFrequencies>)],
    threads: usize,
) -> Result<()> {
    let missing = |r: &InstanceTags, k: usize| r.measure_origin[k] == Origin::Missing;
    let mut chunks: Vec<Vec<(usize, usize, &str, &str)>> = Vec::new();
    for (bi, (rows, _)) in tagged.iter().enumerate() {
        let b = &batches[bi];
        let mut want = Vec::new();
        for (ri, row) in rows.iter().enumerate() {
            if !EMBEDDING_MEASURES.iter().any(|k| missing(row, *k)) {
                continue;
            }
            // Tagging has already rejected NULL completions.
            if let (Some(a), Some(bb)) = (b.completion_a[ri].as_deref(), b.completion_b[ri].as_deref()) {
                want.push((bi, ri, a, bb));
            }
        }
        chunks.extend(want.chunks(EMBED_CHUNK_PAIRS).map(<[_]>::to_vec));
    }
    let scores = map_ordered(&chunks, threads, |c| {
        let pairs: Vec<(&str, &str)> = c.iter().map(|x| (x.2, x.3)).collect();
        model.score_pairs(&pairs, &Batching::default())
    })?;
    for (chunk, scores) in chunks.iter().zip(scores) {
        for (&(bi, ri, a, b), s) in chunk.iter().zip(scores) {
            let row = &mut tagged[bi].0[ri];
            for (k, v) in [(m::COSINE_SIM, s.cosine), (m::BERTSCORE, s.f1)] {
                if missing(row, k) {
                    row.measures[k] = Some(v);
                    row.measure_origin[k] = Origin::Computed;
                }
            }
            if let (true, Some(f1)) = (missing(row, m::BERTSCORE_LENGTH), row.measures[m::BERTSCORE]) {
                row.measures[m::BERTSCORE_LENGTH] = Some(bertscore_length(f1, a, b));
                row.measure_origin[m::BERTSCORE_LENGTH] = Origin::Computed;
            }
        }
    }
    Ok(())
}

fn descriptive_of(
    prompt: &str,
    i: usize,
    cols: &[(usize, &ExtraColumn)],
    inputs: &InputColumns,
) -> (Descriptive, [Origin; 8]) {
    let mut d = if inputs.any_descriptive_missing() { describe(prompt) } else { Descriptive::default() };
    let mut origin = [Origin::Computed; 8];
    for (k, col) in cols {
        origin[*k] = Origin::Input;
        let list = |c: &ExtraColumn| match c {
            ExtraColumn::TextList(v) => v[i].clone(),
            _ => None,
        };
        let text = |c: &ExtraColumn| match c {
            ExtraColumn::Text(v) => v[i].clone(),
            _ => None,
        };
        // SPEC §8.7: NULL is "no value" — an empty list or no scalar.
        let null = match *k {
            0 => list(col).map(|v| d.subject_of_expertise = v).is_none(),
            1 => list(col).map(|v| d.languages = v).is_none(),
            2 => text(col).map(|v| d.expertise_level = Some(v)).is_none(),
            3 => text(col).map(|v| d.open_endedness = Some(v)).is_none(),
            4 => text(col).map(|v| d.safety_concern = Some(v)).is_none(),
            5 => text(col).map(|v| d.complexity_of_intents = Some(v)).is_none(),
            6 => list(col).map(|v| d.type_of_in_context_material = v).is_none(),
            _ => list(col).map(|v| d.format_constraints = v).is_none(),
        };
        if null {
            origin[*k] = Origin::Missing;
            match *k {
                0 => d.subject_of_expertise.clear(),
                1 => d.languages.clear(),
                2 => d.expertise_level = None,
                3 => d.open_endedness = None,
                4 => d.safety_concern = None,
                5 => d.complexity_of_intents = None,
                6 => d.type_of_in_context_material.clear(),
                _ => d.format_constraints.clear(),
            }
        }
    }
    (d, origin)
}

/// Bins the measures (length measures by percentile rank over all rows that have
/// them) and maps descriptive fields to tags, filling `tags` of every row.
pub fn assign_tags(rows: &mut [InstanceTags]) {
    let mut binned: Vec<[Option<usize>; 9]> =
        rows.iter().map(|r| r.measures.map(|v| v.and_then(bin_of))).collect();
    for k in LENGTH_MEASURES {
        let present: Vec<usize> = (0..rows.len()).filter(|i| rows[*i].measures[k].is_some()).collect();
        let values: Vec<f64> = present.iter().map(|i| rows[*i].measures[k].unwrap_or(f64::NAN)).collect();
        for (i, pct) in present.iter().zip(percentile_ranks(&values)) {
            binned[*i][k] = bin_of(pct);
        }
    }
    for (row, bins) in rows.iter_mut().zip(binned) {
        let mut tags = TagSet::EMPTY;
        for (k, bin) in bins.iter().enumerate() {
            if let Some(b) = bin {
                tags.insert(k * 3 + b);
            }
        }
        for t in descriptive_tags(&row.descriptive) {
            tags.insert(t);
        }
        row.tags = tags;
    }
}

/// The descriptive tags of a set of field values (SPEC §2.4 membership rules:
/// exact list membership, exact scalar equality, non-empty open sets).
pub fn descriptive_tags(d: &Descriptive) -> Vec<usize> {
    let mut out = Vec::new();
    let closed = |field: &str, v: &str| {
        tag_index(&format!("analyzer_closed_set::feature_name={field}|constraints={v}"))
    };
    let scalar =
        |field: &str, v: &str| tag_index(&format!("analyzer_scalar::feature_name={field}|value={v}"));
    out.extend(d.subject_of_expertise.iter().filter_map(|v| closed("subject_of_expertise", v)));
    out.extend(d.languages.iter().filter_map(|v| closed("languages", v)));
    for (field, v) in [
        ("expertise_level", &d.expertise_level),
        ("open_endedness", &d.open_endedness),
        ("safety_concern", &d.safety_concern),
        ("complexity_of_intents", &d.complexity_of_intents),
    ] {
        out.extend(v.as_deref().and_then(|v| scalar(field, v)));
    }
    if !d.type_of_in_context_material.is_empty() {
        out.extend(tag_index(
            "analyzer_open_set::feature_name=type_of_in_context_material|check_for_existence=1",
        ));
    }
    if !d.format_constraints.is_empty() {
        out.extend(tag_index("analyzer_open_set::feature_name=format_constraints|check_for_existence=1"));
    }
    debug_assert!(out.iter().all(|t| *t < N_TAGS));
    out
}
