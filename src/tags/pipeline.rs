//! Tagging a whole dataset: the nine measures and eight descriptive fields of
//! every instance, where each value came from, and the resulting tag sets.
//!
//! Two passes over the data, both parallel over windows of batches (results in
//! input order, independent of the thread count). The first keeps only what
//! needs the whole input: the four length measures of every row (a few bytes a
//! row; length tags are percentile ranks over the whole input, SPEC §2.3) and
//! the TF-IDF document frequencies. The second, a [`TagStream`], reads the input
//! again and yields the tagged rows a window at a time, so memory is bounded by
//! one window plus the first pass's arrays, whatever the input's size.

use super::bins::{bin_of, percentile_ranks};
use super::descriptive::{describe, Descriptive};
use super::entities::entity_jaccard;
use super::rouge::rouge_scores;
use super::tfidf::DocumentFrequencies;
use super::tokens::{token_count, TokenizerKind};
use super::{tag_index, TagSet, N_TAGS};
use crate::data::{Dataset, ExtraColumn, ExtraKind, ExtraRequest, InstanceBatch, Label, Unit, UnitReader};
use crate::embed::{bertscore_length, Batching, EmbeddingModel};
use crate::error::{Error, Result};
use crate::parallel::map_ordered;
use std::hash::{Hash, Hasher};
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
    /// Rows per batch read from the input; a window holds four batches per thread.
    pub batch_rows: usize,
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
            batch_rows: TAG_BATCH_ROWS,
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

/// Tags every instance of `ds`, all rows at once (the [`TagStream`], collected).
/// `ds` must have been opened with the extra requests returned by
/// [`InputColumns::detect`] (in that order).
pub fn tag_dataset(ds: &Dataset, inputs: &InputColumns, opts: &TagOptions) -> Result<Vec<InstanceTags>> {
    let mut stream = TagStream::new(ds, inputs, opts)?;
    let mut rows = Vec::with_capacity(stream.num_rows());
    while let Some(window) = stream.next_window()? {
        rows.extend(window);
    }
    Ok(rows)
}

/// What callers that only need tag sets keep of a tagged instance.
#[derive(Clone, Debug, PartialEq)]
pub struct TaggedRow {
    pub id: String,
    pub human_pref: Option<Label>,
    pub ai_pref: Option<Label>,
    pub tags: TagSet,
}

/// Tags every instance of `ds`, keeping only ids, labels and tag sets (a few
/// dozen bytes a row instead of the full [`InstanceTags`]).
pub fn tag_rows(ds: &Dataset, inputs: &InputColumns, opts: &TagOptions) -> Result<Vec<TaggedRow>> {
    let mut stream = TagStream::new(ds, inputs, opts)?;
    let mut rows = Vec::with_capacity(stream.num_rows());
    while let Some(window) = stream.next_window()? {
        rows.extend(window.into_iter().map(|r| TaggedRow {
            id: r.id,
            human_pref: r.human_pref,
            ai_pref: r.ai_pref,
            tags: r.tags,
        }));
    }
    Ok(rows)
}

/// Tagging as a stream of windows, in input order, with memory bounded by one
/// window plus a few dozen bytes per row.
///
/// [`TagStream::new`] runs the first pass: the values that need the whole input
/// (the four length measures, binned by percentile rank over all rows, and the
/// TF-IDF document frequencies). [`TagStream::next_window`] then reads the input
/// again, a window of batches at a time, and tags each window in parallel.
pub struct TagStream {
    ds: Dataset,
    inputs: InputColumns,
    opts: TagOptions,
    lengths: LengthTable,
    df: Option<DocumentFrequencies>,
    /// Fingerprint of each first-pass window, to detect an input that changed since.
    fingerprints: Vec<u64>,
    windows: Windows,
    /// Rows handed out so far (= input index of the next row).
    next_row: usize,
    window: usize,
}

