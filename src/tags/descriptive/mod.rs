//! The paper's eight descriptive ("meta-analyzer") fields of a prompt, from
//! local, deterministic rules instead of the paper's fine-tuned Llama-3-8B
//! analyzer (SPEC §2.4).
//!
//! One pass of an Aho-Corasick automaton over the prompt finds every phrase of
//! three embedded lexicons (`subjects.txt`, `harm.txt`, `cues.txt`, see
//! [`lexicon`]); a few linear scans find the prompt's structure (dialogue
//! turns, paragraphs, sentences, code, tables…). Each field then has its own
//! small rule, documented in its module:
//!
//! | field | module |
//! |---|---|
//! | `subject_of_expertise`, `expertise_level` | [`subject`] |
//! | `safety_concern` | [`safety`] |
//! | `complexity_of_intents`, `open_endedness` | [`intent`] |
//! | `type_of_in_context_material`, `format_constraints` | [`material`] |
//! | `languages` | [`crate::tags::language`] |
//!
//! Which part of the prompt each rule reads: safety reads everything; subject,
//! expertise, material and constraints read the user's turns (a prompt that is
//! not a "Human:/Assistant:" dialogue is one user turn); open-endedness and the
//! request count read the instruction paragraphs of the last user turn. A
//! paragraph is an instruction when its first sentence is a request, or when it
//! opens a turn in which no paragraph does; other paragraphs are material.

pub mod intent;
pub mod lexicon;
pub mod material;
pub mod safety;
pub mod structure;
pub mod subject;
pub mod vocab;

use super::language::detect_language;
use lexicon::{Cue, Hit, LEXICON};
use std::ops::Range;
use vocab::{
    COMPLEXITY_LEVELS, EXPERTISE_LEVELS, FORMAT_NAMES, MATERIAL_NAMES, OPEN_ENDEDNESS, SAFETY_LEVELS,
    SUBJECTS,
};

use vocab::{F_CODE, F_LIST};

/// The eight descriptive fields of one prompt (SPEC §2.4). Closed and scalar
/// fields only ever hold values of `assets/tag_vocabulary.json`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Descriptive {
    /// Up to 3 values from the 46-value vocabulary, best first; "Others" when no subject is clear.
    pub subject_of_expertise: Vec<String>,
    /// Language names, e.g. "English", "French"; empty when undetectable.
    pub languages: Vec<String>,
    /// general public | basic domain knowledge | expert domain knowledge.
    pub expertise_level: Option<String>,
    /// no | low | moderate | high.
    pub open_endedness: Option<String>,
    /// safe | low | moderate | high.
    pub safety_concern: Option<String>,
    /// simple | moderate | complex.
    pub complexity_of_intents: Option<String>,
    /// e.g. "code", "json", "html", "table", "url", "quoted document" (see `vocab::MATERIAL_NAMES`).
    pub type_of_in_context_material: Vec<String>,
    /// e.g. "length limit", "list", "table", "json", "style", "code" (see `vocab::FORMAT_NAMES`).
    pub format_constraints: Vec<String>,
}

/// Tags one prompt. Deterministic, thread-safe, no I/O. A blank prompt gets
/// no values at all (as the paper's analyzer would give no parsable answer).
pub fn describe(prompt: &str) -> Descriptive {
    if prompt.trim().is_empty() {
        return Descriptive::default();
    }
    let hits = LEXICON.scan(prompt);
    let turns = structure::user_turns(prompt);
    let layout = Layout::of(prompt, &turns, &hits);
    let inside =
        |ranges: &[Range<usize>], h: &Hit| ranges.iter().any(|r| r.start <= h.start && h.end <= r.end);
    let user_hits = || hits.iter().filter(|h| inside(&turns, h));
    let instruction_hits = || hits.iter().filter(|h| inside(&layout.instructions, h));

    // Format constraints: phrases and number rules in instructions, "List …" openings.
    let mut formats = [false; FORMAT_NAMES.len()];
    for h in instruction_hits() {
        for cue in LEXICON.cues_of(h) {
            if let Cue::Format(f) = cue {
                formats[*f as usize] = true;
            }
        }
    }
    for r in &layout.instructions {
        material::number_constraints(&prompt[r.clone()], &mut formats);
    }
    formats[F_LIST] |= layout.list_opening;
    let format_constraints = names(&FORMAT_NAMES, &formats);

    // In-context material: structure of the user's text, plus material prose.
    let mut s = material::Structure::default();
    for t in &turns {
        let x = material::structure(&prompt[t.clone()]);
        s = material::Structure {
            code: s.code || x.code,
            json: s.json || x.json,
            html: s.html || x.html,
            xml: s.xml || x.xml,
            table: s.table || x.table,
            csv: s.csv || x.csv,
            url: s.url || x.url,
            options: s.options || x.options,
            math: s.math || x.math,
        };
    }
    let prose = layout.material_prose_bytes;
    let materials = [
        s.code,
        s.json,
        s.html,
        s.xml,
        s.table,
        s.csv,
        s.url,
        s.options,
        s.math,
        prose >= material::DOCUMENT_BYTES,
        prose > 0 && prose < material::DOCUMENT_BYTES,
    ];
    let type_of_in_context_material = names(&MATERIAL_NAMES, &materials);

    // Subjects and expertise from the user's words.
    let subjects = subject::evidence(user_hits());
    let technical = s.code || s.json || s.html || s.xml || s.math || formats[F_CODE];
    let expertise = subject::expertise_level(&subjects, technical);

    // Requests of the last turn: open-endedness and complexity.
    let max_open = hits
        .iter()
        .filter(|h| inside(&layout.last_instructions, h))
        .flat_map(|h| LEXICON.cues_of(h))
        .filter_map(|c| if let Cue::Open(l) = c { Some(*l) } else { None })
        .max();
    let open = intent::open_level(max_open, layout.yes_no_question);
    let n_constraints = formats.iter().filter(|f| **f).count();
    let complexity = intent::complexity_level(layout.last_requests, turns.len(), n_constraints);

    let safety = safety::level(&safety::evidence(&hits, |h| inside(&turns, h)));

    Descriptive {
        subject_of_expertise: subject::top_subjects(&subjects)
            .into_iter()
            .map(|i| SUBJECTS[i].to_string())
            .collect(),
        languages: detect_language(prompt).map(|(name, _)| vec![name.to_string()]).unwrap_or_default(),
        expertise_level: Some(EXPERTISE_LEVELS[expertise].to_string()),
        open_endedness: Some(OPEN_ENDEDNESS[open].to_string()),
        safety_concern: Some(SAFETY_LEVELS[safety].to_string()),
        complexity_of_intents: Some(COMPLEXITY_LEVELS[complexity].to_string()),
        type_of_in_context_material,
        format_constraints,
    }
}

