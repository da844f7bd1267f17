// Trains a tiny linear model in node through gradstep's exported functions (wasm32 + simd128):
// y = w·x + b fitted to y = 3·x0 − 2·x1 + 0.5, the learning rate a MindSpore cosine_decay_lr table
// filled by gradstep, each step one fused Momentum kernel call. Exits 1 if it does not learn.
//
//   cargo build --release --target wasm32-unknown-unknown --manifest-path wasm/Cargo.toml
//   node wasm/train.mjs "$(tools/target-dir.sh wasm/Cargo.toml)/wasm32-unknown-unknown/release/gradstep_wasm.wasm"
import { readFile } from 'node:fs/promises';
import process from 'node:process';

// the module where cargo put it: $CARGO_TARGET_DIR when set (relative to the working directory, as
// cargo takes it), else wasm/target/
const targetDir = process.env.CARGO_TARGET_DIR ?? new URL('./target', import.meta.url).pathname;
const file = process.argv[2] ?? `${targetDir}/wasm32-unknown-unknown/release/gradstep_wasm.wasm`;
const { instance } = await WebAssembly.instantiate(await readFile(file), {});
const g = instance.exports;
const f32 = (ptr, n) => new Float32Array(g.memory.buffer, ptr, n);
// a NUL-terminated string in the module's memory
const cstr = (ptr) => {
  const bytes = new Uint8Array(g.memory.buffer, ptr);
  return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
};
const message = (status) => cstr(g.gradstep_status_message(status));
const check = (status, what) => {
  if (status !== 0) throw new Error(`${what}: ${message(status)}`);
};

const STEPS = 60, SAMPLES = 64, LEN = 3;
const [paramsPtr, gradsPtr, statePtr, tablePtr] = [LEN, LEN, LEN, STEPS].map((n) => g.alloc_f32(n));
const [params, grads, state, table] = [f32(paramsPtr, LEN), f32(gradsPtr, LEN), f32(statePtr, LEN), f32(tablePtr, STEPS)];

// MindSpore's dynamic_lr.cosine_decay_lr(0.001, 0.1, STEPS, 1, STEPS), rounded once per entry
check(g.gradstep_cosine_decay_lr(0.001, 0.1, STEPS, 1, STEPS, tablePtr, STEPS), 'cosine_decay_lr');
console.log(`kernel backend: ${cstr(g.gradstep_backend_name(g.gradstep_backend_selected()))}`);

const xs = Array.from({ length: SAMPLES }, (_, i) => [(i % 8) / 4 - 1, Math.floor(i / 8) / 4 - 1]);
const ys = xs.map(([a, b]) => 3 * a - 2 * b + 0.5);
const loss = () => xs.reduce((s, [a, b], i) => s + (params[0] * a + params[1] * b + params[2] - ys[i]) ** 2, 0) / SAMPLES;

const first = loss();
for (let k = 0; k < STEPS; k++) {
  grads.fill(0);
  xs.forEach(([a, b], i) => {
    const err = params[0] * a + params[1] * b + params[2] - ys[i];
    grads[0] += (2 * err * a) / SAMPLES;
    grads[1] += (2 * err * b) / SAMPLES;
    grads[2] += (2 * err) / SAMPLES;
  });
  // one fused pass: weight decay 1e-4, momentum 0.9, the step's learning rate from the table
  check(g.gradstep_kernel_momentum(paramsPtr, gradsPtr, statePtr, LEN, 0, table[k], 0.9, 0, 1e-4, 1.0, 0), `step ${k}`);
  if (k % 10 === 0) console.log(`step ${String(k).padStart(2)}  loss ${loss().toFixed(6)}  lr ${table[k].toFixed(5)}`);
}
const last = loss();
console.log(`fitted y = ${params[0].toFixed(4)}·x0 ${params[1] >= 0 ? '+' : ''}${params[1].toFixed(4)}·x1 +${params[2].toFixed(4)}; loss ${first.toFixed(4)} -> ${last.toFixed(6)}`);
process.exit(last < first / 100 ? 0 : 1);
