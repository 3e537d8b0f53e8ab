//! Flush-to-zero (FTZ) and denormals-are-zero (DAZ) for the threads that do
//! training and inference math.
//!
//! Why: Adam's second moments of dead ReLU units decay geometrically into the
//! denormal range, and Intel cores take a microcode assist on every operation
//! with a denormal operand or result (measured: a DQN CartPole run 85 s with
//! IEEE denormals vs 30 s flushed on a Xeon; AMD's penalty is much smaller).
//! Values below 1.18e-38 are far beneath anything that changes a policy, so the
//! flushed results stay within float rounding of IEEE ones.
//!
//! Where the mode is set:
//! - [`init_process`] (the `rl-research` binary, before any thread exists): the
//!   main thread flushes, so every thread created later inherits it (the GUI's
//!   training threads, the video thread), and rayon's global pool (burn-flex's
//!   and gemm's workers, the LunarLander env steppers) is built with a start
//!   handler that sets it too. Sweep trials are such processes.
//! - [`FlushDenormals`] (every library entry point that trains or evaluates):
//!   sets the mode on the calling thread and on the rayon pool's threads for its
//!   lifetime and restores both afterwards, so a program that calls
//!   `run_experiment` keeps its own floating-point mode.
//!
//! `RL_RESEARCH_IEEE_DENORMALS=1` in the environment turns all of this off
//! (for comparing against IEEE runs bit for bit, or measuring the difference).
//!
//! x86_64 sets MXCSR's FTZ (bit 15) and DAZ (bit 6); aarch64 sets FPCR.FZ
//! (bit 24), which flushes inputs and outputs alike. Elsewhere it is a no-op and
//! [`SUPPORTED`] is false. (The compiler folds constants with IEEE semantics; a
//! denormal folded at build time is harmless to training.)

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this target can flush denormals.
pub const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// A thread's raw floating-point control register (MXCSR or FPCR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpMode(u64);

#[cfg(target_arch = "x86_64")]
const FLUSH_BITS: u64 = (1 << 15) | (1 << 6); // MXCSR.FTZ | MXCSR.DAZ
#[cfg(target_arch = "aarch64")]
const FLUSH_BITS: u64 = 1 << 24; // FPCR.FZ
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const FLUSH_BITS: u64 = 0;

impl FpMode {
    /// This mode with denormals flushed.
    pub fn flushing(self) -> FpMode {
        FpMode(self.0 | FLUSH_BITS)
    }
    /// This mode with IEEE denormals (gradual underflow).
    pub fn ieee(self) -> FpMode {
        FpMode(self.0 & !FLUSH_BITS)
    }
    /// Whether this mode flushes denormals (all of this target's flush bits set).
    pub fn flushes(self) -> bool {
        FLUSH_BITS != 0 && self.0 & FLUSH_BITS == FLUSH_BITS
    }
}

/// The current thread's floating-point mode.
pub fn current() -> FpMode {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr stores the 32-bit MXCSR into the local we point at.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
        FpMode(csr as u64)
    }
    #[cfg(target_arch = "aarch64")]
    {
        let fpcr: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags)) };
        FpMode(fpcr)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        FpMode(0)
    }
}

/// Sets the current thread's floating-point mode.
pub fn set(mode: FpMode) {
    #[cfg(target_arch = "x86_64")]
    {
        let csr = mode.0 as u32;
        // SAFETY: ldmxcsr loads a value read from MXCSR with only the FTZ/DAZ bits
        // changed; no exception is unmasked, so no instruction starts trapping.
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly, preserves_flags)) };
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: as above, FPCR read back with only FZ changed.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) mode.0, options(nomem, nostack, preserves_flags)) };
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = mode;
}

/// Makes the current thread flush denormals; returns its previous mode.
pub fn flush_current_thread() -> FpMode {
    let previous = current();
    set(previous.flushing());
    previous
}

/// Whether arithmetic on this thread actually flushes: a product whose exact
/// value is denormal (1e-30 * 1e-10) reads back as zero. `black_box` keeps the
/// compiler from folding it with IEEE semantics.
pub fn thread_flushes_denormals() -> bool {
    let a = std::hint::black_box(1e-30f32);
    let b = std::hint::black_box(1e-10f32);
    std::hint::black_box(a * b) == 0.0
}

/// Whether flushing is wanted: supported here and not turned off by
/// `RL_RESEARCH_IEEE_DENORMALS=1`.
pub fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| SUPPORTED && std::env::var_os("RL_RESEARCH_IEEE_DENORMALS").is_none_or(|v| v.is_empty() || v == "0"))
}

