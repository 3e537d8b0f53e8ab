//! `rl-research`: everything lives in the library; this only hands over the arguments.

// Windows release builds are GUI applications: a double-click opens no console window.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

/// burn allocates a fresh buffer for nearly every tensor op; mimalloc's
/// thread-local free lists make that much cheaper than glibc's malloc
/// (measured in docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Before any other thread exists, so every thread inherits it.
    if let Some(note) = rl_research::fpmode::init_process() {
        eprintln!("{note}");
    }
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
