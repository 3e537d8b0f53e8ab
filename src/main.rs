//! `rl-research`: everything lives in the library; this only hands over the arguments.
fn main() {
    std::process::exit(rl_research::cli::main(std::env::args().collect()));
}
