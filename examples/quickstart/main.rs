//! Trains a small network on the UCI handwritten digits with gradstep's Momentum optimizer and
//! MindSpore's parameter-group strategy, and prints each epoch.
//!
//!     cargo run --release --example quickstart

mod model;

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let path = gradstep::kernel::Backend::selected();
    println!(
        "gradstep quickstart: digits 8×8, 64-32-LayerNorm-32-10, Momentum 0.9 in 4 groups, {} kernel",
        path.instruction_set()
    );
    println!(
        "groups: {}",
        model::GROUP_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{i} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{:>5}  {:>10}  {:>9}  {:>9} {:>9} {:>9} {:>9}",
        "epoch", "train loss", "held-out", "lr[0]", "lr[1]", "lr[2]", "lr[3]"
    );
    let start =
        |loss: f32, accuracy: f32| println!("{:>5}  {loss:>10.4}  {:>8.1}%", 0, 100.0 * accuracy);
    let report = model::train(start, |e| {
        println!(
            "{:>5}  {:>10.4}  {:>8.1}%  {:>9.5} {:>9.5} {:>9.5} {:>9.5}",
            e.epoch,
            e.train_loss,
            100.0 * e.test_accuracy,
            e.lrs[0],
            e.lrs[1],
            e.lrs[2],
            e.lrs[3]
        );
    })?;
    let last = report.epochs.last().ok_or("no epoch")?;
    println!(
        "{} training and {} held-out images; loss {:.4} -> {:.4} ({:.2}% of the start), held-out accuracy {:.1}% -> {:.1}%, {:.2} s",
        report.train,
        report.test,
        report.initial_loss,
        last.train_loss,
        100.0 * last.train_loss / report.initial_loss,
        100.0 * report.initial_accuracy,
        100.0 * last.test_accuracy,
        started.elapsed().as_secs_f32()
    );
    Ok(())
}
