//! The quickstart (`cargo run --release --example quickstart`) does what the README says: its
//! training loss falls to less than half and its held-out accuracy exceeds 90%.

#[path = "../examples/quickstart/model.rs"]
mod model;

#[test]
fn the_quickstart_learns_the_digits() {
    let report = model::train(|_, _| {}, |_| {}).expect("training runs");
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
    assert_eq!(first[0], 0.2);
    assert!(last.lrs[0] < 0.01);
    assert_eq!([last.lrs[1], last.lrs[2], last.lrs[3]], [1e-4, 1e-3, 0.05]);
}
