//! Per-tag gain analysis (SPEC §5, `actual` mode; the paper's Table 12): how
//! much the PPM predicts the score rises when up to `n` random instances
//! carrying a tag are routed to humans, everything else staying with the AI.

use super::model::Model;
use crate::error::{Error, Result};
use crate::tags::{TagMatrix, N_TAGS};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Predicted gain of routing instances with one tag to humans.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TagGain {
    /// Canonical tag index.
    pub tag: usize,
    /// Number of instances in the dataset carrying the tag.
    pub n_with_tag: usize,
    /// Mean over trials of `PPM(counts of the routed instances) − PPM(zeros)`,
    /// in target units; NaN when no instance carries the tag.
    pub gain: f64,
}

/// Gains for all 90 tags, in tag order. Each trial, for each tag, routes
/// `min(n, n_with_tag)` instances carrying it (sampled without replacement) and
/// takes the PPM difference against the all-AI baseline; the reported gain is
/// the mean over `trials`. One `ChaCha8Rng(seed)` drives the sampling, trials
/// outer and tags inner, as in the reference script. Tags no instance carries
/// get gain NaN (and draw no random numbers).
pub fn tag_gains(
    tags: &TagMatrix,
    model: &Model,
    n: usize,
    trials: usize,
    seed: u64,
) -> Result<Vec<TagGain>> {
    if n == 0 || trials == 0 {
        return Err(Error::argument(
            format!("tag gains need n ≥ 1 instances and trials ≥ 1, got n = {n}, trials = {trials}"),
            "the paper routes n = 100 instances per tag over 3 trials",
        ));
    }
    let mut carriers: Vec<Vec<usize>> = vec![Vec::new(); N_TAGS];
    for (i, set) in tags.rows().iter().enumerate() {
        for t in set.iter() {
            carriers[t].push(i);
        }
    }
    let dense = model.dense();
    let baseline = dense.predict(&[0.0; N_TAGS]);
    let mut sums = [0.0; N_TAGS];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..trials {
        for (t, ids) in carriers.iter().enumerate() {
            if ids.is_empty() {
                continue;
            }
            let picked = rand::seq::index::sample(&mut rng, ids.len(), n.min(ids.len()));
            let counts = tags.counts_of(picked.iter().map(|k| ids[k]));
            sums[t] += dense.predict(&counts) - baseline;
        }
    }
    Ok(carriers
        .iter()
        .enumerate()
        .map(|(t, ids)| TagGain {
            tag: t,
            n_with_tag: ids.len(),
            gain: if ids.is_empty() { f64::NAN } else { sums[t] / trials as f64 },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppm::Form;
    use crate::tags::TagSet;

    fn set(tags: &[usize]) -> TagSet {
        let mut s = TagSet::EMPTY;
        tags.iter().for_each(|&t| s.insert(t));
        s
    }

    fn model(linear: Vec<f64>, quadratic: Vec<(usize, usize, f64)>) -> Model {
        Model {
            name: "t".into(),
            form: Form::Quadratic,
            tags: (0..linear.len()).collect(),
            intercept: 0.7,
            linear,
            quadratic,
            meta: serde_json::Value::Null,
        }
    }

    #[test]
    fn gains_by_hand() {
        // Instances: {0,1} ×3, {1} ×2, {2}. Model: 0.7 + 0.01·c0 − 0.02·c1 + 0.001·c0·c1.
        let m = model(vec![0.01, -0.02, 0.0], vec![(0, 1, 0.001)]);
        let tm =
            TagMatrix::new(vec![set(&[0, 1]), set(&[0, 1]), set(&[0, 1]), set(&[1]), set(&[1]), set(&[2])]);
        let g = tag_gains(&tm, &m, 100, 3, 1).unwrap();
        assert_eq!(g.len(), N_TAGS);
        // Tag 0: all 3 carriers routed → c0 = 3, c1 = 3: 0.03 − 0.06 + 0.009.
        assert_eq!(g[0].n_with_tag, 3);
        assert!((g[0].gain - (0.03 - 0.06 + 0.009)).abs() < 1e-15);
        // Tag 1: all 5 → c0 = 3, c1 = 5: 0.03 − 0.10 + 0.015.
        assert!((g[1].gain - (0.03 - 0.10 + 0.015)).abs() < 1e-15);
        // Tag 2: the model ignores it.
        assert_eq!(g[2].gain, 0.0);
        assert!(g[3].gain.is_nan() && g[3].n_with_tag == 0);
    }

    #[test]
    fn sampling_routes_n_instances_and_is_seeded() {
        // 50 instances carry tag 5; half of them also carry tag 6. Linear model on tag 5 only:
        // routing n = 10 of them always gives c5 = 10, whatever the sample.
        let rows: Vec<TagSet> = (0..50).map(|i| if i % 2 == 0 { set(&[5, 6]) } else { set(&[5]) }).collect();
        let tm = TagMatrix::new(rows);
        let mut lin = vec![0.0; 7];
        lin[5] = 0.002;
        let g = tag_gains(&tm, &model(lin, vec![]), 10, 4, 9).unwrap();
        assert!((g[5].gain - 0.02).abs() < 1e-15);
        // A model on tag 6: the gain of tag 5 depends on how many sampled carriers also have 6.
        let mut lin = vec![0.0; 7];
        lin[6] = 1.0;
        let m = model(lin, vec![]);
        let a = tag_gains(&tm, &m, 10, 5, 9).unwrap();
        let b = tag_gains(&tm, &m, 10, 5, 9).unwrap();
        let bits = |g: &[TagGain]| g.iter().map(|x| (x.n_with_tag, x.gain.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "same seed, same gains");
        let c = tag_gains(&tm, &m, 10, 5, 10).unwrap();
        assert_ne!(a[5].gain, c[5].gain, "another seed samples other carriers");
        assert!(a[5].gain > 0.0 && a[5].gain < 10.0, "between none and all of the 10 carry tag 6");
        assert_eq!(a[6].gain, 10.0, "routing 10 carriers of tag 6 counts 10");
        assert!(tag_gains(&tm, &m, 0, 3, 1).is_err());
    }
}
