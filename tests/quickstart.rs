//! The quickstart (`cargo run --release --example quickstart`) does what the README says: its
//! training loss falls to less than half and its held-out accuracy exceeds 90%.

#[path = "../examples/quickstart/model.rs"]
mod model;

use model::Choice;

#[test]
fn the_quickstart_learns_the_digits() {
    learns(Choice::Momentum, [0.2, 1e-4, 1e-3, 0.05]);
}

#[test]
fn the_quickstart_learns_the_digits_with_adamw() {
    learns(Choice::AdamW, [0.01, 1e-3, 1e-3, 5e-3]);
}

/// Training with `choice` halves the loss and ends above 90% on the held-out images; `lrs` are
/// the groups' first learning rates.
fn learns(choice: Choice, lrs: [f32; 4]) {
    let report = model::train(choice, |_, _| {}, |_| {}).expect("training runs");
    let last = report.epochs.last().unwrap();
    let numbers: Vec<u32> = report.epochs.iter().map(|e| e.epoch).collect();
    assert_eq!(numbers, (1..=model::EPOCHS).collect::<Vec<_>>());
    assert_eq!(model::GROUP_NAMES.len(), last.lrs.len());
    assert_eq!((report.train, report.test), (1437, 360));
    assert!(
        last.train_loss < 0.5 * report.initial_loss,
        "loss {} -> {}",
        report.initial_loss,
        last.train_loss
    );
    assert!(
        last.test_accuracy > 0.9,
        "held-out accuracy {}",
        last.test_accuracy
    );
    // it started near chance: the optimizer did the learning
    assert!(
        report.initial_accuracy < 0.3,
        "initial accuracy {}",
        report.initial_accuracy
    );
    // the first layer's table decays; the other groups keep their static rates
    let first = &report.epochs[0].lrs;
    assert_eq!(first[0], lrs[0]);
    assert!(last.lrs[0] < lrs[0] / 10.0);
    assert_eq!(last.lrs[1..], lrs[1..]);
}

#[test]
fn the_options_are_parsed() {
    let parse = |a: &[&str]| Choice::from_args(a.iter().map(|s| s.to_string()));
    assert_eq!(parse(&[]), Ok(Choice::Momentum));
    assert_eq!(parse(&["--optimizer", "adamw"]), Ok(Choice::AdamW));
    assert_eq!(parse(&["--optimizer", "momentum"]), Ok(Choice::Momentum));
    assert!(parse(&["--optimizer"]).is_err());
    assert!(parse(&["--optimizer", "sgd"]).is_err());
    assert!(parse(&["adamw"]).is_err());
}

/// The README shows what the quickstart prints, with each optimizer: every line of its output
/// blocks but the last (the machine's kernel backend and the time) is compared with a run here,
/// on every target the suite runs on. `GRADSTEP_BLESS=1 cargo test --test quickstart` rewrites
/// the blocks.
#[test]
fn the_readme_shows_what_the_quickstart_prints() {
    for choice in [Choice::Momentum, Choice::AdamW] {
        let mut lines = vec![];
        model::run(choice, |l| lines.push(l)).expect("training runs");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        // the block that starts with this run's first line
        let open = format!("```text\n{}\n", lines[0]);
        let start = readme
            .find(&open)
            .unwrap_or_else(|| panic!("the README shows the quickstart's output with {choice:?}"))
            + 8;
        let end = start + readme[start..].find("```").unwrap();
        let shown: Vec<&str> = readme[start..end].lines().collect();
        let (machine, shown) = shown.split_last().unwrap();
        assert!(
            machine.starts_with("kernel backend "),
            "the block ends with the machine's line: {machine}"
        );
        if std::env::var_os("GRADSTEP_BLESS").is_some() {
            let block = format!("{}\n{machine}\n", lines.join("\n"));
            std::fs::write(
                path,
                format!("{}{block}{}", &readme[..start], &readme[end..]),
            )
            .unwrap();
            continue;
        }
        assert_eq!(
            shown,
            lines.iter().map(String::as_str).collect::<Vec<_>>(),
            "README.md's quickstart output is stale: GRADSTEP_BLESS=1 cargo test --test quickstart"
        );
    }
}
