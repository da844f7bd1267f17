//! Runs every case of a golden file through gradstep and prints one line per section.
//!
//!     cargo run --release --example conformance -- tests/golden/golden-2.10.0.json
//!
//! The file may come from another MindSpore release or carry other cases: regenerate it with
//! `tests/golden/ms_golden.py`. Exits non-zero on any failure; a case gradstep cannot run is
//! counted as skipped, with the reason, never as passed.

mod construct;
mod runner;

use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/golden/golden-2.10.0.json".into());
    let golden = match golden::Golden::load(&path) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let (version, device) = golden.origin();
    println!("golden file {path}: MindSpore {version} ({device})");
    let sections = runner::run(&golden);
    let failed: usize = sections.iter().map(|s| s.failed).sum();
    for s in &sections {
        println!("{s}");
    }
    if sections.is_empty() {
        println!("no section gradstep knows was found");
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
