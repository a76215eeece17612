//! The two passes of tagging: [`TagStream::new`] reads the whole input for the
//! values that need all of it, [`TagStream::next_window`] reads it again and
//! tags one window of batches at a time.

use super::batch::{assign_tags, embed_chunks, embedding_chunks, measure_batch, tag_batch, EmbedChunk};
use super::{InputColumns, InstanceTags, TagOptions, LENGTH_MEASURES};
use crate::data::{Dataset, InstanceBatch, Unit, UnitReader};
use crate::error::{Error, Result};
use crate::parallel::map_ordered;
use crate::tags::stats::{FrozenStats, PrefStats};
use std::hash::{Hash, Hasher};

/// Tagging as a stream of windows, in input order, with memory bounded by one
/// window plus a few dozen bytes per row.
///
/// [`TagStream::new`] runs the first pass: the values that need the whole input
/// (the four length measures, binned by percentile rank over all rows, and the
/// TF-IDF document frequencies). [`TagStream::next_window`] then reads the input
/// again, a window of batches at a time, and tags each window in parallel.
pub struct TagStream {
    ds: Dataset,
    inputs: InputColumns,
    opts: TagOptions,
    lengths: LengthTable,
    /// The first pass's statistics (length ranks, TF-IDF vocabulary).
    stats: FrozenStats,
    /// Fingerprint of each first-pass window, to detect an input that changed since.
    fingerprints: Vec<u64>,
    windows: Windows,
    /// Rows handed out so far (= input index of the next row).
    next_row: usize,
    /// Windows read by the second pass so far.
    window: usize,
    /// The window being handed out, when its rows are not all out yet.
    pending: Option<Pending>,
}

/// A window of the second pass whose rows are being handed out.
struct Pending {
    batches: Vec<InstanceBatch>,
    /// The rows not yet handed out (the window's rows from `emitted` on).
    rows: Vec<InstanceTags>,
    /// The window's embedding chunks, in row order.
    chunks: Vec<EmbedChunk>,
    /// Chunks embedded so far.
    next_chunk: usize,
    /// Rows of the window handed out so far.
    emitted: usize,
}

impl TagStream {
    /// Runs the first pass over `ds` (opened as for [`tag_dataset`](super::tag_dataset)).
    pub fn new(ds: &Dataset, inputs: &InputColumns, opts: &TagOptions) -> Result<TagStream> {
        let threads = opts.threads.max(1);
        let mut lengths = LengthTable::new(inputs);
        // The same statistics the relation form's `pref_stats` computes, so both bin alike.
        let mut stats = PrefStats::new(opts.tokenizer);
        let mut fingerprints = Vec::new();
        let mut windows = Windows::new(ds, threads, opts.batch_rows);
        let progress = &opts.progress;
        progress.stage("pass 1 lengths", Some(ds.num_rows()));
        while let Some(batches) = windows.next_window()? {
            fingerprints.push(fingerprint(&batches));
            progress.advance(batches.iter().map(|b| b.len() as u64).sum());
            let done = map_ordered(&batches, threads, |b| measure_batch(ds, b, inputs, opts))?;
            for (part, part_df) in done {
                for row in &part {
                    stats.add_lengths(*row);
                }
                lengths.extend(part);
                if let Some(d) = part_df {
                    stats.add_documents(d);
                }
            }
        }
        let stats = stats.freeze();
        lengths.bin(&stats);
        let stage = if opts.model.is_some() { "pass 2 tags + embeddings" } else { "pass 2 tags" };
        progress.stage(stage, Some(lengths.len() as u64));
        Ok(TagStream {
            ds: ds.clone(),
            inputs: inputs.clone(),
            opts: opts.clone(),
            lengths,
            stats,
            fingerprints,
            windows: Windows::new(ds, threads, opts.batch_rows),
            next_row: 0,
            window: 0,
            pending: None,
        })
    }

    /// Number of rows the first pass read.
    pub fn num_rows(&self) -> usize {
        self.lengths.len()
    }

    /// Largest number of rows [`next_rows`](Self::next_rows) yields at once (a window).
    pub fn max_window_rows(&self) -> usize {
        self.windows.size * self.opts.batch_rows.max(1)
    }

