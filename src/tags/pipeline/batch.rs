//! What tagging does to one batch of rows: the per-row measures and
//! descriptive fields (with their origins), the window-wide embedding measures,
//! and the tags that follow from them.

use super::stream::LengthTable;
use super::{m, InputColumns, InstanceTags, Origin, TagOptions, LENGTH_MEASURES};
use crate::data::{Dataset, ExtraColumn, InstanceBatch};
use crate::embed::{bertscore_length, Batching, EmbeddingModel, PairScores};
use crate::error::{Error, Result};
use crate::parallel::map_ordered;
use crate::tags::bins::bin_of;
use crate::tags::descriptive::{describe, Descriptive};
use crate::tags::entities::entity_jaccard;
use crate::tags::rouge::rouge_scores;
use crate::tags::stats::{FrozenStats, PrefStats};
use crate::tags::tfidf::DocumentFrequencies;
use crate::tags::tokens::{token_count, TokenizerKind};
use crate::tags::{tag_index, TagSet, N_TAGS};

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

/// The texts of row `i`; each is required.
fn texts<'a>(ds: &Dataset, b: &'a InstanceBatch, i: usize) -> Result<(&'a str, &'a str, &'a str)> {
    Ok((
        required_text(ds, b, i, "prompt")?,
        required_text(ds, b, i, "completion_a")?,
        required_text(ds, b, i, "completion_b")?,
    ))
}

/// A batch's pass-through columns: (measure index, column), then (descriptive field index, column).
type InputCols<'a> = (Vec<(usize, &'a ExtraColumn)>, Vec<(usize, &'a ExtraColumn)>);

fn input_columns<'a>(b: &'a InstanceBatch, inputs: &InputColumns) -> InputCols<'a> {
    let measure_cols: Vec<(usize, &ExtraColumn)> =
        (0..9).filter(|k| inputs.measures[*k]).zip(b.extras.iter()).collect();
    let descriptive_cols =
        (0..8).filter(|k| inputs.descriptive[*k]).zip(b.extras.iter().skip(measure_cols.len())).collect();
    (measure_cols, descriptive_cols)
}

/// The measures of row `i` passed through from the input (NULL = missing).
fn passed_through(i: usize, cols: &[(usize, &ExtraColumn)]) -> ([Option<f64>; 9], [Origin; 9]) {
    let mut measures = [None; 9];
    let mut origin = [Origin::Missing; 9];
    for (k, col) in cols {
        if let ExtraColumn::Float(v) = col {
            if let Some(x) = v[i] {
                measures[*k] = Some(x);
                origin[*k] = Origin::Input;
            }
        }
    }
    (measures, origin)
}

/// Sets measure `k` to the computed `v` unless the input gave it.
fn fill(k: usize, measures: &mut [Option<f64>; 9], origin: &mut [Origin; 9], v: f64) {
    if origin[k] == Origin::Missing {
        measures[k] = Some(v);
        origin[k] = Origin::Computed;
    }
}

/// First pass over one batch: the four length measures of each row (in
/// [`LENGTH_MEASURES`] order; token counts unless passed through) and the
/// batch's TF-IDF document frequencies. Fails on the first NULL text.
pub(super) fn measure_batch(
    ds: &Dataset,
    b: &InstanceBatch,
    inputs: &InputColumns,
    opts: &TagOptions,
) -> Result<(Vec<[f64; 4]>, Option<DocumentFrequencies>)> {
    let (measure_cols, _) = input_columns(b, inputs);
    let mut df = opts.tfidf.then(DocumentFrequencies::new);
    let mut out = Vec::with_capacity(b.len());
    for i in 0..b.len() {
        let (prompt, a, bb) = texts(ds, b, i)?;
        if let Some(df) = &mut df {
            df.add_document(a);
            df.add_document(bb);
        }
        let (mut measures, mut origin) = passed_through(i, &measure_cols);
        fill_lengths(prompt, a, bb, opts.tokenizer, &mut measures, &mut origin);
        out.push(length_values(&measures));
    }
    Ok((out, df))
}

/// Computes the length measures the input did not give: token counts of the
/// prompt, and the shorter, longer and difference of the completions' counts.
pub(super) fn fill_lengths(
    prompt: &str,
    a: &str,
    b: &str,
    tokenizer: TokenizerKind,
    measures: &mut [Option<f64>; 9],
    origin: &mut [Origin; 9],
) {
    if LENGTH_MEASURES.iter().any(|k| origin[*k] == Origin::Missing) {
        let (ta, tb) = (token_count(a, tokenizer) as f64, token_count(b, tokenizer) as f64);
        if origin[m::PROMPT_LEN] == Origin::Missing {
            fill(m::PROMPT_LEN, measures, origin, token_count(prompt, tokenizer) as f64);
        }
        fill(m::LEN_SHORTER, measures, origin, ta.min(tb));
        fill(m::LEN_LONGER, measures, origin, ta.max(tb));
        fill(m::TOKEN_LEN_DIFF, measures, origin, (ta - tb).abs());
    }
}