/// Set once the process's rayon global pool was built with flushing threads.
static GLOBAL_POOL_FLUSHES: AtomicBool = AtomicBool::new(false);

/// For the `rl-research` binary, first thing in `main`: the main thread and
/// every thread created afterwards flush denormals, rayon's global pool
/// included. Returns a note for the user when this target cannot flush. (If
/// something built rayon's pool first, [`FlushDenormals`] sets its threads per run.)
pub fn init_process() -> Option<String> {
    if !SUPPORTED {
        return Some(format!("note: flushing denormal floats is not supported on {}; training may be slower", std::env::consts::ARCH));
    }
    if !enabled() {
        return None;
    }
    flush_current_thread();
    // Named, so the app's CPU meter can tell the compute pool's threads from its own.
    let built = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("compute-{i}"))
        .start_handler(|_| {
            flush_current_thread();
        })
        .build_global();
    match built {
        Ok(()) => {
            GLOBAL_POOL_FLUSHES.store(true, Ordering::SeqCst);
            None
        }
        Err(_) => None,
    }
}

/// Per-thread modes of the rayon pool saved by the first active guard, restored by the last.
struct PoolClaims {
    active: usize,
    saved: Vec<(usize, FpMode)>,
}

static POOL_CLAIMS: Mutex<PoolClaims> = Mutex::new(PoolClaims { active: 0, saved: Vec::new() });

/// While alive, the current thread and the threads of the rayon pool it runs
/// on flush denormals; dropping it restores their previous modes. Guards nest
/// and may be held by several threads at once (the pool is restored when the
/// last one ends).
#[must_use = "the mode is restored when the guard is dropped"]
pub struct FlushDenormals {
    previous: FpMode,
    claimed_pool: bool,
}

impl FlushDenormals {
    pub fn enter() -> Self {
        if !enabled() {
            return Self { previous: current(), claimed_pool: false };
        }
        let previous = flush_current_thread();
        // From inside a rayon worker a broadcast could wait on a worker that is
        // itself waiting for the claims lock: set this thread only. (The pool's
        // other threads keep the mode the program gave them.)
        let in_pool = rayon::current_thread_index().is_some();
        let claimed_pool = SUPPORTED && !in_pool && !GLOBAL_POOL_FLUSHES.load(Ordering::SeqCst);
        if claimed_pool {
            let mut claims = POOL_CLAIMS.lock().unwrap_or_else(|p| p.into_inner());
            if claims.active == 0 {
                claims.saved = rayon::broadcast(|ctx| (ctx.index(), flush_current_thread()));
            }
            claims.active += 1;
        }
        Self { previous, claimed_pool }
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        set(self.previous);
        if self.claimed_pool {
            let mut claims = POOL_CLAIMS.lock().unwrap_or_else(|p| p.into_inner());
            claims.active = claims.active.saturating_sub(1);
            if claims.active == 0 {
                let saved = std::mem::take(&mut claims.saved);
                rayon::broadcast(|ctx| {
                    if let Some((_, mode)) = saved.iter().find(|(i, _)| *i == ctx.index()) {
                        set(*mode);
                    }
                });
            }
        }
    }
}

/// Whether every thread of the current rayon pool flushes denormals.
pub fn pool_flushes_denormals() -> bool {
    rayon::broadcast(|_| thread_flushes_denormals()).into_iter().all(|f| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_flushes_this_thread_and_restores_it() {
        if !enabled() {
            return;
        }
        // A fresh thread starts from the process default (IEEE in the test harness).
        std::thread::spawn(|| {
            assert!(!thread_flushes_denormals(), "test threads start with IEEE denormals");
            let before = current();
            {
                let _outer = FlushDenormals::enter();
                assert!(thread_flushes_denormals());
                assert!(current().flushes());
                {
                    let _inner = FlushDenormals::enter();
                    assert!(thread_flushes_denormals());
                }
                assert!(thread_flushes_denormals(), "the inner guard restores the outer mode");
                // Threads created while flushing inherit the mode.
                assert!(std::thread::spawn(thread_flushes_denormals).join().unwrap());
                assert!(pool_flushes_denormals(), "rayon's pool threads flush while a guard is alive");
            }
            assert_eq!(current(), before);
            assert!(!thread_flushes_denormals());
        })
        .join()
        .unwrap();
    }
}
