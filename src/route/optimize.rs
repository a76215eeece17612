//! prefroute's `optimize` strategy: search for the `k` instances whose routed
//! set has the highest predicted score under the PPM.
//!
//! * **Linear PPM**: the score is `b + Σ_i gain_i` over the routed set, so the
//!   exact optimum is the top `k` by gain (identical to `topk`).
//! * **Quadratic PPM**: instances interact through the counts, and the exact
//!   optimum is a hard combinatorial problem. The search uses the exact
//!   incremental gains of the objective (a gradient `g = w + S c`, and per
//!   instance `x·g + q(x)` to add it, `x·g − q(x)` to remove it):
//!   1. *Starts*: a forward greedy (from ∅, add the largest marginal gains), a
//!      backward greedy (from every instance, remove the smallest losses), and
//!      the `topk` set. Small problems add one instance per greedy round
//!      (plain greedy); larger ones move `k / rounds` per round so the work
//!      stays near [`GREEDY_WORK`] gain evaluations (at least 8 rounds: the
//!      swap search does most of the work on large problems). Tiny
//!      problems (`n·k` up to 10⁵) also run forward greedies with each of the
//!      best stand-alone instances forced in first. A greedy always routes exactly
//!      `k` instances, even when every remaining gain is negative: the budget
//!      is what the user asked for, and a smaller routed set is a different budget.
//!   2. *Swap search*, from each start: pair the outside instances (best gain
//!      first) with the routed ones (smallest loss first); swap every pair whose
//!      estimated gain is positive at once if the exact change of the whole
//!      batch improves the score, else halve the batch. When no batch improves,
//!      apply the best exact single swap among the top [`PAIR_POOL`] on each
//!      side. Stop when nothing improves, or after a number of rounds set by
//!      [`SEARCH_WORK`] (30 rounds for a million instances, at most 1000).
//!   3. Keep the best result (the earliest start on ties).
//!
//!   On small problems checked exhaustively (n ≤ 12, every k) this finds the
//!   exact optimum (tests/route_optimize.rs); there is no optimality guarantee.
//!
//! Every step is deterministic (ties go to the lower input index); threads
//! only split the per-instance gain computations, so they never change the result.

use super::objective::Objective;
use super::topk::top_k_by;
use super::{check_k, Routing};
use crate::error::{Error, Result};
use crate::ppm::DenseModel;
use crate::tags::{Counts, TagMatrix, TagSet, N_TAGS};
use std::cmp::Ordering;

/// Instance-gain evaluations the greedy start may spend (sets the round count).
pub const GREEDY_WORK: usize = 50_000;
/// Extra seeded starts are run while `starts × n × k` stays below this.
const SEEDED_START_WORK: usize = 100_000;
/// The greedy start uses at least this many rounds (unless `k` is smaller).
const MIN_GREEDY_ROUNDS: usize = 8;
/// Instance-gain evaluations one swap search may spend (each round evaluates
/// every instance once); bounds the rounds, within [`MIN_SEARCH_ROUNDS`, `MAX_SEARCH_ROUNDS`].
pub const SEARCH_WORK: usize = 30_000_000;
/// Swap-search rounds always allowed from each start.
pub const MIN_SEARCH_ROUNDS: usize = 30;
/// Upper bound on swap-search rounds from each start.
pub const MAX_SEARCH_ROUNDS: usize = 1000;
/// Instances on each side considered for an exact single swap.
pub const PAIR_POOL: usize = 32;
/// The swap search orders at least this many candidates on each side per round.
const MIN_WINDOW: usize = 1024;
/// A move must beat rounding: improve by more than this fraction of its gross terms.
const REL_TOL: f64 = 1e-9;
/// Below this many items, per-instance gains are computed on one thread
/// (lower in unit tests, so that small tests exercise the threaded path).
const PARALLEL_MIN: usize = if cfg!(test) { 100 } else { 50_000 };

