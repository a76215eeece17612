//! Tagging on a background thread, handed out so that every call returns soon.
//!
//! A DuckDB scan can be interrupted only between the chunks it returns, and it
//! must return at least one row per call (an empty chunk ends the scan). With an
//! embedding model the smallest unit of work that completes a row is one chunk
//! of 16 pairs per thread — seconds of work on llmbar, more on long texts — and
//! it cannot be cut smaller without changing values in their last bits (texts
//! share forward passes with their chunk-mates). So [`PacedStream`] runs the
//! [`TagStream`] on a thread of its own and keeps a small reserve of finished
//! rows: while the next step is being computed, each call waits at most
//! [`PACE`] and hands out one row from the reserve; rows beyond
//! [`RESERVE_ROWS`] go out at once, and everything goes out when the work is
//! done. The wait is spread so that the reserve lasts until the next step is
//! expected (the time between the last steps, divided by the rows in reserve,
//! between [`MIN_PACE`] and [`PACE`]): a slow machine or long texts make the
//! calls slower, never the reserve run dry sooner than it must. The rows, their order and their values are the [`TagStream`]'s; only
//! the moments they are handed out differ, so the whole run takes no longer.
//!
//! Dropping the stream (DuckDB destroys the scan's state when the query ends,
//! is interrupted or fails) tells the worker to stop: it finishes the step it
//! is in and exits, and nothing it holds outlives that step.

use super::{InputColumns, InstanceTags, TagOptions, TagStream};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::parallel::panic_message;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a call waits for the worker while the reserve still holds rows.
pub const PACE: Duration = Duration::from_millis(1000);

/// Shortest wait (when the worker is fast, rows go out as they come anyway).
pub const MIN_PACE: Duration = Duration::from_millis(100);

/// Finished rows kept back to hand out one per call while the next step runs
/// (two steps' worth on two threads with a model).
pub const RESERVE_ROWS: usize = 64;

/// Steps computed ahead of the rows handed out (bounds memory to a few windows).
const AHEAD: usize = 2;

/// The rows of a [`TagStream`] computed on a background thread, handed out paced.
pub struct PacedStream {
    rows: Receiver<Result<Vec<InstanceTags>>>,
    reserve: VecDeque<InstanceTags>,
    /// The worker has sent its last message.
    finished: bool,
    /// An error the worker sent, handed out after the rows before it.
    failed: Option<Error>,
    stop: Arc<AtomicBool>,
    /// When the last message came, and the typical time between messages.
    last: Option<Instant>,
    interval: Option<Duration>,
}