impl TagStream {
    /// Runs the first pass over `ds` (opened as for [`tag_dataset`]).
    pub fn new(ds: &Dataset, inputs: &InputColumns, opts: &TagOptions) -> Result<TagStream> {
        let threads = opts.threads.max(1);
        let mut lengths = LengthTable::new(inputs);
        let mut df = opts.tfidf.then(DocumentFrequencies::new);
        let mut fingerprints = Vec::new();
        let mut windows = Windows::new(ds, threads, opts.batch_rows);
        while let Some(batches) = windows.next_window()? {
            fingerprints.push(fingerprint(&batches));
            let done = map_ordered(&batches, threads, |b| measure_batch(ds, b, inputs, opts))?;
            for (part, part_df) in done {
                lengths.extend(part);
                if let (Some(df), Some(d)) = (&mut df, part_df) {
                    df.merge(d);
                }
            }
        }
        lengths.bin();
        Ok(TagStream {
            ds: ds.clone(),
            inputs: inputs.clone(),
            opts: opts.clone(),
            lengths,
            df,
            fingerprints,
            windows: Windows::new(ds, threads, opts.batch_rows),
            next_row: 0,
            window: 0,
        })
    }

    /// Number of rows the first pass read.
    pub fn num_rows(&self) -> usize {
        self.lengths.len()
    }

    /// Largest number of rows [`next_window`](Self::next_window) yields at once.
    pub fn max_window_rows(&self) -> usize {
        self.windows.size * self.opts.batch_rows.max(1)
    }

    /// The next window of tagged rows, in input order; `None` after the last.
    /// Fails if the input changed since the first pass.
    pub fn next_window(&mut self) -> Result<Option<Vec<InstanceTags>>> {
        let Some(batches) = self.windows.next_window()? else {
            if self.next_row != self.lengths.len() {
                return Err(self.changed(format!(
                    "the second read ended after {} rows, the first read {}",
                    self.next_row,
                    self.lengths.len()
                )));
            }
            return Ok(None);
        };
        if self.fingerprints.get(self.window) != Some(&fingerprint(&batches)) {
            return Err(
                self.changed(format!("the rows from row {} on differ between the two reads", self.next_row))
            );
        }
        let mut items = Vec::with_capacity(batches.len());
        let mut first = self.next_row;
        for b in &batches {
            items.push((first, b));
            first += b.len();
        }
        if first > self.lengths.len() {
            return Err(self.changed(format!(
                "the second read has more than the {} rows of the first",
                self.lengths.len()
            )));
        }
        let (ds, inputs) = (&self.ds, &self.inputs);
        let (lengths, df) = (&self.lengths, self.df.as_ref());
        let threads = self.opts.threads.max(1);
        let mut done =
            map_ordered(&items, threads, |(first, b)| tag_batch(ds, b, *first, inputs, lengths, df))?;
        // Measures that need the whole window (model embeddings, batched across
        // rows), between the per-row measures and the tags.
        if let Some(model) = &self.opts.model {
            embedding_measures(model, &batches, &mut done, threads)?;
        }
        let mut rows: Vec<InstanceTags> = done.into_iter().flatten().collect();
        assign_tags(&mut rows, self.next_row, lengths);
        self.next_row = first;
        self.window += 1;
        Ok(Some(rows))
    }

    fn changed(&self, what: String) -> Error {
        Error::file(
            &self.ds.pattern,
            format!("the input changed while it was being tagged: {what}"),
            "do not rewrite the file while a query reads it; run the query again",
        )
    }
}

/// Rows per batch when tagging: small enough to spread a one-row-group file over threads.
pub const TAG_BATCH_ROWS: usize = 256;

/// Batches per thread in a window: enough to balance uneven batches.
const BATCHES_PER_THREAD: usize = 4;

/// Reads a dataset in order, a window of batches (a few per thread) at a time.
struct Windows {
    ds: Dataset,
    units: std::vec::IntoIter<Unit>,
    reader: Option<UnitReader>,
    /// Batches per window.
    size: usize,
    batch_rows: usize,
}

impl Windows {
    fn new(ds: &Dataset, threads: usize, batch_rows: usize) -> Windows {
        Windows {
            ds: ds.clone(),
            units: ds.units().into_iter(),
            reader: None,
            size: threads * BATCHES_PER_THREAD,
            batch_rows: batch_rows.max(1),
        }
    }

    /// The next window (never empty), or `None` at the end of the input.
    fn next_window(&mut self) -> Result<Option<Vec<InstanceBatch>>> {
        let mut window = Vec::with_capacity(self.size);
        while window.len() < self.size {
            if let Some(batch) = self.reader.as_mut().and_then(Iterator::next) {
                window.push(batch?);
                continue;
            }
            match self.units.next() {
                Some(unit) => self.reader = Some(self.ds.read_unit(&unit, self.batch_rows)?),
                None => break,
            }
        }
        Ok((!window.is_empty()).then_some(window))
    }
}

