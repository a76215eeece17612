//! Tagging statistics: everything the 90 tags need to know about a whole input,
//! in a value that can be computed in pieces and merged exactly.
//!
//! Most tags are a function of one instance. Two families are not: the four
//! length measures are binned by their percentile rank over the whole input
//! (SPEC §2.3), and the TF-IDF cosine weighs terms by their document frequency
//! over every completion of the input. [`PrefStats`] holds exactly that:
//!
//! * the four length distributions as exact histograms (value → count), from
//!   which the average-tie percentile rank of any value follows exactly —
//!   `(#less + (#equal + 1) / 2) / n`, the same float operations as
//!   [`super::bins::percentile_ranks`];
//! * the TF-IDF vocabulary: each term's document frequency and the number of
//!   documents;
//! * the tokenizer the lengths were counted with, and the number of rows.
//!
//! **The contract.** Statistics are a commutative monoid: `merge(stats(A),
//! stats(B)) = stats(A ∪ B)` exactly, for any split of the rows, in any order —
//! counts are integers and nothing depends on arrival order. That is what lets
//! DuckDB compute them on all threads (an aggregate's `combine`), and a dataset
//! be tagged in shards on different machines and merged.
//!
//! **The wire format** ([`PrefStats::to_bytes`], version 1) is canonical: the
//! same statistics always give the same bytes (histograms by increasing value,
//! terms in byte order), so two values can be compared with `=`. Layout, all
//! integers little-endian: the magic `PRFSTATS`, the format version (u32), an
//! FNV-1a 64 fingerprint of the payload (u64), the payload's length (u64), then
//! the payload: tokenizer (u8: 0 = cl100k_base, 1 = o200k_base), rows (u64),
//! four histograms (entries u64, then per entry the value's f64 bits and its
//! count, u64 each), documents (u64), terms (u64), then per term its length
//! (u32), its UTF-8 bytes and its document frequency (u32). A reader checks the
//! magic, the version, the length and the fingerprint before it trusts a byte.

use super::bins::bin_of;
use super::tfidf::DocumentFrequencies;
use super::tokens::TokenizerKind;
use crate::error::{Error, Result};
use rustc_hash::FxHashMap;

/// The first bytes of a serialised [`PrefStats`].
pub const MAGIC: &[u8; 8] = b"PRFSTATS";
/// The wire format's version.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the payload: magic, version, fingerprint, payload length.
pub const HEADER_LEN: usize = 8 + 4 + 8 + 8;

/// The statistics of a set of instances (see the module essay).
#[derive(Clone, Debug)]
pub struct PrefStats {
    tokenizer: TokenizerKind,
    rows: u64,
    /// Per length measure (in [`super::pipeline::LENGTH_MEASURES`] order): value bits → count.
    lengths: [FxHashMap<u64, u64>; 4],
    df: DocumentFrequencies,
}

/// Canonical bits of a length value: −0.0 counts as 0.0; `None` for NaN (not counted).
fn key(v: f64) -> Option<u64> {
    if v.is_nan() {
        None
    } else if v == 0.0 {
        Some(0.0f64.to_bits())
    } else {
        Some(v.to_bits())
    }
}

impl PrefStats {
    /// No rows yet.
    pub fn new(tokenizer: TokenizerKind) -> PrefStats {
        PrefStats { tokenizer, rows: 0, lengths: Default::default(), df: DocumentFrequencies::new() }
    }

    pub fn tokenizer(&self) -> TokenizerKind {
        self.tokenizer
    }

    /// Rows counted.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Distinct TF-IDF terms.
    pub fn n_terms(&self) -> usize {
        self.df.n_terms()
    }

    /// Counts one instance whose four length measures (in [`super::pipeline::LENGTH_MEASURES`]
    /// order) are `lengths` and whose completions are `a` and `b`.
    pub fn add(&mut self, lengths: [f64; 4], a: &str, b: &str) {
        self.add_lengths(lengths);
        self.df.add_document(a);
        self.df.add_document(b);
    }

    /// Counts one row's lengths only (the caller adds its documents with [`Self::add_documents`]).
    pub fn add_lengths(&mut self, lengths: [f64; 4]) {
        self.rows += 1;
        for (h, v) in self.lengths.iter_mut().zip(lengths) {
            if let Some(k) = key(v) {
                *h.entry(k).or_insert(0) += 1;
            }
        }
    }

