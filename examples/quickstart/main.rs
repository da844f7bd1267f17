//! Trains a small network on the UCI handwritten digits with gradstep's Momentum optimizer (or
//! AdamWeightDecay) and MindSpore's parameter-group strategy, and prints each epoch.
//!
//!     cargo run --release --example quickstart [-- --optimizer adamw]

mod model;

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let choice = model::Choice::from_args(std::env::args().skip(1))?;
    model::run(choice, |line| println!("{line}"))?;
    // the one line that depends on the machine (every other is the same everywhere)
    let backend = gradstep::Backend::selected();
    println!(
        "kernel backend {}, {:.2} s",
        backend.instruction_set(),
        started.elapsed().as_secs_f32()
    );
    Ok(())
}
