//! Which threads do a run's parallel work.
//!
//! burn's CPU backend and our fused layers hand large products and reductions
//! to rayon (`par_iter`, gemm's threading). Called from a thread outside a rayon
//! pool, every such section is sent to a pool thread while the caller sleeps on
//! a latch: two context switches per section, thousands of times a second.
//! That only pays when another core is free to share the work. A thread that
//! already has its core to itself (one of several seed batches on as many
//! cores, or a run limited to one thread by `RAYON_NUM_THREADS=1`, as sweep
//! trials and Slurm tasks are) becomes its own one-thread pool instead, so those
//! sections run inline, in the same order and with the same results.

use std::cell::OnceCell;

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
    /// This thread's own pool, kept for the thread's life: rayon leaks a pool
    /// that adopted its builder's thread, so it is built at most once.
    static OWN_POOL: OnceCell<rayon::ThreadPool> = const { OnceCell::new() };
}

/// Makes the calling thread a one-thread rayon pool of its own, from now until
/// it exits: rayon's parallel sections called here run inline on it. A thread
/// already in a pool keeps that pool. Returns whether this thread now runs its
/// parallel sections inline.
pub fn keep_parallel_work_on_this_thread() -> bool {
    if rayon::current_thread_index().is_some() {
        return OWN_POOL.with(|p| p.get().is_some());
    }
    OWN_POOL.with(|p| {
        if p.get().is_none() {
            // Fails only if this thread is already in a pool (checked above);
            // then the work goes to the global pool as before.
            if let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build() {
                let _ = p.set(pool);
            }
        }
        p.get().is_some()
    })
}

/// [`keep_parallel_work_on_this_thread`] when this thread's share of the
/// budget is one core or less (`threads_at_once` such threads working at once).
pub fn keep_parallel_work_here_if_one_core(threads_at_once: usize) -> bool {
    threads_at_once >= budget() && keep_parallel_work_on_this_thread()
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
    fn a_thread_with_cores_to_spare_keeps_the_global_pool() {
        std::thread::spawn(|| {
            // Zero threads at once never exhaust a positive budget.
            assert!(!keep_parallel_work_here_if_one_core(0));
            assert!(rayon::current_thread_index().is_none());
        })
        .join()
        .unwrap();
        // As many threads at once as the budget: each works alone.
        std::thread::spawn(|| {
            assert!(keep_parallel_work_here_if_one_core(budget()));
            assert_eq!(rayon::current_num_threads(), 1);
        })
        .join()
        .unwrap();
    }
}
