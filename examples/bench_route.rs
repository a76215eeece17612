//! Routing benchmark: 1,000,000 synthetic instances, budget 0.37, every
//! strategy; prints wall time, CPU time and peak resident memory (VmHWM) per
//! strategy. An optional argument sets the number of instances.
//!
//! Run: `cargo run --release --example bench_route [n_instances]`.
//! Targets: topk and optimize (linear) ≤ 5 s, optimize (quadratic) ≤ 60 s,
//! peak ≤ 2 GB.

use prefroute::parallel::default_threads;
use prefroute::ppm::Form;
use prefroute::route::synthetic::{random_model, synthetic_tags};
use prefroute::route::{route, Budget, Routing, Strategy, PAPER_N_SIMULATIONS};
use std::time::Instant;

/// Peak resident set size of this process so far, in MB (Linux `VmHWM`).
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time used by this process so far (all threads, user + system), in
/// seconds: `/proc/self/stat` fields 14–15, in USER_HZ = 100 ticks per second.
/// Wall time on a shared machine depends on the load; CPU time much less.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Resets the peak to the current RSS (Linux ≥ 4.0), so each strategy reports its own peak.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let threads = default_threads();
    let budget = Budget::parse(0.37)?;
    let k = budget.resolve(n)?;

    let t = Instant::now();
    let tags = synthetic_tags(n, 2024);
    let mean_tags = tags.rows().iter().map(|s| s.len()).sum::<usize>() as f64 / n as f64;
    println!(
        "{n} synthetic instances ({mean_tags:.1} tags each) in {:.2} s; budget 0.37 → k = {k}; {threads} threads",
        t.elapsed().as_secs_f64()
    );
    println!("baseline peak {:.0} MB", peak_mb().unwrap_or(f64::NAN));

    // Typical count of a routed tag: k × mean tags per instance / 90.
    let scale = k as f64 * mean_tags / 90.0;
    let linear = random_model(Form::Linear, scale, 1);
    let quadratic = random_model(Form::Quadratic, scale, 1);
    let simulated = Strategy::Simulated { n_simulations: PAPER_N_SIMULATIONS, seed: 7 };
    let runs = [
        ("topk linear", &linear, Strategy::TopK),
        ("optimize linear", &linear, Strategy::Optimize),
        ("topk quadratic", &quadratic, Strategy::TopK),
        ("optimize quadratic", &quadratic, Strategy::Optimize),
        ("simulated(500) quadratic", &quadratic, simulated),
    ];
    println!("{:<26} {:>9} {:>9} {:>10} {:>14}", "strategy", "wall (s)", "cpu (s)", "peak (MB)", "predicted");
    for (name, model, strategy) in runs {
        reset_peak();
        let (t, cpu) = (Instant::now(), cpu_secs().unwrap_or(f64::NAN));
        let r: Routing = route(&tags, model, budget, strategy, threads)?;
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_secs().unwrap_or(f64::NAN) - cpu;
        assert_eq!(r.n_human(), k);
        let peak = peak_mb().unwrap_or(f64::NAN);
        println!("{name:<26} {secs:>9.3} {cpu:>9.2} {peak:>10.0} {:>14.6}", r.predicted);
    }
    Ok(())
}
