//! Hybrid dataset assembly: routing picks the label source, ties are dropped,
//! missing labels fall back to the other source or follow the policy.

use prefroute::data::Label::{self, Tie, A, B};
use prefroute::route::hybrid::{assemble, Chosen, HybridSummary, LabelSource, OnMissingLabel};

fn row_view(rows: &[prefroute::route::hybrid::HybridRow]) -> Vec<(usize, Chosen, LabelSource)> {
    rows.iter().map(|r| (r.index, r.chosen, r.label_source)).collect()
}

#[test]
fn ties_are_dropped_after_routing_whichever_source_they_come_from() {
    let human = [true, true, false, false];
    let hp = [Some(Tie), Some(A), Some(B), Some(Tie)];
    let ap = [Some(A), Some(Tie), Some(Tie), Some(B)];
    let (rows, s) = assemble(&human, &hp, &ap, &["r0", "r1", "r2", "r3"], OnMissingLabel::Error).unwrap();
    // r0: human tie → dropped (the AI's A is not used); r1: human A;
    // r2: AI tie → dropped; r3: AI B.
    assert_eq!(row_view(&rows), vec![(1, Chosen::A, LabelSource::Human), (3, Chosen::B, LabelSource::Ai)]);
    assert_eq!(
        s,
        HybridSummary {
            n_human: 1,
            n_ai: 1,
            ties_dropped: 2,
            missing_dropped: 0,
            fallbacks: 0,
            human_missing_dropped: 0
        }
    );
}

#[test]
fn a_missing_needed_label_falls_back_to_the_other_source() {
    let human = [true, false, true, false];
    let hp = [None, Some(B), None, Some(A)];
    let ap = [Some(A), None, Some(Tie), Some(B)];
    let (rows, s) = assemble(&human, &hp, &ap, &["a", "b", "c", "d"], OnMissingLabel::Error).unwrap();
    // a: routed, no human label → AI's A. b: not routed, no AI label → human's B.
    // c: routed, no human label → AI's tie → fallback, then dropped. d: AI's B.
    assert_eq!(
        row_view(&rows),
        vec![
            (0, Chosen::A, LabelSource::Ai),
            (1, Chosen::B, LabelSource::Human),
            (3, Chosen::B, LabelSource::Ai)
        ]
    );
    assert_eq!(
        s,
        HybridSummary {
            n_human: 1,
            n_ai: 2,
            ties_dropped: 1,
            missing_dropped: 0,
            fallbacks: 3,
            human_missing_dropped: 0
        }
    );
}

#[test]
fn instances_without_any_label_fail_or_are_dropped() {
    let n = 15;
    let human: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
    // Instances 2..=13 (12 of them) have no label at all.
    let hp: Vec<Option<Label>> = (0..n).map(|i| if (2..=13).contains(&i) { None } else { Some(A) }).collect();
    let ap = vec![None; n];
    let ids: Vec<String> = (0..n).map(|i| format!("id{i}")).collect();
    let e = assemble(&human, &hp, &ap, &ids, OnMissingLabel::Error).unwrap_err().to_string();
    assert!(e.starts_with("12 instances have neither a human nor an AI label: 'id2', 'id3'"), "{e}");
    assert!(e.contains("'id11', …"), "the first 10 ids are shown: {e}");
    assert!(!e.contains("'id12'"), "{e}");
    assert!(e.contains("Hint:"), "{e}");

    let (rows, s) = assemble(&human, &hp, &ap, &ids, OnMissingLabel::Drop).unwrap();
    assert_eq!(rows.iter().map(|r| r.index).collect::<Vec<_>>(), vec![0, 1, 14]);
    // 0 and 14 are routed with human A; 1 is not routed, has no AI label → human A.
    assert_eq!(
        s,
        HybridSummary {
            n_human: 3,
            n_ai: 0,
            ties_dropped: 0,
            missing_dropped: 12,
            fallbacks: 1,
            human_missing_dropped: 0
        }
    );
}

#[test]
fn mismatched_lengths_are_a_bug_not_a_panic() {
    let e = assemble(&[true], &[Some(A), Some(B)], &[Some(A)], &["x"], OnMissingLabel::Error).unwrap_err();
    assert!(e.to_string().contains("internal error"), "{e}");
}
