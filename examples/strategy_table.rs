//! Strategy comparison on the bundled datasets: tags each file with prefroute's
//! pipeline, then routes it at budgets 0.1 … 0.9 with a quadratic PPM using
//! `topk`, `simulated` (500 candidates, the paper's Sim) and `optimize`, and
//! prints each strategy's predicted score and time. Prints a Markdown table.
//!
//! `cargo run --release --example strategy_table [seed]`
//!
//! No quadratic PPM fitted to real reward-model scores is public (SPEC §3.3),
//! so the model is a seeded random quadratic PPM of realistic scale
//! (`route::synthetic::random_model`): linear weights at the scale of the
//! paper's per-tag gains, quadratic weights scaled so both parts matter.

use prefroute::data::{ColumnOverrides, Dataset};
use prefroute::parallel::default_threads;
use prefroute::ppm::Form;
use prefroute::route::synthetic::random_model;
use prefroute::route::{route, Budget, Strategy, PAPER_N_SIMULATIONS};
use prefroute::tags::pipeline::{tag_dataset, InputColumns, TagOptions};
use prefroute::tags::TagMatrix;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let threads = default_threads();
    println!("| dataset | budget | topk | simulated (500) | optimize | optimize ≥ both | topk ms | simulated ms | optimize ms |");
    println!("|---|---:|---:|---:|---:|:---:|---:|---:|---:|");
    let mut all_ok = true;
    for name in ["llmbar", "pandalm_test", "hh_rlhf_harmless_test"] {
        let path = format!("examples/data/{name}.parquet");
        let probe = Dataset::open(&path, &ColumnOverrides::default(), &[])?;
        let (inputs, extras) = InputColumns::detect(&probe, false);
        let ds = Dataset::open(&path, &ColumnOverrides::default(), &extras)?;
        let opts = TagOptions { threads, tfidf: false, ..TagOptions::default() };
        let rows = tag_dataset(&ds, &inputs, &opts)?;
        let tags = TagMatrix::new(rows.iter().map(|r| r.tags).collect());
        let mean_tags = tags.rows().iter().map(|s| s.len()).sum::<usize>() as f64 / tags.len() as f64;
        for tenth in 1..=9 {
            let budget = Budget::Fraction(tenth as f64 / 10.0);
            let k = budget.resolve(tags.len())?;
            let model = random_model(Form::Quadratic, k as f64 * mean_tags / 90.0, seed);
            let mut scores = Vec::new();
            let mut times = Vec::new();
            for strategy in [
                Strategy::TopK,
                Strategy::Simulated { n_simulations: PAPER_N_SIMULATIONS, seed: 42 },
                Strategy::Optimize,
            ] {
                let t = Instant::now();
                let r = route(&tags, &model, budget, strategy, threads)?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
                scores.push(r.predicted);
            }
            let ok = scores[2] >= scores[0] && scores[2] >= scores[1];
            all_ok &= ok;
            println!(
                "| {name} | {:.1} | {:.5} | {:.5} | {:.5} | {} | {:.1} | {:.1} | {:.1} |",
                tenth as f64 / 10.0,
                scores[0],
                scores[1],
                scores[2],
                if ok { "yes" } else { "**no**" },
                times[0],
                times[1],
                times[2]
            );
        }
    }
    println!("\noptimize ≥ topk and ≥ simulated at every budget: {}", if all_ok { "yes" } else { "NO" });
    Ok(())
}
