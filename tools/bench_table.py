#!/usr/bin/env python3
"""Ratio tables from criterion results of `cargo bench --bench kernels` (and `optimizer`,
`parallel --features parallel`).

    tools/bench_table.py [CRITERION_DIR] [--native NATIVE_CRITERION_DIR]

CRITERION_DIR defaults to target/criterion. The bench measures gradstep, the plain loop and the
bandwidth floor in rounds back to back (ids `<size>-r<round>`). A round's rate is that of its fastest
sample: on a shared machine interference only ever adds time, so the minimum is the steadiest
estimate of the code's own speed (Chen & Revels, "Robust benchmarking in noisy environments", 2016;
the default estimator of Julia's BenchmarkTools). Each row gives the median over rounds of elements
per second, the median of the per-round ratios gradstep/plain and gradstep/floor, and the spread of
those ratios over the rounds (max − min). With --native, a second table compares the default build
with a `-C target-cpu=native` build of the same benchmark.
"""
import json
import pathlib
import re
import statistics
import sys

KERNELS = ["momentum", "momentum_wd_ls", "nesterov", "sgd", "adam", "amsgrad", "adamw"]


def rate(root, group, fn, param):
    """elements per second of the fastest sample"""
    d = root / group / fn / param
    sample = json.loads((d / "new" / "sample.json").read_text())
    fastest = min(t / i for t, i in zip(sample["times"], sample["iters"]))
    n = int(param.split("-")[0])
    return n / fastest * 1e9


def rounds(root, group, fn):
    """{size: [param, ...]} for ids `<size>-r<round>`"""
    out = {}
    d = root / group / fn
    for p in sorted(d.iterdir()) if d.is_dir() else []:
        m = re.fullmatch(r"(\d+)-r(\d+)", p.name)
        if m:
            out.setdefault(int(m.group(1)), []).append(p.name)
    return out


def label(n):
    return f"{n >> 20} Mi" if n >= 1 << 20 else f"{n >> 10} Ki"


def table(root):
    print("| kernel | size | gradstep Gelem/s | plain loop | floor | × plain | × floor | spread of × plain / × floor |")
    print("|---|---|---|---|---|---|---|---|")
    lowest = {"plain": 9e9, "floor": 9e9}
    for k in KERNELS:
        for n, params in sorted(rounds(root, k, "gradstep").items()):
            g = [rate(root, k, "gradstep", p) for p in params]
            pl = [rate(root, k, "plain_loop", p) for p in params]
            fl = [rate(root, k, "floor", p) for p in params]
            rp = [a / b for a, b in zip(g, pl)]
            rf = [a / b for a, b in zip(g, fl)]
            mp, mf = statistics.median(rp), statistics.median(rf)
            lowest["plain"], lowest["floor"] = min(lowest["plain"], mp), min(lowest["floor"], mf)
            print(f"| {k} | {label(n)} | {statistics.median(g) / 1e9:.2f} | {statistics.median(pl) / 1e9:.2f} | "
                  f"{statistics.median(fl) / 1e9:.2f} | {mp:.2f} | {mf:.2f} | "
                  f"{max(rp) - min(rp):.2f} / {max(rf) - min(rf):.2f} |")
    print(f"\nlowest median ratio: {lowest['plain']:.2f}× the plain loop, {lowest['floor']:.2f}× the floor "
          f"({len(params)} rounds per cell)")


def model_table(root):
    """whole-model optimizer steps (benches/optimizer.rs) against one fused pass"""
    rows = []
    for name in ["mcu100k", "resnet50"]:
        for n, params in sorted(rounds(root, name, "optimizer").items()):
            opt = [rate(root, name, "optimizer", p) for p in params]
            fused = [rate(root, name, "fused_pass", p) for p in params]
            ratios = [a / b for a, b in zip(opt, fused)]
            rows.append(f"| {name} | {n} | {statistics.median(opt) / 1e9:.2f} | {statistics.median(fused) / 1e9:.2f} | "
                        f"{statistics.median(ratios):.2f} | {max(ratios) - min(ratios):.2f} |")
    if rows:
        print("\n| model | values | optimizer step Gelem/s | one fused pass | step / pass | spread |")
        print("|---|---|---|---|---|---|")
        print("\n".join(rows))


def l1_table(root):
    """Momentum's variants at 4 Ki, in separate allocations and spread, against the floor of the
    same layout; the floors with 4 multiplies; the cost of building a step (benches/kernels.rs)"""
    g = "l1_limit"
    variants = ["momentum", "momentum_wd", "momentum_ls", "momentum_wd_ls", "nesterov"]
    if not (root / g / "floor").is_dir():
        return
    print("\n| kernel at 4 Ki | Gelem/s | × floor | spread of × floor | spread layout: Gelem/s | × floor |")
    print("|---|---|---|---|---|---|")
    floors = ["floor", "floor_spread", "floor_4mul", "floor_4mul_spread"]
    for n, params in sorted(rounds(root, g, "floor").items()):
        fl = {f: [rate(root, g, f, p) for p in params] for f in floors}
        for v in variants:
            r = [rate(root, g, v, p) for p in params]
            rs = [rate(root, g, f"{v}_spread", p) for p in params]
            x = [a / b for a, b in zip(r, fl["floor"])]
            xs = [a / b for a, b in zip(rs, fl["floor_spread"])]
            print(f"| {v} | {statistics.median(r) / 1e9:.2f} | {statistics.median(x):.2f} | {max(x) - min(x):.2f} | "
                  f"{statistics.median(rs) / 1e9:.2f} | {statistics.median(xs):.2f} |")
        print("| floors (0 / 4 multiplies) | " + " / ".join(f"{statistics.median(fl[f]) / 1e9:.2f}" for f in floors[0::2])
              + " | | | " + " / ".join(f"{statistics.median(fl[f]) / 1e9:.2f}" for f in floors[1::2]) + " | |")
    setup = root / "l1_limit_setup" / "momentum_wd_ls_step" / "new" / "estimates.json"
    if setup.is_file():
        ns = json.loads(setup.read_text())["median"]["point_estimate"]
        print(f"\nBuilding a step with weight decay and loss scale: {ns:.1f} ns (median).")