/// Routes `k` instances to maximise the PPM's predicted score of the routed set.
pub fn optimize(tags: &TagMatrix, model: &DenseModel, k: usize, threads: usize) -> Result<Routing> {
    let n = tags.len();
    check_k(k, n)?;
    let obj = Objective::new(model)?;
    let n32 = u32::try_from(n).map_err(|_| {
        Error::argument(
            format!("{n} instances are more than the {} optimize supports", u32::MAX),
            "split the data",
        )
    })?;
    let all: Vec<u32> = (0..n32).collect();
    let rows = tags.rows();
    let standalone = par_map(&all, threads, |i| obj.standalone(rows[i as usize]));
    if !obj.is_quadratic() || k == 0 || k == n {
        return Ok(Routing::with_marginals(tags, model, &obj, top_k_by(&standalone, k)));
    }
    let within = par_map(&all, threads, |i| obj.within(rows[i as usize]));
    let search = Search { rows, obj: &obj, within: &within, all: &all, threads };
    // Small problems afford more starts: forward greedy with each of the
    // best stand-alone instances forced in first.
    let extra = (SEEDED_START_WORK / n.saturating_mul(k).max(1)).min(n);
    let mut seeds: Scored = Vec::new();
    if extra > 0 {
        seeds = standalone.iter().copied().zip(all.iter().copied()).collect();
        seeds.sort_unstable_by(best_first);
    }
    let starts = [Start::Forward(None), Start::Backward, Start::TopK]
        .into_iter()
        .chain(seeds.iter().take(extra).map(|s| Start::Forward(Some(s.1 as usize))));
    let mut best: Option<(f64, State)> = None;
    for start in starts {
        let st = match start {
            Start::Forward(first) => search.greedy(k, true, first),
            Start::Backward => search.greedy(k, false, None),
            Start::TopK => search.state(top_k_by(&standalone, k)),
        };
        let st = search.local_search(st);
        let value = obj.value(&st.counts);
        if best.as_ref().is_none_or(|(v, _)| value > *v) {
            best = Some((value, st));
        }
    }
    let inside = best.map(|(_, st)| st.inside).unwrap_or_default();
    Ok(Routing::with_marginals(tags, model, &obj, inside))
}

/// Where a search starts.
enum Start {
    /// Forward greedy, optionally with one instance forced in first.
    Forward(Option<usize>),
    Backward,
    TopK,
}

/// A routed set and its counts.
struct State {
    inside: Vec<bool>,
    counts: Counts,
}

impl State {
    fn add(&mut self, i: usize, s: TagSet) {
        self.inside[i] = true;
        for t in s.iter() {
            self.counts[t] += 1.0;
        }
    }

    fn remove(&mut self, i: usize, s: TagSet) {
        self.inside[i] = false;
        for t in s.iter() {
            self.counts[t] -= 1.0;
        }
    }
}

/// Everything the search phases share.
struct Search<'a> {
    rows: &'a [TagSet],
    obj: &'a Objective,
    /// `q(x_i)` per instance.
    within: &'a [f64],
    /// `0..n`, for computing a gain for every instance.
    all: &'a [u32],
    threads: usize,
}

/// `(score, instance index)` pairs.
type Scored = Vec<(f64, u32)>;

/// `(score, index)` ordered by score descending, then index ascending.
fn best_first(a: &(f64, u32), b: &(f64, u32)) -> Ordering {
    b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1))
}

/// `(score, index)` ordered by score ascending, then index ascending.
fn worst_first(a: &(f64, u32), b: &(f64, u32)) -> Ordering {
    a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1))
}

