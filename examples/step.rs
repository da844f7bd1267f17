//! A few optimizer steps on a small buffer, printed: momentum with weight decay and a loss scale
//! pulling six parameters toward a target, then the same with SGD, and a check that the fused
//! kernel gave the scalar reference's bits.
//!
//!     cargo run --release --example step

use std::num::NonZeroUsize;

use gradstep::hyper::{GradPrep, MomentumStep, SgdStep};
use gradstep::kernel::{self, Backend};
use gradstep::{Error, reference};

/// The loss is ½‖w − target‖²; its gradient is w − target.
const TARGET: [f32; 6] = [1.0, -2.0, 0.5, 3.0, -0.25, 0.0];
/// Gradients arrive multiplied by the loss scale, as under mixed-precision training.
const LOSS_SCALE: f64 = 128.0;

fn loss(w: &[f32]) -> f32 {
    w.iter()
        .zip(TARGET)
        .map(|(w, t)| 0.5 * (w - t) * (w - t))
        .sum()
}

fn show(w: &[f32]) -> String {
    let parts: Vec<String> = w.iter().map(|x| format!("{x:7.4}")).collect();
    format!("[{}]", parts.join(" "))
}

fn scaled_grads(w: &[f32]) -> [f32; 6] {
    let mut g = [0.0; 6];
    for ((g, w), t) in g.iter_mut().zip(w).zip(TARGET) {
        *g = (w - t) * LOSS_SCALE as f32;
    }
    g
}

fn main() -> Result<(), Error> {
    let path = Backend::selected();
    println!("kernel path: {} ({})", path.name(), path.instruction_set());

    let prep = GradPrep::new(1e-4, LOSS_SCALE)?;
    let step = MomentumStep::new(0.25, 0.3, false, prep)?;
    println!(
        "\nMomentum: lr 0.25, momentum 0.3, weight decay 1e-4, loss scale {LOSS_SCALE} \
         (decay coefficient F(wd·L) = {:e}, unscale F(1/L) = {:e})",
        prep.decay().unwrap_or(0.0),
        prep.unscale().unwrap_or(1.0)
    );
    let (mut w, mut m) = ([0.0f32; 6], [0.0f32; 6]);
    let (mut w_ref, mut m_ref) = (w, m);
    println!("step 0: loss {:9.6}  w {}", loss(&w), show(&w));
    for k in 1..=8 {
        let g = scaled_grads(&w);
        kernel::momentum(&mut w, &g, &mut m, None, &step)?;
        reference::momentum(&mut w_ref, &g, &mut m_ref, None, &step)?;
        println!("step {k}: loss {:9.6}  w {}", loss(&w), show(&w));
    }
    let same = w
        .iter()
        .chain(&m)
        .zip(w_ref.iter().chain(&m_ref))
        .all(|(a, b)| a.to_bits() == b.to_bits());
    println!("fused kernel and scalar reference agree bit for bit: {same}");

    println!("\nSGD: lr 0.25, momentum 0.3, dampening 0.1, Nesterov off, same gradients");
    let sgd = SgdStep::new(0.25, 0.3, 0.1, false, prep)?;
    let (mut w, mut acc) = ([0.0f32; 6], [0.0f32; 6]);
    for k in 1..=8 {
        let g = scaled_grads(&w);
        // The first step fills the momentum buffer with the gradient, undamped (MindSpore's `stat`).
        kernel::sgd(&mut w, &g, &mut acc, None, &sgd.first_step(k == 1))?;
        println!("step {k}: loss {:9.6}", loss(&w));
    }

    println!("\ngradient centralization: a 2×3 tensor whose rows' mean gradients are removed");
    let (mut w, mut m) = ([0.0f32; 6], [0.0f32; 6]);
    let g = [1.0f32, 2.0, 3.0, -1.0, 0.0, 4.0];
    let step = MomentumStep::new(0.5, 0.0, false, GradPrep::NONE)?;
    kernel::momentum(&mut w, &g, &mut m, NonZeroUsize::new(2), &step)?;
    println!("grads {g:?} -> update direction {m:?}");
    Ok(())
}
