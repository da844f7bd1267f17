//! Runs every case of a golden file through gradstep and prints one line per section.
//!
//!     cargo run --release --example conformance -- tests/golden/golden-2.10.0.json
//!
//! The file may come from another MindSpore release or carry other cases: regenerate it with
//! `tests/golden/ms_golden.py`. Exits non-zero on any failure; a case gradstep cannot run is
//! counted as skipped, with the reason, never as passed.

mod runner;

use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/golden/golden-2.10.0.json".into());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let golden: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{path} is not JSON: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(meta) = golden.get("meta") {
        println!(
            "golden file {path}: MindSpore {} ({})",
            meta["mindspore_version"].as_str().unwrap_or("?"),
            meta["device"].as_str().unwrap_or("?")
        );
    }
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
