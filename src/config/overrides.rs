//! Hydra-style command-line overrides: `experiment.name=x env.n_envs=4
//! algorithm.params.learning_rate=lin_3e-4 algorithm.params.net_arch=[128,128]`.
//!
//! Overrides are applied to the typed config through its JSON tree, so an
//! unknown key, a wrong type or a bad value is reported against the exact key
//! the user typed, with the closest valid keys suggested.

use super::{AlgorithmConfig, Config, ConfigError};
use serde_json::{Number, Value};

/// One parsed `key=value` pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub key: String,
    pub value: Value,
    /// The text after `=`, as typed (for messages and the saved command line).
    pub raw: String,
}

/// Parses `key=value`. Values follow Hydra's grammar for primitives and lists:
/// `null`, `true`/`false`, integers, floats (`1e-3`), `[a,b]`, quoted or bare strings.
pub fn parse_override(arg: &str) -> Result<Override, ConfigError> {
    if let Some(rest) = arg.strip_prefix('~') {
        return Err(ConfigError(format!(
            "override '{arg}': deleting keys (~{rest}) is not supported: every key of the config has a default; set it instead"
        )));
    }
    if arg.starts_with('+') {
        return Err(ConfigError(format!(
            "override '{arg}': adding keys with '+' is not supported: the config schema is fixed; drop the '+' to set an existing key"
        )));
    }
    let Some((key, raw)) = arg.split_once('=') else {
        return Err(ConfigError(format!(
            "argument '{arg}' is not an override: write key=value, e.g. experiment.name=my_run"
        )));
    };
    let key = key.trim();
    if key.is_empty() || !key.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
        return Err(ConfigError(format!(
            "override '{arg}': '{key}' is not a valid key: use dotted names like algorithm.params.learning_rate"
        )));
    }
    let value = parse_value(raw).map_err(|m| ConfigError(format!("override '{arg}': {m}")))?;
    Ok(Override { key: key.to_string(), value, raw: raw.to_string() })
}

fn parse_value(raw: &str) -> Result<Value, String> {
    let t = raw.trim();
    if t.starts_with('[') {
        let inner = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')).ok_or_else(|| format!("list '{t}' has no closing ']'"))?;
        if inner.trim().is_empty() {
            return Ok(Value::Array(vec![]));
        }
        return inner.split(',').map(parse_scalar).collect::<Result<Vec<_>, _>>().map(Value::Array);
    }
    if has_unquoted_comma(t) {
        return Err(format!(
            "'{t}' is a sweep (comma-separated values); run several values with --multirun, or quote the value if the comma is part of it"
        ));
    }
    parse_scalar(t)
}

fn has_unquoted_comma(t: &str) -> bool {
    !(t.starts_with('"') || t.starts_with('\'')) && t.contains(',')
}

fn parse_scalar(raw: &str) -> Result<Value, String> {
    let t = raw.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return Ok(Value::String(t[1..t.len() - 1].to_string()));
        }
    }
    match t.to_ascii_lowercase().as_str() {
        "null" | "~" => return Ok(Value::Null),
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(f) = t.parse::<f64>() {
        if f.is_finite() {
            // 1e5 for an integer key is common; keep integral floats as integers.
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                return Ok(Value::Number((f as i64).into()));
            }
            return Number::from_f64(f).map(Value::Number).ok_or_else(|| format!("'{t}' is not a finite number"));
        }
        return Err(format!("'{t}' is not a finite number"));
    }
    Ok(Value::String(t.to_string()))
}

