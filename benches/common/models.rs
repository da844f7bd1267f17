//! Model layouts the benchmarks step. Shared by `benches/optimizer.rs` and `benches/parallel.rs`.

use gradstep::Tensor;

/// ResNet-50 (torchvision): stem, bottlenecks [3, 4, 6, 3] of widths 64–512 (expansion 4, a
/// projection in each stage's first block), classifier 2048 → 1000.
pub fn resnet50() -> Vec<Tensor> {
    const CONV: usize = 0;
    const BN: usize = 1;
    let mut t = vec![];
    let conv = |t: &mut Vec<Tensor>, out: usize, inp: usize, k: usize| {
        t.push(Tensor::matrix(out, inp * k * k, CONV))
    };
    let bn =
        |t: &mut Vec<Tensor>, c: usize| t.extend([Tensor::vector(c, BN), Tensor::vector(c, BN)]);
    conv(&mut t, 64, 3, 7);
    bn(&mut t, 64);
    let mut inp = 64;
    for (width, blocks) in [(64, 3), (128, 4), (256, 6), (512, 3)] {
        for b in 0..blocks {
            conv(&mut t, width, inp, 1);
            bn(&mut t, width);
            conv(&mut t, width, width, 3);
            bn(&mut t, width);
            conv(&mut t, width * 4, width, 1);
            bn(&mut t, width * 4);
            if b == 0 {
                conv(&mut t, width * 4, inp, 1);
                bn(&mut t, width * 4);
            }
            inp = width * 4;
        }
    }
    t.push(Tensor::matrix(1000, 2048, 2));
    t.push(Tensor::vector(1000, 3));
    assert_eq!(t.len(), 161);
    assert_eq!(t.iter().map(|t| t.len).sum::<usize>(), 25_557_032);
    t
}
