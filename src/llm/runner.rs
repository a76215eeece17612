//! The request runner shared by `judge_pairs` and the LLM tagger: items in, results out in input
//! order, the requests of many items in flight on background threads.
//!
//! An item (a pair to judge, a prompt to describe) needs a few requests (two orderings, eight
//! fields); they are the runner's jobs, handed out in (item, request) order to `max_concurrency`
//! worker threads, so the first item's requests are the first asked and it finishes early. A
//! finished item waits in a reorder buffer until every item before it is out: results leave in
//! input order, and each is a function of its item alone (the requests are greedy and seeded, and
//! each reply is cached as soon as it arrives), so what comes out does not depend on the number of
//! threads or on timing.
//!
//! [`Runner::next`] is what a DuckDB scan calls: it blocks until at least one result is ready (a
//! scan cannot return "nothing yet": an empty chunk ends it), then takes whatever else is ready, up
//! to `max_items` or until [`PACE`] has passed. So a call returns about once a second whenever the
//! server answers at all, and DuckDB, which acts on an interrupt only between calls, stops a long
//! run within a request's time. Dropping the runner (DuckDB drops the scan) starts no further
//! request; the requests in flight finish on their threads and are cached, and nothing waits for
//! them.
//!
//! The workers read items from the source themselves, at most `ahead` items past the last one handed
//! out, so memory stays bounded whatever the input's size.

use crate::progress::Progress;
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long [`Runner::next`] keeps gathering results once it has one.
pub const PACE: Duration = Duration::from_secs(1);

/// What to do with each item: how many requests it needs, one request, and the result of its answers.
pub trait Work: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Answer: Send + 'static;
    type Output: Send + 'static;
    /// The requests `item` needs (0: its result comes from [`Work::finish`] alone).
    fn requests(&self, item: &Self::Item) -> usize;
    /// Request `k` of `item` (`k < requests(item)`); runs on a worker thread and must not panic
    /// (a panic is caught and becomes [`Work::failed`]).
    fn ask(&self, item: &Self::Item, k: usize) -> Self::Answer;
    /// The answer of a request whose `ask` panicked.
    fn failed(&self, message: String) -> Self::Answer;
    /// Whether `answer` came from the response cache (no request made); the progress line counts
    /// such answers apart, so its rate and ETA are those of real requests.
    fn cached(&self, _answer: &Self::Answer) -> bool {
        false
    }
    /// The item's result from its answers, in request order.
    fn finish(&self, item: &Self::Item, answers: Vec<Self::Answer>) -> Self::Output;
}

/// Where items come from: a batch at a time, `None` at the end, an error stops the run after the
/// items before it.
pub type Source<I> = Box<dyn FnMut() -> Result<Option<Vec<I>>, String> + Send>;

struct Pending<W: Work> {
    item: Arc<W::Item>,
    answers: Vec<Option<W::Answer>>,
    next_k: usize,
    remaining: usize,
}

struct State<W: Work> {
    /// Items read and not yet finished, by sequence number.
    pending: BTreeMap<u64, Pending<W>>,
    /// Finished items not yet handed out.
    ready: BTreeMap<u64, W::Output>,
    /// Sequence number of the next item the source gives.
    read: u64,
    /// Sequence number of the next item to hand out.
    emitted: u64,
    /// The source is exhausted (or failed); `error` says why it failed.
    exhausted: bool,
    error: Option<String>,
    /// Some worker is reading the source.
    reading: bool,
    /// The consumer is gone: start nothing new.
    cancelled: bool,
}

struct Shared<W: Work> {
    work: Arc<W>,
    state: Mutex<State<W>>,
    changed: Condvar,
    source: Mutex<Source<W::Item>>,
    ahead: u64,
    progress: Progress,
}