    /// Adds TF-IDF documents counted elsewhere (e.g. by a batch of the first pass).
    pub fn add_documents(&mut self, df: DocumentFrequencies) {
        self.df.merge(df);
    }

    /// Adds `other`'s counts: afterwards `self` is the statistics of both row sets.
    /// Statistics counted with different tokenizers cannot be merged.
    pub fn merge(&mut self, other: PrefStats) -> Result<()> {
        if other.tokenizer != self.tokenizer {
            return Err(Error::argument(
                format!(
                    "statistics counted with {} cannot be merged with statistics counted with {}",
                    other.tokenizer.name(),
                    self.tokenizer.name()
                ),
                "compute every shard's pref_stats with the same tokenizer",
            ));
        }
        self.rows += other.rows;
        for (mine, theirs) in self.lengths.iter_mut().zip(other.lengths) {
            if mine.len() < theirs.len() {
                let small = std::mem::replace(mine, theirs);
                for (k, c) in small {
                    *mine.entry(k).or_insert(0) += c;
                }
            } else {
                for (k, c) in theirs {
                    *mine.entry(k).or_insert(0) += c;
                }
            }
        }
        self.df.merge(other.df);
        Ok(())
    }

    /// The read-only form that ranks values and weighs terms.
    pub fn freeze(self) -> FrozenStats {
        let ranks = self.lengths.map(RankTable::new);
        let mut df = self.df;
        df.canonicalize();
        FrozenStats { tokenizer: self.tokenizer, rows: self.rows, ranks, df }
    }

    /// The canonical bytes (see the module essay).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut p = Vec::new();
        p.push(tokenizer_code(self.tokenizer));
        p.extend_from_slice(&self.rows.to_le_bytes());
        for h in &self.lengths {
            let mut entries: Vec<(f64, u64)> = h.iter().map(|(k, c)| (f64::from_bits(*k), *c)).collect();
            entries.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
            p.extend_from_slice(&(entries.len() as u64).to_le_bytes());
            for (v, c) in entries {
                p.extend_from_slice(&v.to_bits().to_le_bytes());
                p.extend_from_slice(&c.to_le_bytes());
            }
        }
        let terms = self.df.sorted_terms();
        p.extend_from_slice(&(self.df.n_documents() as u64).to_le_bytes());
        p.extend_from_slice(&(terms.len() as u64).to_le_bytes());
        for (t, c) in terms {
            p.extend_from_slice(&(t.len() as u32).to_le_bytes());
            p.extend_from_slice(t.as_bytes());
            p.extend_from_slice(&c.to_le_bytes());
        }
        let mut out = Vec::with_capacity(HEADER_LEN + p.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&fnv1a(&p).to_le_bytes());
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(&p);
        out
    }

    /// Reads a value written by [`Self::to_bytes`]. Anything else — another
    /// format, a newer version, a truncated or altered value — is an error that
    /// says which.
    pub fn from_bytes(bytes: &[u8]) -> Result<PrefStats> {
        let header = Header::read(bytes)?;
        let payload = &bytes[HEADER_LEN..];
        if payload.len() as u64 != header.payload_len {
            return Err(bad_stats(format!(
                "the value is truncated or padded ({} payload bytes, the header says {})",
                payload.len(),
                header.payload_len
            )));
        }
        if fnv1a(payload) != header.fingerprint {
            return Err(bad_stats(
                "its fingerprint does not match its contents (the value was altered)".into(),
            ));
        }
        let mut r = Reader { bytes: payload, at: 0 };
        let tokenizer = match r.u8()? {
            0 => TokenizerKind::Cl100k,
            1 => TokenizerKind::O200k,
            t => return Err(bad_stats(format!("unknown tokenizer code {t}"))),
        };
        let rows = r.u64()?;
        let mut lengths: [FxHashMap<u64, u64>; 4] = Default::default();
        for h in &mut lengths {
            let n = r.count(16)?;
            h.reserve(n);
            for _ in 0..n {
                let (v, c) = (r.u64()?, r.u64()?);
                h.insert(v, c);
            }
        }
        let n_docs = r.u64()? as usize;
        let n = r.count(8)?;
        let mut terms = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u32()? as usize;
            let t = std::str::from_utf8(r.take(len)?).map_err(|_| bad_stats("a term is not UTF-8".into()))?;
            terms.push((t.to_string(), r.u32()?));
        }
        if r.at != payload.len() {
            return Err(bad_stats("bytes left over after the last term".into()));
        }
        let df = DocumentFrequencies::from_sorted_terms(terms, n_docs)
            .ok_or_else(|| bad_stats("its terms are not in canonical order".into()))?;
        Ok(PrefStats { tokenizer, rows, lengths, df })
    }
}

