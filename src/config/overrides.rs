//! Hydra-style command-line overrides: `experiment.name=x env.n_envs=4
//! algorithm.params.learning_rate=lin_3e-4 algorithm.params.net_arch=[128,128]`.
//!
//! Overrides are applied to the typed config through its JSON tree, so an
//! unknown key, a wrong type or a bad value is reported against the exact key
//! the user typed, with the closest valid keys suggested.

use super::hydra::{self, HydraValue, Parsed};
use super::{AlgorithmConfig, Config, ConfigError};
use serde_json::{Number, Value};
use std::path::PathBuf;

/// One parsed `key=value` pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub key: String,
    pub value: Value,
    /// The value with Python's types, as Hydra parses it (`value` is its JSON).
    pub parsed: HydraValue,
    /// The text after `=`, as typed (for messages and the saved command line).
    pub raw: String,
}

/// Parses `key=value`. Values follow Hydra's grammar exactly (hydra-core 1.3):
/// `null`, `true`/`false` in any case, ints (`1_000`), floats (`.5`, `1e-3`),
/// lists `[a,b]`, dicts `{a:1}`, quoted strings with escapes, bare strings
/// (`a\ b`, `x/y.z`); `007` is the string "007" as in Hydra.
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
        return Err(ConfigError(format!("argument '{arg}' is not an override: write key=value, e.g. experiment.name=my_run")));
    };
    let key = key.trim();
    if key.is_empty() || !key.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
        return Err(ConfigError(format!(
            "override '{arg}': '{key}' is not a valid key: use dotted names like algorithm.params.learning_rate"
        )));
    }
    let (parsed, value) = parse_value(raw).map_err(|m| ConfigError(format!("override '{arg}': {m}")))?;
    Ok(Override { key: key.to_string(), value, parsed, raw: raw.to_string() })
}

/// An override from an already typed value (a Python dict's, an OmegaConf
/// config's): the same key checks and messages as `key=value` text, without
/// the text grammar. Integral floats go in as integers, as in [`parse_override`].
pub fn override_from_json(key: &str, value: Value) -> Result<Override, ConfigError> {
    if key.is_empty() || !key.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
        return Err(ConfigError(format!("'{key}' is not a valid key: use dotted names like algorithm.params.learning_rate")));
    }
    fn hydra_of(v: &Value) -> HydraValue {
        match v {
            Value::Null => HydraValue::Null,
            Value::Bool(b) => HydraValue::Bool(*b),
            Value::Number(n) => n.as_i64().map(HydraValue::Int).unwrap_or_else(|| HydraValue::Float(n.as_f64().unwrap_or(f64::NAN))),
            Value::String(s) => HydraValue::Str(s.clone()),
            Value::Array(items) => HydraValue::List(items.iter().map(hydra_of).collect()),
            Value::Object(m) => HydraValue::Dict(m.iter().map(|(k, v)| (k.clone(), hydra_of(v))).collect()),
        }
    }
    let parsed = hydra_of(&value);
    let value = to_json(&parsed).map_err(|m| ConfigError(format!("{key}: {m}")))?;
    let raw = match &value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(Override { key: key.to_string(), value, parsed, raw })
}

/// The value of an override: Hydra's grammar (see [`super::hydra`]), then JSON
/// for the typed config. Sweeps and sweep functions belong to `--multirun`.
fn parse_value(raw: &str) -> Result<(HydraValue, Value), String> {
    let parsed = match hydra::parse(raw)? {
        Parsed::Element(v) => v,
        Parsed::Sweep(_) => {
            return Err(format!(
                "'{}' is a sweep (comma-separated values); run several values with --multirun, or quote the value if the comma is part of it",
                raw.trim()
            ));
        }
        Parsed::Function(name) => {
            return Err(format!("'{}' is a sweep ({name}(...)); use it with --multirun or rl-research search", raw.trim()));
        }
    };
    let json = to_json(&parsed)?;
    Ok((parsed, json))
}