    /// The next tagged rows, in input order (at least one); `None` after the last.
    /// Fails if the input changed since the first pass.
    ///
    /// Each call does one bounded step of work, so that a caller (a DuckDB scan,
    /// which can be interrupted only between the chunks it returns) gets control
    /// back often: reading and tagging a window's per-row measures, then — with an
    /// embedding model — up to one embedding chunk (`EMBED_CHUNK_PAIRS` = 16 pairs)
    /// per thread. The rows before the first chunk not yet embedded are returned.
    /// The chunks are the same however the work is stepped, so values are too.
    pub fn next_rows(&mut self) -> Result<Option<Vec<InstanceTags>>> {
        if self.pending.is_none() {
            match self.read_window()? {
                Some(p) => self.pending = Some(p),
                None => return Ok(None),
            }
        }
        let threads = self.opts.threads.max(1);
        let Some(p) = self.pending.as_mut() else { return Ok(None) };
        if let Some(model) = &self.opts.model {
            let end = (p.next_chunk + threads).min(p.chunks.len());
            let step = &p.chunks[p.next_chunk..end];
            embed_chunks(model, &p.batches, step, &mut p.rows, p.emitted, threads)?;
            p.next_chunk = end;
        }
        // Rows before the next chunk still to embed are complete.
        let ready = p.chunks.get(p.next_chunk).map_or(p.emitted + p.rows.len(), |c| c.first_row());
        let rest = p.rows.split_off(ready - p.emitted);
        let mut rows = std::mem::replace(&mut p.rows, rest);
        assign_tags(&mut rows, self.next_row, &self.lengths);
        self.next_row += rows.len();
        p.emitted = ready;
        if p.rows.is_empty() {
            self.pending = None;
        }
        self.opts.progress.advance(rows.len() as u64);
        Ok(Some(rows))
    }

    /// The rest of the current window, or the next whole window, in input order;
    /// `None` after the last. For callers that want whole windows at a time; the
    /// rows are those of [`next_rows`](Self::next_rows).
    pub fn next_window(&mut self) -> Result<Option<Vec<InstanceTags>>> {
        let Some(mut rows) = self.next_rows()? else { return Ok(None) };
        while self.pending.is_some() {
            match self.next_rows()? {
                Some(more) => rows.extend(more),
                None => break,
            }
        }
        Ok(Some(rows))
    }

    /// Reads the next window and tags its rows' per-row measures (embedding
    /// measures still missing); `None` at the end of the input.
    fn read_window(&mut self) -> Result<Option<Pending>> {
        let Some(batches) = self.windows.next_window()? else {
            if self.next_row != self.lengths.len() {
                return Err(self.changed(format!(
                    "the second read ended after {} rows, the first read {}",
                    self.next_row,
                    self.lengths.len()
                )));
            }
            self.opts.progress.finish();
            return Ok(None);
        };
        if self.fingerprints.get(self.window) != Some(&fingerprint(&batches)) {
            return Err(
                self.changed(format!("the rows from row {} on differ between the two reads", self.next_row))
            );
        }
        let mut items = Vec::with_capacity(batches.len());
        let mut first = self.next_row;
        for b in &batches {
            items.push((first, b));
            first += b.len();
        }
        if first > self.lengths.len() {
            return Err(self.changed(format!(
                "the second read has more than the {} rows of the first",
                self.lengths.len()
            )));
        }
        let (ds, inputs) = (&self.ds, &self.inputs);
        let lengths = &self.lengths;
        let df = self.opts.tfidf.then(|| self.stats.document_frequencies());
        let threads = self.opts.threads.max(1);
        let done = map_ordered(&items, threads, |(first, b)| tag_batch(ds, b, *first, inputs, lengths, df))?;
        let chunks = if self.opts.model.is_some() { embedding_chunks(&done) } else { Vec::new() };
        self.window += 1;
        Ok(Some(Pending {
            batches,
            rows: done.into_iter().flatten().collect(),
            chunks,
            next_chunk: 0,
            emitted: 0,
        }))
    }

    fn changed(&self, what: String) -> Error {
        Error::file(
            &self.ds.pattern,
            format!("the input changed while it was being tagged: {what}"),
            "do not rewrite the file while a query reads it; run the query again",
        )
    }
}

