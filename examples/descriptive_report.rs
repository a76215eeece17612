//! Report on the descriptive tagger over the three bundled datasets: speed,
//! safety shares, language agreement with the Python oracle, and the
//! distribution of every field.
//!
//! ```text
//! cargo run --release --example descriptive_report            # the report
//! # without a release build of the dependencies: optimise only prefroute
//! cargo run --example descriptive_report --config 'profile.dev.package.prefroute.opt-level=3'
//! cargo run --example descriptive_report -- show safety_concern=high 5   # sample prompts
//! ```

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prefroute::tags::descriptive::{describe, Descriptive};
use prefroute::tags::language::{detect_language, detect_language_with_lingua, warm_up};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Count of prompts per (field, value).
type Distribution = BTreeMap<(&'static str, String), usize>;

const FILES: [&str; 3] = ["hh_rlhf_harmless_test", "llmbar", "pandalm_test"];

/// A string column of a Parquet file (nulls as None).
fn column(path: &str, name: &str) -> Vec<Option<String>> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap_or_else(|e| panic!("{path}: {e}"));
        let col = batch.column_by_name(name).unwrap_or_else(|| panic!("{path}: no column {name}"));
        let strings = col.as_string::<i32>();
        out.extend((0..strings.len()).map(|i| (!strings.is_null(i)).then(|| strings.value(i).to_string())));
    }
    out
}

