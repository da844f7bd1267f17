//! The quickstart's model and training loop, shared with `tests/quickstart.rs`.
//!
//! A small network on the UCI digits (8×8 images, 10 classes): 64 inputs → dense 32 → LayerNorm
//! (scale γ, shift β) → ReLU → dense 32 → ReLU → classifier 10, softmax cross-entropy. Its
//! parameters lie back to back in one flat buffer and are stepped by gradstep's Momentum (or
//! AdamWeightDecay) in four groups, MindSpore's parameter-group strategy:
//!
//! | group | tensors | learning rate: Momentum; AdamWeightDecay | weight decay | centralized |
//! |---|---|---|---|---|
//! | first layer | `w1` | a `cosine_decay_lr` table, 0.2 → 0.005; 0.01 → 0.0005 | 1e-4; 1e-2 | yes |
//! | normalization | `gamma`, `beta` | 1e-4; 1e-3 | 0 | — |
//! | classifier | `wc`, `bc` | 1e-3; 1e-3 | 1e-5; 1e-2 | no |
//! | default | `b1`, `w2`, `b2` | 0.05; 0.005 | 0 | no |

use flate2::read::GzDecoder;
use gradstep::lr::{Lr, dynamic};
use gradstep::{AdamWSettings, AdamWeightDecay, Group, Optimizer, Rule, Tensor};
use gradstep::{Momentum, MomentumSettings};
use std::io::Read;

pub const INPUTS: usize = 64;
pub const HIDDEN: usize = 32;
pub const CLASSES: usize = 10;
pub const EPOCHS: u32 = 20;
pub const BATCH: usize = 32;
pub const GROUP_NAMES: [&str; 4] = ["first layer", "normalization", "classifier", "default"];

/// The layout: tensors back to back in this order (MindSpore's `order_params`).
pub const TENSORS: [Tensor; 8] = [
    Tensor::matrix(HIDDEN, INPUTS, 0),  // w1
    Tensor::vector(HIDDEN, 3),          // b1
    Tensor::vector(HIDDEN, 1),          // gamma
    Tensor::vector(HIDDEN, 1),          // beta
    Tensor::matrix(HIDDEN, HIDDEN, 3),  // w2
    Tensor::vector(HIDDEN, 3),          // b2
    Tensor::matrix(CLASSES, HIDDEN, 2), // wc
    Tensor::vector(CLASSES, 2),         // bc
];

/// Where each tensor starts in the flat buffers.
const W1: usize = 0;
const B1: usize = W1 + HIDDEN * INPUTS;
const GAMMA: usize = B1 + HIDDEN;
const BETA: usize = GAMMA + HIDDEN;
const W2: usize = BETA + HIDDEN;
const B2: usize = W2 + HIDDEN * HIDDEN;
const WC: usize = B2 + HIDDEN;
const BC: usize = WC + CLASSES * HIDDEN;
pub const PARAMS: usize = BC + CLASSES;

/// One image (pixels scaled to [0, 1]) and its label.
pub struct Sample {
    pub x: [f32; INPUTS],
    pub label: usize,
}

/// The digits data from `data/digits/digits.csv.gz`.
pub fn load_digits() -> std::io::Result<Vec<Sample>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits/digits.csv.gz");
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    let bad = |line: &str| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad row: {line}"))
    };
    text.lines()
        .map(|line| {
            let v: Vec<u8> = line
                .split(',')
                .map(|f| f.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|_| bad(line))?;
            let (&label, pixels) = v.split_last().ok_or_else(|| bad(line))?;
            if pixels.len() != INPUTS || label as usize >= CLASSES {
                return Err(bad(line));
            }
            let mut x = [0.0; INPUTS];
            for (x, &p) in x.iter_mut().zip(pixels) {
                *x = p as f32 / 16.0;
            }
            Ok(Sample {
                x,
                label: label as usize,
            })
        })
        .collect()
}

/// A small deterministic generator (xorshift), so that every run is the same.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform().max(1e-7), self.uniform());
        (-2.0 * libm::logf(u)).sqrt() * libm::cosf(2.0 * core::f32::consts::PI * v)
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