/// What a serialised value's header says, read without touching the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub fingerprint: u64,
    pub payload_len: u64,
}

impl Header {
    /// The header of `bytes`; an error when it is not a prefroute statistics value.
    pub fn read(bytes: &[u8]) -> Result<Header> {
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err(bad_stats(format!(
                "it is not a pref_stats value ({} bytes{})",
                bytes.len(),
                if bytes.len() >= 8 { ", no PRFSTATS magic" } else { "" }
            )));
        }
        let u =
            |r: std::ops::Range<usize>| bytes[r].iter().rev().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let version = u(8..12) as u32;
        if version != FORMAT_VERSION {
            return Err(bad_stats(format!(
                "format version {version}; this prefroute reads version {FORMAT_VERSION}"
            )));
        }
        Ok(Header { version, fingerprint: u(12..20), payload_len: u(20..28) })
    }
}

fn bad_stats(message: String) -> Error {
    Error::argument(
        format!("the statistics value cannot be read: {message}"),
        "pass the BLOB that pref_stats(prompt, completion_a, completion_b) returned, unchanged",
    )
}

fn tokenizer_code(t: TokenizerKind) -> u8 {
    match t {
        TokenizerKind::Cl100k => 0,
        TokenizerKind::O200k => 1,
    }
}

/// FNV-1a, 64 bits: a stable content fingerprint (not a defence against forgery).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A cursor over a payload; every read checks the bounds.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| bad_stats("the payload ends early".into()))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
    /// A count of items of at least `item_bytes` each, checked against the bytes left.
    fn count(&mut self, item_bytes: usize) -> Result<usize> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.at) as u64;
        if n > left / item_bytes as u64 {
            return Err(bad_stats(format!("a count of {n} items does not fit the {left} bytes left")));
        }
        Ok(n as usize)
    }
}

/// One length measure's distribution, sorted, for exact percentile ranks.
#[derive(Clone, Debug, Default)]
pub struct RankTable {
    values: Vec<f64>,
    /// Values strictly below `values[i]`.
    below: Vec<u64>,
    counts: Vec<u64>,
    n: u64,
}

impl RankTable {
    fn new(h: FxHashMap<u64, u64>) -> RankTable {
        let mut entries: Vec<(f64, u64)> = h.into_iter().map(|(k, c)| (f64::from_bits(k), c)).collect();
        entries.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
        let mut t = RankTable::default();
        for (v, c) in entries {
            t.values.push(v);
            t.below.push(t.n);
            t.counts.push(c);
            t.n += c;
        }
        t
    }

    /// The average-tie percentile rank of `v` among the counted values:
    /// `(#less + (#equal + 1) / 2) / n`; NaN for NaN or when nothing was counted.
    /// A value that was not counted (a row tagged with another input's statistics)
    /// gets `#equal` = 0, capped at 1: `min(1, (#less + 1/2) / n)`.
    pub fn rank(&self, v: f64) -> f64 {
        if v.is_nan() || self.n == 0 {
            return f64::NAN;
        }
        let v = if v == 0.0 { 0.0 } else { v };
        let (less, equal) = match self.values.binary_search_by(|x| x.total_cmp(&v)) {
            Ok(i) => (self.below[i], self.counts[i]),
            Err(i) => (self.below.get(i).copied().unwrap_or(self.n), 0),
        };
        let rank = (less as f64 + (equal as f64 + 1.0) / 2.0) / self.n as f64;
        if equal == 0 {
            rank.min(1.0)
        } else {
            rank
        }
    }
}

/// Statistics ready to tag with: ranks and TF-IDF weights (see [`PrefStats::freeze`]).
#[derive(Clone, Debug)]
pub struct FrozenStats {
    pub tokenizer: TokenizerKind,
    pub rows: u64,
    ranks: [RankTable; 4],
    df: DocumentFrequencies,
}

impl FrozenStats {
    /// The bin of length measure `j` (index into [`super::pipeline::LENGTH_MEASURES`]) with value `v`.
    pub fn length_bin(&self, j: usize, v: f64) -> Option<usize> {
        bin_of(self.ranks[j].rank(v))
    }

