//! `topk` against hand-computed gains (SPEC §4.1): linear `Σ_t w_t·B_it`,
//! quadratic `PPM({i}) − PPM(∅)` with the instance's own squares and cross terms.

use prefroute::ppm::{Form, Model};
use prefroute::route::topk::{standalone_gains, topk};
use prefroute::tags::{tag_index, TagMatrix, TagSet};

fn set(tags: &[usize]) -> TagSet {
    let mut s = TagSet::EMPTY;
    for t in tags {
        s.insert(*t);
    }
    s
}

#[test]
fn quadratic_gains_by_hand() {
    // Model columns over canonical tags 10, 20, 30 (in the order 30, 10, 20).
    let model = Model {
        name: "hand".into(),
        form: Form::Quadratic,
        tags: vec![30, 10, 20],
        intercept: 0.6,
        linear: vec![0.5, 0.25, -0.75],
        // c30², c30·c10, c10·c20, c20²
        quadratic: vec![(0, 0, 0.125), (0, 1, -1.0), (1, 2, 2.0), (2, 2, 0.5)],
        meta: serde_json::Value::Null,
    };
    let tags = TagMatrix::new(vec![
        set(&[30]),         // 0.5 + 0.125                    = 0.625
        set(&[10]),         // 0.25                           = 0.25
        set(&[10, 30]),     // 0.5 + 0.25 + 0.125 − 1         = −0.125
        set(&[10, 20]),     // 0.25 − 0.75 + 2 + 0.5          = 2.0
        set(&[20]),         // −0.75 + 0.5                    = −0.25
        set(&[10, 20, 30]), // 0.5+0.25−0.75+0.125−1+2+0.5    = 1.625
        set(&[5]),          // not a model column             = 0
    ]);
    let dense = model.dense();
    let want = [0.625, 0.25, -0.125, 2.0, -0.25, 1.625, 0.0];
    assert_eq!(standalone_gains(&tags, &dense).unwrap(), want.to_vec());
    let r = topk(&tags, &dense, 3).unwrap();
    // Order: 3 (2.0), 5 (1.625), 0 (0.625), 1, 6, 2, 4.
    assert_eq!(r.rank, vec![3, 4, 6, 1, 7, 2, 5]);
    assert_eq!(r.human, vec![true, false, false, true, false, true, false]);
    // Routed counts: c10 = 2, c20 = 2, c30 = 2 →
    // 0.6 + 2(0.5 + 0.25 − 0.75) + 4(0.125 − 1 + 2 + 0.5) = 0.6 + 0 + 6.5
    assert!((r.predicted - 7.1).abs() < 1e-12, "{}", r.predicted);
    assert_eq!((r.counts[10], r.counts[20], r.counts[30], r.counts[5]), (2.0, 2.0, 2.0, 0.0));
}

#[test]
fn paper_prior_gains_are_the_published_per_tag_gains() {
    // Independent of the build script: read the published table directly.
    let tsv =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/paper_tag_gains.tsv")).unwrap();
    let mut per_tag = std::collections::HashMap::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if let Ok(g) = cols[2].trim().parse::<f64>() {
            per_tag.insert(tag_index(cols[1]).unwrap(), g * 1e-3 / 100.0);
        }
    }
    let rows = vec![set(&[1, 13, 40, 73, 74]), set(&[0, 2]), set(&[88, 89, 60])];
    let tags = TagMatrix::new(rows.clone());
    let gains = standalone_gains(&tags, &Model::paper_prior().dense()).unwrap();
    for (s, g) in rows.iter().zip(&gains) {
        let want: f64 = s.iter().map(|t| per_tag.get(&t).copied().unwrap_or(0.0)).sum();
        assert!((g - want).abs() < 1e-18, "{g} vs {want}");
    }
}
