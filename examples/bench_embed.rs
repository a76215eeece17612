//! Embedding-measure throughput: `cosine_sim`, `bertscore` and `bertscore_length`
//! of every pair of llmbar (885 pairs, long completions) on one and two threads,
//! beside the Python reference (sentence-transformers + bert-score, CPU) on the
//! same pairs in the same run when it can be run.
//!
//! `make bench-embed`, or
//! `PREFROUTE_MODEL_DIR=.cache/models/all-MiniLM-L6-v2 cargo run --release --example bench_embed [-- file.parquet]`
//! The reference runs `examples/bench_embed_reference.py` with `$PREFROUTE_EMBED_REF_PYTHON`, a Python
//! with torch, sentence-transformers and bert-score; without it the reference is reported as not run.

// prefroute's errors are large by design (they carry file, column, row and value).
#![allow(clippy::result_large_err)]

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prefroute::embed::{bertscore_length, model_dir_from_env, Batching, EmbeddingModel};
use prefroute::parallel::map_ordered;
use std::process::Command;
use std::time::Instant;

fn pairs_of(file: &str) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file)?)?.build()?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let col = |name: &str| batch.column_by_name(name).map(|c| c.as_string::<i32>().clone());
        let (Some(a), Some(b)) = (col("completion_a"), col("completion_b")) else {
            return Err(format!("{file}: no completion_a / completion_b").into());
        };
        for i in 0..a.len() {
            out.push((a.value(i).to_string(), b.value(i).to_string()));
        }
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args().nth(1).unwrap_or_else(|| "examples/data/llmbar.parquet".into());
    let dir = model_dir_from_env().ok_or("set PREFROUTE_MODEL_DIR (get the model with `make model`)")?;
    let t = Instant::now();
    let model = EmbeddingModel::load(&dir)?;
    println!("model {} loaded in {:.2} s", model.dir().display(), t.elapsed().as_secs_f64());
    let owned = pairs_of(&file)?;
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let n = pairs.len() as f64;
    println!("{file}: {} pairs", pairs.len());
    // The pipeline's unit of work: 16 pairs.
    let chunks: Vec<&[(&str, &str)]> = pairs.chunks(16).collect();
    let mut first = None;
    // The default shares a text's states between the two measures when it fits in 256 tokens;
    // `share_states: false` is the earlier way (a second forward pass for every text).
    let shared = Batching::default();
    let separate = Batching { share_states: false, ..shared };
    for (threads, batching, what) in
        [(1, shared, "shared states"), (1, separate, "two passes per text"), (2, shared, "shared states")]
    {
        let t = Instant::now();
        let scores = map_ordered(&chunks, threads, |c| model.score_pairs(c, &batching))?;
        let embed_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let lengths: Vec<f64> =
            scores.iter().flatten().zip(&pairs).map(|(s, (a, b))| bertscore_length(s.f1, a, b)).collect();
        let length_secs = t.elapsed().as_secs_f64();
        let flat: Vec<_> = scores.into_iter().flatten().collect();
        match &first {
            None => first = Some(flat),
            Some(f) if batching == shared => assert_eq!(f, &flat, "results depend on the thread count"),
            Some(f) => {
                let worst = f
                    .iter()
                    .zip(&flat)
                    .map(|(x, y)| (x.cosine - y.cosine).abs().max((x.f1 - y.f1).abs()))
                    .fold(0.0, f64::max);
                println!("two passes per text vs shared states: max |Δ| {worst:.1e}");
            }
        }
        println!(
            "rust, {threads} thread(s), {what}: {:.2} pairs/s for all three measures ({embed_secs:.1} s forward + \
             scoring, {length_secs:.2} s word counts for bertscore_length; mean bertscore_length {:.3})",
            n / (embed_secs + length_secs),
            lengths.iter().sum::<f64>() / n,
        );
    }
    let Ok(python) = std::env::var("PREFROUTE_EMBED_REF_PYTHON") else {
        println!(
            "python reference: not run (set PREFROUTE_EMBED_REF_PYTHON to a Python with torch, \
                  sentence-transformers and bert-score)"
        );
        return Ok(());
    };
    // bert-score with batch 1 (as the oracle was computed) and with its default batch of 64.
    for batch in ["1", "64"] {
        let out = Command::new(&python)
            .args(["examples/bench_embed_reference.py", &file, &dir.display().to_string(), batch])
            .output()?;
        if out.status.success() {
            print!("python reference: {}", String::from_utf8_lossy(&out.stdout));
        } else {
            println!("python reference failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    Ok(())
}
