//! Bakes the canonical tag list and the embedded default PPM into the binary.
//!
//! * `assets/tags.txt` — the paper's 90 tags in PPM column order → `TAG_NAMES`.
//! * `assets/paper_tag_gains.tsv` — the paper's Table 12 per-tag gains → the
//!   `paper-prior` linear model: coefficient = gain × 10⁻³ / 100 (the table is the
//!   gain of routing 100 instances with the tag, in units of 10⁻³ Overall).

use std::fmt::Write as _;
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=assets/tags.txt");
    println!("cargo:rerun-if-changed=assets/paper_tag_gains.tsv");
    println!("cargo:rerun-if-changed=build.rs");

    let tags_txt = fs::read_to_string("assets/tags.txt").expect("read assets/tags.txt");
    let tags: Vec<&str> = tags_txt.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    assert_eq!(tags.len(), 90, "assets/tags.txt must list the paper's 90 tags");

    let mut out = String::new();
    writeln!(out, "/// The paper's 90 tags, in PPM column order (from `assets/tags.txt`).").unwrap();
    writeln!(out, "pub const TAG_NAMES: [&str; 90] = [").unwrap();
    for t in &tags {
        writeln!(out, "    {t:?},").unwrap();
    }
    writeln!(out, "];").unwrap();

    // paper-prior: (tag index, coefficient) for every tag with a published gain.
    let gains = fs::read_to_string("assets/paper_tag_gains.tsv").expect("read assets/paper_tag_gains.tsv");
    let mut prior = Vec::new();
    for (lineno, line) in gains.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 3, "paper_tag_gains.tsv line {}: expected 3+ columns", lineno + 1);
        let index: usize = cols[0].parse().expect("tag index");
        assert_eq!(cols[1], tags[index], "paper_tag_gains.tsv line {}: tag name mismatch", lineno + 1);
        if cols[2].trim().is_empty() {
            continue; // not listed in the published table
        }
        let gain: f64 = cols[2].trim().parse().expect("gain value");
        prior.push((index, gain * 1e-3 / 100.0));
    }
    writeln!(out, "/// `paper-prior` linear coefficients: (tag index, gain × 10⁻³ / 100).").unwrap();
    writeln!(out, "pub const PAPER_PRIOR_COEFFICIENTS: [(usize, f64); {}] = [", prior.len()).unwrap();
    for (i, c) in &prior {
        writeln!(out, "    ({i}, {c:e}),").unwrap();
    }
    writeln!(out, "];").unwrap();

    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("generated.rs");
    fs::write(dest, out).expect("write generated.rs");
}