/// The names whose flag is set, in list order.
fn names(list: &[&str], flags: &[bool]) -> Vec<String> {
    list.iter().zip(flags).filter(|(_, f)| **f).map(|(n, _)| n.to_string()).collect()
}

/// Which paragraphs are instructions and what the last turn asks.
struct Layout {
    /// Instruction paragraphs of all user turns.
    instructions: Vec<Range<usize>>,
    /// Instruction paragraphs of the last user turn.
    last_instructions: Vec<Range<usize>>,
    /// Requests in the last turn's instructions.
    last_requests: usize,
    /// The last turn asks a yes/no question.
    yes_no_question: bool,
    /// An instruction sentence opens with "List"/"Enumerate".
    list_opening: bool,
    /// Bytes of prose material (non-instruction paragraphs, and text after a
    /// "the following text:" cue), not counting code lines.
    material_prose_bytes: usize,
}

impl Layout {
    fn of(text: &str, turns: &[Range<usize>], hits: &[Hit]) -> Layout {
        let mut l = Layout {
            instructions: Vec::new(),
            last_instructions: Vec::new(),
            last_requests: 0,
            yes_no_question: false,
            list_opening: false,
            material_prose_bytes: 0,
        };
        for (ti, turn) in turns.iter().enumerate() {
            let last = ti + 1 == turns.len();
            let pars = structure::paragraphs(text, turn.clone());
            let analysed: Vec<Vec<intent::SentenceIntent>> = pars
                .iter()
                .map(|p| {
                    if p.fenced {
                        Vec::new()
                    } else {
                        structure::sentences(text, p.range.clone())
                            .iter()
                            .map(|s| intent::sentence_intent(text, s))
                            .collect()
                    }
                })
                .collect();
            let opens_with_request = |i: usize| analysed[i].first().is_some_and(|s| s.requests > 0);
            let any_request_paragraph = (0..pars.len()).any(opens_with_request);
            let mut turn_has_material_cue_end: Option<usize> = None;
            for (pi, p) in pars.iter().enumerate() {
                let instruction =
                    !p.fenced && (opens_with_request(pi) || (pi == 0 && !any_request_paragraph));
                if !instruction {
                    l.material_prose_bytes += prose_bytes(&text[p.range.clone()]);
                    continue;
                }
                l.instructions.push(p.range.clone());
                l.list_opening |= analysed[pi].iter().any(|s| s.starts_with_list && s.requests > 0);
                if last {
                    l.last_instructions.push(p.range.clone());
                    l.last_requests += analysed[pi].iter().map(|s| s.requests).sum::<usize>();
                    l.yes_no_question |= analysed[pi].iter().any(|s| s.yes_no);
                }
                // A "the following text:" cue inside the instruction: what follows it is material.
                let cue_end = hits
                    .iter()
                    .filter(|h| p.range.start <= h.start && h.end <= p.range.end)
                    .filter(|h| LEXICON.cues_of(h).any(|c| *c == Cue::Material))
                    .map(|h| h.end)
                    .next();
                if turn_has_material_cue_end.is_none() {
                    turn_has_material_cue_end = cue_end.map(|e| e.min(p.range.end));
                    if let Some(e) = turn_has_material_cue_end {
                        l.material_prose_bytes += prose_bytes(&text[e..p.range.end]);
                    }
                }
            }
        }
        l
    }
}

/// Bytes of the non-code, non-fenced lines of `s` (trimmed).
fn prose_bytes(s: &str) -> usize {
    let mut in_fence = false;
    let mut n = 0;
    for line in s.lines() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
        } else if !in_fence && t.chars().any(char::is_alphabetic) {
            n += t.len();
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_prompt_has_no_values() {
        assert_eq!(describe(" \n\t"), Descriptive::default());
    }

    #[test]
    fn instruction_with_input_paragraph_has_text_material() {
        let d = describe("List a few popular songs from the given album.\n\nBack To Black");
        assert_eq!(d.type_of_in_context_material, vec!["text"]);
        assert!(d.format_constraints.contains(&"list".to_string()));
    }

    #[test]
    fn cue_followed_by_long_text_is_a_quoted_document() {
        let body = "The committee met on Tuesday to discuss the budget. ".repeat(8);
        let d = describe(&format!("Summarize the following text: {body}"));
        assert_eq!(d.type_of_in_context_material, vec!["quoted document"]);
    }
}
