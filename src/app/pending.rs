//! A value computed on a background thread, polled from the UI without
//! blocking (egui's `Promise` pattern): spawn it, draw `ready()` when it is.
//! Every one-shot background task of the GUI (GPU probe, runs scan, episode
//! loading, group statistics, comparisons) is one of these; the thread wakes
//! the UI when it is done, so nothing polls on a timer.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

pub struct Pending<T> {
    rx: Option<Receiver<T>>,
    value: Option<T>,
    /// The thread could not start, or ended without a value (it panicked).
    lost: bool,
}

impl<T: Send + 'static> Pending<T> {
    /// Runs `work` on its own thread; `waker` (the UI's `request_repaint`) is called when it is done.
    pub fn spawn(name: &str, waker: Arc<dyn Fn() + Send + Sync>, work: impl FnOnce() -> T + Send + 'static) -> Self {
        let (tx, rx) = channel();
        let done = waker.clone();
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
            // Wakes the UI however the work ends, a panic included, so a lost task shows.
            struct Wake(Arc<dyn Fn() + Send + Sync>);
            impl Drop for Wake {
                fn drop(&mut self) {
                    (self.0)()
                }
            }
            let _wake = Wake(done);
            let _ = tx.send(work());
        });
        let started = spawned.is_ok();
        Self { rx: started.then_some(rx), value: None, lost: !started }
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
}
