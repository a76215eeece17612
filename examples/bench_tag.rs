//! Tagging throughput: prefroute's tagging pipeline on the bundled datasets, on
//! one and two threads, beside the Python reference pipeline (rouge-score +
//! tiktoken + scikit-learn TF-IDF) on the same rows, in one run.
//!
//! `cargo run --release --example bench_tag [-- file.parquet ...]`
//! The reference runs with `$PREFROUTE_REF_PYTHON` (default `.venv/ref/bin/python`);
//! `make bench` sets it up.

use prefroute::data::{ColumnOverrides, Dataset};
use prefroute::tags::pipeline::{tag_dataset, InputColumns, TagOptions};
use std::process::Command;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        files = ["llmbar", "pandalm_test", "hh_rlhf_harmless_test"]
            .iter()
            .map(|f| format!("examples/data/{f}.parquet"))
            .collect();
    }
    let python = std::env::var("PREFROUTE_REF_PYTHON").unwrap_or_else(|_| ".venv/ref/bin/python".into());
    println!(
        "{:<40} {:>7} {:>14} {:>14} {:>14} {:>9}",
        "file", "rows", "rust 1 thr/s", "rust 2 thr/s", "python ref/s", "speedup"
    );
    for file in &files {
        let probe = Dataset::open(file, &ColumnOverrides::default(), &[])?;
        let (inputs, extras) = InputColumns::detect(&probe, true);
        let ds = Dataset::open(file, &ColumnOverrides::default(), &extras)?;
        let n = ds.num_rows() as f64;
        let mut rates = Vec::new();
        for threads in [1, 2] {
            let opts = TagOptions { threads, recompute: true, ..TagOptions::default() };
            tag_dataset(&ds, &inputs, &opts)?; // warm-up: tokenizer tables, language models
            let mut best = f64::INFINITY;
            for _ in 0..3 {
                let t = Instant::now();
                let rows = tag_dataset(&ds, &inputs, &opts)?;
                best = best.min(t.elapsed().as_secs_f64());
                assert_eq!(rows.len() as f64, n);
            }
            rates.push(n / best);
        }
        let reference = Command::new(&python).args(["examples/bench_tag_reference.py", file]).output();
        let py_rate = match reference {
            Ok(out) if out.status.success() => {
                String::from_utf8_lossy(&out.stdout).trim().parse::<f64>().unwrap_or(f64::NAN)
            }
            Ok(out) => {
                eprintln!("reference failed: {}", String::from_utf8_lossy(&out.stderr));
                f64::NAN
            }
            Err(e) => {
                eprintln!("cannot run {python}: {e}");
                f64::NAN
            }
        };
        println!(
            "{:<40} {:>7} {:>14.0} {:>14.0} {:>14.0} {:>8.0}x",
            file,
            n,
            rates[0],
            rates[1],
            py_rate,
            rates[0] / py_rate
        );
    }
    println!("peak RSS of the Rust process: {:.0} MB", peak_rss_mb());
    Ok(())
}
