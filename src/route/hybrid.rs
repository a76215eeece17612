//! The hybrid preference dataset (SPEC §1.2, §4.5): routed instances take the
//! human label, the others the AI label; ties are dropped.
//!
//! Routing happens before annotation, so a routed instance without a human
//! label is the normal state of a dataset whose labels have not come back yet,
//! and using the judge's label in its place silently would undo the routing.
//! [`OnMissingHuman`] decides for those instances: an error naming them (the
//! default), the AI label (recorded as `label_source = 'ai'`), or dropping
//! them. Human labels may come from the input's own column or from a separate
//! file ([`apply_human_labels`], e.g. Label Studio's labels read back by
//! `label_studio_labels`); the file's labels take precedence for routed
//! instances.
//!
//! An instance *not* routed that has no AI label takes its human label when it
//! has one (recorded as `label_source = 'human'`). Only an instance left with
//! no label at all (unrouted without either label, or routed without either
//! under `OnMissingHuman::Ai`) hits the [`OnMissingLabel`] policy. A tie is a
//! label, not a missing one: it never triggers a fallback, and the instance is
//! dropped (as in the paper, after routing, whichever source it came from).
//! The paper's final downsampling to 7000 pairs is not done here.

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

/// What to do with a routed instance that has no human label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnMissingHuman {
    /// Fail, naming the instances (the default: their labels have not come back).
    Error,
    /// Use the AI label instead (the pre-annotation behaviour; counted as a fallback).
    Ai,
    /// Leave the instance out of the dataset (counted in the summary).
    Drop,
}

/// The two missing-label policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingPolicy {
    /// For routed instances without a human label; decided first.
    pub human: OnMissingHuman,
    /// For instances left with no label from either source.
    pub label: OnMissingLabel,
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
    /// Routed instances dropped because they had no human label (policy `OnMissingHuman::Drop`).
    pub human_missing_dropped: usize,
}

/// How many ids an error message lists.
const IDS_SHOWN: usize = 10;

/// Assembles the hybrid dataset, in input order, with a routed instance
/// missing its human label taking the AI label ([`OnMissingHuman::Ai`]).
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
    let policy = MissingPolicy { human: OnMissingHuman::Ai, label: on_missing };
    assemble_with(human, human_pref, ai_pref, ids, policy)
}

