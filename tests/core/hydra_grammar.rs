//! Our override values against hydra-core's own parser, on a generated set.
//! Needs a Python with hydra-core: `$RL_RESEARCH_TEST_PYTHON` (which `tests/run-all.sh`
//! sets to the venv it makes); without it the test is skipped locally and
//! fails in CI.

use rl_research::config::hydra::{HydraValue, Parsed, parse, python_float_repr};
use serde_json::{Value, json};

fn encode(v: &HydraValue) -> Value {
    match v {
        HydraValue::Null => json!({"t": "null"}),
        HydraValue::Bool(b) => json!({"t": "bool", "v": b}),
        HydraValue::Int(i) => json!({"t": "int", "v": i.to_string()}),
        HydraValue::Float(f) => json!({"t": "float", "v": python_float_repr(*f)}),
        HydraValue::Str(s) => json!({"t": "str", "v": s}),
        HydraValue::List(items) => json!({"t": "list", "v": items.iter().map(encode).collect::<Vec<_>>()}),
        HydraValue::Dict(items) => json!({"t": "dict", "v": items.iter().map(|(k, v)| json!([k, encode(v)])).collect::<Vec<_>>()}),
    }
}

fn ours(text: &str) -> Value {
    match parse(text) {
        Ok(Parsed::Element(v)) => encode(&v),
        Ok(Parsed::Sweep(_) | Parsed::Function(_)) => json!({"t": "sweep"}),
        Err(_) => json!({"t": "error"}),
    }
}

/// Hand-picked forms plus every 1-3 token combination of a small alphabet.
fn cases() -> Vec<String> {
    let mut v: Vec<String> = [
        "0",
        "007",
        "1_000",
        "1__0",
        "_1",
        "-5",
        "+3",
        ".5",
        "5.",
        "1e5",
        "1E-3",
        "1_0.5e1_0",
        "inf",
        "-inf",
        "+INF",
        "nan",
        "NaN",
        "infinity",
        "0x10",
        "01.5",
        "1e",
        "-0",
        "00",
        "3.14e+2",
        "true",
        "FALSE",
        "True1",
        "null",
        "NuLL",
        "nullable",
        "abc",
        "lin_1e-3",
        "foo-bar",
        "a_b",
        "x/y.z",
        "a\\ b",
        "abc\\,d",
        "a\\\\b",
        "a\\b",
        "  hi there  ",
        "a:b",
        "a : b",
        "$x",
        "50%",
        "a@b",
        "q?",
        "p|q",
        "\\(x\\)",
        "a=b",
        "'it\\'s'",
        "\"x,y\"",
        "\"\"",
        "''",
        "'a b'",
        "\"a\\\\\"",
        "\"a\\\"b\"",
        "'unclosed",
        "[1, 2,3]",
        "[]",
        "[ ]",
        "[a, 'b c', [1]]",
        "[ 1 ]",
        "[1,]",
        "[1",
        "{a:1,b:[2]}",
        "{}",
        "{a: x y}",
        "{1: 2}",
        "{true: 1}",
        "{a:1",
        "a,b",
        "1, 2",
        "[1],[2]",
        "range(1,5)",
        "choice(a,b)",
        "interval(0,1)",
        "${x}",
        "${oc.env:HOME}",
        "é",
        "a#b",
        "~",
        "a b c",
        "\t1",
        "1\t",
        "-",
        "+",
        ".",
        "..",
        "-.5",
        "+.5e-3",
        "1.e5",
        ".e5",
        "1_000.000_1",
        "2e-4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let alphabet = ["1", "0", "a", ".", "-", "_", "e", "5", " ", ",", ":", "\\ ", "[", "]"];
    for a in alphabet {
        v.push(a.to_string());
        for b in alphabet {
            v.push(format!("{a}{b}"));
            for c in ["1", "a", ".", "e", "-", "_"] {
                v.push(format!("{a}{b}{c}"));
            }
        }
    }
    v
}

#[test]
fn override_values_parse_exactly_as_in_hydra() {
    let Some(python) = std::env::var_os("RL_RESEARCH_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set RL_RESEARCH_TEST_PYTHON to a Python with hydra-core (tests/run-all.sh does)"
        );
        crate::skipped("the Hydra grammar diff", "set RL_RESEARCH_TEST_PYTHON to a Python with hydra-core");
        return;
    };
    let cases = cases();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hydra/hydra_values.py");
    let mut child = std::process::Command::new(&python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the Python with hydra-core");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(serde_json::to_string(&cases).unwrap().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "hydra_values.py failed");
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), cases.len());
    let mut diffs = Vec::new();
    for (text, want) in cases.iter().zip(&theirs) {
        let got = ours(text);
        if &got != want {
            diffs.push(format!("{text:?}: hydra {want}, ours {got}"));
        }
    }
    println!("{} override values compared with hydra-core, {} differ", cases.len(), diffs.len());
    assert!(diffs.is_empty(), "{} of {} values differ from hydra-core:\n{}", diffs.len(), cases.len(), diffs.join("\n"));
}
