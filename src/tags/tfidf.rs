//! TF-IDF cosine similarity between the two completions of an instance.
//!
//! Reproduces scikit-learn's `TfidfVectorizer()` with its defaults: the text is
//! lowercased (Python `str.lower`), terms are the matches of `(?u)\b\w\w+\b`,
//! term frequency is the raw count, `idf = ln((1 + n) / (1 + df)) + 1`
//! (`smooth_idf`), and each row is L2-normalised. The vocabulary and the document
//! frequencies are fitted on every completion (`a` and `b`) of the dataset, so the
//! caller first feeds all of them to [`DocumentFrequencies::add_document`].
//!
//! Python's `\w` is a letter (categories L*), a number (N*) or `_`; unlike the
//! `regex` crate's `\w`, it excludes combining marks. With `\b` defined by the same
//! class, the matches are exactly the maximal runs of at least two such characters.

use super::short_map::ShortMap;
use once_cell::sync::Lazy;
use regex::Regex;

/// Python's `(?u)\b\w\w+\b` with Python's `\w`: maximal runs of ≥ 2 word characters.
static TERM: Lazy<Regex> = Lazy::new(|| Regex::new(r"[\p{L}\p{N}_]{2,}").expect("valid term pattern"));

/// Document frequencies of the terms of a collection of texts (a fitted TF-IDF vocabulary).
#[derive(Clone, Debug, Default)]
pub struct DocumentFrequencies {
    /// Term (UTF-8 bytes) → its index in `df`.
    ids: ShortMap<u32>,
    /// Number of documents containing each term.
    df: Vec<u32>,
    /// Number of documents added.
    n_docs: usize,
}

impl DocumentFrequencies {
    /// An empty vocabulary (no documents).
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one document (an empty text still counts as a document, as in scikit-learn).
    pub fn add_document(&mut self, text: &str) {
        let mut seen: Vec<u32> = Vec::new();
        for_each_term(text, |t| {
            let next = self.df.len() as u32;
            let id = *self.ids.get_or_insert_with(t.as_bytes(), || next);
            if id == next {
                self.df.push(0);
            }
            seen.push(id);
        });
        seen.sort_unstable();
        seen.dedup();
        for id in seen {
            self.df[id as usize] += 1;
        }
        self.n_docs += 1;
    }

    /// Adds the counts of `other` (fitted on other documents), as if its documents had been added here.
    pub fn merge(&mut self, mut other: DocumentFrequencies) {
        if self.ids.len() < other.ids.len() {
            std::mem::swap(self, &mut other); // fold the smaller vocabulary into the larger one
        }
        for (t, id) in other.ids.into_entries() {
            let c = other.df[id as usize];
            match self.ids.get(&t) {
                Some(&mine) => self.df[mine as usize] += c,
                None => {
                    self.ids.insert(&t, self.df.len() as u32);
                    self.df.push(c);
                }
            }
        }
        self.n_docs += other.n_docs;
    }

    /// Renumbers the terms in sorted order. The cosine sums its terms in id order,
    /// and ids otherwise follow the order in which the documents (and the merged
    /// parts) were seen: after this, the same documents give the same bits however
    /// they were split into batches.
    pub fn canonicalize(&mut self) {
        let mut terms: Vec<(Vec<u8>, u32)> = std::mem::take(&mut self.ids).into_entries().collect();
        terms.sort_unstable();
        self.df = terms.iter().map(|(_, old)| self.df[*old as usize]).collect();
        for (new, (t, _)) in terms.iter().enumerate() {
            self.ids.insert(t, new as u32);
        }
    }

    /// Every term with its document frequency, in sorted term order (what a
    /// serialised [`crate::tags::stats::PrefStats`] stores).
    pub fn sorted_terms(&self) -> Vec<(String, u32)> {
        let mut terms: Vec<(String, u32)> = self
            .ids
            .iter()
            .map(|(t, id)| {
                (String::from_utf8(t.into_owned()).expect("terms are text"), self.df[*id as usize])
            })
            .collect();
        terms.sort_unstable();
        terms
    }

