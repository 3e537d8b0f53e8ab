//! Stop signals for the CLI, named as they are: Ctrl-C (SIGINT), SIGTERM
//! (`kill`, Slurm's `scancel`) and SIGHUP (a closed terminal) all ask for a
//! graceful stop, and the handler is told which one came.

use std::sync::{Mutex, OnceLock};

type Handler = Box<dyn Fn(&'static str) + Send>;

static HANDLER: Mutex<Option<Handler>> = Mutex::new(None);
static LISTENING: OnceLock<bool> = OnceLock::new();

/// Calls `handler` with the signal's name ("Ctrl-C", "SIGTERM" or "SIGHUP")
/// on each stop signal, on a thread of its own. A later call replaces the
/// handler (the Python package runs several commands in one process).
pub fn on_stop_signals(handler: impl Fn(&'static str) + Send + 'static) {
    *HANDLER.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(handler));
    LISTENING.get_or_init(listen);
}

fn dispatch(name: &'static str) {
    if let Some(handler) = HANDLER.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        handler(name);
    }
}

#[cfg(unix)]
fn listen() -> bool {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else { return false };
    std::thread::Builder::new()
        .name("stop-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                dispatch(match signal {
                    SIGINT => "Ctrl-C",
                    SIGTERM => "SIGTERM",
                    _ => "SIGHUP",
                });
            }
        })
        .is_ok()
}

#[cfg(not(unix))]
fn listen() -> bool {
    ctrlc::set_handler(|| dispatch("Ctrl-C")).is_ok()
}