/// A hash of a window's row ids and batch sizes (the two reads must agree on it).
fn fingerprint(batches: &[InstanceBatch]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    for b in batches {
        b.ids.hash(&mut h);
    }
    h.finish()
}

/// The first pass's values of the four length measures of every row (in
/// [`LENGTH_MEASURES`] order), exact, and their bins.
struct LengthTable {
    values: LengthValues,
    /// Bin of each length measure of each row, 2 bits each ([`NO_BIN`] = none).
    bins: Vec<u8>,
}

/// Token counts when every length is computed (16 B/row); the values as read
/// otherwise (32 B/row), since pass-through values need not be integers.
enum LengthValues {
    Counts(Vec<[u32; 4]>),
    Values(Vec<[f64; 4]>),
}

const NO_BIN: u8 = 3;

impl LengthTable {
    fn new(inputs: &InputColumns) -> LengthTable {
        let values = if LENGTH_MEASURES.iter().any(|k| inputs.measures[*k]) {
            LengthValues::Values(Vec::new())
        } else {
            LengthValues::Counts(Vec::new())
        };
        LengthTable { values, bins: Vec::new() }
    }

    fn len(&self) -> usize {
        match &self.values {
            LengthValues::Counts(v) => v.len(),
            LengthValues::Values(v) => v.len(),
        }
    }

    fn extend(&mut self, rows: Vec<[f64; 4]>) {
        match &mut self.values {
            // Exact: every value is a token count (an integer below 2^32).
            LengthValues::Counts(v) => v.extend(rows.iter().map(|r| r.map(|x| x as u32))),
            LengthValues::Values(v) => v.extend(rows),
        }
    }

    /// Value `j` (index into [`LENGTH_MEASURES`]) of row `i`.
    fn value(&self, i: usize, j: usize) -> f64 {
        match &self.values {
            LengthValues::Counts(v) => f64::from(v[i][j]),
            LengthValues::Values(v) => v[i][j],
        }
    }

    /// Bins every length measure by its percentile rank over all rows (SPEC §2.3).
    fn bin(&mut self) {
        self.bins = vec![0; self.len()];
        for j in 0..LENGTH_MEASURES.len() {
            let values: Vec<f64> = (0..self.len()).map(|i| self.value(i, j)).collect();
            for (code, pct) in self.bins.iter_mut().zip(percentile_ranks(&values)) {
                *code |= bin_of(pct).map_or(NO_BIN, |b| b as u8) << (2 * j);
            }
        }
    }

    /// Bin of value `j` of row `i`.
    fn bin_of(&self, i: usize, j: usize) -> Option<usize> {
        let code = (self.bins[i] >> (2 * j)) & 3;
        (code != NO_BIN).then_some(code as usize)
    }
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
fn measure_batch(
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
        if LENGTH_MEASURES.iter().any(|k| origin[*k] == Origin::Missing) {
            let (ta, tb) = (token_count(a, opts.tokenizer) as f64, token_count(bb, opts.tokenizer) as f64);
            if origin[m::PROMPT_LEN] == Origin::Missing {
                fill(m::PROMPT_LEN, &mut measures, &mut origin, token_count(prompt, opts.tokenizer) as f64);
            }
            fill(m::LEN_SHORTER, &mut measures, &mut origin, ta.min(tb));
            fill(m::LEN_LONGER, &mut measures, &mut origin, ta.max(tb));
            fill(m::TOKEN_LEN_DIFF, &mut measures, &mut origin, (ta - tb).abs());
        }
        // Every length measure is now passed through or computed.
        out.push(LENGTH_MEASURES.map(|k| measures[k].unwrap_or(f64::NAN)));
    }
    Ok((out, df))
}