/// The (field, value) pairs of a description, one per list element.
fn values(d: &Descriptive) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    let mut push = |f: &'static str, x: &str| v.push((f, x.to_string()));
    d.subject_of_expertise.iter().for_each(|x| push("subject_of_expertise", x));
    d.languages.iter().for_each(|x| push("languages", x));
    d.expertise_level.iter().for_each(|x| push("expertise_level", x));
    d.open_endedness.iter().for_each(|x| push("open_endedness", x));
    d.safety_concern.iter().for_each(|x| push("safety_concern", x));
    d.complexity_of_intents.iter().for_each(|x| push("complexity_of_intents", x));
    d.type_of_in_context_material.iter().for_each(|x| push("type_of_in_context_material", x));
    d.format_constraints.iter().for_each(|x| push("format_constraints", x));
    if d.type_of_in_context_material.is_empty() {
        push("type_of_in_context_material", "(none)");
    }
    if d.format_constraints.is_empty() {
        push("format_constraints", "(none)");
    }
    if d.languages.is_empty() {
        push("languages", "(none)");
    }
    v
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data: Vec<(&str, Vec<String>, Vec<String>)> = FILES
        .iter()
        .map(|n| {
            let path = format!("examples/data/{n}.parquet");
            let prompts = column(&path, "prompt").into_iter().map(Option::unwrap_or_default).collect();
            let ids = column(&path, "id").into_iter().map(Option::unwrap_or_default).collect();
            (*n, ids, prompts)
        })
        .collect();

    if args.first().map(String::as_str) == Some("show") {
        let (field, value) = args.get(1).and_then(|a| a.split_once('=')).expect("show FIELD=VALUE [N]");
        let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
        for (name, _, prompts) in &data {
            let hits: Vec<&String> = prompts
                .iter()
                .filter(|p| values(&describe(p)).iter().any(|(f, v)| *f == field && v == value))
                .collect();
            println!("== {name}: {} of {} prompts have {field}={value}", hits.len(), prompts.len());
            for p in hits.iter().step_by((hits.len() / n).max(1)).take(n) {
                println!("---\n{}", p.chars().take(400).collect::<String>());
            }
        }
        return;
    }

    // Speed: all prompts of all files, single thread, after warm-up.
    warm_up();
    let _ = describe("warm up the lexicon");
    let all: Vec<&String> = data.iter().flat_map(|d| d.2.iter()).collect();
    let bytes: usize = all.iter().map(|p| p.len()).sum();
    let reps = 3;
    let t = Instant::now();
    for _ in 0..reps {
        for p in &all {
            std::hint::black_box(describe(p));
        }
    }
    let secs = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "speed: {} prompts ({:.0} B avg) in {:.3} s = {:.0} prompts/s, {:.1} MB/s",
        all.len(),
        bytes as f64 / all.len() as f64,
        secs,
        all.len() as f64 / secs,
        bytes as f64 / secs / 1e6
    );
    // ~1 KB prompts: every prompt repeated (with a space) up to ≥ 1000 bytes.
    let kb: Vec<String> = all
        .iter()
        .map(|p| {
            let mut s = p.to_string();
            while s.len() < 1000 && !p.is_empty() {
                s.push(' ');
                s.push_str(p);
            }
            s
        })
        .collect();
    let kb_bytes: usize = kb.iter().map(String::len).sum();
    let t = Instant::now();
    for p in &kb {
        std::hint::black_box(describe(p));
    }
    let secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for p in &kb {
        std::hint::black_box(detect_language(p));
    }
    let lang_secs = t.elapsed().as_secs_f64();
    let kb_fast = kb.iter().filter(|p| prefroute::tags::language::is_plainly_english(p)).count();
    println!(
        "speed, prompts padded to >= 1 KB ({:.0} B avg): {:.0} prompts/s; language detection alone {:.0} prompts/s \
         (English fast path for {kb_fast} of {}); the rest alone {:.0} prompts/s",
        kb_bytes as f64 / kb.len() as f64,
        kb.len() as f64 / secs,
        kb.len() as f64 / lang_secs,
        kb.len(),
        kb.len() as f64 / (secs - lang_secs).max(1e-9)
    );
    let english_fast = all.iter().filter(|p| prefroute::tags::language::is_plainly_english(p)).count();
    println!("English fast path taken for {english_fast} of {} prompts", all.len());

    let mut dists: Vec<(&str, Distribution, usize)> = Vec::new();
    println!("\nsafety_concern in {{moderate, high}}:");
    for (name, ids, prompts) in &data {
        let descs: Vec<Descriptive> = prompts.iter().map(|p| describe(p)).collect();
        let unsafe_n =
            descs.iter().filter(|d| matches!(d.safety_concern.as_deref(), Some("moderate" | "high"))).count();
        println!(
            "  {name:<22} {unsafe_n:>5} / {:<5} = {:.3}",
            prompts.len(),
            unsafe_n as f64 / prompts.len() as f64
        );
        let mut dist = BTreeMap::new();
        for d in &descs {
            for (f, v) in values(d) {
                *dist.entry((f, v)).or_insert(0) += 1;
            }
        }
        dists.push((name, dist, prompts.len()));

        // Language agreement with the oracle, joined on id.
        let opath = format!("tests/data/oracle/{name}_features.parquet");
        let oid = column(&opath, "id");
        let olingua = column(&opath, "lang_lingua_prompt");
        let olangid = column(&opath, "lang_langid_prompt");
        let oracle: HashMap<String, (Option<String>, Option<String>)> = oid
            .into_iter()
            .zip(olingua.into_iter().zip(olangid))
            .filter_map(|(id, l)| id.map(|id| (id, l)))
            .collect();
        let (mut n, mut fast_lingua, mut fast_langid, mut slow_lingua, mut slow_langid) = (0, 0, 0, 0, 0);
        for (id, p) in ids.iter().zip(prompts) {
            let Some((lingua, langid)) = oracle.get(id) else { continue };
            n += 1;
            let fast = detect_language(p).map(|l| l.1);
            let slow = detect_language_with_lingua(p).map(|l| l.1);
            fast_lingua += usize::from(fast == lingua.as_deref());
            fast_langid += usize::from(fast == langid.as_deref());
            slow_lingua += usize::from(slow == lingua.as_deref());
            slow_langid += usize::from(slow == langid.as_deref());
        }
        println!(
            "    language agreement over {n} joined rows: detect_language vs lingua-py {fast_lingua} ({:.3}), vs langid {fast_langid} ({:.3}); lingua-only path vs lingua-py {slow_lingua}, vs langid {slow_langid}",
            fast_lingua as f64 / n as f64,
            fast_langid as f64 / n as f64
        );
    }

    println!("\ndistribution of each value (share of prompts):");
    let mut keys: Vec<(&str, String)> = dists.iter().flat_map(|d| d.1.keys().cloned()).collect();
    keys.sort();
    keys.dedup();
    println!(
        "  {:<30} {:<42} {:>8} {:>8} {:>8}",
        "field",
        "value",
        FILES[0].split('_').next().unwrap_or(""),
        FILES[1],
        "pandalm"
    );
    for k in keys {
        let shares: Vec<String> = dists
            .iter()
            .map(|(_, d, n)| format!("{:>8.3}", *d.get(&k).unwrap_or(&0) as f64 / *n as f64))
            .collect();
        println!("  {:<30} {:<42} {}", k.0, k.1, shares.join(" "));
    }
}
