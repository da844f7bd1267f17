//! Runs every case of a golden file through gradstep and prints one line per section.
//!
//!     cargo run --release --example conformance [-- FILE...]
//!
//! Without arguments it runs the visible files, `tests/golden/golden-2.10.0.json` and
//! `golden-adam-2.10.0.json`. A file may come from another MindSpore release or carry other
//! cases: regenerate it with `tests/golden/ms_golden.py` or `ms_golden_adam.py`. Exits non-zero on any failure; a case gradstep cannot run is
//! counted as skipped, with the reason, never as passed.

mod construct;
mod emulate;
mod runner;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        paths = golden::VISIBLE
            .iter()
            .map(|f| format!("tests/golden/{f}"))
            .collect();
    }
    let mut failed = 0;
    for path in &paths {
        let golden = match golden::Golden::load(path) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let (version, device) = golden.origin();
        println!("golden file {path}: MindSpore {version} ({device})");
        let sections = runner::run(&golden);
        failed += sections.iter().map(|s| s.failed).sum::<usize>();
        for s in &sections {
            println!("{s}");
        }
        if sections.is_empty() {
            println!("no section gradstep knows was found");
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
