//! `rl-research`: everything lives in the library; this only hands over the arguments.

// Windows release builds are GUI applications: a double-click opens no console window.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

fn main() {
    let args: Vec<String> = std::env::args().collect();
    #[cfg(windows)]
    if args.len() > 1 {
        attach_parent_console();
    }
    std::process::exit(rl_research::cli::main(args));
}

/// A GUI-subsystem .exe has no console; when started from one with a command
/// (`rl-research run ...`), print into the terminal it was started from.
#[cfg(windows)]
fn attach_parent_console() {
    const ATTACH_PARENT_PROCESS: u32 = u32::MAX;
    unsafe extern "system" {
        fn AttachConsole(process_id: u32) -> i32;
    }
    // SAFETY: a plain Win32 call with a constant argument; failure (no parent console) is harmless.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}