impl<W: Work> Shared<W> {
    fn lock(&self) -> MutexGuard<'_, State<W>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next job, reading the source when no read item has one left. `None`: stop.
    fn next_job(&self) -> Option<(u64, usize, Arc<W::Item>)> {
        let mut st = self.lock();
        loop {
            if st.cancelled {
                return None;
            }
            if let Some((&seq, p)) = st.pending.iter_mut().find(|(_, p)| p.next_k < p.answers.len()) {
                let k = p.next_k;
                p.next_k += 1;
                return Some((seq, k, Arc::clone(&p.item)));
            }
            if st.exhausted && st.pending.is_empty() {
                return None;
            }
            if !st.exhausted && !st.reading && st.read < st.emitted + self.ahead {
                st.reading = true;
                drop(st);
                let batch = {
                    let mut source = self.source.lock().unwrap_or_else(|e| e.into_inner());
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut *source)).unwrap_or_else(|p| {
                        Err(format!("internal error: {}", crate::parallel::panic_message(&p)))
                    })
                };
                st = self.lock();
                st.reading = false;
                match batch {
                    Ok(Some(items)) => {
                        for item in items {
                            let n = self.work.requests(&item);
                            let seq = st.read;
                            st.read += 1;
                            if n == 0 {
                                let out = self.work.finish(&item, Vec::new());
                                st.ready.insert(seq, out);
                            } else {
                                let p = Pending {
                                    item: Arc::new(item),
                                    answers: (0..n).map(|_| None).collect(),
                                    next_k: 0,
                                    remaining: n,
                                };
                                st.pending.insert(seq, p);
                            }
                        }
                    }
                    Ok(None) => st.exhausted = true,
                    Err(e) => {
                        st.exhausted = true;
                        st.error = Some(e);
                    }
                }
                self.changed.notify_all();
                continue;
            }
            // Nothing to do until an item is handed out, read, or finished.
            st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn worker(self: Arc<Self>) {
        while let Some((seq, k, item)) = self.next_job() {
            let work = &self.work;
            let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work.ask(&item, k)))
                .unwrap_or_else(|p| {
                    work.failed(format!("internal error: {}", crate::parallel::panic_message(&p)))
                });
            drop(item);
            if work.cached(&answer) {
                self.progress.advance_cached(1);
            } else {
                self.progress.advance(1);
            }
            let mut st = self.lock();
            let Some(p) = st.pending.get_mut(&seq) else { continue };
            p.answers[k] = Some(answer);
            p.remaining -= 1;
            if p.remaining == 0 {
                if let Some(p) = st.pending.remove(&seq) {
                    let answers: Vec<W::Answer> = p.answers.into_iter().flatten().collect();
                    let out = self.work.finish(&p.item, answers);
                    st.ready.insert(seq, out);
                }
                self.changed.notify_all();
            }
        }
        self.changed.notify_all();
    }
}

/// Runs the requests of a stream of items on background threads; see the module doc.
pub struct Runner<W: Work> {
    shared: Arc<Shared<W>>,
}

impl<W: Work> Runner<W> {
    /// Starts `concurrency` workers over `source`, reading at most `ahead` items past the last one
    /// handed out. `progress` advances by one per request finished (cached ones included).
    pub fn start(
        work: Arc<W>,
        source: Source<W::Item>,
        concurrency: usize,
        ahead: usize,
        progress: Progress,
    ) -> Runner<W> {
        let shared = Arc::new(Shared {
            work,
            state: Mutex::new(State {
                pending: BTreeMap::new(),
                ready: BTreeMap::new(),
                read: 0,
                emitted: 0,
                exhausted: false,
                error: None,
                reading: false,
                cancelled: false,
            }),
            changed: Condvar::new(),
            source: Mutex::new(source),
            ahead: ahead.max(1) as u64,
            progress,
        });
        for i in 0..concurrency.max(1) {
            let s = Arc::clone(&shared);
            let spawned =
                std::thread::Builder::new().name(format!("prefroute-llm-{i}")).spawn(move || s.worker());
            if spawned.is_err() && i == 0 {
                // Not even one thread: fail the run rather than hang.
                let mut st = shared.lock();
                st.exhausted = true;
                st.error = Some("cannot start a request thread".into());
            }
        }
        Runner { shared }
    }

