//! A value computed on a background thread, polled from the UI without
//! blocking (egui's `Promise` pattern): spawn it, draw `ready()` when it is.

use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

pub struct Pending<T> {
    rx: Option<Receiver<T>>,
    value: Option<T>,
}

impl<T: Send + 'static> Pending<T> {
    /// Runs `work` on its own thread; `waker` (the UI's `request_repaint`) is called when it is done.
    pub fn spawn(name: &str, waker: Arc<dyn Fn() + Send + Sync>, work: impl FnOnce() -> T + Send + 'static) -> Self {
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
            let _ = tx.send(work());
            waker();
        });
        Self { rx: spawned.is_ok().then_some(rx), value: None }
    }

    /// The value, once the work is done.
    pub fn ready(&mut self) -> Option<&T> {
        if self.value.is_none() {
            if let Some(v) = self.rx.as_ref().and_then(|rx| rx.try_recv().ok()) {
                self.value = Some(v);
                self.rx = None;
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

    /// Whether the work is still running (false also when its thread could not start or died).
    pub fn busy(&mut self) -> bool {
        self.ready().is_none() && self.rx.is_some()
    }
}
