//! The text functions on 1 MB inputs: each must stay well within a second or
//! two (no quadratic blow-up on one long text), whatever the text is made of.
//!
//! `cargo run --release --example bench_text_1mb` prints one line per function
//! and input (seconds, one thread) and exits non-zero if any call took longer
//! than `LIMIT_S`. Not part of `make test` (a timed check on a shared machine
//! would be flaky); `make bench` runs it.

use prefroute::embed::{bertscore_length, word_count};
use prefroute::tags::{
    describe, detect_language, entities, rouge_scores, token_count, DocumentFrequencies, TokenizerKind,
};
use std::time::Instant;

/// The time any one call on a 1 MB input may take, in seconds (release build, one thread).
const LIMIT_S: f64 = 10.0;

const MB: usize = 1 << 20;

/// 1 MB of `unit` repeated.
fn repeat(unit: &str) -> String {
    unit.repeat(MB / unit.len() + 1)[..]
        .chars()
        .scan(0, |n, c| {
            *n += c.len_utf8();
            (*n <= MB).then_some(c)
        })
        .collect()
}

/// 1 MB of varied pseudo-words (a simple LCG, fixed seed): many distinct tokens.
fn varied(seed: u64) -> String {
    let mut x = seed;
    let mut s = String::with_capacity(MB + 16);
    while s.len() < MB {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let len = 2 + (x >> 60) as usize;
        for k in 0..len {
            let c = b'a' + ((x >> (8 * k % 56)) % 26) as u8;
            s.push(if k == 0 && (x >> 59) & 1 == 1 { c.to_ascii_uppercase() } else { c } as char);
        }
        s.push(match (x >> 40) % 13 {
            0 => '.',
            1 => '\n',
            2 => ',',
            _ => ' ',
        });
    }
    s
}

fn main() {
    let inputs: Vec<(&str, String, String)> = vec![
        ("varied words", varied(1), varied(2)),
        ("one letter", repeat("a"), repeat("b")),
        ("spaces", repeat(" "), repeat("\t")),
        ("newlines", repeat("\n"), repeat("\r\n")),
        ("NUL", repeat("\0"), repeat("\0")),
        ("emoji + ZWJ", repeat("👩\u{200d}💻"), repeat("😀")),
        ("CJK", repeat("中文字符"), repeat("日本語")),
        ("RTL + combining", repeat("שָׁלוֹם \u{202e}عربي "), repeat("e\u{301}\u{302}\u{303}")),
        ("digits", repeat("1234567890"), repeat("3.14,")),
        ("capitalised", repeat("Dan Brown "), repeat("Bank Of America ")),
    ];
    let mut worst = 0.0f64;
    let mut time = |what: &str, input: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        worst = worst.max(s);
        println!("{what:<22} {input:<18} {s:>8.3} s");
    };
    for (name, a, b) in &inputs {
        time("rouge_scores", name, &mut || {
            std::hint::black_box(rouge_scores(a, b));
        });
        time("token_count cl100k", name, &mut || {
            std::hint::black_box(token_count(a, TokenizerKind::Cl100k));
        });
        time("token_count o200k", name, &mut || {
            std::hint::black_box(token_count(a, TokenizerKind::O200k));
        });
        time("entities", name, &mut || {
            std::hint::black_box(entities(a));
        });
        time("describe", name, &mut || {
            std::hint::black_box(describe(a));
        });
        time("detect_language", name, &mut || {
            std::hint::black_box(detect_language(a));
        });
        time("word_count", name, &mut || {
            std::hint::black_box(word_count(a));
        });
        time("bertscore_length", name, &mut || {
            std::hint::black_box(bertscore_length(0.5, a, b));
        });
        time("tfidf add + cosine", name, &mut || {
            let mut df = DocumentFrequencies::new();
            df.add_document(a);
            df.add_document(b);
            df.canonicalize();
            std::hint::black_box(df.cosine(a, b));
        });
    }
    println!("slowest call: {worst:.3} s (limit {LIMIT_S} s)");
    if worst > LIMIT_S {
        std::process::exit(1);
    }
}
