//! Adam and AdamWeightDecay through the C API, driven from Rust so that Miri runs the unsafe
//! layer: the kernels against the Rust kernels, their pointer checks, and the optimizers against
//! the Rust optimizers, through steps, save and restore.
#![cfg(feature = "capi")]

use std::mem::MaybeUninit;
use std::num::NonZeroU32;
use std::ptr::null;

use gradstep::ffi::*;
use gradstep::hyper::{AdamStep, AdamWStep, Betas, GradPrep};
use gradstep::kernel::{self, Backend};
use gradstep::{Adam, AdamSettings, AdamWSettings, AdamWeightDecay, Group, Lr, Tensor};

fn ok(s: Status) {
    assert_eq!(s, Status::Ok);
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn blank() -> COptimizer {
    // SAFETY: plain data; all zeros is a value (an uninitialized optimizer).
    unsafe { MaybeUninit::<COptimizer>::zeroed().assume_init() }
}

const N: usize = 11;

fn inputs() -> ([f32; N], [f32; N], [f32; 3 * N]) {
    let w = std::array::from_fn(|i| 0.5 - i as f32 * 0.07);
    let g = std::array::from_fn(|i| (i as f32 - 5.0) * 0.3);
    let s = std::array::from_fn(|i| (i % 5) as f32 * 0.01);
    (w, g, s)
}

#[test]
fn kernels_are_the_rust_kernels() {
    let mut settings = gradstep_adam_settings_default();
    settings.loss_scale = 128.0;
    settings.threads = 2;
    let adamw = gradstep_adamw_settings_default();
    for (nesterov, amsgrad) in [(false, false), (true, false), (false, true)] {
        settings.nesterov = nesterov as u32;
        settings.amsgrad = amsgrad as u32;
        let (mut w, g, mut s) = inputs();
        let buffers = if amsgrad { 3 } else { 2 };
        // SAFETY: live arrays of the lengths given.
        ok(unsafe {
            gradstep_kernel_adam(
                w.as_mut_ptr(),
                g.as_ptr(),
                s.as_mut_ptr(),
                N,
                0,
                0.01,
                1e-4,
                0.9,
                0.999,
                &settings,
                GRADSTEP_BACKEND_SCALAR,
            )
        });
        let (mut rw, _, mut rs) = inputs();
        let betas = Betas::new(0.9, 0.999, 1e-8).unwrap();
        let prep = GradPrep::new(1e-4, 128.0).unwrap();
        let step = AdamStep::new(0.01, betas, nesterov, amsgrad, prep)
            .unwrap()
            .with_powers(0.9, 0.999)
            .unwrap()
            .with_threads(NonZeroU32::new(2).unwrap());
        let (m, rest) = rs.split_at_mut(N);
        let (v, vh) = rest.split_at_mut(N);
        let vh = if amsgrad { &mut vh[..] } else { &mut [] };
        kernel::adam_on(Backend::Scalar, &mut rw, &g, m, v, vh, None, &step).unwrap();
        assert_eq!(bits(&w), bits(&rw));
        assert_eq!(bits(&s[..buffers * N]), bits(&rs[..buffers * N]));
    }
    let (mut w, g, mut s) = inputs();
    // SAFETY: as above.
    ok(unsafe {
        gradstep_kernel_adamw(
            w.as_mut_ptr(),
            g.as_ptr(),
            s.as_mut_ptr(),
            N,
            0,
            0.01,
            1e-2,
            &adamw,
            GRADSTEP_BACKEND_AUTO,
        )
    });
    let (mut rw, _, mut rs) = inputs();
    let step = AdamWStep::new(0.01, Betas::new(0.9, 0.999, 1e-6).unwrap(), 1e-2).unwrap();
    let (m, v) = rs[..2 * N].split_at_mut(N);
    kernel::adamw_on(Backend::Scalar, &mut rw, &g, m, v, None, &step).unwrap();
    assert_eq!(
        (bits(&w), bits(&s[..2 * N])),
        (bits(&rw), bits(&rs[..2 * N]))
    );
}

#[test]
fn kernels_check_their_pointers() {
    let settings = gradstep_adam_settings_default();
    let (mut w, g, mut s) = inputs();
    let before = (w, s);
    let call = |w: *mut f32, s: *mut f32, len, settings: *const CAdamSettings| {
        // SAFETY: the pointers come from live arrays of at least the lengths given, or are
        // deliberately null, misaligned or overlapping.
        unsafe {
            gradstep_kernel_adam(w, g.as_ptr(), s, len, 0, 0.01, 0.0, 0.9, 0.999, settings, 0)
        }
    };
    let (wp, sp) = (w.as_mut_ptr(), s.as_mut_ptr());
    assert_eq!(call(wp, sp, N, null()), Status::NullPointer);
    let odd = (&settings as *const CAdamSettings as *const u8).wrapping_add(1);
    assert_eq!(
        call(wp, sp, N, odd as *const CAdamSettings),
        Status::Misaligned
    );
    // the state (2·len values) reaching into the parameters
    assert_eq!(call(wp, wp.wrapping_add(1), 2, &settings), Status::Overlap);
    assert_eq!((w, s), before);
    assert_eq!(call(wp, sp, 3, &settings), Status::Ok);
    assert_ne!((w, s), before);
}

/// The C optimizers and the Rust optimizers over the same layout give the same bits, and a C
/// optimizer restored from saved bytes (beta powers included) goes on as the uninterrupted one.
#[test]
fn optimizers_are_the_rust_optimizers() {
    let tensors = [Tensor::matrix(2, 3, 0), Tensor::vector(5, 1)];
    for variant in 0..3 {
        let mut groups = [
            gradstep_group_static(0.01, 1e-3, 1),
            gradstep_group_static(0.02, 0.0, 0),
        ];
        let rust_groups = || {
            [
                Group::new(Lr::new_static(0.01).unwrap(), 1e-3, true).unwrap(),
                Group::new(Lr::new_static(0.02).unwrap(), 0.0, false).unwrap(),
            ]
        };
        let mut a = gradstep_adam_settings_default();
        a.amsgrad = (variant == 1) as u32;
        a.nesterov = (variant == 0) as u32;
        let aw = gradstep_adamw_settings_default();
        let init = |opt: &mut COptimizer, groups: &mut [CGroup; 2]| {
            // SAFETY: the arrays outlive the optimizer; the settings are live.
            unsafe {
                if variant < 2 {
                    gradstep_adam_init(opt, tensors.as_ptr(), 2, groups.as_mut_ptr(), 2, &a)
                } else {
                    gradstep_adamw_init(opt, tensors.as_ptr(), 2, groups.as_mut_ptr(), 2, &aw)
                }
            }
        };
        let mut opt = blank();
        ok(init(&mut opt, &mut groups));
        let mut state_len = 0;
        // SAFETY: a live optimizer and output.
        ok(unsafe { gradstep_optimizer_state_len(&opt, &mut state_len) });
        let (mut w, g) = (inputs().0, inputs().1);
        let mut s = vec![0.0f32; state_len];
        let step = |opt: &mut COptimizer, w: &mut [f32; N], s: &mut [f32]| {
            // SAFETY: live arrays of the lengths given.
            ok(unsafe {
                gradstep_optimizer_step(opt, w.as_mut_ptr(), g.as_ptr(), N, s.as_mut_ptr(), s.len())
            })
        };
        step(&mut opt, &mut w, &mut s);
        let mut saved = vec![0u8; 256];
        let mut written = 0;
        // SAFETY: live arrays of the lengths given.
        ok(unsafe {
            gradstep_optimizer_save(
                &opt,
                s.as_ptr(),
                s.len(),
                saved.as_mut_ptr(),
                256,
                &mut written,
            )
        });
        step(&mut opt, &mut w, &mut s);

        let (mut rw, mut rs) = (inputs().0, vec![0.0f32; state_len]);
        if variant < 2 {
            let settings = AdamSettings::new()
                .with_amsgrad(variant == 1)
                .with_nesterov(variant == 0);
            let mut rust = Adam::new(&tensors, rust_groups(), settings).unwrap();
            assert_eq!(rust.state_len(), state_len);
            rust.step(&mut rw, &g, &mut rs).unwrap();
            rust.step(&mut rw, &g, &mut rs).unwrap();
        } else {
            let mut rust =
                AdamWeightDecay::new(&tensors, rust_groups(), AdamWSettings::new()).unwrap();
            rust.step(&mut rw, &g, &mut rs).unwrap();
            rust.step(&mut rw, &g, &mut rs).unwrap();
        }
        assert_eq!((bits(&w), bits(&s)), (bits(&rw), bits(&rs)), "{variant}");

        // restored after one step, then one more: the same bits
        let mut groups2 = groups;
        let mut opt2 = blank();
        ok(init(&mut opt2, &mut groups2));
        let (mut w2, mut s2) = (inputs().0, vec![0.0f32; state_len]);
        step(&mut opt2, &mut w2, &mut s2);
        let mut s3 = vec![0.0f32; state_len];
        // SAFETY: live arrays of the lengths given.
        ok(unsafe {
            gradstep_optimizer_restore(
                &mut opt2,
                saved.as_ptr(),
                written,
                s3.as_mut_ptr(),
                s3.len(),
            )
        });
        step(&mut opt2, &mut w2, &mut s3);
        assert_eq!((bits(&w2), bits(&s3)), (bits(&w), bits(&s)), "{variant}");
    }
}

/// A plan of a layout near the largest (5.5·10¹⁷ values of AMSGrad, 36 bytes each: more than 2⁶⁴
/// bytes) into `SIZE_MAX` shards: the boundaries do not overflow — the last shard ends at the
/// layout's end and the shards before it run back to back. (Found by reading the code while
/// porting the fuzz targets to element ranges.)
#[test]
#[cfg(target_pointer_width = "64")]
fn plans_of_the_largest_layouts_do_not_overflow() {
    const LEN: usize = 550_000_000_000_000_000;
    let tensors = [Tensor::vector(LEN, 0)];
    let mut groups = [gradstep_group_static(0.01, 0.0, 0)];
    let mut settings = gradstep_adam_settings_default();
    settings.amsgrad = 1;
    let mut opt = blank();
    // SAFETY: every pointer is to a live local of the length given.
    unsafe {
        assert_eq!(
            gradstep_adam_init(
                &mut opt,
                tensors.as_ptr(),
                1,
                groups.as_mut_ptr(),
                1,
                &settings
            ),
            Status::Ok
        );
        let shard = |shards: usize, index: usize| {
            let (mut start, mut end) = (0, 0);
            assert_eq!(
                gradstep_optimizer_plan(&opt, shards, index, &mut start, &mut end),
                Status::Ok
            );
            start..end
        };
        let last = shard(usize::MAX, usize::MAX - 1);
        assert_eq!(last.end, LEN);
        let before = shard(usize::MAX, usize::MAX - 2);
        assert_eq!(before.end, last.start);
        assert!(before.start <= before.end && last.start <= last.end);
        assert_eq!(shard(2, 0), 0..LEN / 2);
        assert_eq!(shard(2, 1), LEN / 2..LEN);
    }
}
