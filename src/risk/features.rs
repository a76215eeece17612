//! The features of the judge-error model: what is known of an instance before
//! any human sees it.
//!
//! Four families, each named so that a model file says exactly what it reads:
//!
//! * **tags** — the 90 canonical tag indicators (0/1), by canonical name;
//! * **measures** — `rouge`, `rouge_l`, `entity_sim`, `tfidf_cosine`,
//!   `cosine_sim`, `bertscore`, `bertscore_length`, and the lengths as
//!   `log_prompt_len`, `log_len_shorter`, `log_len_longer`, `log_len_ratio`
//!   (`ln(1+longer) − ln(1+shorter)`, BPE tokens);
//! * **judge signals** — `ai_inconsistent` (the judge's label with the
//!   completions swapped, `ai_pref_alt`, differs from `ai_pref`; only when the
//!   input has that column), `ai_confidence` (the input's 0–1 column of that
//!   name), `ai_tie` (the judge said tie) and `ai_prefers_longer` (+1 when the
//!   judge picked the completion with more characters, −1 the shorter, 0 for a
//!   tie or equal lengths: judges' best-known bias);
//! * **extra** — numeric input columns the caller names.
//!
//! A value that is unknown for one row (a NULL measure, no swapped label) is
//! NaN here; the model replaces it by the training mean, i.e. 0 after
//! standardisation. A feature unknown for *every* row is not available.

use crate::data::Label;
use crate::error::{Error, Result};
use crate::tags::pipeline::{m, InstanceTags};
use crate::tags::{tag_index, TAG_NAMES};

/// The measure features, in catalogue order.
pub const MEASURE_FEATURES: [&str; 11] = [
    "rouge",
    "rouge_l",
    "entity_sim",
    "tfidf_cosine",
    "cosine_sim",
    "bertscore",
    "bertscore_length",
    "log_prompt_len",
    "log_len_shorter",
    "log_len_longer",
    "log_len_ratio",
];

/// The judge-signal features, in catalogue order.
pub const JUDGE_FEATURES: [&str; 4] = ["ai_inconsistent", "ai_confidence", "ai_tie", "ai_prefers_longer"];

/// Where one feature's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Tag(usize),
    Measure(usize),
    Judge(usize),
    /// The k-th extra column of [`JudgeRow::extra`].
    Extra(usize),
}

/// The judge's columns and the caller's extra columns for one instance.
#[derive(Clone, Copy, Debug, Default)]
pub struct JudgeRow<'a> {
    /// The swapped-order label (already mapped back), when the input has the column.
    pub alt: Option<Option<Label>>,
    /// `ai_confidence`, when the input has the column.
    pub confidence: Option<Option<f64>>,
    /// The extra columns' values, in the order of [`FeatureSet::extra`].
    pub extra: &'a [Option<f64>],
}

/// A resolved list of features: names and where each value comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureSet {
    pub names: Vec<String>,
    pub sources: Vec<Source>,
    /// The extra input columns the set reads, in [`Source::Extra`] order.
    pub extra: Vec<String>,
}

/// What the input offers beyond the tags and measures.
#[derive(Clone, Debug, Default)]
pub struct InputSignals {
    pub has_alt: bool,
    pub has_confidence: bool,
    /// Numeric columns the caller asked for with `extra :=`.
    pub extra: Vec<String>,
}

impl FeatureSet {
    /// Every feature this input can offer, in catalogue order: tags, measures,
    /// judge signals (those whose columns exist), extra columns.
    pub fn catalogue(signals: &InputSignals) -> Result<FeatureSet> {
        let mut names: Vec<String> = TAG_NAMES.iter().map(|t| t.to_string()).collect();
        let mut sources: Vec<Source> = (0..TAG_NAMES.len()).map(Source::Tag).collect();
        for (k, n) in MEASURE_FEATURES.iter().enumerate() {
            names.push(n.to_string());
            sources.push(Source::Measure(k));
        }
        for (k, n) in JUDGE_FEATURES.iter().enumerate() {
            let present = match k {
                0 => signals.has_alt,
                1 => signals.has_confidence,
                _ => true,
            };
            if present {
                names.push(n.to_string());
                sources.push(Source::Judge(k));
            }
        }
        for (k, c) in signals.extra.iter().enumerate() {
            if names.iter().any(|n| n == c) || signals.extra[..k].contains(c) {
                return Err(Error::argument(
                    format!("extra := ['{c}', …] names a built-in feature or repeats a column"),
                    "name each numeric input column once; built-in features are added by features := 'auto'",
                ));
            }
            names.push(c.clone());
            sources.push(Source::Extra(k));
        }
        Ok(FeatureSet { names, sources, extra: signals.extra.clone() })
    }

