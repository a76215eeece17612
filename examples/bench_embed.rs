//! Embedding-measure throughput: `cosine_sim`, `bertscore` and `bertscore_length`
//! of every pair of llmbar (885 pairs, long completions) on one and two threads,
//! beside the Python reference (sentence-transformers + bert-score, CPU)
//! on the same pairs in the same run when it can be run; then the projected hours
//! for a million such pairs and the process's peak RSS.
//!
//! `make bench-embed`, or
//! `PREFROUTE_MODEL_DIR=.cache/models/all-MiniLM-L6-v2 cargo run --release --example bench_embed [-- file.parquet]`
//! The reference runs `examples/bench_embed_reference.py` with `$PREFROUTE_EMBED_REF_PYTHON`, a Python
//! with torch, sentence-transformers and bert-score; without it the reference is reported as not run.

// prefroute's errors are large by design (they carry file, column, row and value).
#![allow(clippy::result_large_err)]

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prefroute::embed::{bertscore_length, model_dir_from_env, Batching, EmbeddingModel, PairScores};
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

/// Pairs/s, the scores and the `bertscore_length` of every pair.
type Run = (f64, Vec<PairScores>, Vec<f64>);

/// One timed run over every pair on `threads` threads.
fn run(
    model: &EmbeddingModel,
    pairs: &[(&str, &str)],
    threads: usize,
) -> Result<Run, Box<dyn std::error::Error>> {
    // The pipeline's unit of work: 16 pairs.
    let chunks: Vec<&[(&str, &str)]> = pairs.chunks(16).collect();
    let batching = Batching::default();
    let t = Instant::now();
    let scores: Vec<PairScores> =
        map_ordered(&chunks, threads, |c| model.score_pairs(c, &batching))?.into_iter().flatten().collect();
    let lengths: Vec<f64> =
        scores.iter().zip(pairs).map(|(s, (a, b))| bertscore_length(s.f1, a, b)).collect();
    Ok((pairs.len() as f64 / t.elapsed().as_secs_f64(), scores, lengths))
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args().nth(1).unwrap_or_else(|| "examples/data/llmbar.parquet".into());
    let dir = model_dir_from_env().ok_or("set PREFROUTE_MODEL_DIR (get the model with `make model`)")?;
    let owned = pairs_of(&file)?;
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    println!("{file}: {} pairs", pairs.len());
    let mut rates = Vec::new();
    let t = Instant::now();
    let model = EmbeddingModel::load(&dir)?;
    println!("model {} loaded in {:.2} s", model.dir().display(), t.elapsed().as_secs_f64());
    let mut first: Option<Vec<PairScores>> = None;
    for threads in [1, 2] {
        let (rate, scores, lengths) = run(&model, &pairs, threads)?;
        println!(
            "rust, {threads} thread(s): {rate:.2} pairs/s for all three measures (mean bertscore_length {:.4})",
            lengths.iter().sum::<f64>() / lengths.len() as f64
        );
        match &first {
            None => first = Some(scores),
            Some(f) => assert_eq!(f, &scores, "results depend on the thread count"),
        }
        if threads == 2 {
            rates.push(("rust".to_string(), rate));
        }
    }
    if let Ok(python) = std::env::var("PREFROUTE_EMBED_REF_PYTHON") {
        // bert-score with batch 1 (as the oracle was computed), its fastest setting on this CPU.
        let out = Command::new(&python)
            .args(["examples/bench_embed_reference.py", &file, &dir.display().to_string(), "1"])
            .output()?;
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            print!("python reference: {text}");
            if let Some(rate) = text
                .split_whitespace()
                .zip(text.split_whitespace().skip(1))
                .find_map(|(v, u)| (u.starts_with("pairs/s")).then(|| v.parse::<f64>().ok()).flatten())
            {
                rates.push(("python reference".into(), rate));
            }
        } else {
            println!("python reference failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    } else {
        println!(
            "python reference: not run (set PREFROUTE_EMBED_REF_PYTHON to a Python with torch, \
             sentence-transformers and bert-score)"
        );
    }
    println!("projected time for 1,000,000 llmbar-like pairs on 2 threads:");
    for (what, rate) in &rates {
        println!("  {what}: {rate:.2} pairs/s -> {:.1} h", 1e6 / rate / 3600.0);
    }
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS of this process (model loaded, all runs): {mb:.0} MB");
    }
    Ok(())
}