/// Rows per batch when tagging: small enough to spread a one-row-group file over threads.
pub const TAG_BATCH_ROWS: usize = 256;

/// Batches per thread in a window: enough to balance uneven batches.
pub(super) const BATCHES_PER_THREAD: usize = 4;

/// Reads a dataset in order, a window of batches (a few per thread) at a time.
struct Windows {
    ds: Dataset,
    units: std::vec::IntoIter<Unit>,
    reader: Option<UnitReader>,
    /// Batches per window.
    size: usize,
    batch_rows: usize,
}

impl Windows {
    fn new(ds: &Dataset, threads: usize, batch_rows: usize) -> Windows {
        Windows {
            ds: ds.clone(),
            units: ds.units().into_iter(),
            reader: None,
            size: threads * BATCHES_PER_THREAD,
            batch_rows: batch_rows.max(1),
        }
    }

    /// The next window (never empty), or `None` at the end of the input.
    fn next_window(&mut self) -> Result<Option<Vec<InstanceBatch>>> {
        let mut window = Vec::with_capacity(self.size);
        while window.len() < self.size {
            if let Some(batch) = self.reader.as_mut().and_then(Iterator::next) {
                window.push(batch?);
                continue;
            }
            match self.units.next() {
                Some(unit) => self.reader = Some(self.ds.read_unit(&unit, self.batch_rows)?),
                None => break,
            }
        }
        Ok((!window.is_empty()).then_some(window))
    }
}

/// A hash of a window's row ids and batch sizes (the two reads must agree on it).
fn fingerprint(batches: &[InstanceBatch]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    for b in batches {
        b.ids.hash(&mut h);
    }
    h.finish()
}

/// The first pass's values of the four length measures of every row (in
/// [`LENGTH_MEASURES`] order), exact, and their bins.
pub(super) struct LengthTable {
    values: LengthValues,
    /// Bin of each length measure of each row, 2 bits each ([`NO_BIN`] = none).
    bins: Vec<u8>,
}

/// Token counts when every length is computed (16 B/row); the values as read
/// otherwise (32 B/row), since pass-through values need not be integers.
enum LengthValues {
    Counts(Vec<[u32; 4]>),
    Values(Vec<[f64; 4]>),
}

const NO_BIN: u8 = 3;

impl LengthTable {
    fn new(inputs: &InputColumns) -> LengthTable {
        let values = if LENGTH_MEASURES.iter().any(|k| inputs.measures[*k]) {
            LengthValues::Values(Vec::new())
        } else {
            LengthValues::Counts(Vec::new())
        };
        LengthTable { values, bins: Vec::new() }
    }

    fn len(&self) -> usize {
        match &self.values {
            LengthValues::Counts(v) => v.len(),
            LengthValues::Values(v) => v.len(),
        }
    }

    fn extend(&mut self, rows: Vec<[f64; 4]>) {
        match &mut self.values {
            // Exact: every value is a token count (an integer below 2^32).
            LengthValues::Counts(v) => v.extend(rows.iter().map(|r| r.map(|x| x as u32))),
            LengthValues::Values(v) => v.extend(rows),
        }
    }

    /// Value `j` (index into [`LENGTH_MEASURES`]) of row `i`.
    pub(super) fn value(&self, i: usize, j: usize) -> f64 {
        match &self.values {
            LengthValues::Counts(v) => f64::from(v[i][j]),
            LengthValues::Values(v) => v[i][j],
        }
    }

    /// Bins every length measure by its percentile rank over all rows (SPEC §2.3),
    /// from `stats`, the statistics of these rows.
    fn bin(&mut self, stats: &FrozenStats) {
        let mut bins = vec![0; self.len()];
        for j in 0..LENGTH_MEASURES.len() {
            for (i, code) in bins.iter_mut().enumerate() {
                let bin = stats.length_bin(j, self.value(i, j));
                *code |= bin.map_or(NO_BIN, |b| b as u8) << (2 * j);
            }
        }
        self.bins = bins;
    }

    /// Bin of value `j` of row `i`.
    pub(super) fn bin_of(&self, i: usize, j: usize) -> Option<usize> {
        let code = (self.bins[i] >> (2 * j)) & 3;
        (code != NO_BIN).then_some(code as usize)
    }
}
