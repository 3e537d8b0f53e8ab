//! Starting the desktop app the way a double-click does: no terminal to print
//! to, an arbitrary working directory, possibly no display. Logs go to a file in
//! the user's data directory, errors and crashes are shown in a dialog, a
//! missing display gets a one-line hint, and SIGTERM closes the window cleanly
//! (trainings are stopped gracefully, as by the close button).

use super::GuiOptions;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// `~/.local/share/rl-research` on Linux (the platform's data directory elsewhere).
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "rl-research").map(|d| d.data_dir().to_path_buf())
}

/// Where runs go when the app was not started from a project directory (a
/// double-click starts in `$HOME` or `/`): `~/Documents/RL Research/runs`, else
/// the data directory's `runs`. From a directory with `runs/` or `configs/`
/// (a checkout, a CLI user's project), it is `runs` as for the CLI.
pub fn default_runs_dir() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.join("runs").is_dir() || cwd.join("configs").is_dir() {
        return PathBuf::from("runs");
    }
    if let Some(docs) = directories::UserDirs::new().and_then(|u| u.document_dir().map(|d| d.to_path_buf())) {
        return docs.join("RL Research").join("runs");
    }
    data_dir().map(|d| d.join("runs")).unwrap_or_else(|| PathBuf::from("runs"))
}

/// The log file of GUI sessions started without a terminal.
pub fn log_file() -> Option<PathBuf> {
    data_dir().map(|d| d.join("rl-research.log"))
}

/// A `log` backend: this crate's info and everyone's warnings, to stderr when
/// there is a terminal, else appended to the log file.
struct Logger {
    file: Mutex<Option<std::fs::File>>,
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Warn || (m.level() <= log::Level::Info && m.target().starts_with("rl_research"))
    }
    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = format!("[{} {} {}] {}\n", crate::runs::unix_now_secs(), r.level(), r.target(), r.args());
        match self.file.lock().ok().as_deref_mut().and_then(|f| f.as_mut()) {
            Some(f) => {
                let _ = f.write_all(line.as_bytes());
            }
            None => eprint!("{line}"),
        }
    }
    fn flush(&self) {}
}

/// Opens the log file (keeping one previous generation past 5 MB).
fn open_log() -> Option<std::fs::File> {
    let path = log_file()?;
    std::fs::create_dir_all(path.parent()?).ok()?;
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > 5 << 20) {
        let _ = std::fs::rename(&path, path.with_extension("log.1"));
    }
    std::fs::OpenOptions::new().create(true).append(true).open(&path).ok()
}

fn in_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// Shows an error where a user without a terminal sees it: a native dialog
/// (rfd: the portal/zenity on Linux), else kdialog, xmessage or a desktop
/// notification, whichever exists. Always logged too.
fn error_dialog(title: &str, message: &str) {
    log::error!("{title}: {message}");
    let unix_desktop = cfg!(all(unix, not(target_os = "macos")));
    if !unix_desktop || in_path("zenity") {
        let _ = rfd::MessageDialog::new()
            .set_level(rfd::MessageLevel::Error)
            .set_title(title)
            .set_description(message)
            .set_buttons(rfd::MessageButtons::Ok)
            .show();
        return;
    }
    let text = format!("{title}\n\n{message}");
    let tries: [(&str, Vec<&str>); 3] = [
        ("kdialog", vec!["--title", title, "--error", message]),
        ("xmessage", vec!["-center", "-title", title, text.as_str()]),
        ("notify-send", vec!["--urgency=critical", title, message]),
    ];
    for (tool, args) in tries {
        if in_path(tool) && std::process::Command::new(tool).args(&args).status().is_ok() {
            return;
        }
    }
    log::warn!("no dialog tool (zenity, kdialog, xmessage, notify-send) to show this error");
}

/// The hint printed when there is no display to open a window on.
pub fn missing_display() -> Option<&'static str> {
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    (cfg!(all(unix, not(target_os = "macos"))) && !set("DISPLAY") && !set("WAYLAND_DISPLAY"))
        .then_some("rl-research: no display (neither DISPLAY nor WAYLAND_DISPLAY is set) to open the app on; train headless with `rl-research run ...` (see `rl-research --help`)")
}

/// The egui context of the open window, for the SIGTERM handler.
static WINDOW: OnceLock<egui::Context> = OnceLock::new();

/// Called by the app once its window exists.
pub fn register_window(ctx: &egui::Context) {
    let _ = WINDOW.set(ctx.clone());
}

/// Ends the process once the window has closed, without C `atexit` handlers and
/// shared-library destructors. GPU driver threads (wgpu's, the Vulkan/GL
/// driver's, e.g. Mesa llvmpipe's) can still be running then, and tearing their
/// libraries down under them is a known source of crashes at exit: the packaging
/// test saw a SIGSEGV after SIGTERM once in three CI runs (not reproduced in 47
/// local runs). Everything of ours is saved by then: eframe stored the settings,
/// trainings were stopped, and the log file is written unbuffered.
fn exit_without_library_teardown(code: i32) -> i32 {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    #[cfg(unix)]
    {
        unsafe extern "C" {
            fn _exit(status: i32) -> !;
        }
        // SAFETY: _exit only ends the process; nothing runs after it.
        unsafe { _exit(code) }
    }
    #[cfg(not(unix))]
    code
}

/// Runs the GUI with logging, dialogs and signal handling; returns the exit code.
pub fn launch(opts: GuiOptions) -> i32 {
    let terminal = std::io::stderr().is_terminal();
    let file = if terminal { None } else { open_log() };
    let to_file = file.is_some();
    if log::set_boxed_logger(Box::new(Logger { file: Mutex::new(file) })).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    log::info!(
        "rl-research {} starting the desktop app{}",
        env!("CARGO_PKG_VERSION"),
        if to_file { " (no terminal: logging here)" } else { "" }
    );
    if let Some(hint) = missing_display() {
        eprintln!("{hint}");
        log::error!("{hint}");
        return 1;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = format!("{info}");
        log::error!("crash: {msg}");
        if !terminal {
            let where_ = log_file().map(|p| format!("\n\nDetails are in {}.", p.display())).unwrap_or_default();
            error_dialog("RL Research crashed", &format!("{msg}{where_}"));
        }
        previous(info);
    }));
    // SIGTERM / SIGINT / SIGHUP close the window like its close button.
    let _ = ctrlc::set_handler(|| match WINDOW.get() {
        Some(ctx) => {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            ctx.request_repaint();
        }
        None => std::process::exit(130),
    });
    match super::run(opts) {
        Ok(()) => {
            log::info!("window closed");
            exit_without_library_teardown(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            if !terminal {
                let where_ = log_file().map(|p| format!("\n\nThe log is in {}.", p.display())).unwrap_or_default();
                error_dialog(
                    "RL Research could not start",
                    &format!("{e}{where_}\n\nWithout a working display, train with `rl-research run` in a terminal."),
                );
            } else {
                log::error!("{e}");
            }
            1
        }
    }
}