    /// The features named in `wanted`, resolved against what the input offers.
    /// An unknown name is an error listing what is available.
    pub fn select(&self, wanted: &[String], what: &str) -> Result<FeatureSet> {
        let mut out = FeatureSet { names: Vec::new(), sources: Vec::new(), extra: Vec::new() };
        for w in wanted {
            let Some(k) = self.names.iter().position(|n| n == w) else {
                return Err(unknown_feature(w, what, self));
            };
            if out.names.contains(w) {
                continue;
            }
            out.names.push(w.clone());
            out.sources.push(match self.sources[k] {
                Source::Extra(e) => {
                    out.extra.push(self.extra[e].clone());
                    Source::Extra(out.extra.len() - 1)
                }
                s => s,
            });
        }
        Ok(out)
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Is the set empty?
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The values of every feature for one instance (NaN = unknown), into `out`.
    pub fn values(&self, inst: &InstanceTags, judge: &JudgeRow, out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.sources.iter().map(|s| value(*s, inst, judge)));
    }
}

/// The error for a feature name that is not on offer.
fn unknown_feature(name: &str, what: &str, offered: &FeatureSet) -> Error {
    let judge_hint = match name {
        "ai_inconsistent" => " (needs an ai_pref_alt column: the judge's label with the completions swapped)",
        "ai_confidence" => " (needs an ai_confidence column, 0–1)",
        _ if tag_index(name).is_none() && !MEASURE_FEATURES.contains(&name) => {
            " (an extra numeric column must be named with extra := ['column'])"
        }
        _ => "",
    };
    let non_tags: Vec<&str> = offered.names.iter().skip(TAG_NAMES.len()).map(String::as_str).collect();
    Error::argument(
        format!("{what} needs the feature '{name}', which this input does not offer{judge_hint}"),
        format!(
            "features on offer: the 90 tag names, {}",
            if non_tags.is_empty() { "nothing else".to_string() } else { non_tags.join(", ") }
        ),
    )
}

fn value(source: Source, inst: &InstanceTags, judge: &JudgeRow) -> f64 {
    let nan = f64::NAN;
    match source {
        Source::Tag(t) => f64::from(u8::from(inst.tags.contains(t))),
        Source::Measure(k) => {
            let ms = &inst.measures;
            let log = |v: Option<f64>| v.map_or(nan, f64::ln_1p);
            match k {
                0 => ms[m::ROUGE].unwrap_or(nan),
                1 => inst.rouge_l.unwrap_or(nan),
                2 => ms[m::ENTITY_SIM].unwrap_or(nan),
                3 => inst.tfidf_cosine.unwrap_or(nan),
                4 => ms[m::COSINE_SIM].unwrap_or(nan),
                5 => ms[m::BERTSCORE].unwrap_or(nan),
                6 => ms[m::BERTSCORE_LENGTH].unwrap_or(nan),
                7 => log(ms[m::PROMPT_LEN]),
                8 => log(ms[m::LEN_SHORTER]),
                9 => log(ms[m::LEN_LONGER]),
                _ => log(ms[m::LEN_LONGER]) - log(ms[m::LEN_SHORTER]),
            }
        }
        Source::Judge(k) => match k {
            0 => match (judge.alt.flatten(), inst.ai_pref) {
                (Some(alt), Some(ai)) => f64::from(u8::from(alt != ai)),
                _ => nan,
            },
            1 => judge.confidence.flatten().unwrap_or(nan),
            2 => match inst.ai_pref {
                Some(l) => f64::from(u8::from(l == Label::Tie)),
                None => nan,
            },
            _ => match inst.ai_pref {
                None => nan,
                Some(Label::Tie) => 0.0,
                Some(_) if inst.chars_a == inst.chars_b => 0.0,
                Some(l) => {
                    let a_longer = inst.chars_a > inst.chars_b;
                    if (l == Label::A) == a_longer {
                        1.0
                    } else {
                        -1.0
                    }
                }
            },
        },
        Source::Extra(e) => judge.extra.get(e).copied().flatten().unwrap_or(nan),
    }
}