/// The four length measures in [`LENGTH_MEASURES`] order (each is passed
/// through or computed by now).
pub(super) fn length_values(measures: &[Option<f64>; 9]) -> [f64; 4] {
    LENGTH_MEASURES.map(|k| measures[k].unwrap_or(f64::NAN))
}

/// Second pass over one batch, whose first row is row `first` of the input:
/// every value of every row, with the first pass's lengths (tags come after).
pub(super) fn tag_batch(
    ds: &Dataset,
    b: &InstanceBatch,
    first: usize,
    inputs: &InputColumns,
    lengths: &LengthTable,
    df: Option<&DocumentFrequencies>,
) -> Result<Vec<InstanceTags>> {
    let mut out = Vec::with_capacity(b.len());
    let (measure_cols, descriptive_cols) = input_columns(b, inputs);
    for i in 0..b.len() {
        let (prompt, a, bb) = texts(ds, b, i)?;
        let row = first + i;
        let (mut measures, mut origin) = passed_through(i, &measure_cols);
        for (j, k) in LENGTH_MEASURES.iter().enumerate() {
            fill(*k, &mut measures, &mut origin, lengths.value(row, j));
        }
        let (descriptive, descriptive_origin) = descriptive_of(prompt, i, &descriptive_cols, inputs);
        let mut tags = per_row_values(a, bb, measures, origin, descriptive, descriptive_origin, df);
        tags.id = b.ids[i].clone();
        tags.human_pref = b.human_pref[i];
        tags.ai_pref = b.ai_pref[i];
        out.push(tags);
    }
    Ok(out)
}

/// The values computed from the completions alone (ROUGE, entities, TF-IDF,
/// characters), around the given measures and descriptive fields. Id, labels
/// and tags are left empty for the caller.
fn per_row_values(
    a: &str,
    b: &str,
    mut measures: [Option<f64>; 9],
    mut origin: [Origin; 9],
    descriptive: Descriptive,
    descriptive_origin: [Origin; 8],
    df: Option<&DocumentFrequencies>,
) -> InstanceTags {
    let rouge = rouge_scores(a, b);
    fill(m::ROUGE, &mut measures, &mut origin, rouge.rouge1);
    if origin[m::ENTITY_SIM] == Origin::Missing {
        fill(m::ENTITY_SIM, &mut measures, &mut origin, entity_jaccard(a, b));
    }
    InstanceTags {
        id: String::new(),
        measures,
        measure_origin: origin,
        rouge_l: Some(rouge.rouge_l),
        tfidf_cosine: df.map(|df| df.cosine(a, b)),
        descriptive,
        descriptive_origin,
        human_pref: None,
        ai_pref: None,
        chars_a: a.chars().count(),
        chars_b: b.chars().count(),
        tags: TagSet::EMPTY,
    }
}

/// Counts one instance into `stats` — the relation form (`pref_stats`): the
/// token counts of its three texts and its completions' TF-IDF terms, exactly
/// as the first pass of [`super::TagStream`] counts an input's rows.
pub fn count_instance(stats: &mut PrefStats, prompt: &str, a: &str, b: &str) {
    let (mut measures, mut origin) = ([None; 9], [Origin::Missing; 9]);
    fill_lengths(prompt, a, b, stats.tokenizer(), &mut measures, &mut origin);
    stats.add(length_values(&measures), a, b);
}

/// Tags one instance with the statistics of a whole input — the relation form
/// (`pref_tags`): every value is computed from the three texts, length bins
/// come from `stats`' exact ranks and the TF-IDF cosine (with `tfidf`) from its
/// vocabulary. With the statistics of an input, the values equal those the
/// two-pass [`super::TagStream`] gives that input's rows (without pass-through
/// columns), to the bit. Embedding measures stay missing ([`embed_instances`]
/// fills them). Id and labels are empty.
pub fn tag_instance(prompt: &str, a: &str, b: &str, stats: &FrozenStats, tfidf: bool) -> InstanceTags {
    let (mut measures, mut origin) = ([None; 9], [Origin::Missing; 9]);
    fill_lengths(prompt, a, b, stats.tokenizer, &mut measures, &mut origin);
    let descriptive = describe(prompt);
    let df = tfidf.then(|| stats.document_frequencies());
    let mut row = per_row_values(a, b, measures, origin, descriptive, [Origin::Computed; 8], df);
    let lengths = length_values(&row.measures);
    row.tags = tags_of(&row, |j| stats.length_bin(j, lengths[j]));
    row
}

const EMBEDDING_MEASURES: [usize; 3] = [m::BERTSCORE, m::BERTSCORE_LENGTH, m::COSINE_SIM];

/// Pairs per unit of embedding work: small enough to spread a window over the
/// threads (and to be the step between two returns to DuckDB), large enough to
/// batch texts of similar length. Changing it changes values in the last bits
/// (texts share forward passes with their chunk-mates).
pub(super) const EMBED_CHUNK_PAIRS: usize = 16;

/// One unit of embedding work: up to [`EMBED_CHUNK_PAIRS`] rows of one batch
/// that miss an embedding measure, each as (batch, row in batch, row in window).
#[derive(Clone, Debug)]
pub(super) struct EmbedChunk(Vec<(usize, usize, usize)>);

