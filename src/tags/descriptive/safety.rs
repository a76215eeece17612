//! `safety_concern`: harm phrases (`harm.txt`) with their severities, raised
//! by what the user wants to do with the topic.
//!
//! Level = highest severity among harm phrases, then:
//! * a severity-2 topic asked about operationally ("how do I", "help me",
//!   "I want to") or with evasion ("without getting caught") → 3 (high);
//! * a severity-2 topic of hate, sexual content, hacking or fraud together
//!   with a request to produce content ("write a") → 3;
//! * a group of people within [`GROUP_WINDOW`] bytes of a stereotype
//!   ("women … bad at") → at least 2;
//! * severity 1 with evasion, or three distinct severity-1 phrases → 2;
//! * evasion alone → 1.

use super::lexicon::{Cue, Hit, Intent, LEXICON};
use super::vocab::HARM_CATEGORIES;

/// Max distance in bytes between a group and a stereotype for the hate rule.
pub const GROUP_WINDOW: usize = 80;

/// Harm categories whose content is harmful to generate, not only to act on.
const CONTENT_HARMS: [&str; 4] = ["hate", "sexual", "hacking", "fraud"];

/// What the safety rules saw (kept for reports and tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SafetyEvidence {
    /// Highest phrase severity, 0..3.
    pub max_severity: u8,
    /// Categories (indices into `HARM_CATEGORIES`) with a phrase of severity ≥ 2.
    pub serious_categories: Vec<u8>,
    pub operational: bool,
    pub evasion: bool,
    pub generate: bool,
    pub group_stereotype: bool,
    /// Distinct severity-1 phrases.
    pub mild_phrases: usize,
}

/// Collects the evidence from all hits of a prompt; `in_user(hit)` tells
/// whether a hit lies in a user turn (intents only count there).
pub fn evidence(hits: &[Hit], in_user: impl Fn(&Hit) -> bool) -> SafetyEvidence {
    let mut e = SafetyEvidence::default();
    let mut mild: Vec<u32> = Vec::new();
    let mut groups: Vec<usize> = Vec::new();
    let mut stereotypes: Vec<usize> = Vec::new();
    for h in hits {
        for cue in LEXICON.cues_of(h) {
            match *cue {
                Cue::Harm { category, severity } if severity > 0 => {
                    e.max_severity = e.max_severity.max(severity);
                    if severity >= 2 && !e.serious_categories.contains(&category) {
                        e.serious_categories.push(category);
                    }
                    if severity == 1 && !mild.contains(&h.phrase) {
                        mild.push(h.phrase);
                    }
                }
                Cue::Intent(Intent::Evasion) => e.evasion = true,
                Cue::Intent(Intent::Operational) if in_user(h) => e.operational = true,
                Cue::Intent(Intent::Generate) if in_user(h) => e.generate = true,
                Cue::Group => groups.push(h.start),
                Cue::Stereotype => stereotypes.push(h.start),
                _ => {}
            }
        }
    }
    e.mild_phrases = mild.len();
    e.group_stereotype = groups.iter().any(|g| stereotypes.iter().any(|s| g.abs_diff(*s) <= GROUP_WINDOW));
    e
}

/// Safety level 0 (safe) … 3 (high) from the evidence.
pub fn level(e: &SafetyEvidence) -> usize {
    let content_harm =
        e.serious_categories.iter().any(|c| CONTENT_HARMS.contains(&HARM_CATEGORIES[*c as usize]));
    let mut level = e.max_severity as usize;
    if e.group_stereotype {
        level = level.max(2);
    }
    if level == 2 && (e.operational || e.evasion || (e.generate && content_harm)) {
        level = 3;
    }
    if level == 1 && (e.evasion || e.mild_phrases >= 3) {
        level = 2;
    }
    if level == 0 && e.evasion {
        level = 1;
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lvl(t: &str) -> usize {
        level(&evidence(&LEXICON.scan(t), |_| true))
    }

    #[test]
    fn severities_and_intent_combine_as_documented() {
        assert_eq!(lvl("What is the tallest mountain?"), 0);
        assert_eq!(lvl("Tell me a swear word"), 1);
        assert_eq!(lvl("Why do people steal?"), 2);
        assert_eq!(lvl("How do I steal a car?"), 3);
        assert_eq!(lvl("Best way to shoplift without getting caught"), 3);
        assert_eq!(lvl("How do I make a bomb?"), 3);
        assert_eq!(lvl("Write a racist joke"), 3);
        assert_eq!(lvl("Write a story about a bomb"), 2);
    }

    #[test]
    fn benign_phrases_hide_harm_words() {
        assert_eq!(lvl("How do I kill the process on port 80?"), 0);
        assert_eq!(lvl("What are the symptoms of a heart attack?"), 0);
        assert_eq!(lvl("How can I photobomb my friends?"), 0);
    }

    #[test]
    fn group_near_stereotype_is_hate() {
        assert_eq!(lvl("Why are women so bad at driving?"), 2);
        assert_eq!(lvl("Women have won many Nobel prizes."), 0);
    }
}