/// Is the instance's AI label wrong (the target the model learns)? `None`
/// when either label is missing: such rows are not training data.
pub fn judge_is_wrong(human: Option<Label>, ai: Option<Label>) -> Option<bool> {
    Some(human? != ai?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::descriptive::Descriptive;
    use crate::tags::pipeline::Origin;
    use crate::tags::TagSet;

    fn inst(ai: Option<Label>, chars: (usize, usize)) -> InstanceTags {
        let mut tags = TagSet::EMPTY;
        tags.insert(3);
        let mut measures = [None; 9];
        measures[m::ROUGE] = Some(0.25);
        measures[m::LEN_SHORTER] = Some(9.0);
        measures[m::LEN_LONGER] = Some(99.0);
        InstanceTags {
            id: "x".into(),
            measures,
            measure_origin: [Origin::Computed; 9],
            rouge_l: Some(0.5),
            tfidf_cosine: None,
            descriptive: Descriptive::default(),
            descriptive_origin: [Origin::Computed; 8],
            human_pref: Some(Label::A),
            ai_pref: ai,
            chars_a: chars.0,
            chars_b: chars.1,
            tags,
        }
    }

    #[test]
    fn values_follow_the_catalogue_definitions() {
        let signals = InputSignals { has_alt: true, has_confidence: false, extra: vec!["votes".into()] };
        let all = FeatureSet::catalogue(&signals).unwrap();
        let want: Vec<String> = [
            TAG_NAMES[3],
            TAG_NAMES[4],
            "rouge",
            "tfidf_cosine",
            "log_len_ratio",
            "ai_inconsistent",
            "ai_tie",
            "ai_prefers_longer",
            "votes",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let set = all.select(&want, "test").unwrap();
        let mut out = Vec::new();
        let extra = [Some(7.0)];
        let judge = JudgeRow { alt: Some(Some(Label::B)), confidence: None, extra: &extra };
        set.values(&inst(Some(Label::A), (10, 3)), &judge, &mut out);
        assert_eq!(out[..3], [1.0, 0.0, 0.25]);
        assert!(out[3].is_nan());
        assert!((out[4] - (100f64.ln() - 10f64.ln())).abs() < 1e-15);
        assert_eq!(out[5..], [1.0, 0.0, 1.0, 7.0]);
        // The judge picked the shorter completion; no swapped label known.
        let judge = JudgeRow { alt: Some(None), confidence: None, extra: &[None] };
        set.values(&inst(Some(Label::B), (10, 3)), &judge, &mut out);
        assert!(out[5].is_nan() && out[8].is_nan());
        assert_eq!(out[7], -1.0);
        set.values(&inst(Some(Label::Tie), (3, 3)), &judge, &mut out);
        assert_eq!((out[6], out[7]), (1.0, 0.0));
    }

    #[test]
    fn identical_completions_judged_tie_are_consistent_and_unsure() {
        // judge_pairs' row for identical completions: tie in both orders, confidence 0.5.
        let signals = InputSignals { has_alt: true, has_confidence: true, extra: vec![] };
        let set = FeatureSet::catalogue(&signals)
            .unwrap()
            .select(&JUDGE_FEATURES.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "test");
        let judge = JudgeRow {
            alt: Some(Some(Label::Tie)),
            confidence: Some(Some(crate::llm::IDENTICAL_CONFIDENCE)),
            extra: &[],
        };
        let mut out = Vec::new();
        set.unwrap().values(&inst(Some(Label::Tie), (5, 5)), &judge, &mut out);
        assert_eq!(out, [0.0, 0.5, 1.0, 0.0]);
    }

    #[test]
    fn unknown_or_unavailable_features_are_errors_that_say_why() {
        let all = FeatureSet::catalogue(&InputSignals::default()).unwrap();
        let e = all.select(&["ai_inconsistent".to_string()], "risk_fit").unwrap_err().to_string();
        assert!(e.contains("'ai_inconsistent'") && e.contains("ai_pref_alt"), "{e}");
        let e = all.select(&["nope".to_string()], "risk_fit").unwrap_err().to_string();
        assert!(e.contains("extra :=") && e.contains("log_len_ratio"), "{e}");
        let dup = InputSignals { extra: vec!["rouge".into()], ..Default::default() };
        assert!(FeatureSet::catalogue(&dup).is_err());
    }
}
