//! What the user asks for: how many distinct requests (complexity of intents)
//! and how open the expected answer is (open-endedness).
//!
//! A request is a question, an imperative sentence ("Write…", "List…"), or a
//! stated want ("Can you…", "I need…"); a request sentence that chains another
//! imperative ("…and translate it") counts once more per chained verb.

use super::structure::Sentence;

/// Verbs that open an imperative request. Sorted (binary search). Verbs that
/// mostly open constraints ("use", "include", "keep", "avoid") are left out:
/// those are format constraints, not extra requests.
const IMPERATIVES: &[&str] = &[
    "add",
    "adjust",
    "advise",
    "analyse",
    "analyze",
    "answer",
    "apply",
    "arrange",
    "assess",
    "brainstorm",
    "build",
    "calculate",
    "categorise",
    "categorize",
    "change",
    "check",
    "choose",
    "clarify",
    "classify",
    "combine",
    "compare",
    "compile",
    "complete",
    "compose",
    "compute",
    "condense",
    "construct",
    "continue",
    "contrast",
    "convert",
    "correct",
    "count",
    "craft",
    "create",
    "critique",
    "debug",
    "decide",
    "define",
    "delete",
    "demonstrate",
    "derive",
    "describe",
    "design",
    "detect",
    "determine",
    "develop",
    "devise",
    "discuss",
    "do",
    "draft",
    "draw",
    "edit",
    "elaborate",
    "enumerate",
    "estimate",
    "evaluate",
    "examine",
    "expand",
    "explain",
    "explore",
    "extract",
    "fill",
    "find",
    "finish",
    "fix",
    "format",
    "formulate",
    "generate",
    "give",
    "guess",
    "help",
    "highlight",
    "identify",
    "illustrate",
    "imagine",
    "implement",
    "improve",
    "infer",
    "insert",
    "interpret",
    "introduce",
    "invent",
    "justify",
    "label",
    "let",
    "list",
    "locate",
    "look",
    "make",
    "mention",
    "modify",
    "name",
    "offer",
    "optimize",
    "order",
    "organize",
    "outline",
    "paraphrase",
    "pick",
    "plan",
    "play",
    "predict",
    "prepare",
    "pretend",
    "produce",
    "proofread",
    "propose",
    "prove",
    "provide",
    "rank",
    "rate",
    "read",
    "recommend",
    "refactor",
    "reformat",
    "remove",
    "rename",
    "reorder",
    "rephrase",
    "replace",
    "reply",
    "respond",
    "restate",
    "review",
    "revise",
    "reword",
    "rewrite",
    "select",
    "share",
    "shorten",
    "show",
    "simplify",
    "sing",
    "solve",
    "sort",
    "specify",
    "split",
    "suggest",
    "summarise",
    "summarize",
    "take",
    "teach",
    "tell",
    "transform",
    "translate",
    "turn",
    "verify",
    "walk",
    "write",
];

/// Imperatives that rarely start a chained second request after "and"/"then".
const WEAK_CHAIN: &[&str] = &["do", "let", "look", "make", "order", "play", "rate", "take", "turn"];

/// Words skipped before the first real word ("Please also write…").
const FILLERS: &[&str] = &[
    "additionally",
    "also",
    "and",
    "finally",
    "first",
    "firstly",
    "hello",
    "hey",
    "hi",
    "just",
    "kindly",
    "lastly",
    "next",
    "now",
    "ok",
    "okay",
    "please",
    "second",
    "secondly",
    "so",
    "then",
    "third",
    "well",
];

/// Two-word openings of a stated want or polite request.
const WANTS: &[(&str, &str)] = &[
    ("can", "you"),
    ("could", "you"),
    ("would", "you"),
    ("will", "you"),
    ("i", "want"),
    ("i", "need"),
    ("i", "wanna"),
    ("i'd", "like"),
    ("i", "would"),
    ("help", "me"),
    ("let's", ""),
    ("tell", "me"),
    ("i", "wonder"),
    ("i'm", "looking"),
    ("i", "wish"),
];

/// Auxiliaries that open a yes/no question.
const AUXILIARIES: &[&str] = &[
    "am",
    "are",
    "aren't",
    "can",
    "can't",
    "could",
    "couldn't",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "don't",
    "had",
    "has",
    "have",
    "is",
    "isn't",
    "may",
    "might",
    "must",
    "shall",
    "should",
    "shouldn't",
    "was",
    "wasn't",
    "were",
    "will",
    "won't",
    "would",
    "wouldn't",
];

/// How one sentence asks for something.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SentenceIntent {
    /// Requests in the sentence (0 for a plain statement).
    pub requests: usize,
    /// A yes/no question ("Is it…?", not "Can you…?").
    pub yes_no: bool,
    /// The first word, lowercased, is this imperative (for "List …" → list format).
    pub starts_with_list: bool,
}

