//! `subject_of_expertise` and `expertise_level` from the subject lexicon
//! (`subjects.txt`).
//!
//! Each distinct phrase adds its weight (1 or 2) to its subjects, once however
//! often it occurs. Subjects scoring at least [`MIN_SCORE`] and at least half
//! the top score are reported, best first, at most three; none → "Others".
//! Expertise counts distinct technical ("x") phrases: two, or one in a prompt
//! with code/markup/formulas, make "expert"; one, or such material alone,
//! makes "basic"; otherwise "general public".

use super::lexicon::{Cue, Hit, LEXICON};
use super::vocab::{OTHERS, SUBJECTS};

/// Minimum score for a subject: one clear phrase or two hints.
pub const MIN_SCORE: u32 = 2;
/// At most this many subjects (the paper's analyzer was asked for up to three).
pub const MAX_SUBJECTS: usize = 3;

/// Per-subject scores and technical-vocabulary counts of a prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectEvidence {
    pub scores: [u32; SUBJECTS.len()],
    /// Distinct technical phrases.
    pub expert_phrases: usize,
}

/// Scores the subject cues of `hits` (each distinct phrase once).
pub fn evidence<'a>(hits: impl Iterator<Item = &'a Hit>) -> SubjectEvidence {
    let subject_bit = Cue::Subject { subject: 0, weight: 0, expert: false }.kind_bit();
    let mut phrases: Vec<u32> = hits.filter(|h| h.hidden & subject_bit == 0).map(|h| h.phrase).collect();
    phrases.sort_unstable();
    phrases.dedup();
    let mut e = SubjectEvidence { scores: [0; SUBJECTS.len()], expert_phrases: 0 };
    for p in phrases {
        let mut expert = false;
        for cue in LEXICON.cues(p) {
            if let Cue::Subject { subject, weight, expert: x } = *cue {
                e.scores[subject as usize] += u32::from(weight);
                expert |= x;
            }
        }
        e.expert_phrases += usize::from(expert);
    }
    e
}

/// Indices into `SUBJECTS` of the reported subjects, best first (ties in vocabulary order).
pub fn top_subjects(e: &SubjectEvidence) -> Vec<usize> {
    let top = e.scores.iter().copied().max().unwrap_or(0);
    if top < MIN_SCORE {
        return vec![OTHERS];
    }
    let mut ranked: Vec<usize> =
        (0..SUBJECTS.len()).filter(|&s| e.scores[s] >= MIN_SCORE && 2 * e.scores[s] >= top).collect();
    ranked.sort_by(|a, b| e.scores[*b].cmp(&e.scores[*a]).then(a.cmp(b)));
    ranked.truncate(MAX_SUBJECTS);
    ranked
}

/// `expertise_level` index (0 general public, 1 basic, 2 expert).
pub fn expertise_level(e: &SubjectEvidence, technical_material: bool) -> usize {
    match (e.expert_phrases, technical_material) {
        (n, _) if n >= 2 => 2,
        (1, true) => 2,
        (1, false) | (0, true) => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects(t: &str) -> Vec<&'static str> {
        top_subjects(&evidence(LEXICON.scan(t).iter())).into_iter().map(|s| SUBJECTS[s]).collect()
    }

    #[test]
    fn clear_topics_get_their_subject() {
        assert_eq!(subjects("Explain photosynthesis in plants."), vec!["Biology"]);
        assert_eq!(subjects("Give me a recipe for chocolate cake."), vec!["Culinary arts"]);
        assert_eq!(
            subjects("Write a Python function that reverses a linked list."),
            vec!["Computer sciences"]
        );
        assert_eq!(subjects("Hello there."), vec!["Others"]);
    }

    #[test]
    fn at_most_three_subjects_and_repeats_count_once() {
        let t = "recipe recipe recipe; a poem; the stock market; photosynthesis; a python program";
        let s = subjects(t);
        assert!(s.len() <= MAX_SUBJECTS && !s.is_empty());
        let e = evidence(LEXICON.scan("recipe recipe recipe").iter());
        assert_eq!(e.scores[SUBJECTS.iter().position(|s| *s == "Culinary arts").unwrap()], 2);
    }

    #[test]
    fn expertise_counts_technical_phrases() {
        let e = |t: &str| expertise_level(&evidence(LEXICON.scan(t).iter()), false);
        assert_eq!(e("What is the capital of France?"), 0);
        assert_eq!(e("What does the Krebs cycle produce?"), 1);
        assert_eq!(e("Derive the eigenvalues of the Hamiltonian for a harmonic oscillator."), 2);
    }
}