impl PacedStream {
    /// Starts the first pass and the tagging on a background thread.
    pub fn start(ds: &Dataset, inputs: &InputColumns, opts: &TagOptions) -> Result<PacedStream> {
        let (tx, rx) = sync_channel(AHEAD);
        let stop = Arc::new(AtomicBool::new(false));
        let (ds, inputs, opts, halt) = (ds.clone(), inputs.clone(), opts.clone(), stop.clone());
        let work = move || {
            let run = || -> Result<()> {
                let mut stream = TagStream::new(&ds, &inputs, &opts)?;
                while !halt.load(Ordering::Relaxed) {
                    match stream.next_rows()? {
                        // A send fails when the receiver is gone: nobody wants the rest.
                        Some(rows) => {
                            if tx.send(Ok(rows)).is_err() {
                                break;
                            }
                        }
                        None => break,
                    }
                }
                Ok(())
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                .unwrap_or_else(|p| Err(Error::Internal(panic_message(&p))));
            if let Err(e) = outcome {
                let _ = tx.send(Err(e));
            }
        };
        std::thread::Builder::new()
            .name("prefroute-tagging".into())
            .spawn(work)
            .map_err(|e| Error::Internal(format!("cannot start the tagging thread: {e}")))?;
        Ok(PacedStream {
            rows: rx,
            reserve: VecDeque::new(),
            finished: false,
            failed: None,
            stop,
            last: None,
            interval: None,
        })
    }

    /// The next rows in input order (at least one); `None` after the last.
    ///
    /// Returns within [`PACE`] while the reserve holds rows; blocks only when it
    /// is empty and the worker has not finished the next step.
    pub fn next_rows(&mut self) -> Result<Option<Vec<InstanceTags>>> {
        // Whatever is ready, without waiting.
        while !self.finished {
            match self.rows.try_recv() {
                Ok(message) => self.take(message),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.finished = true,
            }
        }
        if !self.finished {
            if self.reserve.is_empty() {
                match self.rows.recv() {
                    Ok(message) => self.take(message),
                    Err(_) => self.finished = true,
                }
            } else if self.reserve.len() <= RESERVE_ROWS {
                match self.rows.recv_timeout(self.pace()) {
                    Ok(message) => self.take(message),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => self.finished = true,
                }
            }
        }
        let n = if self.finished {
            self.reserve.len()
        } else {
            // Keep the reserve; hand out at least one row.
            self.reserve.len().saturating_sub(RESERVE_ROWS).max(1).min(self.reserve.len())
        };
        if n == 0 {
            return match self.failed.take() {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
        Ok(Some(self.reserve.drain(..n).collect()))
    }

    /// How long this call may wait: the reserve spread over the time the next step
    /// is expected to take.
    fn pace(&self) -> Duration {
        let expected = self.interval.unwrap_or(PACE * RESERVE_ROWS as u32);
        let left = expected.saturating_sub(self.last.map_or(Duration::ZERO, |t| t.elapsed()));
        (left / self.reserve.len().max(1) as u32).clamp(MIN_PACE, PACE)
    }

    fn take(&mut self, message: Result<Vec<InstanceTags>>) {
        let now = Instant::now();
        if let Some(last) = self.last {
            let gap = now.duration_since(last);
            // A moving average over the last few steps.
            self.interval = Some(self.interval.map_or(gap, |i| (i * 3 + gap) / 4));
        }
        self.last = Some(now);
        match message {
            Ok(rows) => self.reserve.extend(rows),
            Err(e) => {
                // The worker stops after an error: hand out what came before it, then the error.
                self.failed = Some(e);
                self.finished = true;
            }
        }
    }
}

impl Drop for PacedStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ColumnOverrides;
    use crate::tags::pipeline::tag_dataset;

    fn open(path: &str) -> (Dataset, InputColumns) {
        let probe = Dataset::open(path, &ColumnOverrides::default(), &[]).expect("probe");
        let (inputs, extras) = InputColumns::detect(&probe, false);
        (Dataset::open(path, &ColumnOverrides::default(), &extras).expect("open"), inputs)
    }

    #[test]
    fn paced_rows_are_the_streams_rows() {
        let (ds, inputs) = open("examples/data/llmbar.parquet");
        for (threads, batch_rows) in [(1, 7), (2, 100)] {
            let opts = TagOptions { threads, batch_rows, ..TagOptions::default() };
            let want = tag_dataset(&ds, &inputs, &opts).expect("collect");
            let mut paced = PacedStream::start(&ds, &inputs, &opts).expect("start");
            let mut got = Vec::new();
            while let Some(rows) = paced.next_rows().expect("rows") {
                assert!(!rows.is_empty());
                got.extend(rows);
            }
            assert!(got == want, "{threads} threads, batches of {batch_rows}");
            assert!(paced.next_rows().expect("after the end").is_none());
        }
    }

    #[test]
    fn an_error_comes_after_the_rows_before_it_and_dropping_early_is_fine() {
        let (ds, inputs) = open("tests/fixtures/null_completion.parquet");
        let mut paced = PacedStream::start(&ds, &inputs, &TagOptions::default()).expect("start");
        let err = loop {
            match paced.next_rows() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("a NULL completion must fail"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(err.contains("NULL"), "{err}");
        // Dropped before the end: the worker stops on its own.
        let (ds, inputs) = open("examples/data/llmbar.parquet");
        let opts = TagOptions { batch_rows: 1, ..TagOptions::default() };
        let mut paced = PacedStream::start(&ds, &inputs, &opts).expect("start");
        assert!(paced.next_rows().expect("rows").is_some());
        drop(paced);
    }
}