/// Applies overrides in order (an `algorithm.name` override first, since it
/// decides which params exist) and returns the typed config. Range checks are
/// left to [`Config::validate`].
pub fn apply_overrides(base: &Config, overrides: &[Override]) -> Result<Config, ConfigError> {
    let mut config = base.clone();
    let (names, rest): (Vec<&Override>, Vec<&Override>) = overrides.iter().partition(|o| o.key == "algorithm.name");
    for o in names {
        let name = match &o.value {
            Value::String(s) => s.to_ascii_lowercase(),
            _ => o.raw.trim().to_ascii_lowercase(),
        };
        if name != config.algorithm.name() {
            config.algorithm = AlgorithmConfig::defaults_for(&name)?;
        }
    }
    let mut tree = serde_json::to_value(&config).map_err(|e| ConfigError(format!("internal: config is not serialisable: {e}")))?;
    for o in rest {
        set_path(&mut tree, o)?;
        // Deserialising after each override pins a type error on the key that caused it.
        serde_json::from_value::<Config>(tree.clone()).map_err(|e| {
            ConfigError(format!("{}: invalid value '{}': {}", o.key, o.raw.trim(), describe_serde_error(&e.to_string())))
        })?;
    }
    serde_json::from_value(tree).map_err(|e| ConfigError(format!("config after overrides is invalid: {e}")))
}

fn describe_serde_error(msg: &str) -> String {
    // serde_json says e.g. "invalid type: string \"abc\", expected f64"; make the type human.
    msg.replace("expected f64", "expected a number")
        .replace("expected u64", "expected a non-negative integer")
        .replace("expected usize", "expected a non-negative integer")
        .replace("expected u32", "expected a non-negative integer")
        .replace("expected i64", "expected an integer")
        .replace("expected a boolean", "expected true or false")
}

fn set_path(tree: &mut Value, o: &Override) -> Result<(), ConfigError> {
    let parts: Vec<&str> = o.key.split('.').collect();
    let snapshot = tree.clone(); // for suggestions on the error path
    let mut node = tree;
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(map) = node else {
            return Err(unknown_key(snapshot.clone(), &o.key, Some(&parts[..i].join("."))));
        };
        if !map.contains_key(*part) {
            return Err(unknown_key(snapshot.clone(), &o.key, None));
        }
        if i + 1 == parts.len() {
            let slot = map.get_mut(*part).ok_or_else(|| ConfigError(format!("internal: key {} vanished", o.key)))?;
            if slot.is_object() {
                return Err(ConfigError(format!(
                    "{} is a section, not a value: set one of its keys, e.g. {}",
                    o.key,
                    first_leaf(slot).map(|l| format!("{}.{l}", o.key)).unwrap_or_default()
                )));
            }
            *slot = coerce(slot, o.value.clone());
            return Ok(());
        }
        node = map.get_mut(*part).ok_or_else(|| ConfigError(format!("internal: key {} vanished", o.key)))?;
    }
    Ok(())
}

/// Strings stay strings (`experiment.name=123` names a run "123").
fn coerce(existing: &Value, value: Value) -> Value {
    match (existing, &value) {
        (Value::String(_), Value::Number(n)) => Value::String(n.to_string()),
        (Value::String(_), Value::Bool(b)) => Value::String(b.to_string()),
        _ => value,
    }
}

fn first_leaf(v: &Value) -> Option<String> {
    let Value::Object(m) = v else { return None };
    let (k, child) = m.iter().next()?;
    match first_leaf(child) {
        Some(rest) => Some(format!("{k}.{rest}")),
        None => Some(k.clone()),
    }
}