impl EmbedChunk {
    /// The window index of the chunk's first row.
    pub(super) fn first_row(&self) -> usize {
        self.0.first().map_or(0, |x| x.2)
    }
}

/// The embedding chunks of a window (`tagged[i]` holds the rows of batch `i`),
/// in row order: the rows of each batch that miss an embedding measure, cut
/// into chunks of [`EMBED_CHUNK_PAIRS`].
///
/// Chunks never span batches, and batches are the same whatever the thread
/// count or window size, so every pair is computed with the same chunk-mates and
/// the values do not depend on how the work is spread over threads or steps.
pub(super) fn embedding_chunks(tagged: &[Vec<InstanceTags>]) -> Vec<EmbedChunk> {
    let mut chunks = Vec::new();
    let mut flat = 0;
    for (bi, rows) in tagged.iter().enumerate() {
        let want: Vec<(usize, usize, usize)> = rows
            .iter()
            .enumerate()
            .filter(|(_, row)| EMBEDDING_MEASURES.iter().any(|k| row.measure_origin[*k] == Origin::Missing))
            .map(|(ri, _)| (bi, ri, flat + ri))
            .collect();
        chunks.extend(want.chunks(EMBED_CHUNK_PAIRS).map(|c| EmbedChunk(c.to_vec())));
        flat += rows.len();
    }
    chunks
}

/// Fills the embedding measures still missing in the rows of `chunks`, over
/// `threads` threads. `rows` holds the window's rows from index `offset` on.
/// `bertscore_length` uses the row's `bertscore`, whether computed or from the input.
pub(super) fn embed_chunks(
    model: &EmbeddingModel,
    batches: &[InstanceBatch],
    chunks: &[EmbedChunk],
    rows: &mut [InstanceTags],
    offset: usize,
    threads: usize,
) -> Result<()> {
    // Tagging has already rejected NULL completions.
    fn text(v: &[Option<String>], ri: usize) -> &str {
        v[ri].as_deref().unwrap_or("")
    }
    let scores = map_ordered(chunks, threads, |c| {
        let pairs: Vec<(&str, &str)> = c
            .0
            .iter()
            .map(|&(bi, ri, _)| (text(&batches[bi].completion_a, ri), text(&batches[bi].completion_b, ri)))
            .collect();
        model.score_pairs(&pairs, &Batching::default())
    })?;
    for (chunk, scores) in chunks.iter().zip(scores) {
        for (&(bi, ri, flat), s) in chunk.0.iter().zip(scores) {
            let (a, b) = (text(&batches[bi].completion_a, ri), text(&batches[bi].completion_b, ri));
            fill_embeddings(&mut rows[flat - offset], &s, a, b);
        }
    }
    Ok(())
}

/// Sets the embedding measures `row` still misses from `s`, the scores of its
/// completions `a` and `b`. `bertscore_length` uses the row's `bertscore`,
/// whether computed or from the input.
fn fill_embeddings(row: &mut InstanceTags, s: &PairScores, a: &str, b: &str) {
    let missing = |r: &InstanceTags, k: usize| r.measure_origin[k] == Origin::Missing;
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

/// The relation form's embedding step: fills the embedding measures of `rows`
/// (tagged by [`tag_instance`] from `pairs`, the same order), on the calling
/// thread, and re-tags them with `stats`. The encoder gives the same values
/// whatever the batching, so they equal the two-pass stream's.
pub fn embed_instances(
    model: &EmbeddingModel,
    pairs: &[(&str, &str)],
    rows: &mut [InstanceTags],
    stats: &FrozenStats,
) -> Result<()> {
    let scores = model.score_pairs(pairs, &Batching::default())?;
    for ((row, s), (a, b)) in rows.iter_mut().zip(&scores).zip(pairs) {
        fill_embeddings(row, s, a, b);
        let lengths = length_values(&row.measures);
        row.tags = tags_of(row, |j| stats.length_bin(j, lengths[j]));
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

/// Fills the tags of `rows` (rows `first..` of the input): measures by their
/// bins, length measures by the first pass's percentile-rank bins, and the
/// descriptive fields.
pub(super) fn assign_tags(rows: &mut [InstanceTags], first: usize, lengths: &LengthTable) {
    for (i, row) in rows.iter_mut().enumerate() {
        row.tags = tags_of(row, |j| lengths.bin_of(first + i, j));
    }
}

/// The tags of a row whose values are complete: each measure by its bin (the
/// length measures by `length_bin(j)`, `j` indexing [`LENGTH_MEASURES`]) and the
/// descriptive fields.
fn tags_of(row: &InstanceTags, length_bin: impl Fn(usize) -> Option<usize>) -> TagSet {
    let mut tags = TagSet::EMPTY;
    for (k, v) in row.measures.iter().enumerate() {
        let bin = match LENGTH_MEASURES.iter().position(|l| *l == k) {
            Some(j) => length_bin(j),
            None => v.and_then(bin_of),
        };
        if let Some(bin) = bin {
            tags.insert(k * 3 + bin);
        }
    }
    for t in descriptive_tags(&row.descriptive) {
        tags.insert(t);
    }
    tags
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