/// He-initialized weights, zero biases and shifts, unit scales.
pub fn initial_params(rng: &mut Rng) -> Vec<f32> {
    let mut p = vec![0.0f32; PARAMS];
    for (range, fan_in) in [(W1..B1, INPUTS), (W2..B2, HIDDEN), (WC..BC, HIDDEN)] {
        let scale = (2.0 / fan_in as f32).sqrt();
        for w in &mut p[range] {
            *w = rng.normal() * scale;
        }
    }
    p[GAMMA..BETA].fill(1.0);
    p
}

/// `out = W·x + b` for a `rows × x.len()` matrix `w`.
fn affine(w: &[f32], b: &[f32], x: &[f32], out: &mut [f32]) {
    for ((o, row), &bias) in out.iter_mut().zip(w.chunks_exact(x.len())).zip(b) {
        *o = bias + row.iter().zip(x).map(|(w, x)| w * x).sum::<f32>();
    }
}

/// Everything the backward pass needs of one sample's forward pass.
struct Forward {
    xhat: [f32; HIDDEN],
    inv_std: f32,
    a1: [f32; HIDDEN],
    n: [f32; HIDDEN],
    z2: [f32; HIDDEN],
    a2: [f32; HIDDEN],
    p: [f32; CLASSES],
}

fn forward(params: &[f32], x: &[f32; INPUTS]) -> Forward {
    let mut z1 = [0.0; HIDDEN];
    affine(&params[W1..B1], &params[B1..GAMMA], x, &mut z1);
    let mean = z1.iter().sum::<f32>() / HIDDEN as f32;
    let var = z1.iter().map(|z| (z - mean) * (z - mean)).sum::<f32>() / HIDDEN as f32;
    let inv_std = 1.0 / (var + 1e-5).sqrt();
    let (mut xhat, mut n, mut a1) = ([0.0; HIDDEN], [0.0; HIDDEN], [0.0; HIDDEN]);
    for j in 0..HIDDEN {
        xhat[j] = (z1[j] - mean) * inv_std;
        n[j] = params[GAMMA + j] * xhat[j] + params[BETA + j];
        a1[j] = n[j].max(0.0);
    }
    let mut z2 = [0.0; HIDDEN];
    affine(&params[W2..B2], &params[B2..WC], &a1, &mut z2);
    let a2 = z2.map(|z| z.max(0.0));
    let mut logits = [0.0; CLASSES];
    affine(&params[WC..BC], &params[BC..PARAMS], &a2, &mut logits);
    let top = logits.iter().copied().fold(f32::MIN, f32::max);
    let e = logits.map(|l| libm::expf(l - top));
    let total: f32 = e.iter().sum();
    Forward {
        xhat,
        inv_std,
        a1,
        n,
        z2,
        a2,
        p: e.map(|v| v / total),
    }
}

/// Adds one sample's gradient of the mean loss (`scale` = 1/batch) into `grads`; returns its loss.
fn backward(params: &[f32], s: &Sample, scale: f32, grads: &mut [f32]) -> f32 {
    let f = forward(params, &s.x);
    let loss = -libm::logf(f.p[s.label].max(1e-12));
    let mut dlogits = f.p.map(|p| p * scale);
    dlogits[s.label] -= scale;
    let mut da2 = [0.0; HIDDEN];
    for (c, &d) in dlogits.iter().enumerate() {
        grads[BC + c] += d;
        for j in 0..HIDDEN {
            grads[WC + c * HIDDEN + j] += d * f.a2[j];
            da2[j] += params[WC + c * HIDDEN + j] * d;
        }
    }
    let mut da1 = [0.0; HIDDEN];
    for i in 0..HIDDEN {
        let dz = if f.z2[i] > 0.0 { da2[i] } else { 0.0 };
        grads[B2 + i] += dz;
        for j in 0..HIDDEN {
            grads[W2 + i * HIDDEN + j] += dz * f.a1[j];
            da1[j] += params[W2 + i * HIDDEN + j] * dz;
        }
    }
    // through ReLU and LayerNorm: dz1 = (dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)) / σ
    let mut dxhat = [0.0; HIDDEN];
    for j in 0..HIDDEN {
        let dn = if f.n[j] > 0.0 { da1[j] } else { 0.0 };
        grads[GAMMA + j] += dn * f.xhat[j];
        grads[BETA + j] += dn;
        dxhat[j] = dn * params[GAMMA + j];
    }
    let mean_d = dxhat.iter().sum::<f32>() / HIDDEN as f32;
    let mean_dx = dxhat.iter().zip(&f.xhat).map(|(d, x)| d * x).sum::<f32>() / HIDDEN as f32;
    for j in 0..HIDDEN {
        let dz1 = (dxhat[j] - mean_d - f.xhat[j] * mean_dx) * f.inv_std;
        grads[B1 + j] += dz1;
        for k in 0..INPUTS {
            grads[W1 + j * INPUTS + k] += dz1 * s.x[k];
        }
    }
    loss
}

