#!/usr/bin/env -S node --no-warnings
// Runs a wasm32-wasip1 program (cargo's test binaries) in node's WASI: `wasi-run.mjs x.wasm args…`.
// The exit status is the program's; a trap (a failed test under panic=abort) is status 1.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args: [file, ...args],
  env: process.env,
  preopens: { '/': '/' },
  returnOnExit: true,
});
try {
  const module = await WebAssembly.compile(await readFile(file));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  process.exitCode = wasi.start(instance);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
}
