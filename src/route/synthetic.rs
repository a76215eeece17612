//! Seeded synthetic tag data and PPMs, for tests and benchmarks.
//!
//! The tag sets follow the structure of real tagged datasets: one bin per
//! lexical measure family (a measure is occasionally missing), 1–3 subjects
//! with a skewed popularity, usually English, exactly one value for each
//! descriptive scalar field, and two optional open-set tags. Family sizes and
//! order are read from the canonical tag names, not hard-coded.

use crate::ppm::{DenseModel, Form};
use crate::tags::{TagMatrix, TagSet, N_TAGS, TAG_NAMES};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Probability that a lexical measure family has a bin (else the measure is missing).
const P_LEXICAL_PRESENT: f64 = 0.97;

/// The tag indices of each family of the canonical vocabulary.
struct Families {
    /// 9 families of 3 bins (`bertscore::…`, `len_longer::…`, …).
    lexical: Vec<Vec<usize>>,
    /// The measure name of each lexical family (`len_longer`).
    lexical_names: Vec<String>,
    subjects: Vec<usize>,
    languages: Vec<usize>,
    /// One family per descriptive scalar field; exactly one value each.
    scalars: Vec<Vec<usize>>,
    open_set: Vec<usize>,
}

fn families() -> Families {
    let mut f = Families {
        lexical: Vec::new(),
        lexical_names: Vec::new(),
        subjects: Vec::new(),
        languages: Vec::new(),
        scalars: Vec::new(),
        open_set: Vec::new(),
    };
    let push = |groups: &mut Vec<Vec<usize>>, key: &str, keys: &mut Vec<String>, t: usize| match keys
        .iter()
        .position(|k| k == key)
    {
        Some(p) => groups[p].push(t),
        None => {
            keys.push(key.to_string());
            groups.push(vec![t]);
        }
    };
    let mut scalar_keys = Vec::new();
    for (t, name) in TAG_NAMES.iter().enumerate() {
        let head = name.split('|').next().unwrap_or(name);
        if name.contains("::min_val=") {
            let measure = name.split("::").next().unwrap_or(name);
            push(&mut f.lexical, measure, &mut f.lexical_names, t);
        } else if name.contains("feature_name=subject_of_expertise") {
            f.subjects.push(t);
        } else if name.contains("feature_name=languages") {
            f.languages.push(t);
        } else if name.starts_with("analyzer_scalar::") {
            push(&mut f.scalars, head, &mut scalar_keys, t);
        } else {
            f.open_set.push(t);
        }
    }
    f
}

/// Draws an index with probability proportional to `weights`.
fn weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

/// Random positive weights for one family, skewed but never negligible.
fn family_weights(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| 0.2 + rng.random::<f64>()).collect()
}

