//! prefroute's `optimize` strategy: search for the `k` instances whose routed
//! set has the highest predicted score under the PPM.
//!
//! * **Linear PPM**: the score is `b + Σ_i gain_i` over the routed set, so the
//!   exact optimum is the top `k` by gain (identical to `topk`).
//! * **Quadratic PPM**: instances interact through the counts, and the exact
//!   optimum is a hard combinatorial problem. The search uses the exact
//!   incremental gains of [`objective`](super::objective) (a gradient `g = w + S c`,
//!   and per instance `x·g ± q(x)`) in two phases, run from two starts (a
//!   greedy build and the `topk` set), keeping the better result:
//!   1. *Greedy*: add instances in rounds, each round taking the instances
//!      with the highest marginal gain at the current counts. Small problems
//!      add one instance per round (plain greedy); large ones add
//!      `k / rounds` per round so the work stays near [`GREEDY_WORK`] gain
//!      evaluations. The greedy always adds exactly `k` instances, even when
//!      every remaining gain is negative: the budget is what the user asked
//!      for, and a smaller routed set is a different budget.
//!   2. *Swap search*: pair the outside instances (best gain first) with the
//!      routed ones (smallest loss first); try swapping every pair whose
//!      estimated gain is positive at once, evaluate the exact change, and
//!      halve the batch until it improves. When no batch improves, try the
//!      best exact single swap among the top [`PAIR_POOL`] on each side. Stop
//!      when nothing improves, or after [`MAX_SEARCH_ROUNDS`] rounds.
//!
//! Every step is deterministic (ties go to the lower input index); threads
//! only split the per-instance gain computations, so they never change the result.

use super::objective::Objective;
use super::topk::top_k_by;
use super::{check_k, Routing};
use crate::error::Result;
use crate::ppm::DenseModel;
use crate::tags::{Counts, TagMatrix, TagSet, N_TAGS};
use std::cmp::Ordering;

/// Instance-gain evaluations the greedy start may spend (sets the round count).
pub const GREEDY_WORK: usize = 100_000_000;
/// The greedy start uses at least this many rounds (unless `k` is smaller).
const MIN_GREEDY_ROUNDS: usize = 64;
/// Upper bound on swap-search rounds from each start.
pub const MAX_SEARCH_ROUNDS: usize = 200;
/// Instances on each side considered for an exact single swap.
pub const PAIR_POOL: usize = 32;
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
    let all: Vec<u32> = (0..n as u32).collect();
    let rows = tags.rows();
    let standalone = par_map(&all, threads, |i| obj.standalone(rows[i as usize]));
    if !obj.is_quadratic() || k == 0 || k == n {
        return Ok(Routing::with_marginals(tags, model, &obj, top_k_by(&standalone, k)));
    }
    let within = par_map(&all, threads, |i| obj.within(rows[i as usize]));
    let search = Search { rows, obj: &obj, within: &within, all: &all, threads };
    let mut best: Option<(f64, State)> = None;
    for start in [search.greedy(k), search.state(top_k_by(&standalone, k))] {
        let st = search.local_search(start);
        let value = obj.value(&st.counts);
        if best.as_ref().is_none_or(|(v, _)| value > *v) {
            best = Some((value, st));
        }
    }
    let inside = best.map(|(_, st)| st.inside).unwrap_or_default();
    Ok(Routing::with_marginals(tags, model, &obj, inside))
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

    /// Builds a routed set of exactly `k` instances by (batched) greedy ascent.
    fn greedy(&self, k: usize) -> State {
        let n = self.rows.len();
        let rounds = k.min(MIN_GREEDY_ROUNDS.max(GREEDY_WORK / n.max(1))).max(1);
        let mut st = State { inside: vec![false; n], counts: [0.0; N_TAGS] };
        let mut outside: Vec<u32> = self.all.to_vec();
        let mut added = 0;
        for r in 0..rounds {
            let target = (k as u128 * (r as u128 + 1) / rounds as u128) as usize;
            let batch = target - added;
            if batch == 0 {
                continue;
            }
            let g = self.obj.gradient(&st.counts);
            let gains = par_map(&outside, self.threads, |i| {
                Objective::dot(self.rows[i as usize], &g) + self.within[i as usize]
            });
            let mut scored: Vec<(f64, u32)> = gains.into_iter().zip(outside.iter().copied()).collect();
            if batch < scored.len() {
                scored.select_nth_unstable_by(batch - 1, best_first);
            }
            for &(_, i) in &scored[..batch] {
                st.add(i as usize, self.rows[i as usize]);
            }
            outside = scored[batch..].iter().map(|p| p.1).collect();
            added = target;
        }
        st
    }

    /// Improves a routed set by swaps until no swap improves it.
    fn local_search(&self, mut st: State) -> State {
        for _ in 0..MAX_SEARCH_ROUNDS {
            let g = self.obj.gradient(&st.counts);
            let marginal = par_map(self.all, self.threads, |i| {
                let d = Objective::dot(self.rows[i as usize], &g);
                if st.inside[i as usize] {
                    d - self.within[i as usize]
                } else {
                    d + self.within[i as usize]
                }
            });
            let (mut adds, mut losses): (Vec<(f64, u32)>, Vec<(f64, u32)>) =
                marginal.into_iter().zip(self.all.iter().copied()).partition(|p| !st.inside[p.1 as usize]);
            adds.sort_unstable_by(best_first);
            losses.sort_unstable_by(worst_first);
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