def parallel_table(root):
    """benches/parallel.rs: serial, parallel, forced shards and the multi-threaded floor"""
    groups = sorted((p.name for p in root.iterdir() if p.name.startswith("momentum_wd_") or p.name == "resnet50"),
                    key=lambda name: (name == "resnet50", int(re.sub(r"\D", "", name) or 0)))
    rows = []
    for name in groups:
        for n, params in sorted(rounds(root, name, "serial").items()):
            serial = [rate(root, name, "serial", p) for p in params]
            threads = sorted(int(d.name.split("-t")[1]) for d in (root / name).iterdir() if d.name.startswith("parallel-t"))
            for t in threads:
                par = [rate(root, name, f"parallel-t{t}", p) for p in params]
                forced = [rate(root, name, f"forced-t{t}", p) for p in params]
                fl = [rate(root, name, f"floor-t{t}", p) for p in params]
                xs = [a / b for a, b in zip(par, serial)]
                xf = [a / b for a, b in zip(par, fl)]
                xforced = [a / b for a, b in zip(forced, serial)]
                if (root / name / f"outside-t{t}").is_dir():
                    outside = [rate(root, name, f"outside-t{t}", p) for p in params]
                    forced_out = [rate(root, name, f"forced_outside-t{t}", p) for p in params]
                    xo = f"{statistics.median(a / b for a, b in zip(outside, serial)):.2f}"
                    xfo = f"{statistics.median(a / b for a, b in zip(forced_out, serial)):.2f}"
                else:
                    xo = xfo = "–"
                rows.append(f"| {name} | {t} | {statistics.median(serial) / 1e9:.2f} | {statistics.median(par) / 1e9:.2f} | "
                            f"{statistics.median(fl) / 1e9:.2f} | {statistics.median(xs):.2f} | {statistics.median(xf):.2f} | "
                            f"{statistics.median(xforced):.2f} | {xo} | {xfo} | "
                            f"{max(xs) - min(xs):.2f} / {max(xf) - min(xf):.2f} |")
    if rows:
        print("\n| layout | threads | serial Gelem/s | parallel Gelem/s | floor on those threads | "
              "parallel × serial | parallel × floor | forced shards × serial | from outside × serial | "
              "forced from outside × serial | spread of × serial / × floor |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))


def main(argv):
    native = None
    if "--native" in argv:
        i = argv.index("--native")
        native = pathlib.Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    root = pathlib.Path(argv[0] if argv else "target/criterion")
    if (root / "momentum" / "plain_loop").is_dir():
        table(root)
    model_table(root)
    l1_table(root)
    parallel_table(root)
    paths = [p.name for p in sorted((root / "paths").iterdir()) if p.is_dir() and p.name != "report"] \
        if (root / "paths").is_dir() else []
    if paths:
        print("\n| size | " + " | ".join(paths) + " |")
        print("|---|" + "---|" * len(paths))
        for n in sorted(int(p.name) for p in (root / "paths" / paths[0]).iterdir() if p.name.isdigit()):
            print(f"| {label(n)} | " + " | ".join(f"{rate(root, 'paths', p, str(n)) / 1e9:.2f}" for p in paths) + " |")
        print("(plain momentum, Gelem/s, fastest sample, one block per path)")
    adam_paths = [k for k in ["adam", "amsgrad", "adamw"] if (root / f"{k}_paths").is_dir()]
    if adam_paths:
        backends = [p.name for p in sorted((root / f"{adam_paths[0]}_paths").iterdir())
                    if p.is_dir() and p.name != "report"]
        print("\n| kernel | size | " + " | ".join(backends) + " |")
        print("|---|---|" + "---|" * len(backends))
        for k in adam_paths:
            g = f"{k}_paths"
            for n in sorted(int(p.name) for p in (root / g / backends[0]).iterdir() if p.name.isdigit()):
                print(f"| {k} | {label(n)} | " + " | ".join(f"{rate(root, g, b, str(n)) / 1e9:.3f}" for b in backends) + " |")
        print("(Gelem/s, fastest sample, one block per backend; `wide` on x86_64 is SSE2 with the software fused multiply-add)")
    if native:
        print("\n| kernel | size | default Gelem/s | native Gelem/s | default / native |")
        print("|---|---|---|---|---|")
        lowest = 9e9
        for k in KERNELS:
            for n, params in sorted(rounds(native, k, "gradstep").items()):
                d = statistics.median(rate(root, k, "gradstep", p) for p in params)
                v = statistics.median(rate(native, k, "gradstep", p) for p in params)
                lowest = min(lowest, d / v)
                print(f"| {k} | {label(n)} | {d / 1e9:.2f} | {v / 1e9:.2f} | {d / v:.2f} |")
        print(f"\nlowest default/native ratio: {lowest:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