    /// Document frequencies from terms in strictly increasing order with their
    /// counts, and the number of documents: the canonical numbering, as after
    /// [`canonicalize`](Self::canonicalize). `None` when the terms are not
    /// strictly increasing.
    pub fn from_sorted_terms(terms: Vec<(String, u32)>, n_docs: usize) -> Option<Self> {
        if terms.windows(2).any(|w| w[0].0 >= w[1].0) {
            return None;
        }
        let df = terms.iter().map(|(_, c)| *c).collect();
        let mut ids = ShortMap::new();
        for (i, (t, _)) in terms.iter().enumerate() {
            ids.insert(t.as_bytes(), i as u32);
        }
        Some(DocumentFrequencies { ids, df, n_docs })
    }

    /// Number of documents added.
    pub fn n_documents(&self) -> usize {
        self.n_docs
    }

    /// Number of distinct terms seen (the vocabulary size).
    pub fn n_terms(&self) -> usize {
        self.df.len()
    }

    /// Cosine similarity in [0, 1] of the TF-IDF vectors of `a` and `b`. Terms never
    /// seen by [`add_document`](Self::add_document) are ignored (scikit-learn's
    /// `transform`); a text without known terms has the zero vector and cosine 0.
    pub fn cosine(&self, a: &str, b: &str) -> f64 {
        let wa = self.weights(a);
        let wb = self.weights(b);
        let (na, nb) = (norm(&wa), norm(&wb));
        if na == 0.0 || nb == 0.0 {
            return 0.0;
        }
        // Merge-join of the two id-sorted rows; rows normalised first, as scikit-learn does.
        let (mut i, mut j, mut dot) = (0, 0, 0.0);
        while i < wa.len() && j < wb.len() {
            match wa[i].0.cmp(&wb[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += (wa[i].1 / na) * (wb[j].1 / nb);
                    i += 1;
                    j += 1;
                }
            }
        }
        dot.min(1.0)
    }

    /// The text's known terms as (term id, `count × idf`), sorted by id.
    fn weights(&self, text: &str) -> Vec<(u32, f64)> {
        let mut ids: Vec<u32> = Vec::new();
        for_each_term(text, |t| {
            if let Some(&id) = self.ids.get(t.as_bytes()) {
                ids.push(id);
            }
        });
        ids.sort_unstable();
        let n1 = self.n_docs as f64 + 1.0;
        let mut out: Vec<(u32, f64)> = Vec::with_capacity(ids.len());
        for run in ids.chunk_by(|x, y| x == y) {
            let idf = (n1 / (f64::from(self.df[run[0] as usize]) + 1.0)).ln() + 1.0;
            out.push((run[0], run.len() as f64 * idf));
        }
        out
    }
}

/// Calls `f` with each term of `text`, lowercased, in text order.
fn for_each_term(text: &str, mut f: impl FnMut(&str)) {
    if !text.is_ascii() {
        // Full Unicode: lowercase first (lowercasing can change the characters, e.g. İ -> i̇).
        let lower = text.to_lowercase();
        for m in TERM.find_iter(&lower) {
            f(m.as_str());
        }
        return;
    }
    // ASCII fast path: word characters are [A-Za-z0-9_]; no allocation unless a term has capitals.
    let bytes = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut buf = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if !word(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && word(bytes[i]) {
            i += 1;
        }
        if i - start >= 2 {
            let term = &text[start..i];
            if term.bytes().any(|c| c.is_ascii_uppercase()) {
                buf.clear();
                buf.push_str(term);
                buf.make_ascii_lowercase();
                f(&buf);
            } else {
                f(term);
            }
        }
    }
}

