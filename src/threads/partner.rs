//! A second thread that waits, spinning, for the other half of a training
//! thread's [`super::both`].
//!
//! A rayon worker that finds no work sleeps within microseconds, and waking
//! it is a system call and a scheduler hand-off on every join, which in a
//! training loop (a join every few hundred microseconds) eats much of what the
//! second core gives. A partner instead spins for [`SPIN`] after each piece of
//! work, long enough to meet the loop's next join, and parks only when the run
//! pauses (collecting a rollout, evaluating). The caller never waits for a
//! wake-up: a piece the partner has not started yet is taken back and run by
//! the caller itself.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the partner spins for the next piece before it parks.
const SPIN: Duration = Duration::from_millis(1);

const IDLE: u8 = 0;
const POSTED: u8 = 1;
const RUNNING: u8 = 2;
const DONE: u8 = 3;

/// A posted piece of work: a closure on the caller's stack, its lifetime
/// erased (the caller does not return before the piece is done or taken back).
type Piece = *mut (dyn FnMut() + Send + 'static);

struct Shared {
    state: AtomicU8,
    /// Written by the caller before it sets POSTED; read by the partner only
    /// after it moved POSTED to RUNNING.
    piece: UnsafeCell<Option<Piece>>,
    /// A panic of the piece, handed back to the caller; written before DONE.
    panic: UnsafeCell<Option<Box<dyn Any + Send>>>,
    parked: AtomicBool,
    quit: AtomicBool,
}

// SAFETY: the cells are handed between the two threads by `state` (Release on
// the writer's side, Acquire on the reader's), so only one side touches them
// at a time; the pieces posted are `Send`.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

pub(super) struct Partner {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Partner {
    /// Starts the partner thread; `None` if the system refuses a thread.
    pub(super) fn start() -> Option<Partner> {
        let shared = Arc::new(Shared {
            state: AtomicU8::new(IDLE),
            piece: UnsafeCell::new(None),
            panic: UnsafeCell::new(None),
            parked: AtomicBool::new(false),
            quit: AtomicBool::new(false),
        });
        let theirs = Arc::clone(&shared);
        // Named for the app's CPU meter, which counts `compute-*` threads as training.
        let thread = std::thread::Builder::new().name("compute-partner".into()).spawn(move || serve(&theirs)).ok()?;
        Some(Partner { shared, thread: Some(thread) })
    }

    /// `(a(), b())` with `b` offered to the partner while this thread runs
    /// `a`; `b` runs here if the partner has not taken it by then. A panic in
    /// either is raised here once both are settled.
    pub(super) fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA,
        B: FnOnce() -> RB + Send,
        RB: Send,
    {
        let shared = &*self.shared;
        if shared.state.load(Ordering::Acquire) != IDLE {
            // Called from inside a piece this thread runs: no second post.
            return (a(), b());
        }
        let mut b = Some(b);
        let mut rb: Option<RB> = None;
        let mut piece = || {
            if let Some(b) = b.take() {
                rb = Some(b());
            }
        };
        let local: *mut (dyn FnMut() + Send + '_) = &mut piece;
        // SAFETY: only the lifetime is erased; the pointer is used (by the
        // partner or below) strictly before this function returns or unwinds.
        let erased: Piece = unsafe { std::mem::transmute(local) };
        // SAFETY: state is IDLE, so the partner does not read the cell now.
        unsafe { *shared.piece.get() = Some(erased) };
        shared.state.store(POSTED, Ordering::SeqCst);
        if shared.parked.load(Ordering::SeqCst)
            && let Some(t) = &self.thread
        {
            t.thread().unpark();
        }
        let ra = catch_unwind(AssertUnwindSafe(a));
        let theirs = if shared.state.compare_exchange(POSTED, IDLE, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // Not started: run it here.
            // SAFETY: the partner can no longer take it; `piece` is alive.
            catch_unwind(AssertUnwindSafe(|| unsafe { (*erased)() })).err()
        } else {
            let mut spins = 0u32;
            while shared.state.load(Ordering::Acquire) != DONE {
                spins = spins.wrapping_add(1);
                if spins % 1024 == 0 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
            // SAFETY: DONE was stored after the panic cell was written.
            let panic = unsafe { (*shared.panic.get()).take() };
            shared.state.store(IDLE, Ordering::Release);
            panic
        };
        drop(piece);
        match (ra, theirs) {
            (Err(p), _) | (Ok(_), Some(p)) => resume_unwind(p),
            (Ok(ra), None) => (ra, rb.expect("the posted piece ran")),
        }
    }
}

impl Drop for Partner {
    fn drop(&mut self) {
        self.shared.quit.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// The partner's loop: take posted pieces, spin [`SPIN`] for the next, park.
fn serve(shared: &Shared) {
    // Its own parallel sections run inline, and its arithmetic flushes
    // denormals as the training thread's does, so a piece gives the same bits here.
    super::keep_parallel_work_on_this_thread();
    if crate::fpmode::enabled() {
        crate::fpmode::flush_current_thread();
    }
    loop {
        let mut last_work = Instant::now();
        let mut spins = 0u32;
        loop {
            if shared.quit.load(Ordering::Acquire) {
                return;
            }
            if shared.state.load(Ordering::Acquire) == POSTED
                && shared.state.compare_exchange(POSTED, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok()
            {
                // SAFETY: RUNNING gives this thread the cells until DONE.
                if let Some(piece) = unsafe { (*shared.piece.get()).take() } {
                    // SAFETY: the caller waits for DONE before its stack frame goes.
                    if let Err(p) = catch_unwind(AssertUnwindSafe(|| unsafe { (*piece)() })) {
                        unsafe { *shared.panic.get() = Some(p) };
                    }
                }
                shared.state.store(DONE, Ordering::Release);
                last_work = Instant::now();
                continue;
            }
            spins = spins.wrapping_add(1);
            if spins % 256 == 0 {
                if last_work.elapsed() > SPIN {
                    break;
                }
                // Gives the core away if anything else waits for it (other
                // runs, a test suite); returns at once on an idle core.
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        shared.parked.store(true, Ordering::SeqCst);
        // Checked after announcing the park: a post that missed `parked`
        // is seen here (both sides use SeqCst).
        if shared.state.load(Ordering::SeqCst) != POSTED && !shared.quit.load(Ordering::SeqCst) {
            std::thread::park();
        }
        shared.parked.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_return_both_results_in_order_many_times() {
        let partner = Partner::start().expect("a thread");
        let data: Vec<u64> = (0..10_000).collect();
        for round in 0..2_000u64 {
            let (a, b) = partner.join(|| data.iter().sum::<u64>() + round, || data.iter().map(|v| v * 2).sum::<u64>() + round);
            assert_eq!((a, b), (49_995_000 + round, 99_990_000 + round));
        }
        // A join inside a join runs its halves one after the other.
        let ((x, y), z) = partner.join(|| partner.join(|| 1, || 2), || 3);
        assert_eq!((x, y, z), (1, 2, 3));
    }

    #[test]
    fn a_panic_in_either_half_reaches_the_caller_after_both_settle() {
        let partner = Partner::start().expect("a thread");
        let finished = AtomicBool::new(false);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            partner.join(
                || panic!("the caller's half"),
                || {
                    std::thread::sleep(Duration::from_millis(20));
                    finished.store(true, Ordering::SeqCst);
                },
            )
        }));
        assert!(caught.is_err());
        assert!(finished.load(Ordering::SeqCst), "unwound before the other half was done");
        let caught = catch_unwind(AssertUnwindSafe(|| partner.join(|| 1, || -> u32 { panic!("the posted half") })));
        assert!(caught.is_err());
        // The partner serves on after a panic.
        assert_eq!(partner.join(|| 4, || 5), (4, 5));
    }

    #[test]
    fn a_parked_partner_wakes_for_the_next_join() {
        let partner = Partner::start().expect("a thread");
        assert_eq!(partner.join(|| 1, || 2), (1, 2));
        // Parked each time; given 50 ms the woken partner takes the piece
        // (a few tries, for a machine busy with other tests).
        let taken = (0..10).any(|_| {
            std::thread::sleep(SPIN * 5);
            let (_, ran_on) =
                partner.join(|| std::thread::sleep(Duration::from_millis(50)), || std::thread::current().name().map(str::to_owned));
            ran_on.as_deref() == Some("compute-partner")
        });
        assert!(taken, "the partner never woke for a posted piece");
    }
}
