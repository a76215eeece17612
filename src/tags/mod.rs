//! The paper's 90 binary tags: their canonical names, and the per-instance
//! tag sets that the PPM and the routing strategies work on.
//!
//! The raw measures and descriptive fields that decide which tags an instance
//! carries live in the submodules; this file only knows the tag vocabulary.

mod ascii_pieces;
mod bins;
pub mod descriptive;
mod entities;
pub mod language;
mod rouge;
mod short_map;
mod tfidf;
mod tokens;

pub use bins::{bin_of, percentile_ranks, BIN_EDGES};
pub use entities::{entities, entity_jaccard};
pub use rouge::{rouge1_f, rouge_l_f, rouge_scores, RougeScores};
pub use tfidf::DocumentFrequencies;
pub use tokens::{token_count, TokenizerKind};

pub use descriptive::{describe, Descriptive};
pub use language::detect_language;

/// Number of canonical tags (27 lexical + 63 descriptive), the PPM's columns.
pub const N_TAGS: usize = 90;

pub mod pipeline;
pub mod stats;

pub use crate::generated::TAG_NAMES;

/// Index of a canonical tag name (exact match, as in `tags.txt`).
pub fn tag_index(name: &str) -> Option<usize> {
    tag_index_of_bytes(name.as_bytes())
}

/// [`tag_index`] of a name given as bytes (what a DuckDB string is): bytes that are not
/// UTF-8 name no tag, so callers need not validate them first.
pub fn tag_index_of_bytes(name: &[u8]) -> Option<usize> {
    static INDEX: once_cell::sync::Lazy<rustc_hash::FxHashMap<&'static [u8], usize>> =
        once_cell::sync::Lazy::new(|| TAG_NAMES.iter().enumerate().map(|(i, t)| (t.as_bytes(), i)).collect());
    INDEX.get(name).copied()
}

/// A tag's name as a person reads it: `"Subject: Medicine and health"`,
/// `"cosine_sim 0.33–0.67"`, `"prompt_len percentile 0–0.33"`. `None` for a
/// string that is not a canonical tag name.
pub fn tag_label(name: &str) -> Option<String> {
    tag_index(name)?;
    let (family, rest) = name.split_once("::")?;
    let field = |key: &str| rest.split('|').find_map(|kv| kv.strip_prefix(key));
    if let (Some(lo), Some(hi)) = (field("min_val="), field("max_val=")) {
        let num = |s: &str| s.strip_suffix(".0").unwrap_or(s).to_string();
        let percentile = ["len_longer", "len_shorter", "prompt_len", "token_len_diff"].contains(&family);
        let what = if percentile { format!("{family} percentile") } else { family.to_string() };
        return Some(format!("{what} {}–{}", num(lo), num(hi)));
    }
    let feature = field("feature_name=")?;
    let value = field("constraints=").or_else(|| field("value="));
    let label = match feature {
        "subject_of_expertise" => "Subject",
        "languages" => "Language",
        "expertise_level" => "Expertise",
        "open_endedness" => "Open-endedness",
        "safety_concern" => "Safety concern",
        "complexity_of_intents" => "Intent complexity",
        "type_of_in_context_material" => return Some("Has in-context material".into()),
        "format_constraints" => return Some("Has format constraints".into()),
        other => other,
    };
    Some(format!("{label}: {}", value?))
}

/// The set of tags one instance carries: bit `t` is tag `TAG_NAMES[t]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TagSet(pub u128);

impl TagSet {
    /// The empty set.
    pub const EMPTY: TagSet = TagSet(0);

    /// Does the set contain tag `t`?
    pub fn contains(self, t: usize) -> bool {
        t < N_TAGS && (self.0 >> t) & 1 == 1
    }

    /// Adds tag `t` (must be < `N_TAGS`).
    pub fn insert(&mut self, t: usize) {
        debug_assert!(t < N_TAGS);
        self.0 |= 1u128 << t;
    }

    /// Number of tags in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Is the set empty?
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Tag indices in ascending (PPM column) order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                None
            } else {
                let t = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(t)
            }
        })
    }

    /// Canonical names of the tags in the set, in PPM column order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.iter().map(|t| TAG_NAMES[t])
    }
}

/// Per-tag counts of a set of instances, in PPM column order (the PPM's input).
pub type Counts = [f64; N_TAGS];

/// The tag sets of a whole dataset, one per instance, in input order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TagMatrix {
    rows: Vec<TagSet>,
}

impl TagMatrix {
    /// A matrix from per-instance tag sets.
    pub fn new(rows: Vec<TagSet>) -> Self {
        TagMatrix { rows }
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no instances.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Tag set of instance `i`.
    pub fn row(&self, i: usize) -> TagSet {
        self.rows[i]
    }

    /// All rows.
    pub fn rows(&self) -> &[TagSet] {
        &self.rows
    }

    /// Per-tag counts over the instances selected by `selected` (the PPM features of a routing).
    pub fn counts_of(&self, selected: impl IntoIterator<Item = usize>) -> Counts {
        let mut counts = [0.0; N_TAGS];
        for i in selected {
            for t in self.rows[i].iter() {
                counts[t] += 1.0;
            }
        }
        counts
    }

    /// Per-tag counts over every instance.
    pub fn total_counts(&self) -> Counts {
        self.counts_of(0..self.rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_has_a_readable_label() {
        let labels: Vec<String> = TAG_NAMES.iter().map(|t| tag_label(t).expect(t)).collect();
        assert_eq!(labels.iter().collect::<std::collections::HashSet<_>>().len(), N_TAGS);
        assert!(labels.contains(&"cosine_sim 0.33–0.67".to_string()));
        assert!(labels.contains(&"Subject: Medicine and health".to_string()));
        assert!(labels.contains(&"prompt_len percentile 0–0.33".to_string()));
        assert_eq!(tag_label("not a tag"), None);
    }

    #[test]
    fn tag_names_match_the_paper_order() {
        assert_eq!(TAG_NAMES.len(), N_TAGS);
        assert_eq!(TAG_NAMES[0], "bertscore::min_val=0.0|max_val=0.33");
        assert_eq!(
            tag_index("analyzer_closed_set::feature_name=subject_of_expertise|constraints=Family and consumer science"),
            Some(56)
        );
        assert_eq!(tag_index("nope"), None);
    }

    #[test]
    fn tagset_iterates_in_column_order_and_counts() {
        let mut s = TagSet::EMPTY;
        for t in [89, 0, 64, 3] {
            s.insert(t);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 3, 64, 89]);
        assert_eq!(s.len(), 4);
        assert!(s.contains(64) && !s.contains(65) && !s.contains(200));
        let m = TagMatrix::new(vec![s, TagSet(1 << 3)]);
        let c = m.total_counts();
        assert_eq!((c[0], c[3], c[64], c[89], c[1]), (1.0, 2.0, 1.0, 1.0, 0.0));
    }
}