/// `'a', 'b', …` for an error message: the first few ids of `indices`.
fn id_list<S: AsRef<str>>(indices: &[usize], ids: &[S]) -> String {
    let shown: Vec<String> =
        indices.iter().take(IDS_SHOWN).map(|&i| format!("'{}'", ids[i].as_ref())).collect();
    let more = if indices.len() > IDS_SHOWN { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// Assembles the hybrid dataset, in input order, under both missing-label policies.
pub fn assemble_with<S: AsRef<str>>(
    human: &[bool],
    human_pref: &[Option<Label>],
    ai_pref: &[Option<Label>],
    ids: &[S],
    policy: MissingPolicy,
) -> Result<(Vec<HybridRow>, HybridSummary)> {
    let on_missing = policy.label;
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
    let mut no_human: Vec<usize> = Vec::new();
    for i in 0..n {
        if human[i] && human_pref[i].is_none() {
            match policy.human {
                OnMissingHuman::Ai => {}
                OnMissingHuman::Error => {
                    no_human.push(i);
                    continue;
                }
                OnMissingHuman::Drop => {
                    summary.human_missing_dropped += 1;
                    continue;
                }
            }
        }
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
    if !no_human.is_empty() {
        return Err(Error::argument(
            format!(
                "{} instances routed to humans have no human label: {}",
                no_human.len(),
                id_list(&no_human, ids)
            ),
            "annotate them (label_studio_tasks, then human_labels := the labels read back), or choose \
             on_missing_human := 'ai' (use the judge's label) or 'drop'",
        ));
    }
    if !unlabelled.is_empty() {
        match on_missing {
            OnMissingLabel::Drop => summary.missing_dropped = unlabelled.len(),
            OnMissingLabel::Error => {
                return Err(Error::argument(
                    format!(
                        "{} instances have neither a human nor an AI label: {}",
                        unlabelled.len(),
                        id_list(&unlabelled, ids)
                    ),
                    "fill in one of the two labels, or drop such instances with on_missing_label := 'drop'",
                ));
            }
        }
    }
    Ok((rows, summary))
}

/// Puts the labels of a labels file (`labels`: id and label, `path` for
/// messages) into `human_pref` for the routed instances. An id the dataset
/// does not have, and an id twice in the file, are errors; a NULL label in the
/// file is not a label (the instance keeps its own). Returns how many routed
/// instances took a label from the file.
pub fn apply_human_labels<S: AsRef<str>>(
    ids: &[S],
    routed: &[bool],
    human_pref: &mut [Option<Label>],
    labels: &[(String, Option<Label>)],
    path: &str,
) -> Result<usize> {
    let index: std::collections::HashMap<&str, usize> =
        ids.iter().enumerate().map(|(i, id)| (id.as_ref(), i)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut unknown: Vec<&str> = Vec::new();
    let mut applied = 0;
    for (id, label) in labels {
        if !seen.insert(id.as_str()) {
            return Err(Error::Value {
                path: path.to_string(),
                column: "id".into(),
                id: id.clone(),
                value: format!("'{id}'"),
                message: "the id appears twice in the labels file".into(),
                hint: "keep one label per id (label_studio_labels already gives one per task)".into(),
            });
        }
        match index.get(id.as_str()) {
            None => unknown.push(id),
            Some(&i) => {
                if let (true, Some(l)) = (routed[i], label) {
                    human_pref[i] = Some(*l);
                    applied += 1;
                }
            }
        }
    }
    if !unknown.is_empty() {
        let shown: Vec<String> = unknown.iter().take(IDS_SHOWN).map(|id| format!("'{id}'")).collect();
        let more = if unknown.len() > IDS_SHOWN { ", …" } else { "" };
        return Err(Error::file(
            path,
            format!(
                "{} ids of the labels file are not in the dataset: {}{more}",
                unknown.len(),
                shown.join(", ")
            ),
            "label the dataset that was routed (same file, same id column), or remove those rows",
        ));
    }
    Ok(applied)
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

    #[test]
    fn missing_human_labels_follow_their_policy() {
        use Label::*;
        let human = [true, true, false, true];
        let hp = [Some(A), None, None, None];
        let ap = [Some(B), Some(B), Some(A), None];
        let ids = ["a", "b", "c", "d"];
        let pol = |h| MissingPolicy { human: h, label: OnMissingLabel::Drop };
        let e = assemble_with(&human, &hp, &ap, &ids, pol(OnMissingHuman::Error)).unwrap_err().to_string();
        assert!(e.starts_with("2 instances routed to humans have no human label: 'b', 'd'"), "{e}");
        let (rows, s) = assemble_with(&human, &hp, &ap, &ids, pol(OnMissingHuman::Drop)).unwrap();
        assert_eq!(rows.iter().map(|r| r.index).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(s.human_missing_dropped, 2);
        let (rows, s) = assemble_with(&human, &hp, &ap, &ids, pol(OnMissingHuman::Ai)).unwrap();
        let got: Vec<(usize, &str)> = rows.iter().map(|r| (r.index, r.label_source.as_str())).collect();
        assert_eq!(got, vec![(0, "human"), (1, "ai"), (2, "ai")]);
        assert_eq!((s.fallbacks, s.missing_dropped), (1, 1));
    }

    #[test]
    fn a_labels_file_wins_for_routed_instances_only() {
        use Label::*;
        let ids = ["a", "b", "c"];
        let routed = [true, false, true];
        let mut hp = [Some(A), None, Some(B)];
        let labels = vec![("a".to_string(), Some(B)), ("b".to_string(), Some(A)), ("c".to_string(), None)];
        assert_eq!(apply_human_labels(&ids, &routed, &mut hp, &labels, "l.parquet").unwrap(), 1);
        assert_eq!(hp, [Some(B), None, Some(B)]);
        let bad = vec![("zz".to_string(), Some(A)), ("a".to_string(), Some(A))];
        let e = apply_human_labels(&ids, &routed, &mut hp, &bad, "l.parquet").unwrap_err().to_string();
        assert!(e.contains("file 'l.parquet': 1 ids of the labels file are not in the dataset: 'zz'"), "{e}");
        let dup = vec![("a".to_string(), Some(A)), ("a".to_string(), Some(B))];
        let e = apply_human_labels(&ids, &routed, &mut hp, &dup, "l.parquet").unwrap_err().to_string();
        assert!(e.contains("row id 'a': the id appears twice"), "{e}");
    }
}
