//! Sweep grammar, as Hydra's basic (grid) and Optuna sweepers write it:
//!
//! * grid: `key=1,2,3`, `key=range(0,10,2)` (stop excluded, as Python), or a plain `key=value`;
//! * random: `key=interval(lo,hi)` uniform, `key=tag(log,interval(lo,hi))` log-uniform,
//!   `key=int(interval(lo,hi))` integer, `key=choice(a,b,c)`, or a plain value.

use crate::config::ConfigError;
use crate::config::overrides::parse_override;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

fn err<T>(m: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(m.into()))
}

/// One dimension of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Dimension {
    /// Values as typed (each later parsed as an override value).
    Values(Vec<String>),
    Uniform {
        low: f64,
        high: f64,
    },
    LogUniform {
        low: f64,
        high: f64,
    },
    IntUniform {
        low: i64,
        high: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub key: String,
    pub dim: Dimension,
}

/// Splits at top-level commas (not inside parentheses, brackets or quotes).
fn split_top(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0i32, None::<char>);
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '(' | '[') => {
                depth += 1;
                cur.push(c);
            }
            (None, ')' | ']') => {
                depth -= 1;
                cur.push(c);
            }
            (None, ',') if depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            (None, c) => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn call<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.strip_prefix(name)?.trim_start().strip_prefix('(')?.strip_suffix(')')
}

fn num(key: &str, s: &str) -> Result<f64, ConfigError> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| ConfigError(format!("{key}: '{s}' is not a number")))
}

fn interval(key: &str, inner: &str) -> Result<(f64, f64), ConfigError> {
    let parts = split_top(inner);
    if parts.len() != 2 {
        return err(format!("{key}: interval takes two numbers, interval(low,high); got interval({inner})"));
    }
    let (lo, hi) = (num(key, &parts[0])?, num(key, &parts[1])?);
    if lo >= hi {
        return err(format!("{key}: interval({lo},{hi}) is empty: low must be below high"));
    }
    Ok((lo, hi))
}

/// Parses one `key=spec` sweep argument.
pub fn parse_param(arg: &str) -> Result<Param, ConfigError> {
    let Some((key, spec)) = arg.split_once('=') else {
        return err(format!("sweep argument '{arg}' is not key=values, e.g. algorithm.params.batch_size=32,64"));
    };
    let key = key.trim().to_string();
    // Reuse the override parser to validate the key's syntax.
    parse_override(&format!("{key}=0"))?;
    let spec = spec.trim();
    let dim = if let Some(inner) = call(spec, "tag") {
        let parts = split_top(inner);
        match parts.as_slice() {
            [t, iv] if t == "log" => {
                let i = call(iv, "interval").ok_or_else(|| ConfigError(format!("{key}: tag(log, ...) needs an interval(low,high)")))?;
                let (low, high) = interval(&key, i)?;
                if low <= 0.0 {
                    return err(format!("{key}: a log interval needs low > 0, got {low}"));
                }
                Dimension::LogUniform { low, high }
            }
            _ => return err(format!("{key}: only tag(log, interval(low,high)) is supported, got tag({inner})")),
        }
    } else if let Some(inner) = call(spec, "int") {
        let i = call(inner.trim(), "interval").ok_or_else(|| ConfigError(format!("{key}: int(...) needs an interval(low,high)")))?;
        let (low, high) = interval(&key, i)?;
        Dimension::IntUniform { low: low.ceil() as i64, high: high.floor() as i64 }
    } else if let Some(inner) = call(spec, "interval") {
        let (low, high) = interval(&key, inner)?;
        Dimension::Uniform { low, high }
    } else if let Some(inner) = call(spec, "choice") {
        let values: Vec<String> = split_top(inner).into_iter().filter(|v| !v.is_empty()).collect();
        if values.is_empty() {
            return err(format!("{key}: choice() is empty: list at least one value"));
        }
        Dimension::Values(values)
    } else if let Some(inner) = call(spec, "range") {
        let parts: Vec<f64> = split_top(inner).iter().map(|p| num(&key, p)).collect::<Result<_, _>>()?;
        let (start, stop, step) = match parts.as_slice() {
            [stop] => (0.0, *stop, 1.0),
            [start, stop] => (*start, *stop, 1.0),
            [start, stop, step] => (*start, *stop, *step),
            _ => return err(format!("{key}: range takes 1 to 3 numbers, range(start,stop[,step])")),
        };
        if step == 0.0 {
            return err(format!("{key}: range step must not be 0"));
        }
        let mut values = Vec::new();
        let mut v = start;
        while (step > 0.0 && v < stop) || (step < 0.0 && v > stop) {
            values.push(format!("{v}"));
            v += step;
            if values.len() > 100_000 {
                return err(format!("{key}: range has more than 100000 values"));
            }
        }
        if values.is_empty() {
            return err(format!("{key}: range({inner}) is empty"));
        }
        Dimension::Values(values)
    } else {
        let values = split_top(spec);
        if values.iter().any(|v| v.is_empty()) {
            return err(format!("{key}: '{spec}' has an empty value"));
        }
        Dimension::Values(values)
    };
    Ok(Param { key, dim })
}