/// Second pass over one batch, whose first row is row `first` of the input:
/// every value of every row, with the first pass's lengths (tags come after).
fn tag_batch(
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
        let rouge = rouge_scores(a, bb);
        fill(m::ROUGE, &mut measures, &mut origin, rouge.rouge1);
        if origin[m::ENTITY_SIM] == Origin::Missing {
            fill(m::ENTITY_SIM, &mut measures, &mut origin, entity_jaccard(a, bb));
        }
        let (descriptive, descriptive_origin) = descriptive_of(prompt, i, &descriptive_cols, inputs);
        out.push(InstanceTags {
            id: b.ids[i].clone(),
            measures,
            measure_origin: origin,
            rouge_l: Some(rouge.rouge_l),
            tfidf_cosine: df.map(|df| df.cosine(a, bb)),
            descriptive,
            descriptive_origin,
            human_pref: b.human_pref[i],
            ai_pref: b.ai_pref[i],
            chars_a: a.chars().count(),
            chars_b: bb.chars().count(),
            tags: TagSet::EMPTY,
        });
    }
    Ok(out)
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
    tagged: &mut [Vec<InstanceTags>],
    threads: usize,
) -> Result<()> {
    let missing = |r: &InstanceTags, k: usize| r.measure_origin[k] == Origin::Missing;
    let mut chunks: Vec<Vec<(usize, usize, &str, &str)>> = Vec::new();
    for (bi, rows) in tagged.iter().enumerate() {
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
            let row = &mut tagged[bi][ri];
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

/// Fills the tags of `rows` (rows `first..` of the input): measures by their
/// bins, length measures by the first pass's percentile-rank bins, and the
/// descriptive fields.
fn assign_tags(rows: &mut [InstanceTags], first: usize, lengths: &LengthTable) {
    for (i, row) in rows.iter_mut().enumerate() {
        let mut tags = TagSet::EMPTY;
        for (k, v) in row.measures.iter().enumerate() {
            let bin = match LENGTH_MEASURES.iter().position(|l| *l == k) {
                Some(j) => lengths.bin_of(first + i, j),
                None => v.and_then(bin_of),
            };
            if let Some(bin) = bin {
                tags.insert(k * 3 + bin);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ColumnOverrides;
    use arrow::array::{ArrayRef, RecordBatch, StringArray};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    fn open(path: &str, recompute: bool) -> (Dataset, InputColumns) {
        let probe = Dataset::open(path, &ColumnOverrides::default(), &[]).expect("probe");
        let (inputs, extras) = InputColumns::detect(&probe, recompute);
        (Dataset::open(path, &ColumnOverrides::default(), &extras).expect("open"), inputs)
    }

    /// Every window of a stream, checking each against the stream's bound.
    fn windows(ds: &Dataset, inputs: &InputColumns, opts: &TagOptions) -> Result<Vec<Vec<InstanceTags>>> {
        let mut stream = TagStream::new(ds, inputs, opts)?;
        assert_eq!(stream.max_window_rows(), opts.threads * BATCHES_PER_THREAD * opts.batch_rows);
        let mut out = Vec::new();
        while let Some(w) = stream.next_window()? {
            assert!(!w.is_empty() && w.len() <= stream.max_window_rows(), "window of {} rows", w.len());
            out.push(w);
        }
        Ok(out)
    }

    #[test]
    fn stream_gives_the_collected_rows_for_any_threads_and_batch_size() {
        // Computed lengths (llmbar) and passed-through lengths (the paper's feature columns).
        for path in ["examples/data/llmbar.parquet", "tests/fixtures/paper_features.parquet"] {
            let (ds, inputs) = open(path, false);
            let default = tag_dataset(&ds, &inputs, &TagOptions::default()).expect("collect");
            assert_eq!(default.len() as u64, ds.num_rows());
            for batch_rows in [1, 7, 100] {
                let one = TagOptions { batch_rows, ..TagOptions::default() };
                let all = tag_dataset(&ds, &inputs, &one).expect("collect");
                for threads in [1, 2, 3] {
                    let opts = TagOptions { threads, ..one.clone() };
                    let got = windows(&ds, &inputs, &opts).expect("stream");
                    if all.len() > opts.threads * BATCHES_PER_THREAD * batch_rows {
                        assert!(got.len() > 1, "{path}: {threads} threads, {batch_rows} rows: one window");
                    }
                    let flat: Vec<InstanceTags> = got.into_iter().flatten().collect();
                    assert!(flat == all, "{path}: {threads} threads, batch of {batch_rows} rows");
                }
                // Other batch sizes number the TF-IDF vocabulary in another order, which
                // moves the cosine's last bits only; everything else is identical.
                for (x, y) in all.iter().zip(&default) {
                    let (cx, cy) = (x.tfidf_cosine.expect("cosine"), y.tfidf_cosine.expect("cosine"));
                    assert!((cx - cy).abs() <= 1e-12, "{}: {cx} vs {cy}", x.id);
                    let strip = |r: &InstanceTags| InstanceTags { tfidf_cosine: None, ..r.clone() };
                    assert_eq!(strip(x), strip(y));
                }
            }
        }
    }

    #[test]
    fn length_tags_rank_over_the_whole_input_not_the_window() {
        // Windows of 4 rows; the percentile rank of each row's prompt length over the
        // whole file (computed here from the tagged values) must decide its tag.
        let (ds, inputs) = open("examples/data/llmbar.parquet", false);
        let opts = TagOptions { batch_rows: 1, tfidf: false, ..TagOptions::default() };
        let rows: Vec<InstanceTags> = windows(&ds, &inputs, &opts).expect("stream").concat();
        let lens: Vec<f64> = rows.iter().map(|r| r.measures[m::PROMPT_LEN].expect("computed")).collect();
        let n = lens.len() as f64;
        for (r, x) in rows.iter().zip(&lens) {
            let less = lens.iter().filter(|y| *y < x).count() as f64;
            let equal = lens.iter().filter(|y| *y == x).count() as f64;
            let bin = bin_of((less + (equal + 1.0) / 2.0) / n).expect("in [0, 1]");
            for b in 0..3 {
                assert_eq!(r.tags.contains(m::PROMPT_LEN * 3 + b), b == bin, "row {}", r.id);
            }
        }
    }

    /// Writes pairs with these ids; the prompt of row `null_prompt` (if any) is NULL.
    fn write_pairs(path: &Path, ids: &[&str], null_prompt: Option<usize>) {
        let text = |p: &str| -> ArrayRef {
            Arc::new(StringArray::from(ids.iter().map(|i| format!("{p} of pair {i}")).collect::<Vec<_>>()))
        };
        let prompts: Vec<Option<String>> = (0..ids.len())
            .map(|i| (null_prompt != Some(i)).then(|| format!("the prompt of pair {}", ids[i])))
            .collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(StringArray::from(ids.to_vec())) as ArrayRef),
            ("prompt", Arc::new(StringArray::from(prompts)) as ArrayRef),
            ("completion_a", text("one answer")),
            ("completion_b", text("another answer")),
        ])
        .expect("batch");
        let file = std::fs::File::create(path).expect("create");
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
    }

    fn temp_file(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("prefroute-stream-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("pairs.parquet")
    }

    #[test]
    fn an_input_that_changes_between_the_passes_is_an_error() {
        let ids: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let path = temp_file("changed");
        let shown = path.display().to_string();
        let opts = TagOptions { batch_rows: 2, ..TagOptions::default() }; // windows of 8 rows
                                                                          // Fewer rows (a prefix), more rows, and the same count with other ids.
        let others: Vec<String> = (0..20).map(|i| format!("q{i}")).collect();
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        let mut longer = ids.clone();
        longer.push("p20");
        for (case, rewrite) in [("prefix", &ids[..13]), ("longer", &longer[..]), ("other ids", &others[..])] {
            write_pairs(&path, &ids, None);
            let (ds, inputs) = open(&shown, false);
            let mut stream = TagStream::new(&ds, &inputs, &opts).expect("first pass");
            assert_eq!(stream.num_rows(), 20);
            write_pairs(&path, rewrite, None);
            let mut result = Ok(());
            loop {
                match stream.next_window() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            let err = result.expect_err(case).to_string();
            assert!(err.contains("the input changed while it was being tagged"), "{case}: {err}");
        }
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }

    #[test]
    fn a_null_prompt_in_a_late_window_fails_before_any_row_is_yielded() {
        let ids: Vec<String> = (0..40).map(|i| format!("p{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let path = temp_file("null");
        write_pairs(&path, &ids, Some(37)); // the fifth window of 8 rows
        let (ds, inputs) = open(&path.display().to_string(), false);
        let opts = TagOptions { batch_rows: 2, ..TagOptions::default() };
        let err = TagStream::new(&ds, &inputs, &opts).err().expect("a NULL prompt").to_string();
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
        assert!(err.contains("column 'prompt', row id 'p37': the prompt is NULL"), "{err}");
    }
}
