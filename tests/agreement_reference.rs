//! Judge agreement against independent references: fixtures written by
//! scipy / statsmodels / scikit-learn (tests/reference/make_agreement_fixtures.py),
//! a hand-computed Wilson interval, and the agreement counts published in the
//! bundled data's README.

use prefroute::analysis::stats::{
    benjamini_hochberg, binomial_two_sided_p, cohen_kappa, wilson_interval, Z_95,
};
use prefroute::analysis::{judge_agreement, slices_all, PairLabels, SliceStats};
use prefroute::data::{ColumnOverrides, Dataset, ExtraColumn, ExtraKind, ExtraRequest, Label};
use serde_json::Value;

const TOL: f64 = 1e-12;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/agreement/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn label(v: &Value) -> Option<Label> {
    v.as_str().map(|s| Label::parse(s).unwrap_or_else(|| panic!("bad label {s}")))
}

fn close(got: Option<f64>, want: &Value, what: &str) {
    match (got, want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            assert!((g - w).abs() <= TOL, "{what}: got {g:e}, want {w:e}, diff {:e}", g - w)
        }
        _ => panic!("{what}: got {got:?}, want {want}"),
    }
}

#[test]
fn binomial_test_matches_scipy_binomtest() {
    let cases = fixture("stats_cases.json");
    for c in cases["binomtest"].as_array().unwrap() {
        let (k, n, p) =
            (c["k"].as_u64().unwrap() as usize, c["n"].as_u64().unwrap() as usize, c["p"].as_f64().unwrap());
        close(binomial_two_sided_p(k, n, p), &c["pvalue"], &format!("binomtest({k}, {n}, {p})"));
    }
}

#[test]
fn wilson_matches_statsmodels() {
    let cases = fixture("stats_cases.json");
    for c in cases["wilson"].as_array().unwrap() {
        let (k, n) = (c["k"].as_u64().unwrap() as usize, c["n"].as_u64().unwrap() as usize);
        let got = wilson_interval(k, n, Z_95);
        close(got.map(|i| i.0), &c["interval"][0], &format!("wilson low {k}/{n}"));
        close(got.map(|i| i.1), &c["interval"][1], &format!("wilson high {k}/{n}"));
    }
}

#[test]
fn wilson_by_hand() {
    // 8 of 10, z = 1.959963984540054, z² = 3.841458820694125:
    //   p̂ = 0.8;  denom = 1 + z²/n = 1 + 0.3841458820694125 = 1.3841458820694125
    //   centre = (p̂ + z²/(2n)) / denom = (0.8 + 0.19207294103470625) / 1.3841458820694125
    //          = 0.99207294103470625 / 1.3841458820694125 = 0.7167402
    //   half   = z · √(p̂(1−p̂)/n + z²/(4n²)) / denom
    //          = 1.959963984540054 · √(0.016 + 0.0096036470517353) / 1.3841458820694125
    //          = 1.959963984540054 · 0.1600114 / 1.3841458820694125 = 0.3136166 / 1.3841459 = 0.2265777
    //   interval = (0.7167402 − 0.2265777, 0.7167402 + 0.2265777) = (0.4901625, 0.9433179).
    let (lo, hi) = wilson_interval(8, 10, Z_95).unwrap();
    let z: f64 = 1.959963984540054;
    let z2 = z * z;
    let denom = 1.0 + z2 / 10.0;
    let centre = (0.8 + z2 / 20.0) / denom;
    let half = z * (0.016 + z2 / 400.0).sqrt() / denom;
    assert!((lo - (centre - half)).abs() < 1e-15 && (hi - (centre + half)).abs() < 1e-15);
    assert!((lo - 0.4901625).abs() < 1e-7, "{lo}");
    assert!((hi - 0.9433179).abs() < 1e-7, "{hi}");
}

#[test]
fn benjamini_hochberg_matches_statsmodels() {
    let cases = fixture("stats_cases.json");
    for c in cases["fdr_bh"].as_array().unwrap() {
        let p: Vec<Option<f64>> = c["p"].as_array().unwrap().iter().map(Value::as_f64).collect();
        let q = benjamini_hochberg(&p);
        for (i, (got, want)) in q.iter().zip(c["q"].as_array().unwrap()).enumerate() {
            close(*got, want, &format!("q[{i}] of {p:?}"));
        }
    }
}

#[test]
fn kappa_matches_scikit_learn() {
    let cases = fixture("stats_cases.json");
    for c in cases["cohen_kappa"].as_array().unwrap() {
        let h = c["human"].as_array().unwrap().iter().map(|v| label(v).unwrap());
        let a = c["ai"].as_array().unwrap().iter().map(|v| label(v).unwrap());
        close(cohen_kappa(h.zip(a)), &c["kappa"], &format!("kappa {c}"));
    }
}

