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
//! out, so memory stays bounded whatever the input's size (but for the memo below).
//!
//! **One request per key (single-flight).** A request may have a key ([`Work::key`]: the response
//! cache's key, a hash of everything that is sent). Within one run, a key is asked once: the first
//! request with that key (in hand-out order) is sent, and every later one waits for its reply, or
//! takes it if it has come, instead of sending another. Duplicated items (and, for the judge, a pair
//! and its twin with the completions swapped) thus get one reply between them -- not two replies
//! that a batching server may answer with different log-probabilities, of which the cache could
//! keep only one, so that a re-run from the cache could never give what the first run gave. Failures are shared
//! the same way (one outcome per key per run). The memo keeps a reply only while the response cache
//! does not hold it ([`Work::stored`]): a stored reply is forgotten, and a later request with its key
//! reads the cache (the same payload, so the same answer). Without a cache (`cache := false`) the memo
//! keeps every distinct reply of the run, a few hundred bytes each.

use crate::progress::Progress;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long [`Runner::next`] keeps gathering results once it has one.
pub const PACE: Duration = Duration::from_secs(1);

/// What to do with each item: how many requests it needs, one request, and the result of its answers.
pub trait Work: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Answer: Clone + Send + 'static;
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
    /// The key of request `k` of `item`: requests with equal keys are asked once per run and share
    /// the reply (see the module doc). `None` (the default): never shared. Called when the item is
    /// read, off the runner's lock.
    fn key(&self, _item: &Self::Item, _k: usize) -> Option<String> {
        None
    }
    /// Whether the response cache holds `answer`, so that asking its key again reads the cache
    /// instead of sending a request: the runner then need not remember it.
    fn stored(&self, _answer: &Self::Answer) -> bool {
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
    /// The key of each request ([`Work::key`]).
    keys: Vec<Option<String>>,
    answers: Vec<Option<W::Answer>>,
    next_k: usize,
    remaining: usize,
}

/// A key asked in this run: its request is in flight (with the requests waiting for its reply, as
/// (item, request)), or its reply has come and the cache does not hold it.
enum Slot<A> {
    Asked(Vec<(u64, usize)>),
    Answered(A),
}

/// A request to send: item sequence number, request index, the item, the request's key.
type Job<I> = (u64, usize, Arc<I>, Option<String>);

struct State<W: Work> {
    /// Items read and not yet finished, by sequence number.
    pending: BTreeMap<u64, Pending<W>>,
    /// The keys asked in this run (single-flight; see the module doc).
    slots: HashMap<String, Slot<W::Answer>>,
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