/// The mean loss and the accuracy over `samples`.
pub fn evaluate(params: &[f32], samples: &[Sample]) -> (f32, f32) {
    let mut loss = 0.0;
    let mut correct = 0;
    for s in samples {
        let p = forward(params, &s.x).p;
        loss -= libm::logf(p[s.label].max(1e-12));
        let guess = (0..CLASSES)
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(0);
        correct += (guess == s.label) as usize;
    }
    (
        loss / samples.len() as f32,
        correct as f32 / samples.len() as f32,
    )
}

/// What one epoch did.
pub struct Epoch {
    pub epoch: u32,
    pub train_loss: f32,
    pub test_accuracy: f32,
    /// Each group's learning rate during the epoch.
    pub lrs: [f32; 4],
}

/// The whole run: where it started, and each epoch.
pub struct Report {
    /// The mean training loss before the first step.
    pub initial_loss: f32,
    /// The held-out accuracy before the first step.
    pub initial_accuracy: f32,
    pub epochs: Vec<Epoch>,
    pub train: usize,
    pub test: usize,
}

/// The optimizer the quickstart trains with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Choice {
    /// `nn.Momentum(momentum=0.9)`.
    Momentum,
    /// `nn.AdamWeightDecay` with MindSpore's defaults.
    AdamW,
}

impl Choice {
    /// `--optimizer momentum` (the default) or `--optimizer adamw` from the command line.
    pub fn from_args(mut args: impl Iterator<Item = String>) -> Result<Choice, String> {
        let mut choice = Choice::Momentum;
        while let Some(a) = args.next() {
            choice = match (a.as_str(), args.next().as_deref()) {
                ("--optimizer", Some("momentum")) => Choice::Momentum,
                ("--optimizer", Some("adamw")) => Choice::AdamW,
                _ => {
                    return Err(format!(
                        "usage: quickstart [--optimizer momentum|adamw] (got {a})"
                    ));
                }
            };
        }
        Ok(choice)
    }

    fn describe(self) -> &'static str {
        match self {
            Choice::Momentum => "Momentum 0.9",
            Choice::AdamW => "AdamWeightDecay",
        }
    }
}

/// The run as the quickstart prints it, line by line: every line is the same on every machine and
/// target (gradstep's bits are, and the model's `exp`, `log` and `cos` come from `libm`), which
/// `tests/quickstart.rs` checks against the README.
pub fn run(
    choice: Choice,
    mut line: impl FnMut(String),
) -> Result<Report, Box<dyn std::error::Error>> {
    line(format!(
        "gradstep quickstart: digits 8×8, {INPUTS}-{HIDDEN}-LayerNorm-{HIDDEN}-{CLASSES}, {} in {} groups",
        choice.describe(),
        GROUP_NAMES.len()
    ));
    let names: Vec<String> = GROUP_NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i} {n}"))
        .collect();
    line(format!("groups: {}", names.join(", ")));
    line(format!(
        "{:>5}  {:>10}  {:>9}  {:>9} {:>9} {:>9} {:>9}",
        "epoch", "train loss", "held-out", "lr[0]", "lr[1]", "lr[2]", "lr[3]"
    ));
    let report = train(choice, |_, _| {}, |_| {})?;
    line(format!(
        "{:>5}  {:>10.4}  {:>8.1}%",
        0,
        report.initial_loss,
        100.0 * report.initial_accuracy
    ));
    for e in &report.epochs {
        line(format!(
            "{:>5}  {:>10.4}  {:>8.1}%  {:>9.5} {:>9.5} {:>9.5} {:>9.5}",
            e.epoch,
            e.train_loss,
            100.0 * e.test_accuracy,
            e.lrs[0],
            e.lrs[1],
            e.lrs[2],
            e.lrs[3]
        ));
    }
    let last = report.epochs.last().ok_or("no epoch")?;
    line(format!(
        "{} training and {} held-out images; loss {:.4} -> {:.4} ({:.2}% of the start), held-out accuracy {:.1}% -> {:.1}%",
        report.train,
        report.test,
        report.initial_loss,
        last.train_loss,
        100.0 * last.train_loss / report.initial_loss,
        100.0 * report.initial_accuracy,
        100.0 * last.test_accuracy,
    ));
    Ok(report)
}

