//! Work on a background thread, polled from the UI without blocking (egui's
//! `Promise` pattern): spawn it, draw `ready()` when it is. Every background
//! task of the GUI is one of these: one-shot ones (GPU probe, runs scan,
//! episode loading, group statistics, comparisons) and those that report as
//! they go (`P`: trainings' runner events, video export progress, sweep trial
//! results), drained with `updates()`. The thread wakes the UI on every report
//! and when it is done, so nothing polls on a timer.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

pub type Waker = Arc<dyn Fn() + Send + Sync>;

pub struct Pending<T, P = ()> {
    rx: Option<Receiver<T>>,
    updates: Receiver<P>,
    value: Option<T>,
    /// The thread could not start, or ended without a value (it panicked).
    lost: bool,
}

/// What a task reports through as it goes: each report wakes the UI.
pub struct Reporter<P> {
    tx: Sender<P>,
    waker: Waker,
}

impl<P> Reporter<P> {
    pub fn send(&self, update: P) {
        let _ = self.tx.send(update);
        (self.waker)();
    }

    /// The channel and the waker, for a sender that wakes by itself (the runner's `EventSender`).
    pub fn into_parts(self) -> (Sender<P>, Waker) {
        (self.tx, self.waker)
    }
}

impl<T: Send + 'static> Pending<T> {
    /// Runs `work` on its own thread; `waker` (the UI's `request_repaint`) is called when it is done.
    pub fn spawn(name: &str, waker: Waker, work: impl FnOnce() -> T + Send + 'static) -> Self {
        Self::spawn_reporting(name, waker, move |_| work())
    }
}

impl<T: Send + 'static, P: Send + 'static> Pending<T, P> {
    /// Runs `work` on its own thread, handing it a [`Reporter`] for its updates.
    pub fn spawn_reporting(name: &str, waker: Waker, work: impl FnOnce(Reporter<P>) -> T + Send + 'static) -> Self {
        let (tx, rx) = channel();
        let (updates_tx, updates) = channel();
        let reporter = Reporter { tx: updates_tx, waker: waker.clone() };
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
            // Wakes the UI however the work ends, a panic included, so a lost task shows.
            struct Wake(Waker);
            impl Drop for Wake {
                fn drop(&mut self) {
                    (self.0)()
                }
            }
            let _wake = Wake(waker);
            let _ = tx.send(work(reporter));
        });
        let started = spawned.is_ok();
        Self { rx: started.then_some(rx), updates, value: None, lost: !started }
    }
}

impl<T, P> Pending<T, P> {
    /// The updates reported since the last call, in order (take them before `ready()`'s value:
    /// a task's last updates come before its value).
    pub fn updates(&mut self) -> Vec<P> {
        self.updates.try_iter().collect()
    }

    /// The value, once the work is done.
    pub fn ready(&mut self) -> Option<&T> {
        if self.value.is_none() {
            if let Some(rx) = &self.rx {
                match rx.try_recv() {
                    Ok(v) => {
                        self.value = Some(v);
                        self.rx = None;
                    }
                    Err(TryRecvError::Disconnected) => {
                        self.rx = None;
                        self.lost = true;
                    }
                    Err(TryRecvError::Empty) => {}
                }
            }
        }
        self.value.as_ref()
    }

    /// The value if a `ready()` call has already received it (for `&self` readers).
    pub fn peek(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The value, once the work is done, moved out.
    pub fn take(&mut self) -> Option<T> {
        self.ready();
        self.value.take()
    }

    /// Whether the work is still running.
    pub fn busy(&mut self) -> bool {
        self.ready().is_none() && self.rx.is_some()
    }

    /// Whether the work will never give a value: its thread could not start or died.
    pub fn lost(&mut self) -> bool {
        self.ready();
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_arrives_and_a_panicking_task_is_lost_not_busy_forever() {
        let woke = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let w = woke.clone();
        let waker: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            w.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let mut ok = Pending::spawn("ok", waker.clone(), || 7);
        let mut bad: Pending<i32> = Pending::spawn("bad", waker, || panic!("the task fails"));
        let t0 = std::time::Instant::now();
        while (ok.busy() || bad.busy()) && t0.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(ok.take(), Some(7));
        assert!(bad.lost() && !bad.busy() && bad.ready().is_none());
        assert_eq!(woke.load(std::sync::atomic::Ordering::SeqCst), 2, "both woke the UI");
    }

    #[test]
    fn updates_arrive_in_order_before_the_value_and_each_wakes_the_ui() {
        let woke = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let w = woke.clone();
        let waker: Waker = Arc::new(move || {
            w.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let mut task: Pending<&str, u32> = Pending::spawn_reporting("counting", waker, |r| {
            for i in 0..3 {
                r.send(i);
            }
            "done"
        });
        let t0 = std::time::Instant::now();
        while task.busy() && t0.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(task.updates(), vec![0, 1, 2]);
        assert_eq!(task.take(), Some("done"));
        assert!(task.updates().is_empty());
        assert_eq!(woke.load(std::sync::atomic::Ordering::SeqCst), 4, "three updates and the end woke the UI");
    }
}
