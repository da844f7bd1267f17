//! The operations on a built optimizer and its twin.

use super::*;

/// The same operations on `a` (whole steps) and `b` (steps in parts).
pub(crate) fn drive<'a, R: Reference, G>(
    r: &mut Reader,
    settings: &Settings,
    a: &mut Optimizer<'a, R, G>,
    b: &mut Optimizer<'a, R, G>,
) where
    G: AsRef<[Group<'a>]> + AsMut<[Group<'a>]>,
{
    let n = a.len();
    let buffers = a.rule().state_buffers();
    let state_len = a.state_len();
    let n_groups = a.groups().len();
    let n_tensors = a.tensors().len();
    if trace() {
        eprintln!("built: {n_tensors} tensors, {n_groups} groups, {n} values, {buffers} buffers");
    }
    assert_eq!(n, b.len());
    assert_eq!(n == 0, a.is_empty());
    assert_eq!(
        state_len,
        n * buffers,
        "state_len is the rule's buffers × len"
    );
    assert_eq!(buffers, R::n_buffers(settings), "the rule's state buffers");
    assert_eq!(a.rule(), b.rule(), "the twins' rules");
    assert_eq!(n, a.elements(0..n_tensors).expect("the whole layout").len());
    assert_eq!(n, a.tensors().iter().map(|t| t.len).sum::<usize>());
    assert_eq!(
        a.saved_len(),
        HEADER + 4 * n_groups + 4 * state_len + 4,
        "saved_len of {n_groups} groups and {state_len} values"
    );
    if n > MAX_LEN {
        // too large to allocate: every call that takes buffers refuses the empty ones
        let before = observe(a);
        assert!(
            a.step(&mut [], &[], &mut []).is_err(),
            "a step of {n} values took empty buffers"
        );
        assert!(a.save(&[], &mut [0u8; 64]).is_err());
        assert!(a.restore(&[0u8; 64], &mut []).is_err());
        assert!(a.part(0..n_tensors, &mut [], &[], &mut []).is_err());
        assert_eq!(observe(a), before, "a failed call changed the optimizer");
        // a plan needs no buffers: its shards cover the layout, cut where it may be cut; of the
        // most shards, the first few
        plan_of(a, shard_count(r));
        let most = a.plan(NonZeroUsize::MAX);
        assert_eq!(most.len(), usize::MAX, "the plan's ExactSizeIterator::len");
        let mut at = 0;
        for (i, s) in most.take(3).enumerate() {
            assert_eq!(s.start, at, "shard {i} of the most shards");
            assert!(
                s.start <= s.end && s.end <= n && cut_ok(a, s.end),
                "shard {i}: {s:?}"
            );
            at = s.end;
        }
        if let Ok(t) = a.begin_step() {
            a.end_step(t).expect("end_step");
        }
        return;
    }
    let raw = r.bool();
    let mut ba = Bufs {
        p: r.long_values(n, raw),
        s: r.long_values(state_len, raw),
    };
    let mut bb = ba.clone();
    let mut grads = r.long_values(n, raw);

    for _ in 0..12 {
        if r.is_empty() {
            break;
        }
        let op = r.u8();
        if trace() {
            eprintln!("op {} at step {}", op % 9, a.global_step());
        }
        match op % 9 {
            // a whole step on `a`, the same step in parts on `b`
            0..=2 => {
                if op & 0x80 != 0 {
                    grads = r.long_values(n, raw);
                }
                let before = observe(a);
                let saved = ba.clone();
                let mut want = ba.clone();
                let rule = *a.rule();
                let got = a.step(&mut ba.p, &grads, &mut ba.s);
                match got {
                    Ok(()) => {
                        assert_eq!(a.global_step(), before.0 + 1, "a step did not count");
                        rule.check_advanced(a.rule());
                        // the reference, with the learning rates the step used
                        let rule_before = *b.rule();
                        let token = b.begin_step().expect("begin_step where step succeeded");
                        assert_eq!(token.step(), before.0);
                        assert_eq!(*b.rule(), rule_before, "begin_step changed the rule");
                        reference_step(b, settings, &mut want, &grads);
                        assert_same("whole step against the reference: params", &ba.p, &want.p);
                        assert_same("whole step against the reference: state", &ba.s, &want.s);
                        let whole = b
                            .part(0..n_tensors, &mut bb.p, &grads, &mut bb.s)
                            .expect("the whole buffers");
                        assert_eq!(whole.len(), n);
                        for p in cut(r, b, whole) {
                            b.step_part(&token, p)
                                .expect("a part of a step that succeeded whole");
                        }
                        b.end_step(token).expect("end_step");
                    }
                    Err(e) => {
                        assert_unchanged("failed step", a, &before, &ba, &saved);
                        assert_eq!(*a.rule(), rule, "a failed step changed the rule");
                        let got_b = b.step(&mut bb.p, &grads, &mut bb.s);
                        assert_eq!(got_b, Err(e), "the twin failed differently");
                    }
                }
            }
            // a step with a buffer of the wrong length
            3 => {
                let which = r.u8() % 3;
                let delta = 1 + r.u8() as usize % 3;
                let right = if which == 2 { state_len } else { n };
                let wrong = if r.bool() {
                    right + delta
                } else {
                    right.saturating_sub(delta)
                };
                if wrong == right {
                    continue;
                }
                let mut long = vec![0.5f32; wrong];
                let before = observe(a);
                let saved = ba.clone();
                let got = match which {
                    0 => a.step(&mut long, &grads, &mut ba.s),
                    1 => a.step(&mut ba.p, &long, &mut ba.s),
                    _ => a.step(&mut ba.p, &grads, &mut long),
                };
                assert!(
                    matches!(got, Err(Error::LengthMismatch { .. })),
                    "a step given a buffer of {wrong} values for {right}: {got:?}"
                );
                assert_unchanged("step with a wrong length", a, &before, &ba, &saved);
                assert!(
                    long.iter().all(|&x| x == 0.5),
                    "wrote into a buffer of the wrong length"
                );
            }
            // set a learning rate
            4 => {
                let g = r.u8() as usize % (n_groups + 2);
                let lr = r.f64_param();
                let before = observe(a);
                let got = a.set_lr(g, lr);
                assert_eq!(b.set_lr(g, lr), got);
                match got {
                    Ok(()) => {
                        assert!(a.groups()[g].lr().is_static());
                        let now = a.lr(g).expect("a static learning rate just set");
                        assert_eq!(
                            now.to_bits(),
                            (lr as f32).to_bits(),
                            "set_lr did not set F(lr)"
                        );
                    }
                    Err(_) => assert_eq!(observe(a), before, "a failed set_lr changed something"),
                }
            }
            // save, change things, restore: back to what was saved
            5 => {
                let mut out = vec![0u8; a.saved_len() + r.u8() as usize % 3];
                let written = a
                    .save(&ba.s, &mut out)
                    .expect("save into a large enough buffer");
                assert_eq!(written, a.saved_len());
                assert_eq!(
                    fnv1a(&out[..written - 4]).to_le_bytes(),
                    out[written - 4..written],
                    "the saved checksum"
                );
                let mut out_b = vec![0u8; b.saved_len()];
                b.save(&bb.s, &mut out_b).expect("save");
                // the same header and learning rates; the same state, NaN by NaN-ness (a NaN's
                // payload may differ between backends); then the checksums differ too
                let head = HEADER + 4 * n_groups;
                assert_eq!(
                    out[..head],
                    out_b[..head],
                    "whole and sharded steps saved different headers"
                );
                assert_eq!(&out[..4], b"GSTP");
                assert_eq!(u16::from_le_bytes([out[4], out[5]]), 2, "format version");
                assert_eq!(out[7] as usize, buffers);
                assert_eq!(
                    u32::from_le_bytes(out[8..12].try_into().unwrap()),
                    a.global_step()
                );
                let word = |i: usize| u32::from_le_bytes(out[i..i + 4].try_into().unwrap());
                assert_eq!(
                    [word(24), word(28)],
                    a.rule().saved_scalars(),
                    "the saved scalars (Adam's beta powers)"
                );
                let floats = |b: &[u8]| -> Vec<f32> {
                    b[head..written - 4]
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                        .collect()
                };
                assert_same("saved states of the twins", &floats(&out_b), &floats(&out));
                assert_bits("saved state", &floats(&out), &ba.s);
                // too short an output buffer: an error, nothing written
                if written > 0 {
                    let mut short =
                        vec![7u8; written - 1 - r.u8() as usize % written.min(8).max(1)];
                    assert!(a.save(&ba.s, &mut short).is_err());
                    assert!(short.iter().all(|&x| x == 7), "a failed save wrote");
                }
                let before = observe(a);
                let saved = ba.clone();
                let rule = *a.rule();
                // change things: a step (which may fail), a learning rate
                let _ = a.step(&mut ba.p, &grads, &mut ba.s);
                let _ = a.set_lr(r.u8() as usize % (n_groups + 1), r.f64_param());
                a.restore(&out[..written], &mut ba.s)
                    .expect("restore what was saved");
                assert_eq!(
                    observe(a),
                    before,
                    "restore did not bring back the step and learning rates"
                );
                assert_eq!(*a.rule(), rule, "restore did not bring back the rule");
                assert_bits("restored state", &ba.s, &saved.s);
                let mut again = vec![0u8; written];
                a.save(&ba.s, &mut again).expect("save");
                assert_eq!(again, out[..written], "save after restore differs");
                // params are not part of the saved state
                ba.p = saved.p;
                // the same restore on the twin keeps it in step (its params too)
                bb.p.clone_from(&ba.p);
                b.restore(&out[..written], &mut bb.s)
                    .expect("restore into the twin");
            }
            // restore of damaged, edited or arbitrary bytes
            6 => {
                let mut bytes = vec![0u8; a.saved_len()];
                a.save(&ba.s, &mut bytes).expect("save");
                let how = r.u8() % 4;
                match how {
                    0 => {
                        let n = r.u8() as usize;
                        bytes = r.bytes(n).to_vec();
                    }
                    1 => {
                        let i = r.u16() as usize % bytes.len();
                        bytes[i] ^= r.u8().max(1);
                    }
                    2 => {
                        // edit a field, with a valid checksum: the step, the rule, the number of
                        // buffers, the rule's values, a group's learning rate bits, a state value
                        let at = match r.u8() % 6 {
                            0 => 8,
                            1 => 6,
                            2 => 7,
                            3 => 24 + 4 * (r.u8() as usize % 2),
                            4 => HEADER + 4 * (r.u8() as usize % n_groups.max(1)),
                            _ => HEADER + 4 * n_groups + 4 * (r.u16() as usize % state_len.max(1)),
                        };
                        let v = r.u32().to_le_bytes();
                        let end = (at + 4).min(bytes.len() - 4);
                        let k = end.saturating_sub(at);
                        bytes[at..at + k].copy_from_slice(&v[..k]);
                        let body = bytes.len() - 4;
                        let sum = fnv1a(&bytes[..body]);
                        bytes[body..].copy_from_slice(&sum.to_le_bytes());
                    }
                    _ => {
                        let cut = r.u16() as usize % (bytes.len() + 1);
                        bytes.truncate(cut);
                    }
                }
                let before = observe(a);
                let saved = ba.clone();
                let rule = *a.rule();
                match a.restore(&bytes, &mut ba.s) {
                    Ok(()) => {
                        b.restore(&bytes, &mut bb.s)
                            .expect("the twin restores the same bytes");
                        bb.p.clone_from(&ba.p);
                    }
                    Err(e) => {
                        assert_unchanged("failed restore", a, &before, &ba, &saved);
                        assert_eq!(*a.rule(), rule, "a failed restore changed the rule");
                        // bytes damaged without a new checksum are refused before their
                        // fields are looked at
                        if how == 1 {
                            assert!(
                                matches!(
                                    e,
                                    Error::SavedState(
                                        SavedStateProblem::Checksum
                                            | SavedStateProblem::NotASavedState
                                            | SavedStateProblem::Version
                                            | SavedStateProblem::Length
                                    )
                                ),
                                "damaged bytes refused as {e:?}"
                            );
                        }
                    }
                }
                // a state buffer of the wrong length
                let mut wrong = vec![1.0f32; state_len + 1];
                assert!(a.restore(&bytes, &mut wrong).is_err());
                assert!(
                    wrong.iter().all(|&x| x == 1.0),
                    "restore wrote into a state of the wrong length"
                );
            }
            // parts out of order: stale tokens, bad ranges, wrong lengths, bad cuts (at elements)
            7 => {
                let before = observe(a);
                let saved = ba.clone();
                let Ok(token) = a.begin_step() else {
                    assert_unchanged("failed begin_step", a, &before, &ba, &saved);
                    assert!(b.begin_step().is_err());
                    continue;
                };
                assert_eq!(token.step(), before.0);
                let token_b = b.begin_step().expect("the twin's begin_step");
                let (s, e) = (
                    r.u8() as usize % (n_tensors + 2),
                    r.u8() as usize % (n_tensors + 2),
                );
                let el = a.elements(s..e);
                // the elements of the range (or of some range), the length now and then wrong
                let (start, len) = match &el {
                    Ok(el) => (el.start, el.len() + (r.u8() as usize % 8).saturating_sub(5)),
                    Err(_) => (0, r.u8() as usize % (n + 1)),
                };
                let span = start..start + len.min(n - start);
                let around = el.clone().unwrap_or(span.clone());
                let split_at = (r.u8() % 4 == 0).then(|| cut_point(r, a, &around));
                let got = part_calls(a, &token, s..e, &span, split_at, &mut ba, &grads);
                let got_b = part_calls(b, &token_b, s..e, &span, split_at, &mut bb, &grads);
                assert_eq!(got, got_b, "the twins' parts differ");
                if got.iter().all(Result::is_ok) {
                    assert_eq!(
                        el.as_ref().map(|e| e.len()),
                        Ok(span.len()),
                        "a part took the wrong length"
                    );
                }
                for (what, now, was) in [("params", &ba.p, &saved.p), ("state", &ba.s, &saved.s)] {
                    for b in 0..now.len() / n.max(1) {
                        let (x, y) = (b * n + span.start, b * n + span.end);
                        assert_bits(
                            &format!("before the part: {what}"),
                            &now[b * n..x],
                            &was[b * n..x],
                        );
                        assert_bits(
                            &format!("after the part: {what}"),
                            &now[y..(b + 1) * n],
                            &was[y..(b + 1) * n],
                        );
                    }
                }
                if r.bool() {
                    // a token for another step is refused
                    let stale = a.begin_step().expect("plan the same step again");
                    assert!(a.end_step(stale).is_ok());
                    let again = b.begin_step().expect("twin");
                    b.end_step(again).expect("twin");
                    assert_eq!(a.end_step(token), Err(Error::StaleStep));
                    let mut ps = ba.p.clone();
                    let mut ss = ba.s.clone();
                    let p = a
                        .part(0..n_tensors, &mut ps, &grads, &mut ss)
                        .expect("the whole buffers");
                    assert_eq!(a.step_part(&token, p), Err(Error::StaleStep));
                    assert_bits("stale part", &ps, &ba.p);
                } else {
                    a.end_step(token).expect("end_step");
                    b.end_step(token_b).expect("twin's end_step");
                    assert_eq!(a.end_step(token), Err(Error::StaleStep));
                }
            }
            // the learning rates of the next step
            _ => {
                for g in 0..=n_groups {
                    let (la, lb) = (a.lr(g), b.lr(g));
                    assert_eq!(la.map(f32::to_bits), lb.map(f32::to_bits));
                    match la {
                        Ok(v) => assert!(v.is_finite() && v >= 0.0, "lr({g}) = {v:e}"),
                        Err(Error::NoSuchGroup { group }) => {
                            assert_eq!((g, group), (n_groups, n_groups))
                        }
                        Err(e) => assert_eq!(
                            a.groups()[g].lr().at(a.global_step()),
                            Err(e),
                            "lr({g}) is the source's"
                        ),
                    }
                }
            }
        }
        assert_eq!(
            a.global_step(),
            b.global_step(),
            "the twins' step counters differ"
        );
        assert_eq!(a.rule(), b.rule(), "the twins' rules differ");
        assert_same("twins' params", &bb.p, &ba.p);
        assert_same("twins' state", &bb.s, &ba.s);
    }
}
