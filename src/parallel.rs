//! Deterministic data parallelism: work items are processed on a fixed number
//! of scoped threads, and results come back in item order, so the output never
//! depends on the thread count or on scheduling.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Number of worker threads to use when the caller has no preference.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Applies `f` to every item on up to `threads` threads; returns the results in
/// item order. The first error (in item order) wins. A panic in `f` becomes an
/// [`Error::Internal`] instead of unwinding into the caller.
pub fn map_ordered<I, T, F>(items: &[I], threads: usize, f: F) -> Result<Vec<T>>
where
    I: Sync,
    T: Send,
    F: Fn(&I) -> Result<T> + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    let run = |item: &I| match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item))) {
        Ok(r) => r,
        Err(p) => Err(Error::Internal(panic_message(&p))),
    };
    if threads == 1 {
        return items.iter().map(run).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<T>>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= items.len() {
            break;
        }
        let r = run(&items[i]);
        let failed = r.is_err();
        slots.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
        if failed {
            // Later items are not needed: the first error in item order is reported.
            next.fetch_max(items.len(), Ordering::Relaxed);
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        // The calling thread works too: its thread-local caches (stems, BPE pieces)
        // stay warm from one call to the next.
        work();
    });
    let slots = slots.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::with_capacity(items.len());
    for slot in slots {
        match slot {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            // Skipped after an earlier-claimed item failed; that error comes first or below.
            None => continue,
        }
    }
    if out.len() == items.len() {
        Ok(out)
    } else {
        Err(Error::Internal("parallel map lost an item".into()))
    }
}

/// The text of a caught panic payload.
pub fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with no message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_in_item_order_for_any_thread_count() {
        let items: Vec<u64> = (0..1000).collect();
        let one = map_ordered(&items, 1, |x| Ok(x * x)).unwrap();
        for t in [2, 3, 8] {
            assert_eq!(map_ordered(&items, t, |x| Ok(x * x)).unwrap(), one);
        }
    }

    #[test]
    fn errors_and_panics_become_errors() {
        let items: Vec<u64> = (0..100).collect();
        let e =
            map_ordered(&items, 4, |x| if *x == 37 { Err(Error::argument("bad 37", "")) } else { Ok(*x) });
        assert_eq!(e.unwrap_err().to_string(), "bad 37");
        let e = map_ordered(&items, 2, |x| if *x == 5 { panic!("boom") } else { Ok(*x) });
        assert!(e.unwrap_err().to_string().contains("boom"));
    }
}