    /// The next results in input order: at least one, at most `max_items`, gathered for at most
    /// [`PACE`] once the first is ready. `Ok(None)` after the last; an error of the source after
    /// the results before it.
    pub fn next(&self, max_items: usize) -> Result<Option<Vec<W::Output>>, String> {
        let started = Instant::now();
        let mut out = Vec::new();
        let mut st = self.shared.lock();
        loop {
            while out.len() < max_items.max(1) {
                let seq = st.emitted;
                match st.ready.remove(&seq) {
                    Some(o) => {
                        out.push(o);
                        st.emitted += 1;
                    }
                    None => break,
                }
            }
            if !out.is_empty() {
                // Room to read further ahead.
                self.shared.changed.notify_all();
            }
            let done = st.exhausted && st.pending.is_empty() && st.ready.is_empty();
            if out.len() >= max_items.max(1) || done {
                break;
            }
            let waited = started.elapsed();
            if !out.is_empty() && waited >= PACE {
                break;
            }
            let wait = if out.is_empty() { PACE } else { PACE - waited };
            st = self.shared.changed.wait_timeout(st, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
        if out.is_empty() {
            if let Some(e) = st.error.take() {
                return Err(e);
            }
            return Ok(None);
        }
        Ok(Some(out))
    }
}

impl<W: Work> Drop for Runner<W> {
    fn drop(&mut self) {
        self.shared.lock().cancelled = true;
        self.shared.changed.notify_all();
        self.shared.progress.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Item n needs n % 3 requests; request k answers n * 10 + k after a delay that varies.
    struct Toy {
        asked: AtomicUsize,
    }

    impl Work for Toy {
        type Item = u64;
        type Answer = u64;
        type Output = (u64, Vec<u64>);
        fn requests(&self, item: &u64) -> usize {
            (*item % 3) as usize
        }
        fn ask(&self, item: &u64, k: usize) -> u64 {
            self.asked.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis((item * 7 + k as u64) % 5));
            item * 10 + k as u64
        }
        fn failed(&self, _: String) -> u64 {
            u64::MAX
        }
        fn finish(&self, item: &u64, answers: Vec<u64>) -> (u64, Vec<u64>) {
            (*item, answers)
        }
    }

    fn source(n: u64, batch: u64, fail_at: Option<u64>) -> Source<u64> {
        let mut next = 0;
        Box::new(move || {
            if fail_at == Some(next) {
                return Err("broken input".into());
            }
            if next >= n {
                return Ok(None);
            }
            let items: Vec<u64> = (next..(next + batch).min(n)).collect();
            next += items.len() as u64;
            Ok(Some(items))
        })
    }

    fn run(concurrency: usize, fail_at: Option<u64>) -> (Vec<(u64, Vec<u64>)>, Option<String>) {
        let work = Arc::new(Toy { asked: AtomicUsize::new(0) });
        let runner = Runner::start(work, source(50, 7, fail_at), concurrency, 10, Progress::off());
        let mut out = Vec::new();
        loop {
            match runner.next(4) {
                Ok(Some(rows)) => {
                    assert!(!rows.is_empty() && rows.len() <= 4);
                    out.extend(rows)
                }
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn results_come_in_input_order_whatever_the_concurrency() {
        let (one, e1) = run(1, None);
        let (four, e4) = run(4, None);
        assert_eq!((e1, e4), (None, None));
        assert_eq!(one, four);
        assert_eq!(one.len(), 50);
        for (i, (item, answers)) in one.iter().enumerate() {
            assert_eq!(*item, i as u64);
            let want: Vec<u64> = (0..i as u64 % 3).map(|k| i as u64 * 10 + k).collect();
            assert_eq!(answers, &want);
        }
    }

    /// One request per item, each taking 150 ms.
    struct Slow;

    impl Work for Slow {
        type Item = u64;
        type Answer = u64;
        type Output = u64;
        fn requests(&self, _: &u64) -> usize {
            1
        }
        fn ask(&self, item: &u64, _: usize) -> u64 {
            std::thread::sleep(Duration::from_millis(150));
            *item
        }
        fn failed(&self, _: String) -> u64 {
            u64::MAX
        }
        fn finish(&self, item: &u64, answers: Vec<u64>) -> u64 {
            assert_eq!(answers, vec![*item]);
            *item
        }
    }

    #[test]
    fn a_call_returns_after_about_a_second_with_what_is_done() {
        let runner = Runner::start(Arc::new(Slow), source(100, 10, None), 1, 1000, Progress::off());
        let t0 = Instant::now();
        let first = runner.next(1000).unwrap().unwrap();
        let took = t0.elapsed();
        // Not all 100 (15 s of requests): what finished within the pace, in order.
        assert!(took >= PACE && took < PACE + Duration::from_millis(900), "{took:?}");
        assert!(!first.is_empty() && first.len() < 20, "{}", first.len());
        assert_eq!(first, (0..first.len() as u64).collect::<Vec<_>>());
    }

    #[test]
    fn a_source_error_comes_after_the_items_before_it() {
        let (rows, err) = run(3, Some(21));
        assert_eq!(rows.len(), 21);
        assert_eq!(err.as_deref(), Some("broken input"));
    }

    #[test]
    fn a_dropped_runner_starts_no_more_requests() {
        let work = Arc::new(Toy { asked: AtomicUsize::new(0) });
        let runner = Runner::start(Arc::clone(&work), source(10_000, 5, None), 2, 20, Progress::off());
        let first = runner.next(1).unwrap().unwrap();
        assert_eq!(first[0].0, 0);
        drop(runner);
        std::thread::sleep(Duration::from_millis(100));
        let after = work.asked.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(work.asked.load(Ordering::Relaxed), after);
        // Reading stops `ahead` items (plus a batch) past the last handed out: far fewer than 10,000.
        assert!(after < 60, "{after} requests");
    }
}