    /// The next request to send, reading the source when no read item has one left. `None`: stop.
    fn next_job(&self) -> Option<Job<W::Item>> {
        let mut st = self.lock();
        loop {
            if st.cancelled {
                return None;
            }
            if let Some(job) = self.take_job(&mut st) {
                return Some(job);
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
                // Request counts and keys off the lock: a key hashes the whole request.
                let batch = batch.map(|items| {
                    items.map(|items| {
                        let keyed: Vec<(W::Item, Vec<Option<String>>)> = items
                            .into_iter()
                            .map(|item| {
                                let keys =
                                    (0..self.work.requests(&item)).map(|k| self.work.key(&item, k)).collect();
                                (item, keys)
                            })
                            .collect();
                        keyed
                    })
                });
                st = self.lock();
                st.reading = false;
                match batch {
                    Ok(Some(items)) => {
                        for (item, keys) in items {
                            let seq = st.read;
                            st.read += 1;
                            if keys.is_empty() {
                                let out = self.work.finish(&item, Vec::new());
                                st.ready.insert(seq, out);
                            } else {
                                let n = keys.len();
                                let p = Pending {
                                    item: Arc::new(item),
                                    keys,
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

    /// The first request not yet handed out whose key is not asked yet. Those before it whose key
    /// is asked wait for that reply, or take it if it has come.
    fn take_job(&self, st: &mut State<W>) -> Option<Job<W::Item>> {
        loop {
            let (&seq, p) = st.pending.iter_mut().find(|(_, p)| p.next_k < p.answers.len())?;
            let k = p.next_k;
            p.next_k += 1;
            let item = Arc::clone(&p.item);
            let Some(key) = p.keys[k].clone() else { return Some((seq, k, item, None)) };
            match st.slots.get_mut(&key) {
                None => {
                    st.slots.insert(key.clone(), Slot::Asked(Vec::new()));
                    return Some((seq, k, item, Some(key)));
                }
                Some(Slot::Asked(waiting)) => waiting.push((seq, k)),
                Some(Slot::Answered(answer)) => {
                    let answer = answer.clone();
                    self.progress.advance_cached(1);
                    self.deliver(st, seq, k, answer);
                }
            }
        }
    }

    /// Sets the answer of request `k` of item `seq`; the item's result once it has them all.
    fn deliver(&self, st: &mut State<W>, seq: u64, k: usize, answer: W::Answer) {
        let Some(p) = st.pending.get_mut(&seq) else { return };
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

    fn worker(self: Arc<Self>) {
        while let Some((seq, k, item, key)) = self.next_job() {
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
            if let Some(key) = key {
                // The requests that waited for this key take the same reply (no request of their own).
                let waiting = match st.slots.remove(&key) {
                    Some(Slot::Asked(waiting)) => waiting,
                    _ => Vec::new(),
                };
                self.progress.advance_cached(waiting.len() as u64);
                for (s, j) in waiting {
                    self.deliver(&mut st, s, j, answer.clone());
                }
                if !work.stored(&answer) {
                    st.slots.insert(key, Slot::Answered(answer.clone()));
                }
            }
            self.deliver(&mut st, seq, k, answer);
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
                slots: HashMap::new(),
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

    /// Item n's one request has key n % 7 (so keys repeat across items) and answers with a serial
    /// number: two sends of one key would give different answers. With `store`, replies also go to
    /// an in-memory "cache" that `ask` reads first, as the response cache does.
    struct Keyed {
        sent: Mutex<HashMap<u64, usize>>,
        serial: AtomicUsize,
        store: Option<Mutex<HashMap<u64, usize>>>,
    }

    impl Keyed {
        fn new(store: bool) -> Keyed {
            Keyed {
                sent: Mutex::new(HashMap::new()),
                serial: AtomicUsize::new(0),
                store: store.then(|| Mutex::new(HashMap::new())),
            }
        }
    }

    impl Work for Keyed {
        type Item = u64;
        type Answer = usize;
        type Output = (u64, usize);
        fn requests(&self, _: &u64) -> usize {
            1
        }
        fn key(&self, item: &u64, _: usize) -> Option<String> {
            Some(format!("k{}", item % 7))
        }
        fn ask(&self, item: &u64, _: usize) -> usize {
            if let Some(hit) = self.store.as_ref().and_then(|c| c.lock().unwrap().get(&(item % 7)).copied()) {
                return hit;
            }
            *self.sent.lock().unwrap().entry(item % 7).or_default() += 1;
            let answer = self.serial.fetch_add(1, Ordering::SeqCst);
            // Slow enough that later items with the same key arrive while it is in flight.
            std::thread::sleep(Duration::from_millis(20 + item % 3 * 10));
            if let Some(c) = &self.store {
                c.lock().unwrap().insert(item % 7, answer);
            }
            answer
        }
        fn stored(&self, _: &usize) -> bool {
            self.store.is_some()
        }
        fn failed(&self, _: String) -> usize {
            usize::MAX
        }
        fn finish(&self, item: &u64, answers: Vec<usize>) -> (u64, usize) {
            (*item, answers[0])
        }
    }

    #[test]
    fn each_key_is_sent_once_per_run_and_its_reply_shared() {
        for store in [false, true] {
            for concurrency in [1, 4] {
                let work = Arc::new(Keyed::new(store));
                let runner =
                    Runner::start(Arc::clone(&work), source(60, 9, None), concurrency, 16, Progress::off());
                let mut out = Vec::new();
                while let Some(rows) = runner.next(5).unwrap() {
                    out.extend(rows);
                }
                assert_eq!(out.iter().map(|r| r.0).collect::<Vec<_>>(), (0..60).collect::<Vec<_>>());
                let sent = work.sent.lock().unwrap().clone();
                assert_eq!(sent.len(), 7, "store {store}, concurrency {concurrency}");
                assert!(sent.values().all(|&n| n == 1), "store {store}, concurrency {concurrency}: {sent:?}");
                // Every item of a key got the one reply of that key.
                for (item, answer) in &out {
                    assert_eq!(*answer, out[(item % 7) as usize].1, "item {item}");
                }
            }
        }
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