/// The cartesian product, first parameter slowest (Hydra's order).
pub fn grid(params: &[Param]) -> Result<Vec<Vec<(String, String)>>, ConfigError> {
    let mut trials: Vec<Vec<(String, String)>> = vec![vec![]];
    for p in params {
        let Dimension::Values(values) = &p.dim else {
            return err(format!("{}: interval/log/int distributions need random search (rl-research search), not --multirun", p.key));
        };
        trials =
            trials.into_iter().flat_map(|t| values.iter().map(move |v| [t.clone(), vec![(p.key.clone(), v.clone())]].concat())).collect();
    }
    Ok(trials)
}

pub fn grid_size(params: &[Param]) -> u128 {
    params
        .iter()
        .map(|p| match &p.dim {
            Dimension::Values(v) => v.len() as u128,
            _ => 1,
        })
        .product()
}

/// Draws one value of a dimension.
pub fn sample(dim: &Dimension, rng: &mut Rng) -> String {
    match dim {
        Dimension::Values(v) => v[rng.below(v.len())].clone(),
        Dimension::Uniform { low, high } => format!("{}", rng.uniform(*low, *high)),
        Dimension::LogUniform { low, high } => format!("{}", rng.uniform(low.ln(), high.ln()).exp()),
        Dimension::IntUniform { low, high } => format!("{}", low + rng.below((high - low + 1).max(1) as usize) as i64),
    }
}

/// `n` random trials, reproducible from `seed`.
pub fn random_trials(params: &[Param], n: usize, seed: u64) -> Vec<Vec<(String, String)>> {
    let mut rng = Rng::derive(seed, 77);
    (0..n).map(|_| params.iter().map(|p| (p.key.clone(), sample(&p.dim, &mut rng))).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_order_counts_and_ranges() {
        let ps: Vec<Param> = ["a=1,2,3", "b=range(0,4,2)", "c=x"].iter().map(|a| parse_param(a).unwrap()).collect();
        let g = grid(&ps).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], vec![("a".into(), "1".into()), ("b".into(), "0".into()), ("c".into(), "x".into())]);
        assert_eq!(g[1][1].1, "2");
        assert_eq!(g[2][0].1, "2");
        assert_eq!(grid_size(&ps), 6);
    }

    #[test]
    fn bad_specs_are_rejected() {
        for bad in ["a=choice()", "a=interval(2,1)", "a=tag(log,interval(0,1))", "a=range(3,3)", "a=1,,2", "novalue"] {
            assert!(parse_param(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn samplers_cover_their_ranges_reproducibly() {
        let ps: Vec<Param> = ["lr=tag(log,interval(1e-5,1e-1))", "u=interval(0,1)", "n=int(interval(1,3))", "c=choice(a,b)"]
            .iter()
            .map(|a| parse_param(a).unwrap())
            .collect();
        let t = random_trials(&ps, 2000, 5);
        assert_eq!(t, random_trials(&ps, 2000, 5));
        let lrs: Vec<f64> = t.iter().map(|x| x[0].1.parse().unwrap()).collect();
        for decade in [-5, -4, -3, -2] {
            let lo = 10f64.powi(decade);
            let n = lrs.iter().filter(|&&v| v >= lo && v < lo * 10.0).count();
            assert!((350..650).contains(&n), "decade 1e{decade}: {n} of 2000");
        }
        let ints: std::collections::BTreeSet<String> = t.iter().map(|x| x[2].1.clone()).collect();
        assert_eq!(ints.into_iter().collect::<Vec<_>>(), vec!["1", "2", "3"]);
        let u: Vec<f64> = t.iter().map(|x| x[1].1.parse().unwrap()).collect();
        assert!(u.iter().all(|&v| (0.0..1.0).contains(&v)));
    }
}