fn to_json(v: &HydraValue) -> Result<Value, String> {
    Ok(match v {
        HydraValue::Null => Value::Null,
        HydraValue::Bool(b) => Value::Bool(*b),
        HydraValue::Int(i) => Value::Number((*i).into()),
        HydraValue::Float(f) if !f.is_finite() => {
            return Err(format!("{} is not allowed here: the config's numbers must be finite", hydra::python_float_repr(*f)));
        }
        // 1e5 for an integer key is common; integral floats go in as integers.
        HydraValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::Number((*f as i64).into()),
        HydraValue::Float(f) => Number::from_f64(*f).map(Value::Number).ok_or_else(|| format!("{f} is not a finite number"))?,
        HydraValue::Str(s) => Value::String(s.clone()),
        HydraValue::List(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        HydraValue::Dict(items) => Value::Object(items.iter().map(|(k, v)| Ok((k.clone(), to_json(v)?))).collect::<Result<_, String>>()?),
    })
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
    let (ids, rest): (Vec<&Override>, Vec<&Override>) = rest.into_iter().partition(|o| o.key == "env.id");
    // env.id first, as algorithm.name: it decides which env.params exist.
    for o in ids.into_iter().chain(rest) {
        set_path(&mut tree, o)?;
        // Deserialising after each override pins a type error on the key that caused it.
        serde_json::from_value::<Config>(tree.clone())
            .map_err(|e| ConfigError(format!("{}: invalid value '{}': {}", o.key, o.raw.trim(), describe_serde_error(&e.to_string()))))?;
    }
    let mut config: Config = serde_json::from_value(tree).map_err(|e| ConfigError(format!("config after overrides is invalid: {e}")))?;
    crate::envs::registry::normalize(&mut config.env.params);
    Ok(config)
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

/// `env.params` holds the keys set; a key some registered env declares can
/// be set whatever the env (as a config can switch `env.id`), so it is added
/// with its default before the override is written into it.
fn open_env_params(tree: &mut Value, o: &Override) {
    let keys: Vec<String> = match (o.key.strip_prefix("env.params."), o.key.as_str(), &o.value) {
        (Some(k), _, _) if !k.contains('.') => vec![k.to_string()],
        (_, "env.params", Value::Object(m)) => m.keys().cloned().collect(),
        _ => return,
    };
    let Some(Value::Object(params)) = tree.get_mut("env").and_then(|e| e.get_mut("params")) else { return };
    for k in keys {
        if let Some(p) = crate::envs::registry::param_anywhere(&k) {
            if !params.contains_key(&k) {
                params.insert(k, serde_json::to_value(p.default_value()).unwrap_or(Value::Null));
            }
        }
    }
}

/// `env.gym_kwargs` is open: any key (a `gymnasium.make` keyword) can be set.
fn open_gym_kwargs(tree: &mut Value, o: &Override) {
    let keys: Vec<String> = match (o.key.strip_prefix("env.gym_kwargs."), o.key.as_str(), &o.value) {
        (Some(k), _, _) if !k.contains('.') => vec![k.to_string()],
        (_, "env.gym_kwargs", Value::Object(m)) => m.keys().cloned().collect(),
        _ => return,
    };
    if let Some(Value::Object(kwargs)) = tree.get_mut("env").and_then(|e| e.get_mut("gym_kwargs")) {
        for k in keys {
            kwargs.entry(k).or_insert(Value::Null);
        }
    }
}

fn set_path(tree: &mut Value, o: &Override) -> Result<(), ConfigError> {
    open_env_params(tree, o);
    open_gym_kwargs(tree, o);
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
                let Value::Object(fields) = &o.value else {
                    return Err(ConfigError(format!(
                        "{} is a section, not a value: set one of its keys, e.g. {}, or give a dict like {}={{key:value}}",
                        o.key,
                        first_leaf(slot).map(|l| format!("{}.{l}", o.key)).unwrap_or_default(),
                        o.key
                    )));
                };
                return merge_section(slot, fields, &o.key, &snapshot);
            }
            *slot = match (&*slot, &o.parsed) {
                // A string key takes any scalar as Python's str() of it (OmegaConf's rule).
                (Value::String(_), v) if !matches!(v, HydraValue::Str(_) | HydraValue::List(_) | HydraValue::Dict(_)) => {
                    Value::String(hydra::python_str(v))
                }
                _ => coerce(slot, o.value.clone()),
            };
            return Ok(());
        }
        node = map.get_mut(*part).ok_or_else(|| ConfigError(format!("internal: key {} vanished", o.key)))?;
    }
    Ok(())
}

