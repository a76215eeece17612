//! Parity of the lexical measures with the Python reference packages.
//!
//! Golden values: `tests/data/oracle/<name>_features.parquet`, made by
//! `make_oracle_features.py` with rouge-score 0.1.2, scikit-learn 1.9.1,
//! tiktoken 0.14.0 and spaCy `en_core_web_sm` 3.8.0, joined by `id` with
//! `examples/data/<name>.parquet`.

mod common;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use common::{floats, read, strings};
use prefroute::tags::{
    bin_of, entity_jaccard, percentile_ranks, rouge_scores, token_count, DocumentFrequencies, TokenizerKind,
};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

const FILES: [&str; 3] = ["llmbar", "pandalm_test", "hh_rlhf_harmless_test"];

/// One pair of the example data with its oracle values.
struct Row {
    id: String,
    prompt: String,
    a: String,
    b: String,
    rouge1: f64,
    rouge_l: f64,
    tfidf: f64,
    ntok: [[i64; 3]; 2], // [cl100k, o200k] x [prompt, a, b]
    entity_jaccard: f64,
}

fn ints(batch: &RecordBatch, col: &str) -> Vec<i64> {
    let a = batch.column_by_name(col).unwrap_or_else(|| panic!("no column {col}"));
    a.as_primitive::<Int64Type>().iter().map(|v| v.expect("token counts are never null")).collect()
}

fn load(name: &str) -> Vec<Row> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts: HashMap<String, (String, String, String)> = HashMap::new();
    for batch in read(&root.join(format!("examples/data/{name}.parquet"))) {
        let (ids, p, a, b) = (
            strings(&batch, "id"),
            strings(&batch, "prompt"),
            strings(&batch, "completion_a"),
            strings(&batch, "completion_b"),
        );
        for (i, id) in ids.into_iter().enumerate() {
            texts.insert(id, (p[i].clone(), a[i].clone(), b[i].clone()));
        }
    }
    let mut rows = Vec::new();
    for batch in read(&root.join(format!("tests/data/oracle/{name}_features.parquet"))) {
        let ids = strings(&batch, "id");
        let (r1, rl, tf, ej) = (
            floats(&batch, "rouge1_f"),
            floats(&batch, "rougeL_f"),
            floats(&batch, "tfidf_cos"),
            floats(&batch, "entity_jaccard"),
        );
        let tok: Vec<Vec<i64>> = ["cl100k", "o200k"]
            .iter()
            .flat_map(|k| ["prompt", "a", "b"].map(|c| ints(&batch, &format!("ntok_{k}_{c}"))))
            .collect();
        for (i, id) in ids.into_iter().enumerate() {
            let (prompt, a, b) =
                texts.remove(&id).unwrap_or_else(|| panic!("{name}: oracle id {id} not in data"));
            let t = |k: usize| tok[k][i];
            rows.push(Row {
                id,
                prompt,
                a,
                b,
                rouge1: r1[i],
                rouge_l: rl[i],
                tfidf: tf[i],
                ntok: [[t(0), t(1), t(2)], [t(3), t(4), t(5)]],
                entity_jaccard: ej[i],
            });
        }
    }
    assert!(texts.is_empty(), "{name}: {} data rows have no oracle row", texts.len());
    rows
}

/// Spearman's ρ: Pearson correlation of the average ranks.
fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (rx, ry) = (percentile_ranks(x), percentile_ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

#[test]
fn rouge_matches_rouge_score() {
    for name in FILES {
        let rows = load(name);
        let t = Instant::now();
        let scores: Vec<_> = rows.iter().map(|r| rouge_scores(&r.a, &r.b)).collect();
        let dt = t.elapsed();
        let mut worst = 0.0f64;
        for (r, s) in rows.iter().zip(&scores) {
            let (d1, dl) = ((s.rouge1 - r.rouge1).abs(), (s.rouge_l - r.rouge_l).abs());
            assert!(d1 <= 1e-12, "{name} {}: rouge1 {} vs oracle {}", r.id, s.rouge1, r.rouge1);
            assert!(dl <= 1e-12, "{name} {}: rougeL {} vs oracle {}", r.id, s.rouge_l, r.rouge_l);
            worst = worst.max(d1).max(dl);
        }
        println!("{name}: rouge1+rougeL on {} pairs in {dt:.2?}, max |Δ| {worst:e}", rows.len());
    }
}

#[test]
fn token_counts_match_tiktoken() {
    for name in FILES {
        let rows = load(name);
        let t = Instant::now();
        for r in &rows {
            for (k, kind) in [TokenizerKind::Cl100k, TokenizerKind::O200k].into_iter().enumerate() {
                for (c, text) in [&r.prompt, &r.a, &r.b].into_iter().enumerate() {
                    let n = token_count(text, kind) as i64;
                    assert_eq!(n, r.ntok[k][c], "{name} {}: {} count of text {c}", r.id, kind.name());
                }
            }
        }
        println!("{name}: 6 token counts on {} rows in {:.2?}", rows.len(), t.elapsed());
    }
}

#[test]
fn tfidf_cosine_matches_scikit_learn() {
    for name in FILES {
        let rows = load(name);
        let t = Instant::now();
        let mut df = DocumentFrequencies::new();
        for r in &rows {
            df.add_document(&r.a);
            df.add_document(&r.b);
        }
        assert_eq!(df.n_documents(), 2 * rows.len());
        let mut worst = 0.0f64;
        for r in &rows {
            let c = df.cosine(&r.a, &r.b);
            let d = (c - r.tfidf).abs();
            assert!(d <= 1e-9, "{name} {}: tfidf cosine {c} vs oracle {}", r.id, r.tfidf);
            worst = worst.max(d);
        }
        println!(
            "{name}: tfidf fit + cosine on {} pairs in {:.2?}, max |Δ| {worst:e}",
            rows.len(),
            t.elapsed()
        );
    }
}

/// The rule-based entities are not spaCy's, so only agreement is measured. The floor
/// ρ > 0.3 separates a working approximation from a broken one: an extractor that
/// finds nothing gives a constant (ρ undefined, NaN fails the test), and a random
/// one gives ρ ≈ 0.
#[test]
fn entity_jaccard_agrees_with_spacy() {
    for name in FILES {
        let rows = load(name);
        let t = Instant::now();
        let ours: Vec<f64> = rows.iter().map(|r| entity_jaccard(&r.a, &r.b)).collect();
        let dt = t.elapsed();
        let oracle: Vec<f64> = rows.iter().map(|r| r.entity_jaccard).collect();
        let rho = spearman(&ours, &oracle);
        let same_bin = ours.iter().zip(&oracle).filter(|(x, y)| bin_of(**x) == bin_of(**y)).count() as f64
            / rows.len() as f64;
        println!(
            "{name}: entity_jaccard on {} pairs in {dt:.2?}: Spearman ρ {rho:.3} vs spaCy, same bin {:.1} %",
            rows.len(),
            100.0 * same_bin
        );
        assert!(rho > 0.3, "{name}: Spearman ρ {rho} of entity_jaccard vs spaCy is below 0.3");
    }
}