    /// The TF-IDF vocabulary, canonically numbered.
    pub fn document_frequencies(&self) -> &DocumentFrequencies {
        &self.df
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::bins::percentile_ranks;

    fn stats_of(rows: &[([f64; 4], &str, &str)]) -> PrefStats {
        let mut s = PrefStats::new(TokenizerKind::Cl100k);
        for (l, a, b) in rows {
            s.add(*l, a, b);
        }
        s
    }

    fn sample() -> Vec<([f64; 4], &'static str, &'static str)> {
        vec![
            ([3.0, 1.0, 9.0, 2.0], "red apple", "green apple"),
            ([3.0, 0.0, 7.0, 2.0], "one two", ""),
            ([5.0, -0.0, 7.0, 4.0], "two three", "Three Four four"),
            ([1.0, 2.5, f64::NAN, 0.0], "", "x y zz"),
            ([3.0, 1.0, 9.0, 8.0], "apple", "apple pie"),
        ]
    }

    #[test]
    fn ranks_equal_the_pandas_average_ranks_of_the_whole_input() {
        let rows = sample();
        let frozen = stats_of(&rows).freeze();
        for j in 0..4 {
            let values: Vec<f64> = rows.iter().map(|r| r.0[j]).collect();
            let want = percentile_ranks(&values);
            for (v, w) in values.iter().zip(want) {
                let got = frozen.ranks[j].rank(*v);
                assert!(
                    got.to_bits() == w.to_bits() || (got.is_nan() && w.is_nan()),
                    "{j}: {v}: {got} vs {w}"
                );
            }
        }
        // A value never counted ranks between its neighbours: 1 of 5 below, none equal;
        // above every value it ranks 1.
        assert_eq!(frozen.ranks[0].rank(2.0), 1.5 / 5.0);
        assert_eq!(frozen.ranks[0].rank(99.0), 1.0);
    }

    #[test]
    fn merged_halves_serialise_to_the_bytes_of_the_whole() {
        let rows = sample();
        let whole = stats_of(&rows).to_bytes();
        for cut in 0..=rows.len() {
            let mut left = stats_of(&rows[..cut]);
            left.merge(stats_of(&rows[cut..])).unwrap();
            assert_eq!(left.to_bytes(), whole, "cut at {cut}");
            let mut right = stats_of(&rows[cut..]);
            right.merge(stats_of(&rows[..cut])).unwrap();
            assert_eq!(right.to_bytes(), whole, "reversed cut at {cut}");
        }
        let back = PrefStats::from_bytes(&whole).unwrap();
        assert_eq!(back.to_bytes(), whole);
        // red apple green one two three four zz pie ("x", "y": one character, not terms)
        assert_eq!((back.rows(), back.n_terms()), (5, 9));
    }

    #[test]
    fn tfidf_weights_match_fitting_on_every_completion() {
        let rows = sample();
        let mut df = DocumentFrequencies::new();
        for (_, a, b) in &rows {
            df.add_document(a);
            df.add_document(b);
        }
        df.canonicalize();
        let frozen = PrefStats::from_bytes(&stats_of(&rows).to_bytes()).unwrap().freeze();
        let c = frozen.document_frequencies().cosine("green apple pie", "apple four");
        assert!(c > 0.0 && c < 1.0);
        assert_eq!(c.to_bits(), df.cosine("green apple pie", "apple four").to_bits());
    }

    #[test]
    fn foreign_truncated_altered_or_mismatched_values_are_errors() {
        let bytes = stats_of(&sample()).to_bytes();
        let err = |b: &[u8]| PrefStats::from_bytes(b).unwrap_err().to_string();
        assert!(err(b"hello").contains("not a pref_stats value"), "{}", err(b"hello"));
        assert!(err(&bytes[..bytes.len() - 3]).contains("truncated"));
        let mut altered = bytes.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(err(&altered).contains("fingerprint"));
        let mut newer = bytes.clone();
        newer[8] = 9;
        assert!(err(&newer).contains("format version 9"));
        let mut o200k = PrefStats::new(TokenizerKind::O200k);
        o200k.add([1.0; 4], "a", "b");
        let e = stats_of(&sample()).merge(o200k).unwrap_err().to_string();
        assert!(e.contains("o200k_base") && e.contains("cl100k_base"), "{e}");
    }
}
