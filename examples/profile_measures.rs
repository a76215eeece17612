//! Per-measure cost of tagging, one thread, on one bundled file: where the
//! time of `tag_instances` goes. `cargo run --release --example profile_measures [file]`

use prefroute::data::{ColumnOverrides, Dataset, DEFAULT_BATCH_ROWS};
use prefroute::tags::{
    describe, entity_jaccard, rouge_scores, token_count, DocumentFrequencies, TokenizerKind,
};
use std::time::Instant;

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
    let time = |name: &str, f: &mut dyn FnMut()| {
        f(); // warm-up
        let t = Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        println!("{name:<28} {:>9.1} µs/row {:>10.0} rows/s", s * 1e6 / n, n / s);
    };
    time("rouge-1 + rouge-L", &mut || {
        for (x, y) in a.iter().zip(&b) {
            std::hint::black_box(rouge_scores(x, y));
        }
    });
    time("token counts (3 texts)", &mut || {
        for ((x, y), z) in a.iter().zip(&b).zip(&p) {
            std::hint::black_box(
                token_count(x, TokenizerKind::Cl100k)
                    + token_count(y, TokenizerKind::Cl100k)
                    + token_count(z, TokenizerKind::Cl100k),
            );
        }
    });
    time("entity jaccard", &mut || {
        for (x, y) in a.iter().zip(&b) {
            std::hint::black_box(entity_jaccard(x, y));
        }
    });
    time("descriptive tagger", &mut || {
        for z in &p {
            std::hint::black_box(describe(z));
        }
    });
    time("tf-idf fit + cosine", &mut || {
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
