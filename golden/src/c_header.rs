//! The golden trajectories as a C header, for the C test (`tests/c/golden_trajectories.h`):
//! each case's layout, groups, settings and recorded values, as MindSpore ran it.

use std::fmt::Write as _;

use crate::Golden;
use crate::call::{Arg, Call};
use crate::trajectory::{LrSpec, Optimizer, Trajectory};

/// `x` as a C99 hexadecimal floating constant: exact.
pub fn c_double(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let b = x.to_bits();
    let sign = if b >> 63 == 1 { "-" } else { "" };
    let exp = ((b >> 52) & 0x7ff) as i32;
    let frac = b & ((1 << 52) - 1);
    if exp == 0 {
        format!("{sign}0x0.{frac:013x}p-1022")
    } else {
        format!("{sign}0x1.{frac:013x}p{:+}", exp - 1023)
    }
}

fn words(values: &[f32]) -> String {
    let lines: Vec<String> = values
        .chunks(6)
        .map(|c| {
            c.iter()
                .map(|v| format!("0x{:08x}", v.to_bits()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    lines.join(",\n    ")
}

/// A call's name and its bound arguments as doubles, in signature order (`None` for a call with
/// a list argument).
fn scalar_args(call: &Call) -> Result<Option<(String, Vec<f64>)>, String> {
    let bound = call
        .bind()
        .map_err(|e| format!("{}: {e}", call.describe()))?;
    let mut args = vec![];
    for (_, a) in &bound.args {
        args.push(match a {
            Arg::Float(x) => *x,
            Arg::Int(n) => *n as f64,
            Arg::Bool(b) => *b as u8 as f64,
            _ => return Ok(None),
        });
    }
    Ok(Some((bound.name, args)))
}

/// The schedule of a group: its class name and its bound arguments as doubles, in order.
fn schedule_args(call: &Call) -> Result<(String, Vec<f64>), String> {
    scalar_args(call)?.ok_or(format!("{}: a list argument", call.describe()))
}

/// The C declarations every header starts with.
const PREAMBLE: &str = r#"#include <stddef.h>
#include <stdint.h>

#include "gradstep.h"

/** How a group's learning rate is made: GRADSTEP_LR_STATIC (lr), GRADSTEP_LR_TABLE (table), or
 *  GRADSTEP_LR_SCHEDULE (the MindSpore class `schedule` with its arguments in signature order). */
typedef struct {
    uint32_t lr_kind;
    double lr;
    const float *table;
    size_t table_len;
    const char *schedule;
    double schedule_args[5];
    double weight_decay;
    uint32_t centralize;
} golden_group;

/** A `dynamic_lr` function MindSpore ran: its name, its arguments in signature order (counts and
 *  flags as doubles), and the table it gave (float bits). */
typedef struct {
    const char *function;
    double args[7];
    size_t n_args, len;
    const uint32_t *values;
} golden_table;

/** A `LearningRateSchedule` MindSpore ran: its class, its arguments in signature order, and its
 *  values (float bits) at `steps`. */
typedef struct {
    const char *class_name;
    double args[5];
    size_t n_args, n_steps;
    const uint32_t *steps, *values;
} golden_schedule;

/** One trajectory: `optimizer` 1 Momentum, 2 SGD, 3 Adam, 4 AdamWeightDecay; the settings (each
 *  optimizer reads its own); the layout and groups; the recorded values as float bits, `len` per
 *  step (state: each state buffer's `len` values in turn). */
typedef struct {
    const char *name;
    const char *quirks;
    uint32_t optimizer;
    double momentum, dampening, loss_scale;
    uint32_t nesterov;
    double beta1, beta2, eps;
    uint32_t amsgrad, threads;
    size_t n_tensors;
    const gradstep_tensor *tensors;
    size_t n_groups;
    const golden_group *groups;
    size_t len, steps, state_buffers;
    const uint32_t *initial, *grads, *params_after, *state_after;
} golden_case;
"#;

/// `doubles` as a C initializer of `n` values, zeros after them.
fn initializer(doubles: &[f64], n: usize) -> String {
    let v: Vec<String> = (0..n)
        .map(|i| c_double(doubles.get(i).copied().unwrap_or(0.0)))
        .collect();
    format!("{{{}}}", v.join(", "))
}

/// The `dynamic_lr` and `schedules` cases that MindSpore accepted and that take no list
/// argument, as `golden_tables` and `golden_schedules`.
fn lr_cases(w: &mut String, golden: &Golden) -> Result<(), String> {
    let mut tables = vec![];
    for (i, c) in golden
        .dynamic_lr()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let case = c.case?;
        let (Some(values), Some((name, args))) = (case.values, scalar_args(&case.call)?) else {
            continue;
        };
        let f32s: Vec<f32> = values.iter().map(|v| v.1).collect();
        writeln!(
            w,
            "static const uint32_t golden_table_{i}[{}] = {{\n    {}\n}};",
            f32s.len(),
            words(&f32s)
        )
        .unwrap();
        tables.push(format!(
            "{{\"{name}\", {}, {}, {}, golden_table_{i}}}",
            initializer(&args, 7),
            args.len(),
            f32s.len()
        ));
    }
    writeln!(w, "#define GOLDEN_TABLES {}\nstatic const golden_table golden_tables[GOLDEN_TABLES] = {{\n    {}\n}};\n", tables.len(), tables.join(",\n    ")).unwrap();
    let mut schedules = vec![];
    for (i, c) in golden
        .schedules()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let case = c.case?;
        let (Some(values), Some((name, args))) = (case.direct, scalar_args(&case.call)?) else {
            continue;
        };
        let steps: Vec<String> = case.steps.iter().map(u32::to_string).collect();
        writeln!(
            w,
            "static const uint32_t golden_schedule_steps_{i}[{}] = {{{}}};",
            steps.len(),
            steps.join(", ")
        )
        .unwrap();
        writeln!(
            w,
            "static const uint32_t golden_schedule_values_{i}[{}] = {{\n    {}\n}};",
            values.len(),
            words(&values)
        )
        .unwrap();
        schedules.push(format!(
            "{{\"{name}\", {}, {}, {}, golden_schedule_steps_{i}, golden_schedule_values_{i}}}",
            initializer(&args, 5),
            args.len(),
            steps.len()
        ));
    }
    writeln!(w, "#define GOLDEN_SCHEDULES {}\nstatic const golden_schedule golden_schedules[GOLDEN_SCHEDULES] = {{\n    {}\n}};", schedules.len(), schedules.join(",\n    ")).unwrap();
    Ok(())
}

/// A header of the learning-rate cases of `golden` and of `cases` (trajectories as recorded),
/// each replayed as MindSpore ran it.
pub fn render(source: &str, golden: &Golden, cases: &[Trajectory]) -> Result<String, String> {
    let mut out = String::new();
    let w = &mut out;
    writeln!(
        w,
        "/* Generated by `cargo run -p golden --bin c-header` from {source}; do not edit. */"
    )
    .unwrap();
    writeln!(
        w,
        "#ifndef GOLDEN_TRAJECTORIES_H\n#define GOLDEN_TRAJECTORIES_H\n"
    )
    .unwrap();
    w.push_str(PREAMBLE);
    lr_cases(w, golden)?;
    for (id, recorded) in cases.iter().enumerate() {
        let (t, quirks) = recorded.as_mindspore_ran();
        let kind = match t.optimizer {
            Optimizer::Momentum => 1,
            Optimizer::Sgd => 2,
            Optimizer::Adam => 3,
            Optimizer::AdamWeightDecay => 4,
        };
        let (tensors, groups) = t.layout();
        let len = t.len();
        writeln!(w, "\n/* {} */", t.name).unwrap();
        let tensor_list: Vec<String> = tensors
            .iter()
            .map(|s| format!("{{{}, {}, {}}}", s.len, s.rows, s.group))
            .collect();
        writeln!(
            w,
            "static const gradstep_tensor golden_{id}_tensors[{}] = {{{}}};",
            tensors.len(),
            tensor_list.join(", ")
        )
        .unwrap();
        let mut group_list = vec![];
        for (j, g) in groups.iter().enumerate() {
            let (kind, lr, table, schedule) = match &g.lr {
                LrSpec::Static(x) => ("GRADSTEP_LR_STATIC", *x, None, None),
                LrSpec::List(v) => {
                    let floats: Vec<f32> = v.iter().map(|x| *x as f32).collect();
                    let literals: Vec<String> = floats
                        .iter()
                        .map(|f| format!("(float){}", c_double(*f as f64)))
                        .collect();
                    writeln!(
                        w,
                        "static const float golden_{id}_table_{j}[{}] = {{{}}};",
                        v.len(),
                        literals.join(", ")
                    )
                    .unwrap();
                    ("GRADSTEP_LR_TABLE", 0.0, Some(v.len()), None)
                }
                LrSpec::Schedule(call) => (
                    "GRADSTEP_LR_SCHEDULE",
                    0.0,
                    None,
                    Some(schedule_args(call)?),
                ),
            };
            let (table, table_len) = match table {
                Some(n) => (format!("golden_{id}_table_{j}"), n),
                None => ("NULL".to_string(), 0),
            };
            let (name, args) = match schedule {
                Some((name, args)) => (format!("\"{name}\""), args),
                None => ("NULL".to_string(), vec![]),
            };
            group_list.push(format!(
                "{{{kind}, {}, {table}, {table_len}, {name}, {}, {}, {}}}",
                c_double(lr),
                initializer(&args, 5),
                c_double(g.weight_decay),
                g.centralize as u32
            ));
        }
        writeln!(
            w,
            "static const golden_group golden_{id}_groups[{}] = {{\n    {}\n}};",
            groups.len(),
            group_list.join(",\n    ")
        )
        .unwrap();
        let steps = &t.steps;
        let mut grads = vec![];
        let mut params = vec![];
        let mut state = vec![];
        let buffers = steps
            .first()
            .and_then(|s| s.state.as_ref())
            .map_or(0, Vec::len);
        for st in steps {
            grads.extend(t.flat(&st.grads));
            params.extend(t.flat(&st.params));
            let s = st
                .state
                .as_ref()
                .ok_or(format!("{}: no state recorded", t.name))?;
            for buffer in s {
                state.extend(t.flat(buffer));
            }
        }
        for (what, values) in [
            ("initial", t.initial()),
            ("grads", grads),
            ("params_after", params),
            ("state_after", state),
        ] {
            writeln!(
                w,
                "static const uint32_t golden_{id}_{what}[{}] = {{\n    {}\n}};",
                values.len(),
                words(&values)
            )
            .unwrap();
        }
        writeln!(
            w,
            "#define GOLDEN_{id} {{\"{}\", \"{}\", {kind}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, \
             golden_{id}_tensors, {}, golden_{id}_groups, {len}, {}, {buffers}, golden_{id}_initial, \
             golden_{id}_grads, golden_{id}_params_after, golden_{id}_state_after}}",
            t.name,
            quirks.join("; "),
            c_double(t.hyper.momentum),
            c_double(t.hyper.dampening),
            c_double(t.hyper.loss_scale),
            t.hyper.nesterov as u32,
            c_double(t.hyper.beta1),
            c_double(t.hyper.beta2),
            c_double(t.hyper.eps),
            t.hyper.amsgrad as u32,
            t.hyper.threads,
            tensors.len(),
            groups.len(),
            steps.len(),
        )
        .unwrap();
    }
    let all: Vec<String> = (0..cases.len()).map(|i| format!("GOLDEN_{i}")).collect();
    writeln!(
        w,
        "\n#define GOLDEN_CASES {}\nstatic const golden_case golden_cases[GOLDEN_CASES] = {{{}}};\n\n#endif",
        cases.len(),
        all.join(", ")
    )
    .unwrap();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_doubles_are_exact() {
        assert_eq!(c_double(0.1), "0x1.999999999999ap-4");
        assert_eq!(c_double(-2.0), "-0x1.0000000000000p+1");
        assert_eq!(c_double(f64::from_bits(1)), "0x0.0000000000001p-1022");
        assert_eq!(c_double(-0.0), "-0.0");
    }
}
