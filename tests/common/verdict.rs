//! MindSpore's validation cases (a golden file's `errors` or `adam_errors` section) mapped to
//! what gradstep does with the same input, checked against what MindSpore did, and rendered as
//! the tables of `docs/ERRORS.md`.

use golden::ErrorCase;
use gradstep::Error;

/// What gradstep does with a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Rejects it, as MindSpore does.
    Rejects(Error),
    /// Accepts it, as MindSpore does.
    Accepts,
    /// Rejects what MindSpore accepts, on purpose (DESIGN divergences 4 and 7).
    Diverges(Error),
    /// Runs what MindSpore's CPU fails on, on purpose (the DESIGN divergence named).
    RunsOnPurpose(&'static str),
    /// The input cannot be expressed in gradstep's API.
    NotApplicable(&'static str),
}
use Verdict::*;

pub const INT_FOR_FLOAT: &str =
    "Rust's types: an integer where MindSpore wants a float is written as a float";
pub const NOT_A_NUMBER: &str = "Rust's types: a string, None or a numpy scalar cannot be passed";
pub const BOOL_FLAG: &str = "Rust's types: a flag is a bool, and a bool is not an integer";

pub struct Case {
    pub name: &'static str,
    pub verdict: Verdict,
    pub call: Option<fn() -> Result<(), Error>>,
}

/// A case gradstep can express, and the call that does.
pub fn case(name: &'static str, verdict: Verdict, call: fn() -> Result<(), Error>) -> Case {
    Case {
        name,
        verdict,
        call: Some(call),
    }
}

/// A case that cannot arise in gradstep's API, and why.
pub fn na(name: &'static str, why: &'static str) -> Case {
    Case {
        name,
        verdict: NotApplicable(why),
        call: None,
    }
}

/// Every case runs as mapped, every verdict agrees with what MindSpore did, and every recorded
/// case is mapped exactly once.
pub fn check(cases: &[Case], errors: &[ErrorCase]) {
    for c in cases {
        let recorded = errors
            .iter()
            .find(|e| e.name == c.name)
            .unwrap_or_else(|| panic!("{} is not in the golden file", c.name));
        let ms_ok = recorded.ok;
        match c.verdict {
            Rejects(_) | RunsOnPurpose(_) => assert!(!ms_ok, "{}: MindSpore accepted it", c.name),
            Accepts | Diverges(_) => assert!(ms_ok, "{}: MindSpore rejected it", c.name),
            NotApplicable(_) => {}
        }
        let Some(call) = c.call else { continue };
        let got = call();
        match c.verdict {
            Rejects(e) | Diverges(e) => assert_eq!(got, Err(e), "{}", c.name),
            Accepts | RunsOnPurpose(_) => assert_eq!(got, Ok(()), "{}", c.name),
            NotApplicable(_) => panic!("{} has a call but is not applicable", c.name),
        }
    }
    for e in errors {
        assert!(
            cases.iter().any(|c| c.name == e.name),
            "{} is not mapped",
            e.name
        );
    }
    assert_eq!(cases.len(), errors.len(), "a case is mapped twice");
}

/// The docs table, in the golden file's order, and a count per verdict.
pub fn render(cases: &[Case], errors: &[ErrorCase]) -> String {
    let mut out = String::from("| case | MindSpore 2.10.0 | gradstep |\n|---|---|---|\n");
    for rec in errors {
        let Some(c) = cases.iter().find(|c| c.name == rec.name) else {
            continue;
        };
        let ms = if rec.ok {
            "accepts".to_string()
        } else {
            rec.exception.clone().unwrap_or_default()
        };
        let ours = match c.verdict {
            Rejects(e) => format!("`{e:?}`"),
            Accepts => "accepts".into(),
            Diverges(e) => format!("`{e:?}` (divergence)"),
            RunsOnPurpose(why) => format!("runs (divergence: {why})"),
            NotApplicable(why) => format!("n/a: {why}"),
        };
        out.push_str(&format!("| `{}` | {ms} | {ours} |\n", c.name));
    }
    let count = |f: fn(&Verdict) -> bool| cases.iter().filter(|c| f(&c.verdict)).count();
    let mut tally = format!(
        "\n{} cases: {} rejected as by MindSpore, {} accepted as by MindSpore, {} rejected on purpose \
         where MindSpore accepts (divergences), ",
        cases.len(),
        count(|v| matches!(v, Rejects(_))),
        count(|v| matches!(v, Accepts)),
        count(|v| matches!(v, Diverges(_))),
    );
    let runs = count(|v| matches!(v, RunsOnPurpose(_)));
    if runs > 0 {
        tally.push_str(&format!(
            "{runs} run on purpose where MindSpore's CPU fails (divergences), "
        ));
    }
    tally.push_str(&format!(
        "{} that cannot arise in gradstep's API.\n",
        count(|v| matches!(v, NotApplicable(_)))
    ));
    out + &tally
}

/// Checks the table between `<!-- {marker} -->` and `<!-- {marker} end -->` in docs/ERRORS.md;
/// with `GRADSTEP_BLESS=1` rewrites it.
pub fn check_docs(marker: &str, cases: &[Case], errors: &[ErrorCase]) {
    let table = render(cases, errors);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ERRORS.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let (start, end) = (
        format!("<!-- {marker} -->\n"),
        format!("<!-- {marker} end -->"),
    );
    let (head, rest) = docs
        .split_once(&start)
        .unwrap_or_else(|| panic!("docs/ERRORS.md has no {start}"));
    let (body, tail) = rest
        .split_once(&end)
        .unwrap_or_else(|| panic!("docs/ERRORS.md has no {end}"));
    if std::env::var_os("GRADSTEP_BLESS").is_some() {
        std::fs::write(path, format!("{head}{start}{table}{end}{tail}")).unwrap();
        return;
    }
    assert!(
        body == table,
        "docs/ERRORS.md is stale: run GRADSTEP_BLESS=1 cargo test --test golden_errors"
    );
}
