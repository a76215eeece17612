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
//!
//! A window is handed out in steps ([`TagStream::next_rows`]): with an embedding
//! model, a window is minutes of work, and a DuckDB scan can only be interrupted
//! between the chunks it returns, so each step embeds at most one chunk of 16
//! pairs per thread and returns the rows that are complete. The chunks are the
//! same however the work is stepped or spread over threads, so the values are too.
//!
//! `stream.rs` holds the two passes ([`TagStream`]), `batch.rs` what they do to
//! one batch of rows, `paced.rs` the stream on a background thread, handed out
//! so that a DuckDB scan gets control back at least every [`PACE`] ([`PacedStream`]).

mod batch;
mod paced;
mod stream;

pub use batch::{count_instance, descriptive_tags, embed_instances, tag_instance};
pub use paced::{PacedStream, PACE, RESERVE_ROWS};
pub use stream::{TagStream, TAG_BATCH_ROWS};

use super::descriptive::Descriptive;
use super::tokens::TokenizerKind;
use super::TagSet;
use crate::data::{Dataset, ExtraKind, ExtraRequest, Label};
use crate::embed::EmbeddingModel;
use crate::error::Result;
use crate::progress::Progress;
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

/// Length measures are binned by percentile rank over the whole input (the
/// order of [`crate::tags::stats::PrefStats`]' histograms).
pub const LENGTH_MEASURES: [usize; 4] = [m::LEN_LONGER, m::LEN_SHORTER, m::PROMPT_LEN, m::TOKEN_LEN_DIFF];

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
    /// Where to report the passes' progress (off by default; values never depend on it).
    pub progress: Progress,
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
            progress: Progress::off(),
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
    while let Some(window) = stream.next_rows()? {
        rows.extend(window);
    }
    Ok(rows)
}

/// The fields of `row` the LLM tagger should ask: those prefroute computes (not passed through
/// from the input), indices into [`DESCRIPTIVE_FIELDS`].
pub fn computed_fields(row: &InstanceTags) -> Vec<usize> {
    (0..DESCRIPTIVE_FIELDS.len()).filter(|&k| row.descriptive_origin[k] == Origin::Computed).collect()
}

/// What an outside tagger (the LLM analyzer) answered for one row, in the
/// tagger's own types: the fields it was asked (indices into
/// [`DESCRIPTIVE_FIELDS`]), their values, and the asked fields that got none.
#[derive(Clone, Copy, Debug)]
pub struct AskedFields<'a> {
    pub asked: &'a [usize],
    pub values: &'a Descriptive,
    pub missing: &'a [&'static str],
}

/// Replaces the fields the LLM tagger was asked (`d.asked`) by its answers: a field in `d.missing`
/// gets no value (an empty list or NULL, origin [`Origin::Missing`], as a NULL input column does),
/// the others its values. The row's descriptive tags are recomputed; its measure tags stay.
pub fn apply_llm_fields(row: &mut InstanceTags, d: AskedFields) {
    for &k in d.asked {
        let got = !d.missing.contains(&DESCRIPTIVE_FIELDS[k]);
        let (r, a) = (&mut row.descriptive, d.values);
        match k {
            0 => r.subject_of_expertise = a.subject_of_expertise.clone(),
            1 => r.languages = a.languages.clone(),
            2 => r.expertise_level = a.expertise_level.clone(),
            3 => r.open_endedness = a.open_endedness.clone(),
            4 => r.safety_concern = a.safety_concern.clone(),
            5 => r.complexity_of_intents = a.complexity_of_intents.clone(),
            6 => r.type_of_in_context_material = a.type_of_in_context_material.clone(),
            _ => r.format_constraints = a.format_constraints.clone(),
        }
        row.descriptive_origin[k] = if got { Origin::Computed } else { Origin::Missing };
    }
    // Measure tags are the first 3 bins of each of the nine measures; the rest are descriptive.
    let measure_bits = (1u128 << (MEASURES.len() * 3)) - 1;
    let mut tags = TagSet(row.tags.0 & measure_bits);
    for t in descriptive_tags(&row.descriptive) {
        tags.insert(t);
    }
    row.tags = tags;
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
    while let Some(window) = stream.next_rows()? {
        rows.extend(window.into_iter().map(|r| TaggedRow {
            id: r.id,
            human_pref: r.human_pref,
            ai_pref: r.ai_pref,
            tags: r.tags,
        }));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::stream::BATCHES_PER_THREAD;
    use super::*;
    use crate::data::ColumnOverrides;
    use crate::tags::bins::bin_of;
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
    fn llm_fields_replace_the_rules_and_their_tags_only() {
        let (ds, inputs) = open("examples/data/llmbar.parquet", false);
        let rows = tag_dataset(&ds, &inputs, &TagOptions::default()).expect("collect");
        let mut row = rows[0].clone();
        let asked = computed_fields(&row);
        assert_eq!(asked, (0..8).collect::<Vec<_>>());
        let values = Descriptive {
            subject_of_expertise: vec!["Law".into()],
            safety_concern: Some("high".into()),
            ..Default::default()
        };
        let missing = ["expertise_level", "open_endedness", "complexity_of_intents", "languages"];
        apply_llm_fields(&mut row, AskedFields { asked: &asked, values: &values, missing: &missing });
        let names: Vec<&str> = row.tags.names().collect();
        let descriptive: Vec<&str> = names.iter().copied().filter(|n| n.starts_with("analyzer")).collect();
        assert_eq!(
            descriptive,
            vec![
                "analyzer_closed_set::feature_name=subject_of_expertise|constraints=Law",
                "analyzer_scalar::feature_name=safety_concern|value=high",
            ]
        );
        // The measure tags are untouched.
        let measures = |t: &TagSet| t.names().filter(|n| !n.starts_with("analyzer")).count();
        assert_eq!(measures(&row.tags), measures(&rows[0].tags));
        assert_eq!(row.descriptive_origin[2], Origin::Missing);
        assert_eq!(row.descriptive_origin[4], Origin::Computed);
        assert_eq!(row.descriptive.expertise_level, None);
        assert!(row.descriptive.languages.is_empty());
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
                // Other batch sizes give the same rows, to the bit (the TF-IDF
                // vocabulary is numbered canonically after the first pass).
                assert!(all == default, "{path}: batch of {batch_rows} rows differs from the default");
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
                match stream.next_rows() {
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