fn leaf_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if child.is_object() {
                leaf_paths(child, &p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// All settable keys of a config, e.g. for `--help` and the GUI.
pub fn all_keys(config: &Config) -> Vec<String> {
    let mut out = vec!["algorithm.name".to_string()];
    if let Ok(v) = serde_json::to_value(config) {
        leaf_paths(&v, "", &mut out);
    }
    out.dedup();
    out
}

fn unknown_key(tree: Value, key: &str, not_a_section: Option<&str>) -> ConfigError {
    if let Some(parent) = not_a_section {
        return ConfigError(format!("unknown key '{key}': '{parent}' is a value, not a section"));
    }
    let mut paths = Vec::new();
    leaf_paths(&tree, "", &mut paths);
    let suggestions = closest(key, &paths);
    let hint = if suggestions.is_empty() {
        let top: Vec<String> = match &tree {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => vec![],
        };
        format!("top-level sections are {}", top.join(", "))
    } else {
        format!("did you mean {}?", suggestions.join(" or "))
    };
    ConfigError(format!("unknown key '{key}': {hint}"))
}

fn closest(key: &str, paths: &[String]) -> Vec<String> {
    let last = key.rsplit('.').next().unwrap_or(key);
    let mut scored: Vec<(usize, &String)> = paths
        .iter()
        .map(|p| {
            let d_full = levenshtein(key, p);
            let d_last = levenshtein(last, p.rsplit('.').next().unwrap_or(p));
            (d_full.min(d_last + 1), p)
        })
        .collect();
    scored.sort();
    let limit = (key.len() / 3).max(2);
    scored.into_iter().filter(|(d, _)| *d <= limit).take(3).map(|(_, p)| p.clone()).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AlgorithmConfig, Schedule};

    fn apply(args: &[&str]) -> Result<Config, ConfigError> {
        let o: Vec<Override> = args.iter().map(|a| parse_override(a)).collect::<Result<_, _>>()?;
        apply_overrides(&Config::default(), &o)
    }

    #[test]
    fn sets_typed_values() {
        let c = apply(&["experiment.name=my_exp", "env.n_envs=4", "algorithm.params.learning_rate=3e-4",
            "algorithm.params.clip_range=lin_0.1", "experiment.total_timesteps=2e4", "algorithm.params.net_arch=[32, 16]"]).unwrap();
        assert_eq!(c.experiment.name, "my_exp");
        assert_eq!(c.env.n_envs, 4);
        assert_eq!(c.experiment.total_timesteps, 20_000);
        let AlgorithmConfig::Ppo(p) = &c.algorithm else { panic!() };
        assert_eq!(p.learning_rate, Schedule::Constant(3e-4));
        assert_eq!(p.clip_range, Schedule::Linear { initial: 0.1 });
        assert_eq!(p.net_arch, vec![32, 16]);
    }

    #[test]
    fn switching_algorithm_resets_params_whatever_the_order() {
        let c = apply(&["algorithm.params.batch_size=32", "algorithm.name=dqn"]).unwrap();
        let AlgorithmConfig::Dqn(d) = &c.algorithm else { panic!() };
        assert_eq!(d.batch_size, 32);
        assert_eq!(d.buffer_size, 100_000);
    }

    #[test]
    fn errors_name_the_key() {
        let e = apply(&["algorithm.params.learning_rat=1"]).unwrap_err().0;
        assert!(e.contains("unknown key 'algorithm.params.learning_rat'") && e.contains("algorithm.params.learning_rate"), "{e}");
        let e = apply(&["algorithm.params.n_steps=abc"]).unwrap_err().0;
        assert!(e.contains("algorithm.params.n_steps") && e.contains("abc"), "{e}");
        let e = apply(&["algorithm.params.n_steps=1.5"]).unwrap_err().0;
        assert!(e.contains("algorithm.params.n_steps"), "{e}");
        let e = apply(&["algorithm.name=a2c"]).unwrap_err().0;
        assert!(e.contains("ppo, dqn"), "{e}");
        let e = apply(&["experiment=3"]).unwrap_err().0;
        assert!(e.contains("section"), "{e}");
        assert!(parse_override("noequals").is_err());
        assert!(parse_override("+a.b=1").is_err());
        assert!(parse_override("a=1,2").unwrap_err().0.contains("--multirun"));
        let e = apply(&["experiment.device=tpu"]).unwrap_err().0;
        assert!(e.contains("experiment.device") && e.contains("cpu"), "{e}");
    }

    #[test]
    fn levenshtein_works() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "ab"), 2);
    }
}
