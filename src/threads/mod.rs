//! Which threads do a run's parallel work.
//!
//! burn's CPU backend and our fused layers hand large products and reductions
//! to rayon (`par_iter`, gemm's threading). Called from a thread outside a rayon
//! pool, every such section is sent to a pool thread while the caller sleeps on
//! a latch: two context switches per section, thousands of times a second.
//! So a training thread becomes worker 0 of a pool of its own, sized to its
//! share of the budget: alone on its core (one of several seed batches on as
//! many cores, or a run limited to one thread by `RAYON_NUM_THREADS=1`, as sweep
//! trials and Slurm tasks are) those sections run inline; with cores to spare
//! it works on them beside the threads it started, and independent products
//! ([`both`]) run on two cores without a sleeping hand-off. Which thread does a
//! piece of work never changes the order inside it, so results are the same.

mod partner;

use partner::Partner;
use std::cell::{Cell, OnceCell};

/// Threads one run (or one group's seeds together) may use: `RAYON_NUM_THREADS`
/// when set to a positive number, else the machine's cores.
pub fn budget() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(crate::sweep::cores)
}

thread_local! {
    /// This thread's own pool, kept for the thread's life: rayon leaks the
    /// worker record of a thread that adopted its pool, so a thread builds at
    /// most one. Dropped when the thread exits, which ends the threads it started.
    static OWN_POOL: OnceCell<rayon::ThreadPool> = const { OnceCell::new() };
    /// The thread that takes the other half of [`both`], for a thread whose own
    /// pool has a second core; stopped when the thread exits.
    static PARTNER: OnceCell<Partner> = const { OnceCell::new() };
    /// Set while this thread runs its half of a [`both`] whose other half went
    /// to the partner.
    static SECOND_CORE_TAKEN: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread's second core is busy with the other half of a
/// [`both`], so its own parallel sections should not split across cores now.
pub fn second_core_taken() -> bool {
    SECOND_CORE_TAKEN.with(|t| t.get())
}

/// Makes the calling thread worker 0 of a rayon pool of its own with
/// `threads` threads (itself and `threads - 1` it starts), from now until it
/// exits. Its parallel sections then stay inside that pool: with one thread
/// they run inline, with more the caller works on them as one of the workers
/// instead of sleeping while another thread does, and `rayon::join` costs no
/// hand-off when the sibling is busy. A thread already in a pool keeps that
/// pool. Returns whether this thread now has a pool of its own.
pub fn own_pool(threads: usize) -> bool {
    if rayon::current_thread_index().is_some() {
        return OWN_POOL.with(|p| p.get().is_some());
    }
    OWN_POOL.with(|p| {
        if p.get().is_none() {
            // The started threads flush denormals as the training thread does
            // under `FlushDenormals` (they serve no other code), and carry the
            // compute pool's name for the app's CPU meter.
            let built = rayon::ThreadPoolBuilder::new()
                .num_threads(threads.max(1))
                .use_current_thread()
                .thread_name(|i| format!("compute-{i}"))
                .start_handler(|_| {
                    if crate::fpmode::enabled() {
                        crate::fpmode::flush_current_thread();
                    }
                })
                .build();
            // Fails only if this thread is already in a pool (checked above) or
            // a thread cannot be started; then the global pool serves as before.
            if let Ok(pool) = built {
                let _ = p.set(pool);
                if threads > 1
                    && let Some(partner) = Partner::start()
                {
                    PARTNER.with(|q| q.set(partner).ok());
                }
            }
        }
        p.get().is_some()
    })
}

/// [`own_pool`] with one thread: every parallel section runs inline here.
pub fn keep_parallel_work_on_this_thread() -> bool {
    own_pool(1)
}

/// [`own_pool`] with this thread's share of the budget, `threads_at_once`
/// such threads working at once: `budget() / threads_at_once` threads, at least one.
pub fn own_share_of_budget(threads_at_once: usize) -> bool {
    own_pool((budget() / threads_at_once.max(1)).max(1))
}

/// `(a(), b())`, the two on two cores at once where this thread has a
/// partner (from [`own_pool`] with a second thread); elsewhere one after the
/// other, here. `a` always runs on this thread, so it may hold what cannot
/// leave it (an autodiff graph's order stays this thread's).
pub fn both<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB + Send,
    RB: Send,
{
    PARTNER.with(|partner| match partner.get() {
        Some(partner) => {
            /// Restores the flag however the join ends (a panic included).
            struct Restore(bool);
            impl Drop for Restore {
                fn drop(&mut self) {
                    SECOND_CORE_TAKEN.with(|t| t.set(self.0));
                }
            }
            let _restore = Restore(SECOND_CORE_TAKEN.with(|t| t.replace(true)));
            partner.join(a, b)
        }
        None => (a(), b()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn parallel_sections_run_inline_on_an_own_pool_thread() {
        std::thread::spawn(|| {
            let me = std::thread::current().id();
            assert!(keep_parallel_work_on_this_thread());
            assert_eq!(rayon::current_num_threads(), 1);
            let ran_on: Vec<_> = (0..64).into_par_iter().map(|_| std::thread::current().id()).collect();
            assert!(ran_on.iter().all(|&t| t == me), "a parallel section left the thread");
            // A second call keeps the same pool.
            assert!(keep_parallel_work_on_this_thread());
            let sum: u64 = (0..1000u64).into_par_iter().sum();
            assert_eq!(sum, 499_500);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_gets_its_share_of_the_budget() {
        // One thread at once: the whole budget, this thread as worker 0.
        std::thread::spawn(|| {
            assert!(own_share_of_budget(1));
            assert_eq!(rayon::current_num_threads(), budget());
            assert_eq!(rayon::current_thread_index(), Some(0));
        })
        .join()
        .unwrap();
        // As many threads at once as the budget: each works alone.
        std::thread::spawn(|| {
            assert!(own_share_of_budget(budget()));
            assert_eq!(rayon::current_num_threads(), 1);
        })
        .join()
        .unwrap();
    }

    /// A pool's started threads flush denormals as the training thread does,
    /// so work that moves between them gives the same results.
    #[test]
    fn an_own_pools_threads_flush_denormals_and_share_work() {
        std::thread::spawn(|| {
            assert!(own_pool(2));
            // Worker 0 is this thread, whose mode the run's guard sets.
            let flushing = rayon::broadcast(|ctx| (ctx.index(), crate::fpmode::thread_flushes_denormals()));
            assert_eq!(flushing.len(), 2);
            assert!(flushing.iter().all(|&(i, f)| i == 0 || f == crate::fpmode::enabled()), "{flushing:?}");
            let (a, b) = both(|| (0..1000u64).sum::<u64>(), || 7);
            assert_eq!((a, b), (499_500, 7));
        })
        .join()
        .unwrap();
        // Outside any pool, both() runs the two here, in order.
        std::thread::spawn(|| {
            let me = std::thread::current().id();
            let (a, b) = both(|| std::thread::current().id(), || std::thread::current().id());
            assert!(a == me && b == me);
        })
        .join()
        .unwrap();
    }
}