fn check_slice(got: &SliceStats, want: &Value, what: &str) {
    for key in ["n", "n_both", "n_agree", "n_length_disagreements", "n_ai_both"] {
        let g = match key {
            "n" => got.n,
            "n_both" => got.n_both,
            "n_agree" => got.n_agree,
            "n_length_disagreements" => got.n_length_disagreements,
            _ => got.n_ai_both,
        };
        assert_eq!(g as u64, want[key].as_u64().unwrap(), "{what} {key}");
    }
    assert_eq!(got.small_slice, want["small_slice"].as_bool().unwrap(), "{what} small_slice");
    for (key, g) in [
        ("agreement", got.agreement),
        ("agreement_low", got.agreement_low),
        ("agreement_high", got.agreement_high),
        ("cohen_kappa", got.cohen_kappa),
        ("human_tie_rate", got.human_tie_rate),
        ("ai_tie_rate", got.ai_tie_rate),
        ("ai_prefers_longer", got.ai_prefers_longer),
        ("position_consistency", got.position_consistency),
        ("p_value", got.p_value),
        ("q_value", got.q_value),
    ] {
        close(g, &want[key], &format!("{what} {key}"));
    }
}

#[test]
fn slices_match_the_python_reference() {
    let cases = fixture("slice_cases.json");
    for (ci, c) in cases.as_array().unwrap().iter().enumerate() {
        let rows: Vec<PairLabels> = c["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| PairLabels {
                human: label(&r[0]),
                ai: label(&r[1]),
                ai_alt: label(&r[2]),
                len_a: r[3].as_u64().unwrap() as usize,
                len_b: r[4].as_u64().unwrap() as usize,
            })
            .collect();
        let slices: Vec<(Option<String>, Vec<usize>)> = c["slices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let rows =
                    s["rows"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as usize).collect();
                (s["name"].as_str().map(str::to_string), rows)
            })
            .collect();
        let names: Vec<Option<String>> = slices.iter().map(|s| s.0.clone()).collect();
        let min_n = c["min_n"].as_u64().unwrap() as usize;
        let got = judge_agreement(slices, &rows, min_n).unwrap();
        let want = c["expected"].as_array().unwrap();
        assert_eq!(got.len(), want.len());
        for (si, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(g.slice, names[si], "order kept");
            check_slice(g, w, &format!("case {ci} slice {si}"));
        }
    }
}

/// Every row of a bundled dataset, with `ai_pref_alt` as the swapped-order AI label.
fn read_rows(file: &str) -> Vec<PairLabels> {
    let path = format!("{}/examples/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let extras = [ExtraRequest { column: "ai_pref_alt".into(), kind: ExtraKind::Label }];
    let ds = Dataset::open(&path, &ColumnOverrides::default(), &extras).unwrap();
    let mut rows = Vec::new();
    for unit in ds.units() {
        for batch in ds.read_unit(&unit, 2048).unwrap() {
            let batch = batch.unwrap();
            let ExtraColumn::Label(alt) = &batch.extras[0] else { panic!("ai_pref_alt not read as labels") };
            rows.extend(PairLabels::from_batch(&batch, Some(alt)));
        }
    }
    rows
}

#[test]
fn bundled_data_reproduces_the_published_agreement() {
    // Published in the data README: LLMBar 681/879, PandaLM 697/974. The other
    // figures are checked against the Python reference run on the same files.
    let expected = fixture("bundled_expected.json");
    for (name, rows_total, agree, both) in [("llmbar", 885, 681, 879), ("pandalm_test", 999, 697, 974)] {
        let rows = read_rows(&format!("{name}.parquet"));
        assert_eq!(rows.len(), rows_total, "{name}");
        let s = judge_agreement(slices_all(rows.len()), &rows, 30).unwrap().remove(0);
        assert_eq!((s.n_agree, s.n_both), (agree, both), "{name}");
        assert_eq!(s.agreement, Some(agree as f64 / both as f64));
        assert_eq!(s.p_value, Some(1.0), "the whole set against its own rate");
        check_slice(&s, &expected[name], name);
        eprintln!(
            "{name}: agreement {}/{} = {:.4} [{:.4}, {:.4}], kappa {:.4}, human ties {:.4}, AI ties {:.4}, \
             position consistency {:.4} (n {}), ai_prefers_longer {:.4} (n {})",
            s.n_agree,
            s.n_both,
            s.agreement.unwrap(),
            s.agreement_low.unwrap(),
            s.agreement_high.unwrap(),
            s.cohen_kappa.unwrap(),
            s.human_tie_rate.unwrap(),
            s.ai_tie_rate.unwrap(),
            s.position_consistency.unwrap(),
            s.n_ai_both,
            s.ai_prefers_longer.unwrap(),
            s.n_length_disagreements
        );
    }
}