/// Classifies one sentence of `text`.
pub fn sentence_intent(text: &str, s: &Sentence) -> SentenceIntent {
    let body = &text[s.range.clone()];
    let words = lower_words(body, 40);
    let mut i = 0;
    while i < words.len() && FILLERS.binary_search(&words[i].as_str()).is_ok() {
        i += 1;
    }
    let first = words.get(i).map_or("", LowerWord::as_str);
    let second = words.get(i + 1).map_or("", LowerWord::as_str);
    // "Given a list, sort it." / "Using a table, compare …": an imperative after a comma.
    let imperative = IMPERATIVES.binary_search(&first).is_ok() || imperative_after_comma(body);
    let want = WANTS.iter().any(|(a, b)| *a == first && (b.is_empty() || *b == second));
    let yes_no = s.question && !want && AUXILIARIES.binary_search(&first).is_ok();
    if !(s.question || imperative || want) {
        return SentenceIntent::default();
    }
    let chained = words
        .windows(2)
        .skip(i + 1)
        .filter(|w| {
            matches!(w[0].as_str(), "and" | "then" | "also")
                && IMPERATIVES.binary_search(&w[1].as_str()).is_ok()
                && !WEAK_CHAIN.contains(&w[1].as_str())
        })
        .count();
    SentenceIntent {
        requests: 1 + chained,
        yes_no,
        starts_with_list: first == "list" || first == "enumerate",
    }
}

/// Does a clause after a comma open with an imperative ("Given X, extract Y")?
fn imperative_after_comma(s: &str) -> bool {
    s.match_indices(", ").any(|(i, _)| {
        let next = s[i + 2..].split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
        let w = LowerWord::new(next);
        IMPERATIVES.binary_search(&w.as_str()).is_ok() && !WEAK_CHAIN.contains(&w.as_str())
    })
}

/// The first `max` words of `s`, lowercased (letters, digits and apostrophes).
fn lower_words(s: &str, max: usize) -> Vec<LowerWord> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .filter(|w| !w.is_empty())
        .take(max)
        .map(LowerWord::new)
        .collect()
}

/// A short word, ASCII-lowercased in place, with ’ as '. Longer or non-ASCII
/// words become "" (no word list here has such entries).
#[derive(Clone, Copy)]
pub struct LowerWord {
    buf: [u8; 16],
    len: u8,
}

impl LowerWord {
    /// Lowercases `w` into a stack buffer.
    pub fn new(w: &str) -> LowerWord {
        let mut out = LowerWord { buf: [0; 16], len: 0 };
        let mut n = 0;
        for c in w.chars() {
            let c = if c == '\u{2019}' { '\'' } else { c };
            if !c.is_ascii() || n == out.buf.len() {
                return LowerWord { buf: [0; 16], len: 0 };
            }
            out.buf[n] = (c as u8).to_ascii_lowercase();
            n += 1;
        }
        out.len = n as u8;
        out
    }

    /// The lowercased word.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}

/// `complexity_of_intents` level (0 simple, 1 moderate, 2 complex) from the
/// number of requests, earlier user turns, and the number of format constraints.
pub fn complexity_level(requests: usize, user_turns: usize, constraints: usize) -> usize {
    // A long exchange carries intents from earlier turns; extra constraints
    // beyond the first make one request harder to satisfy.
    let effective = requests + usize::from(user_turns >= 3) + constraints.saturating_sub(1);
    match effective {
        0 | 1 => 0,
        2 | 3 => 1,
        _ => 2,
    }
}

/// `open_endedness` level (0 no … 3 high): the most open cue of the request,
/// else "low" for a bare yes/no question and "moderate" otherwise.
pub fn open_level(max_cue: Option<u8>, yes_no_question: bool) -> usize {
    match max_cue {
        Some(l) => l as usize,
        None if yes_no_question => 1,
        None => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::descriptive::structure::sentences;

    fn intents(t: &str) -> Vec<SentenceIntent> {
        sentences(t, 0..t.len()).iter().map(|s| sentence_intent(t, s)).collect()
    }

    #[test]
    fn word_lists_are_sorted_for_binary_search() {
        for list in [IMPERATIVES, FILLERS, AUXILIARIES] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{:?}", list.windows(2).find(|w| w[0] >= w[1]));
        }
    }

    #[test]
    fn counts_questions_imperatives_wants_and_chained_verbs() {
        let r: Vec<usize> =
            intents("Please write a poem. It is nice. Can you help? Summarize the text and translate it.")
                .iter()
                .map(|i| i.requests)
                .collect();
        assert_eq!(r, vec![1, 0, 1, 2]);
        // Objects joined by "and" are not extra requests.
        assert_eq!(intents("Explain cats and dogs.")[0].requests, 1);
    }

    #[test]
    fn yes_no_questions_exclude_polite_requests() {
        assert!(intents("Is Paris in France?")[0].yes_no);
        assert!(!intents("Can you tell me where Paris is?")[0].yes_no);
        assert!(!intents("Where is Paris?")[0].yes_no);
        assert!(intents("List three fruits.")[0].starts_with_list);
        assert_eq!(intents("Given a list of numbers, sort them.")[0].requests, 1);
        assert_eq!(intents("Given the weather, we stayed in.")[0].requests, 0);
    }

    #[test]
    fn levels_follow_the_documented_thresholds() {
        assert_eq!(complexity_level(1, 1, 1), 0);
        assert_eq!(complexity_level(0, 1, 0), 0);
        assert_eq!(complexity_level(2, 1, 0), 1);
        assert_eq!(complexity_level(1, 3, 0), 1);
        assert_eq!(complexity_level(2, 1, 3), 2);
        assert_eq!(open_level(Some(3), true), 3);
        assert_eq!(open_level(None, true), 1);
        assert_eq!(open_level(None, false), 2);
    }
}