/// `n` synthetic tag sets with realistic structure, deterministic for `seed`.
pub fn synthetic_tags(n: usize, seed: u64) -> TagMatrix {
    let fam = families();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let lexical_w: Vec<Vec<f64>> = fam.lexical.iter().map(|f| family_weights(&mut rng, f.len())).collect();
    let scalar_w: Vec<Vec<f64>> = fam.scalars.iter().map(|f| family_weights(&mut rng, f.len())).collect();
    // Subject popularity: Zipf-like over a seeded order of the subjects.
    let mut subject_order = fam.subjects.clone();
    subject_order.shuffle(&mut rng);
    let subject_w: Vec<f64> = (0..subject_order.len()).map(|r| 1.0 / (r as f64 + 1.0)).collect();
    let open_p: Vec<f64> = fam.open_set.iter().map(|_| 0.15 + 0.3 * rng.random::<f64>()).collect();
    // len_shorter copies len_longer's bin this often, as correlated measures do in real data.
    let family = |name: &str| fam.lexical_names.iter().position(|n| n == name);
    let (corr_a, corr_b) = (family("len_longer"), family("len_shorter"));

    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TagSet::EMPTY;
        let mut bins = vec![None; fam.lexical.len()];
        for (k, family) in fam.lexical.iter().enumerate() {
            if rng.random::<f64>() < P_LEXICAL_PRESENT {
                let mut bin = weighted(&mut rng, &lexical_w[k]);
                if let (Some(a), true) = (corr_a, Some(k) == corr_b) {
                    if rng.random::<f64>() < 0.6 {
                        bin = bins[a].unwrap_or(bin);
                    }
                }
                bins[k] = Some(bin);
                s.insert(family[bin]);
            }
        }
        let n_subjects = match rng.random::<f64>() {
            u if u < 0.6 => 1,
            u if u < 0.9 => 2,
            _ => 3,
        };
        let mut w = subject_w.clone();
        for _ in 0..n_subjects.min(w.len()) {
            let r = weighted(&mut rng, &w);
            w[r] = 0.0; // distinct subjects
            s.insert(subject_order[r]);
        }
        for &t in &fam.languages {
            if rng.random::<f64>() < 0.93 {
                s.insert(t);
            }
        }
        for (k, family) in fam.scalars.iter().enumerate() {
            s.insert(family[weighted(&mut rng, &scalar_w[k])]);
        }
        for (k, &t) in fam.open_set.iter().enumerate() {
            if rng.random::<f64>() < open_p[k] {
                s.insert(t);
            }
        }
        rows.push(s);
    }
    TagMatrix::new(rows)
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // in (0, 1]
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A random PPM of realistic scale for counts of the order of `count_scale`.
///
/// Linear weights are `N(0, 1e-5)`, the per-instance per-tag scale of the
/// paper's published gains (Table 12). Quadratic weights are
/// `N(0, 2.5e-6 / count_scale)`, so that at counts near `count_scale` the
/// quadratic part of the gradient is of the same order as the linear part and
/// neither dominates the routing. The intercept is 0.665 (the paper's all-AI
/// MultiPref score).
pub fn random_model(form: Form, count_scale: f64, seed: u64) -> DenseModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut linear = [0.0; N_TAGS];
    for w in linear.iter_mut() {
        *w = 1e-5 * normal(&mut rng);
    }
    let mut quadratic = vec![[0.0; N_TAGS]; N_TAGS];
    let has_quadratic = form == Form::Quadratic;
    if has_quadratic {
        let sd = 2.5e-6 / count_scale.max(1.0);
        for (a, row) in quadratic.iter_mut().enumerate() {
            for q in row.iter_mut().skip(a) {
                *q = sd * normal(&mut rng);
            }
        }
    }
    DenseModel { intercept: 0.665, linear, quadratic, has_quadratic }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_cover_the_vocabulary() {
        let f = families();
        assert_eq!(f.lexical.len(), 9);
        assert_eq!(f.lexical_names[4], "len_longer");
        assert!(f.lexical.iter().all(|g| g.len() == 3));
        assert_eq!(f.subjects.len(), 46);
        assert_eq!(f.languages.len(), 1);
        assert_eq!(f.scalars.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 4, 4, 3]);
        assert_eq!(f.open_set.len(), 2);
        let total = 27 + 46 + 1 + 14 + 2;
        assert_eq!(total, N_TAGS);
    }

    #[test]
    fn rows_have_the_documented_structure_and_are_seeded() {
        let m = synthetic_tags(2000, 3);
        assert_eq!(m, synthetic_tags(2000, 3));
        assert_ne!(m, synthetic_tags(2000, 4));
        let f = families();
        let mut full_lexical = 0;
        for s in m.rows() {
            let per_family: Vec<usize> =
                f.lexical.iter().map(|g| g.iter().filter(|t| s.contains(**t)).count()).collect();
            assert!(per_family.iter().all(|c| *c <= 1));
            full_lexical += per_family.iter().all(|c| *c == 1) as usize;
            let subjects = f.subjects.iter().filter(|t| s.contains(**t)).count();
            assert!((1..=3).contains(&subjects));
            for g in &f.scalars {
                assert_eq!(g.iter().filter(|t| s.contains(**t)).count(), 1);
            }
        }
        // 0.97^9 ≈ 0.76 of rows have all nine measures.
        assert!((1300..1700).contains(&full_lexical), "{full_lexical}");
    }
}
