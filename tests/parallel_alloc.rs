//! The parallel step allocates nothing: a counting global allocator sees no allocation during
//! hundreds of steps on a rayon pool (after the pool's first use, which sets up its threads).
//! A file of its own: no other test of this binary may allocate meanwhile.
#![cfg(feature = "parallel")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use gradstep::{Adam, AdamSettings, Group, Lr, Tensor};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator with its own arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TENSORS: [Tensor; 3] = [
    Tensor::matrix(200, 700, 0),
    Tensor::vector(90_001, 1),
    Tensor::matrix(10, 300, 1),
];

#[test]
#[cfg_attr(target_os = "wasi", ignore = "wasm32-wasip1 has no threads")]
fn the_parallel_step_allocates_nothing() {
    let len: usize = TENSORS.iter().map(|t| t.len).sum();
    let groups = [
        Group::new(Lr::new_static(1e-3).unwrap(), 1e-4, true).unwrap(),
        Group::new(Lr::new_static(1e-3).unwrap(), 0.0, false).unwrap(),
    ];
    let mut opt = Adam::new(
        &TENSORS,
        groups,
        AdamSettings::new().with_check_finite(true),
    )
    .unwrap();
    let (mut w, g) = (vec![0.5f32; len], vec![0.25f32; len]);
    let mut s = vec![0.0f32; opt.state_len()];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    pool.install(|| {
        // the first step sets up what the pool keeps
        opt.step_parallel(&mut w, &g, &mut s).unwrap();
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for _ in 0..300 {
            opt.step_parallel(&mut w, &g, &mut s).unwrap();
        }
        assert_eq!(ALLOCATIONS.load(Ordering::SeqCst) - before, 0);
    });
    assert_eq!(opt.global_step(), 301);
}