/// A dict given for a section sets each of its keys (unknown ones are errors).
fn merge_section(slot: &mut Value, fields: &serde_json::Map<String, Value>, key: &str, snapshot: &Value) -> Result<(), ConfigError> {
    for (k, v) in fields {
        let path = format!("{key}.{k}");
        let Value::Object(map) = &mut *slot else { return Err(unknown_key(snapshot.clone(), &path, Some(key))) };
        let Some(child) = map.get_mut(k) else { return Err(unknown_key(snapshot.clone(), &path, None)) };
        match (child.is_object(), v) {
            (true, Value::Object(inner)) => merge_section(child, inner, &path, snapshot)?,
            (true, _) => return Err(ConfigError(format!("{path} is a section, not a value: give a dict for it"))),
            (false, _) => *child = coerce(child, v.clone()),
        }
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

/// Every leaf of a config with its value, keyed by its dotted path
/// (`algorithm.params.learning_rate`): what TensorBoard's HParams and W&B's
/// config show. `null` leaves (unset options) are left out.
pub fn flat_values(config: &Config) -> Vec<(String, Value)> {
    fn walk(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    walk(child, &if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, out);
                }
            }
            Value::Null => {}
            leaf => out.push((prefix.to_string(), leaf.clone())),
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(config) {
        walk(&v, "", &mut out);
    }
    out
}

/// The keys whose values differ between `configs`, sorted, with each config's
/// value as a user writes it (strings without JSON quotes; `None`: unset, or
/// no config): `compare`'s config table and a resume's check of config.yaml.
pub fn differing_keys(configs: &[Option<&Config>]) -> Vec<(String, Vec<Option<String>>)> {
    let plain = |v: Value| match v {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let flats: Vec<std::collections::BTreeMap<String, String>> =
        configs.iter().map(|c| c.map(|c| flat_values(c).into_iter().map(|(k, v)| (k, plain(v))).collect()).unwrap_or_default()).collect();
    let mut keys: Vec<&String> = flats.iter().flat_map(|f| f.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let values: Vec<Option<String>> = flats.iter().map(|f| f.get(k).cloned()).collect();
            values.windows(2).any(|w| w[0] != w[1]).then(|| (k.clone(), values))
        })
        .collect()
}

/// All settable keys of a config, e.g. for `--help` and the GUI.
pub fn all_keys(config: &Config) -> Vec<String> {
    let mut out = vec!["algorithm.name".to_string()];
    if let Ok(v) = serde_json::to_value(config) {
        leaf_paths(&v, "", &mut out);
    }
    // The env's parameters, set or not (after env.max_episode_steps, where `keys` lists them).
    if let Some(found) = crate::envs::registry::find(&config.env.id) {
        let at = out.iter().rposition(|k| k.starts_with("env.")).map_or(out.len(), |i| i + 1);
        let missing: Vec<String> = found.spec.params.iter().map(|p| format!("env.params.{}", p.key)).filter(|k| !out.contains(k)).collect();
        out.splice(at..at, missing);
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
    for spec in crate::envs::registry::specs() {
        paths.extend(spec.params.iter().map(|p| format!("env.params.{}", p.key)).filter(|k| !paths.contains(k)).collect::<Vec<_>>());
    }
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

/// Parses `[--config FILE] [KEY=VALUE ...]` into a validated config.
pub fn config_from_args(args: &[String]) -> Result<Config, ConfigError> {
    let mut base: Option<PathBuf> = None;
    let mut overrides = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--config" || a == "-c" {
            let file = args.get(i + 1).ok_or_else(|| ConfigError(format!("{a} needs a file: --config configs/cartpole_ppo.ron")))?;
            base = Some(PathBuf::from(file));
            i += 2;
            continue;
        }
        if let Some(file) = a.strip_prefix("--config=") {
            base = Some(PathBuf::from(file));
        } else if a.starts_with("--") {
            return Err(ConfigError(format!("unknown option '{a}': run accepts --config FILE and KEY=VALUE overrides")));
        } else {
            overrides.push(parse_override(a)?);
        }
        i += 1;
    }
    let base = match &base {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let config = apply_overrides(&base, &overrides)?;
    config.validate()?;
    Ok(config)
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
        let c = apply(&[
            "experiment.name=my_exp",
            "env.n_envs=4",
            "algorithm.params.learning_rate=3e-4",
            "algorithm.params.clip_range=lin_0.1",
            "experiment.total_timesteps=2e4",
            "algorithm.params.net_arch=[32, 16]",
        ])
        .unwrap();
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
        let e = apply(&["algorithm.name=ddpg"]).unwrap_err().0;
        assert!(e.contains("ppo, dqn, a2c, sac, td3"), "{e}");
        let e = apply(&["experiment=3"]).unwrap_err().0;
        assert!(e.contains("section"), "{e}");
        assert!(parse_override("noequals").is_err());
        assert!(parse_override("+a.b=1").is_err());
        assert!(parse_override("a=1,2").unwrap_err().0.contains("--multirun"));
        let e = apply(&["experiment.device=tpu"]).unwrap_err().0;
        assert!(e.contains("experiment.device") && e.contains("cpu"), "{e}");
    }

    #[test]
    fn hydra_value_forms_reach_the_typed_keys() {
        let c = apply(&["experiment.name=007", "experiment.total_timesteps=1_000", "env.params={gravity: -5, enable_wind: TRUE}"]).unwrap();
        assert_eq!(c.experiment.name, "007", "Hydra keeps 007 a string");
        assert_eq!(c.experiment.total_timesteps, 1000);
        assert_eq!(c.env.params.f64("gravity"), -5.0);
        assert!(c.env.params.bool("enable_wind"));
        assert_eq!(apply(&["experiment.name=a\\ b"]).unwrap().experiment.name, "a b");
        assert_eq!(apply(&["experiment.name=1e3"]).unwrap().experiment.name, "1000.0", "str() of Hydra's float");
        assert_eq!(apply(&["experiment.name='x,y'"]).unwrap().experiment.name, "x,y");
        assert_eq!(apply(&["env.max_episode_steps=NULL"]).unwrap().env.max_episode_steps, None);
        let AlgorithmConfig::Ppo(p) = apply(&["algorithm.params.learning_rate=.5"]).unwrap().algorithm else { panic!() };
        assert_eq!(p.learning_rate, Schedule::Constant(0.5));
        // Typed keys reject what does not fit, naming the key.
        let e = apply(&["experiment.total_timesteps=007"]).unwrap_err().0;
        assert!(e.contains("experiment.total_timesteps") && e.contains("007"), "{e}");
        let e = apply(&["algorithm.params.max_grad_norm=inf"]).unwrap_err().0;
        assert!(e.contains("algorithm.params.max_grad_norm") && e.contains("finite"), "{e}");
        let e = apply(&["env.params={gravty: 1}"]).unwrap_err().0;
        assert!(e.contains("env.params.gravty") && e.contains("env.params.gravity"), "{e}");
        assert!(parse_override("a.b=range(1,3)").unwrap_err().0.contains("--multirun"));
        assert!(parse_override("a.b=[1,2").unwrap_err().0.contains("a.b=[1,2"));
    }

    #[test]
    fn levenshtein_works() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "ab"), 2);
    }
}