impl Search<'_> {
    fn state(&self, inside: Vec<bool>) -> State {
        let mut counts = [0.0; N_TAGS];
        for (s, _) in self.rows.iter().zip(&inside).filter(|(_, h)| **h) {
            for t in s.iter() {
                counts[t] += 1.0;
            }
        }
        State { inside, counts }
    }

    /// Builds a routed set of exactly `k` instances by (batched) greedy ascent:
    /// forward from ∅ adding the largest gains, or backward from every
    /// instance removing the smallest losses.
    fn greedy(&self, k: usize, forward: bool, first: Option<usize>) -> State {
        let n = self.rows.len();
        let mut st = self.state(vec![!forward; n]);
        // Instances that may still move (outside if forward, routed if backward).
        let mut pool: Vec<u32> = self.all.to_vec();
        let mut moves = if forward { k } else { n - k };
        if let (Some(i), true) = (first, forward && k > 0) {
            st.add(i, self.rows[i]);
            pool.retain(|j| *j as usize != i);
            moves -= 1;
        }
        let rounds = moves.min(MIN_GREEDY_ROUNDS.max(GREEDY_WORK / n.max(1))).max(1);
        let mut scored: Scored = pool.into_iter().map(|i| (0.0, i)).collect();
        let mut done = 0;
        for r in 0..rounds {
            let target = (moves as u128 * (r as u128 + 1) / rounds as u128) as usize;
            let batch = target - done;
            if batch == 0 {
                continue;
            }
            let g = self.obj.gradient(&st.counts);
            // Higher is better to move: the gain of adding, or minus the loss of removing.
            par_score(&mut scored, self.threads, |i| {
                let d = Objective::dot(self.rows[i as usize], &g);
                if forward {
                    d + self.within[i as usize]
                } else {
                    self.within[i as usize] - d
                }
            });
            if batch < scored.len() {
                scored.select_nth_unstable_by(batch - 1, best_first);
            }
            for &(_, i) in &scored[..batch] {
                if forward {
                    st.add(i as usize, self.rows[i as usize]);
                } else {
                    st.remove(i as usize, self.rows[i as usize]);
                }
            }
            scored.drain(..batch);
            done = target;
        }
        st
    }

    /// Improves a routed set by swaps until no swap improves it.
    fn local_search(&self, mut st: State) -> State {
        let max_rounds = (SEARCH_WORK / self.rows.len().max(1)).clamp(MIN_SEARCH_ROUNDS, MAX_SEARCH_ROUNDS);
        let mut scored: Scored = self.all.iter().map(|&i| (0.0, i)).collect();
        // How many of the best candidates to order each round; grows when needed.
        let mut window = MIN_WINDOW;
        for _ in 0..max_rounds {
            let g = self.obj.gradient(&st.counts);
            par_score(&mut scored, self.threads, |i| {
                let d = Objective::dot(self.rows[i as usize], &g);
                if st.inside[i as usize] {
                    d - self.within[i as usize]
                } else {
                    d + self.within[i as usize]
                }
            });
            let (mut adds, mut losses): (Scored, Scored) =
                scored.iter().copied().partition(|p| !st.inside[p.1 as usize]);
            // Order only the head of each list: enough to find where the
            // pairwise estimate turns non-positive, growing the head until it does.
            let promising = loop {
                let na = sort_head(&mut adds, window, best_first);
                let nl = sort_head(&mut losses, window, worst_first);
                let m = na.min(nl);
                let promising = adds[..m].iter().zip(&losses[..m]).take_while(|(a, l)| a.0 > l.0).count();
                if promising < m || na == adds.len() || nl == losses.len() {
                    break promising;
                }
                window *= 4;
            };
            window = (2 * promising).max(MIN_WINDOW);
            // The estimate add_j − loss_i ignores the pair's cross term; the
            // exact change of the whole batch is checked below.
            let promising = adds.iter().zip(&losses).take_while(|(a, l)| a.0 > l.0).count();
            let mut moved = false;
            let mut p = promising;
            while p > 0 {
                let mut d = [0.0; N_TAGS];
                for (a, l) in adds[..p].iter().zip(&losses[..p]) {
                    for t in self.rows[a.1 as usize].iter() {
                        d[t] += 1.0;
                    }
                    for t in self.rows[l.1 as usize].iter() {
                        d[t] -= 1.0;
                    }
                }
                let (delta, gross) = self.obj.change(&g, &d);
                if delta > REL_TOL * gross {
                    for (a, l) in adds[..p].iter().zip(&losses[..p]) {
                        st.add(a.1 as usize, self.rows[a.1 as usize]);
                        st.remove(l.1 as usize, self.rows[l.1 as usize]);
                    }
                    moved = true;
                    break;
                }
                p /= 2;
            }
            if !moved {
                moved = self.best_single_swap(&g, &adds, &losses, &mut st);
            }
            if !moved {
                break;
            }
        }
        st
    }

    /// Applies the best improving swap among the top [`PAIR_POOL`] outside
    /// and routed instances, if any; returns whether it swapped.
    fn best_single_swap(
        &self,
        g: &[f64; N_TAGS],
        adds: &[(f64, u32)],
        losses: &[(f64, u32)],
        st: &mut State,
    ) -> bool {
        let mut best: Option<(f64, u32, u32)> = None;
        for a in adds.iter().take(PAIR_POOL) {
            for l in losses.iter().take(PAIR_POOL) {
                // Exact: f(c − x_l + x_a) − f(c) = add_a − loss_l − x_lᵀ S x_a.
                let est = a.0 - l.0 - self.obj.cross(self.rows[l.1 as usize], self.rows[a.1 as usize]);
                if best.is_none_or(|b| est > b.0) {
                    best = Some((est, a.1, l.1));
                }
            }
        }
        let Some((_, a, l)) = best else { return false };
        let (a, l) = (a as usize, l as usize);
        let mut d = [0.0; N_TAGS];
        for t in self.rows[a].iter() {
            d[t] += 1.0;
        }
        for t in self.rows[l].iter() {
            d[t] -= 1.0;
        }
        let (delta, gross) = self.obj.change(g, &d);
        if delta > REL_TOL * gross {
            st.add(a, self.rows[a]);
            st.remove(l, self.rows[l]);
            true
        } else {
            false
        }
    }
}

