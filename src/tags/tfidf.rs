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

use once_cell::sync::Lazy;
use regex::Regex;
use rustc_hash::FxHashMap;

/// Python's `(?u)\b\w\w+\b` with Python's `\w`: maximal runs of ≥ 2 word characters.
static TERM: Lazy<Regex> = Lazy::new(|| Regex::new(r"[\p{L}\p{N}_]{2,}").expect("valid term pattern"));

/// Document frequencies of the terms of a collection of texts (a fitted TF-IDF vocabulary).
#[derive(Clone, Debug, Default)]
pub struct DocumentFrequencies {
    /// Number of documents containing each term.
    df: FxHashMap<String, u32>,
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
        let lower = text.to_lowercase();
        let mut terms = terms_of(&lower);
        terms.sort_unstable();
        terms.dedup();
        for t in terms {
            match self.df.get_mut(t) {
                Some(c) => *c += 1,
                None => {
                    self.df.insert(t.to_owned(), 1);
                }
            }
        }
        self.n_docs += 1;
    }

    /// Adds the counts of `other` (fitted on other documents), as if its documents had been added here.
    pub fn merge(&mut self, mut other: DocumentFrequencies) {
        if self.df.len() < other.df.len() {
            std::mem::swap(self, &mut other); // fold the smaller map into the larger one
        }
        for (t, c) in other.df {
            *self.df.entry(t).or_insert(0) += c;
        }
        self.n_docs += other.n_docs;
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
        let (la, lb) = (a.to_lowercase(), b.to_lowercase());
        let wa = self.weights(&la);
        let wb = self.weights(&lb);
        let (na, nb) = (norm(&wa), norm(&wb));
        if na == 0.0 || nb == 0.0 {
            return 0.0;
        }
        // Merge-join of the two sorted term lists; rows normalised first, as scikit-learn does.
        let (mut i, mut j, mut dot) = (0, 0, 0.0);
        while i < wa.len() && j < wb.len() {
            match wa[i].0.cmp(wb[j].0) {
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

    /// The text's known terms, sorted, with weight `count × idf`.
    fn weights<'t>(&self, lower: &'t str) -> Vec<(&'t str, f64)> {
        let mut terms = terms_of(lower);
        terms.sort_unstable();
        let n1 = self.n_docs as f64 + 1.0;
        let mut out: Vec<(&str, f64)> = Vec::with_capacity(terms.len());
        let mut k = 0;
        while k < terms.len() {
            let t = terms[k];
            let count = terms[k..].iter().take_while(|&&u| u == t).count();
            k += count;
            if let Some(&df) = self.df.get(t) {
                let idf = (n1 / (f64::from(df) + 1.0)).ln() + 1.0;
                out.push((t, count as f64 * idf));
            }
        }
        out
    }
}

/// The terms of an already lowercased text, in text order.
fn terms_of(lower: &str) -> Vec<&str> {
    TERM.find_iter(lower).map(|m| m.as_str()).collect()
}

fn norm(w: &[(&str, f64)]) -> f64 {
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

    #[test]
    fn python_word_characters() {
        // Underscore and digits are word characters; the combining acute (U+0301) is not
        // in Python, so "cafe\u{301}" yields "cafe" only; "é" (precomposed) is a letter.
        let lower = "x_1 42 cafe\u{301} café ñu ½½".to_lowercase();
        assert_eq!(terms_of(&lower), vec!["x_1", "42", "cafe", "café", "ñu", "½½"]);
        assert_eq!(terms_of(&"ÉTÉ".to_lowercase()), vec!["été"]);
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
}