/// Trains with `choice` on 80% of the digits and reports on the held-out 20%; `start` sees the
/// initial loss and accuracy, `each` sees every epoch.
pub fn train(
    choice: Choice,
    start: impl FnOnce(f32, f32),
    each: impl FnMut(&Epoch),
) -> Result<Report, Box<dyn std::error::Error>> {
    let mut data = load_digits()?;
    let mut rng = Rng::new(0x5eed_1234_abcd_ef01);
    rng.shuffle(&mut data);
    let test = data.split_off(data.len() * 4 / 5);
    let train = data;
    let steps_per_epoch = train.len().div_ceil(BATCH) as u32;

    // MindSpore's dynamic_lr.cosine_decay_lr for the first layer, one value per step
    let total = EPOCHS * steps_per_epoch;
    let mut first_layer_lr = vec![0.0f32; total as usize];
    let (from, to) = match choice {
        Choice::Momentum => (0.2, 0.005),
        Choice::AdamW => (0.01, 0.0005),
    };
    dynamic::cosine_decay_lr(
        to,
        from,
        total,
        steps_per_epoch,
        EPOCHS,
        &mut first_layer_lr,
    )?;
    let table = Lr::table(&first_layer_lr)?;
    let data = (train, test, rng);
    match choice {
        Choice::Momentum => {
            let groups = [
                Group::new(table, 1e-4, true)?,
                Group::new(Lr::new_static(1e-4)?, 0.0, false)?,
                Group::new(Lr::new_static(1e-3)?, 1e-5, false)?,
                Group::new(Lr::new_static(0.05)?, 0.0, false)?,
            ];
            let opt = Momentum::new(&TENSORS, groups, MomentumSettings::new(0.9))?;
            fit(opt, data, start, each)
        }
        Choice::AdamW => {
            let groups = [
                Group::new(table, 1e-2, true)?,
                Group::new(Lr::new_static(1e-3)?, 0.0, false)?,
                Group::new(Lr::new_static(1e-3)?, 1e-2, false)?,
                Group::new(Lr::new_static(5e-3)?, 0.0, false)?,
            ];
            let opt = AdamWeightDecay::new(&TENSORS, groups, AdamWSettings::new())?;
            fit(opt, data, start, each)
        }
    }
}

/// The training loop, whichever the optimizer: its state is as long as it asks.
fn fit<'a, R: Rule>(
    mut opt: Optimizer<'a, R, [Group<'a>; 4]>,
    (mut train, test, mut rng): (Vec<Sample>, Vec<Sample>, Rng),
    start: impl FnOnce(f32, f32),
    mut each: impl FnMut(&Epoch),
) -> Result<Report, Box<dyn std::error::Error>> {
    let mut params = initial_params(&mut rng);
    let mut state = vec![0.0f32; opt.state_len()];
    let mut grads = vec![0.0f32; PARAMS];
    let initial_loss = evaluate(&params, &train).0;
    let initial_accuracy = evaluate(&params, &test).1;
    start(initial_loss, initial_accuracy);
    let mut epochs = vec![];
    for epoch in 1..=EPOCHS {
        let lrs = [0, 1, 2, 3].map(|g| opt.lr(g).unwrap_or(f32::NAN));
        rng.shuffle(&mut train);
        let mut loss = 0.0;
        for batch in train.chunks(BATCH) {
            grads.fill(0.0);
            for s in batch {
                loss += backward(&params, s, 1.0 / batch.len() as f32, &mut grads);
            }
            opt.step(&mut params, &grads, &mut state)?;
        }
        let e = Epoch {
            epoch,
            train_loss: loss / train.len() as f32,
            test_accuracy: evaluate(&params, &test).1,
            lrs,
        };
        each(&e);
        epochs.push(e);
    }
    Ok(Report {
        initial_loss,
        initial_accuracy,
        epochs,
        train: train.len(),
        test: test.len(),
    })
}
