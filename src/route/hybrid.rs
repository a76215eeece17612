//! The hybrid preference dataset (SPEC §1.2, §4.5): routed instances take the
//! human label, the others the AI label; ties are dropped.
//!
//! Unlike the paper, a missing (NULL) label is not fatal by itself: when the
//! label an instance needs is missing and the other source has one, that one
//! is used, and the row records where its label came from. Only an instance
//! with no label from either source hits the [`OnMissingLabel`] policy. A tie
//! is a label, not a missing one: it never triggers the fallback, and the
//! instance is dropped (as in the paper, after routing, whichever source it
//! came from). The paper's final downsampling to 7000 pairs is not done here.

use crate::data::Label;
use crate::error::{Error, Result};

/// What to do with an instance that has neither a human nor an AI label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnMissingLabel {
    /// Fail, naming the instances.
    Error,
    /// Leave the instance out of the dataset (counted in the summary).
    Drop,
}

/// The preferred completion of a kept pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chosen {
    A,
    B,
}

impl Chosen {
    /// `"A"` or `"B"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Chosen::A => "A",
            Chosen::B => "B",
        }
    }
}

/// Whose label a row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelSource {
    Human,
    Ai,
}

impl LabelSource {
    /// `"human"` or `"ai"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelSource::Human => "human",
            LabelSource::Ai => "ai",
        }
    }
}

/// One pair of the hybrid dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HybridRow {
    /// The instance's input row index.
    pub index: usize,
    pub chosen: Chosen,
    pub label_source: LabelSource,
}

/// What happened to the instances while assembling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HybridSummary {
    /// Kept rows labelled by humans.
    pub n_human: usize,
    /// Kept rows labelled by the AI judge.
    pub n_ai: usize,
    /// Instances dropped because their label was a tie.
    pub ties_dropped: usize,
    /// Instances dropped because neither source had a label (policy `Drop`).
    pub missing_dropped: usize,
    /// Instances whose needed label was missing and that took the other
    /// source's label (counted whether or not that label was then a tie).
    pub fallbacks: usize,
}

/// How many ids an error message lists.
const IDS_SHOWN: usize = 10;

/// Assembles the hybrid dataset, in input order.
///
/// All slices are per instance, in input order; `ids` are only used in
/// error messages.
pub fn assemble<S: AsRef<str>>(
    human: &[bool],
    human_pref: &[Option<Label>],
    ai_pref: &[Option<Label>],
    ids: &[S],
    on_missing: OnMissingLabel,
) -> Result<(Vec<HybridRow>, HybridSummary)> {
    let n = human.len();
    if human_pref.len() != n || ai_pref.len() != n || ids.len() != n {
        return Err(Error::Internal(format!(
            "hybrid assembly got {n} routing flags, {} human labels, {} AI labels and {} ids",
            human_pref.len(),
            ai_pref.len(),
            ids.len()
        )));
    }
    let mut rows = Vec::with_capacity(n);
    let mut summary = HybridSummary::default();
    let mut unlabelled: Vec<usize> = Vec::new();
    for i in 0..n {
        let (needed, other) = if human[i] {
            ((human_pref[i], LabelSource::Human), (ai_pref[i], LabelSource::Ai))
        } else {
            ((ai_pref[i], LabelSource::Ai), (human_pref[i], LabelSource::Human))
        };
        let (label, source) = match (needed, other) {
            ((Some(l), s), _) => (l, s),
            (_, (Some(l), s)) => {
                summary.fallbacks += 1;
                (l, s)
            }
            _ => {
                unlabelled.push(i);
                continue;
            }
        };
        let chosen = match label {
            Label::A => Chosen::A,
            Label::B => Chosen::B,
            Label::Tie => {
                summary.ties_dropped += 1;
                continue;
            }
        };
        match source {
            LabelSource::Human => summary.n_human += 1,
            LabelSource::Ai => summary.n_ai += 1,
        }
        rows.push(HybridRow { index: i, chosen, label_source: source });
    }
    if !unlabelled.is_empty() {
        match on_missing {
            OnMissingLabel::Drop => summary.missing_dropped = unlabelled.len(),
            OnMissingLabel::Error => {
                let shown: Vec<String> =
                    unlabelled.iter().take(IDS_SHOWN).map(|&i| format!("'{}'", ids[i].as_ref())).collect();
                let more = if unlabelled.len() > IDS_SHOWN { ", …" } else { "" };
                return Err(Error::argument(
                    format!(
                        "{} instances have neither a human nor an AI label: {}{more}",
                        unlabelled.len(),
                        shown.join(", ")
                    ),
                    "fill in one of the two labels, or drop such instances with on_missing_label := 'drop'",
                ));
            }
        }
    }
    Ok((rows, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_routing() {
        use Label::*;
        let human = [true, false, true, false];
        let hp = [Some(A), Some(A), Some(B), Some(B)];
        let ap = [Some(B), Some(B), Some(A), Some(A)];
        let (rows, s) = assemble(&human, &hp, &ap, &["a", "b", "c", "d"], OnMissingLabel::Error).unwrap();
        let got: Vec<(usize, &str, &str)> =
            rows.iter().map(|r| (r.index, r.chosen.as_str(), r.label_source.as_str())).collect();
        assert_eq!(got, vec![(0, "A", "human"), (1, "B", "ai"), (2, "B", "human"), (3, "A", "ai")]);
        assert_eq!(s, HybridSummary { n_human: 2, n_ai: 2, ..Default::default() });
    }
}
