//! Hyperparameters that may change over training, written as in rl-baselines3-zoo:
//! a plain number is a constant, `lin_1e-3` decays linearly from 1e-3 to 0.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    Constant(f64),
    /// Linear from `initial` at the start of training to 0 at the end.
    Linear {
        initial: f64,
    },
}

impl Schedule {
    /// Value given the fraction of training left (1 at the start, 0 at the end),
    /// SB3's `progress_remaining`.
    pub fn value(&self, progress_remaining: f64) -> f64 {
        match *self {
            Schedule::Constant(v) => v,
            Schedule::Linear { initial } => progress_remaining * initial,
        }
    }

    pub fn initial(&self) -> f64 {
        match *self {
            Schedule::Constant(v) => v,
            Schedule::Linear { initial } => initial,
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bad = || format!("'{t}' is not a schedule: use a number (constant) or lin_<number> (linear decay to 0), e.g. 3e-4 or lin_1e-3");
        if let Some(rest) = t.strip_prefix("lin_") {
            let initial: f64 = rest.parse().map_err(|_| bad())?;
            if !initial.is_finite() {
                return Err(bad());
            }
            Ok(Schedule::Linear { initial })
        } else {
            let v: f64 = t.parse().map_err(|_| bad())?;
            if !v.is_finite() {
                return Err(bad());
            }
            Ok(Schedule::Constant(v))
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Constant(v) => write!(f, "{v}"),
            Schedule::Linear { initial } => write!(f, "lin_{initial}"),
        }
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Schedule::Constant(v) => s.serialize_f64(*v),
            Schedule::Linear { .. } => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Schedule;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a schedule like lin_1e-3")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Schedule, E> {
                Ok(Schedule::Constant(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Schedule, E> {
                Ok(Schedule::Constant(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Schedule, E> {
                Ok(Schedule::Constant(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Schedule, E> {
                Schedule::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates() {
        let s = Schedule::parse("lin_1e-3").unwrap();
        assert_eq!(s, Schedule::Linear { initial: 1e-3 });
        assert!((s.value(0.5) - 5e-4).abs() < 1e-15);
        assert_eq!(Schedule::parse("0.2").unwrap().value(0.1), 0.2);
        assert!(Schedule::parse("lin_abc").is_err());
        assert!(Schedule::parse("exp_3").is_err());
    }
}