fn norm(w: &[(u32, f64)]) -> f64 {
    w.iter().map(|(_, x)| x * x).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fitted(docs: &[&str]) -> DocumentFrequencies {
        let mut df = DocumentFrequencies::new();
        for d in docs {
            df.add_document(d);
        }
        df
    }

    #[test]
    fn hand_computed_cosine() {
        // Docs "a cat", "the cat": terms need two characters, so "a" is dropped.
        // n = 2; df(cat) = 2 -> idf 1; df(the) = 1 -> idf ln(3/2) + 1.
        // Rows: [cat 1] and [cat 1, the ln1.5+1]; cosine = 1 / sqrt(1 + (ln1.5+1)^2).
        let df = fitted(&["a cat", "the cat"]);
        assert_eq!((df.n_documents(), df.n_terms()), (2, 2));
        let w = 1.5f64.ln() + 1.0;
        let expect = 1.0 / (1.0 + w * w).sqrt();
        assert!((df.cosine("a cat", "the cat") - expect).abs() < 1e-15);
        assert!((df.cosine("Cat, THE!", "the cat") - 1.0).abs() < 1e-15);
    }

    fn terms(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_term(text, |t| out.push(t.to_owned()));
        out
    }

    #[test]
    fn python_word_characters() {
        // Underscore and digits are word characters; the combining acute (U+0301) is not
        // in Python, so "cafe\u{301}" yields "cafe" only; "é" (precomposed) is a letter.
        assert_eq!(terms("x_1 42 cafe\u{301} café ñu ½½"), ["x_1", "42", "cafe", "café", "ñu", "½½"]);
        assert_eq!(terms("ÉTÉ"), ["été"]);
        // The ASCII path: runs of [A-Za-z0-9_] of length ≥ 2, lowercased.
        assert_eq!(terms("I saw IT_2 in a-b, Ab9!"), ["saw", "it_2", "in", "ab9"]);
    }

    #[test]
    fn unknown_and_empty_texts_have_zero_cosine() {
        let df = fitted(&["red apple", "green apple", ""]);
        assert_eq!(df.n_documents(), 3);
        assert_eq!(df.cosine("red", "blue"), 0.0);
        assert_eq!(df.cosine("", ""), 0.0);
        assert_eq!(DocumentFrequencies::new().cosine("red", "red"), 0.0);
    }

    #[test]
    fn merge_equals_fitting_on_all_documents() {
        let docs = ["one two", "two three", "three four four", "", "one"];
        let all = fitted(&docs);
        let mut left = fitted(&docs[..2]);
        left.merge(fitted(&docs[2..]));
        let mut right = fitted(&docs[3..]);
        right.merge(fitted(&docs[..3]));
        for m in [&left, &right] {
            assert_eq!(m.n_documents(), 5);
            assert_eq!(m.n_terms(), all.n_terms());
            assert_eq!(m.cosine("one two four", "four two"), all.cosine("one two four", "four two"));
        }
    }

    #[test]
    fn canonical_numbering_does_not_depend_on_the_document_order() {
        // Many terms with different weights, so a different summation order would
        // show in the last bits; fitted in two orders and in two merged halves.
        let docs: Vec<String> = (0..40)
            .map(|i| {
                (0..=i % 13)
                    .map(|j| format!("w{} t{}", (i * 7 + j) % 31, j % 5))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let mut forward = fitted(&refs);
        let mut reversed = fitted(&refs.iter().rev().copied().collect::<Vec<_>>());
        let mut halves = fitted(&refs[20..]);
        halves.merge(fitted(&refs[..20]));
        for df in [&mut forward, &mut reversed, &mut halves] {
            df.canonicalize();
        }
        for (a, b) in refs.iter().zip(refs.iter().skip(1)) {
            let c = forward.cosine(a, b);
            assert!(c > 0.0 && c < 1.0, "{a} / {b}: {c}");
            assert_eq!(c.to_bits(), reversed.cosine(a, b).to_bits());
            assert_eq!(c.to_bits(), halves.cosine(a, b).to_bits());
        }
    }
}
