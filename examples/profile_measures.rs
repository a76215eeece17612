//! Per-measure cost of tagging, one thread, on one bundled file: where the
//! time of `tag_instances` goes, beside the Python reference packages' cost for
//! the measures they also compute (examples/profile_measures_reference.py, run
//! with `$PREFROUTE_REF_PYTHON`, default `.venv/ref/bin/python`), in one run.
//! `cargo run --release --example profile_measures [file]`

use prefroute::data::{ColumnOverrides, Dataset, DEFAULT_BATCH_ROWS};
use prefroute::tags::{
    describe, entity_jaccard, rouge1_f, rouge_scores, token_count, DocumentFrequencies, TokenizerKind,
};
use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;

/// The reference's µs per row by measure name, or an empty map (with the reason on stderr).
fn python_reference(file: &str) -> HashMap<String, f64> {
    let python = std::env::var("PREFROUTE_REF_PYTHON").unwrap_or_else(|_| ".venv/ref/bin/python".into());
    match Command::new(&python).args(["examples/profile_measures_reference.py", file]).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
            .collect(),
        Ok(out) => {
            eprintln!("reference failed: {}", String::from_utf8_lossy(&out.stderr));
            HashMap::new()
        }
        Err(e) => {
            eprintln!("cannot run {python}: {e}");
            HashMap::new()
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args().nth(1).unwrap_or_else(|| "examples/data/llmbar.parquet".into());
    let ds = Dataset::open(&file, &ColumnOverrides::default(), &[])?;
    let (mut p, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    let t = Instant::now();
    for unit in ds.units() {
        for batch in ds.read_unit(&unit, DEFAULT_BATCH_ROWS)? {
            let batch = batch?;
            p.extend(batch.prompt.into_iter().flatten());
            a.extend(batch.completion_a.into_iter().flatten());
            b.extend(batch.completion_b.into_iter().flatten());
        }
    }
    let n = p.len() as f64;
    let chars: usize = p.iter().chain(&a).chain(&b).map(|s| s.len()).sum();
    println!(
        "{file}: {n} rows, {:.0} bytes of text per row; read in {:.1} ms",
        chars as f64 / n,
        t.elapsed().as_secs_f64() * 1e3
    );
    let reference = python_reference(&file);
    println!(
        "{:<28} {:>12} {:>10} {:>14} {:>9}",
        "measure", "rust µs/row", "rows/s", "python µs/row", "speed-up"
    );
    let time = |name: &str, reference_key: &str, f: &mut dyn FnMut()| {
        f(); // warm-up
        let t = Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        let us = s * 1e6 / n;
        match reference.get(reference_key) {
            Some(py) => println!("{name:<28} {us:>12.1} {:>10.0} {py:>14.1} {:>8.0}x", n / s, py / us),
            None => println!("{name:<28} {us:>12.1} {:>10.0} {:>14} {:>9}", n / s, "-", "-"),
        }
    };
    time("rouge-1", "rouge1", &mut || {
        for (x, y) in a.iter().zip(&b) {
            std::hint::black_box(rouge1_f(x, y));
        }
    });
    time("rouge-1 + rouge-L", "", &mut || {
        for (x, y) in a.iter().zip(&b) {
            std::hint::black_box(rouge_scores(x, y));
        }
    });
    time("token counts (3 texts)", "tokens", &mut || {
        for ((x, y), z) in a.iter().zip(&b).zip(&p) {
            std::hint::black_box(
                token_count(x, TokenizerKind::Cl100k)
                    + token_count(y, TokenizerKind::Cl100k)
                    + token_count(z, TokenizerKind::Cl100k),
            );
        }
    });
    time("entity jaccard", "", &mut || {
        for (x, y) in a.iter().zip(&b) {
            std::hint::black_box(entity_jaccard(x, y));
        }
    });
    time("descriptive tagger", "", &mut || {
        for z in &p {
            std::hint::black_box(describe(z));
        }
    });
    time("tf-idf fit + cosine", "tfidf", &mut || {
        let mut df = DocumentFrequencies::new();
        for (x, y) in a.iter().zip(&b) {
            df.add_document(x);
            df.add_document(y);
        }
        for (x, y) in a.iter().zip(&b) {
            std::hint::black_box(df.cosine(x, y));
        }
    });
    Ok(())
}