/// Orders the first `head` items of `v` by `cmp` (the rest stay after them,
/// unordered); returns how many are ordered.
fn sort_head(v: &mut [(f64, u32)], head: usize, cmp: fn(&(f64, u32), &(f64, u32)) -> Ordering) -> usize {
    let head = head.min(v.len());
    if head == 0 {
        return 0;
    }
    if head < v.len() {
        v.select_nth_unstable_by(head - 1, cmp);
    }
    v[..head].sort_unstable_by(cmp);
    head
}

/// Sets each pair's score to `f(index)`, split over up to `threads` threads.
fn par_score<F>(scored: &mut [(f64, u32)], threads: usize, f: F)
where
    F: Fn(u32) -> f64 + Sync,
{
    let threads = if scored.len() < PARALLEL_MIN { 1 } else { threads.clamp(1, 64) };
    let chunk = scored.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for part in scored.chunks_mut(chunk) {
            let f = &f;
            let work = move || {
                for p in part {
                    p.0 = f(p.1);
                }
            };
            if threads == 1 {
                work();
            } else {
                scope.spawn(work);
            }
        }
    });
}

/// `f(i)` for every index in `items`, in order, split over up to `threads` threads.
fn par_map<F>(items: &[u32], threads: usize, f: F) -> Vec<f64>
where
    F: Fn(u32) -> f64 + Sync,
{
    let threads = if items.len() < PARALLEL_MIN { 1 } else { threads.clamp(1, 64) };
    if threads == 1 {
        return items.iter().map(|&i| f(i)).collect();
    }
    let mut out = vec![0.0; items.len()];
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (out_c, items_c) in out.chunks_mut(chunk).zip(items.chunks(chunk)) {
            let f = &f;
            scope.spawn(move || {
                for (o, &i) in out_c.iter_mut().zip(items_c) {
                    *o = f(i);
                }
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppm::Form;
    use crate::route::synthetic::{random_model, synthetic_tags};

    #[test]
    fn linear_models_route_the_top_k_by_gain() {
        let tags = synthetic_tags(300, 4);
        let model = random_model(Form::Linear, 1.0, 8);
        let o = optimize(&tags, &model, 120, 1).unwrap();
        let t = super::super::topk::topk(&tags, &model, 120).unwrap();
        assert_eq!(o.human, t.human);
        assert_eq!(o.rank, t.rank);
    }

    #[test]
    fn results_do_not_depend_on_threads() {
        let tags = synthetic_tags(3000, 4);
        let model = random_model(Form::Quadratic, 150.0, 8);
        let a = optimize(&tags, &model, 1000, 1).unwrap();
        let b = optimize(&tags, &model, 1000, 3).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.n_human(), 1000);
    }
}
