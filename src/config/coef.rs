//! The off-policy algorithms' hyperparameters that are not plain numbers,
//! written as rl-baselines3-zoo writes them: SAC's `ent_coef` (`auto`,
//! `auto_0.1` or a number) and TD3's `noise_type`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// SAC's entropy coefficient: fixed, or learned (as `log(ent_coef)`, towards a
/// target entropy of `-dim(A)`) from an initial value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EntCoef {
    Fixed(f64),
    Auto { initial: f64 },
}

impl EntCoef {
    /// SB3's parsing: `auto` starts at 1.0, `auto_<x>` at x, a number is fixed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bad = || format!("'{t}' is not an entropy coefficient: use auto, auto_<initial value> (e.g. auto_0.1) or a positive number");
        let value = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0).ok_or_else(bad);
        match t.strip_prefix("auto") {
            Some("") => Ok(EntCoef::Auto { initial: 1.0 }),
            Some(rest) => Ok(EntCoef::Auto { initial: value(rest.strip_prefix('_').ok_or_else(bad)?)? }),
            None => Ok(EntCoef::Fixed(value(t)?)),
        }
    }

    /// Whether it is learned.
    pub fn is_auto(&self) -> bool {
        matches!(self, EntCoef::Auto { .. })
    }

    /// Its value at the start of training.
    pub fn initial(&self) -> f64 {
        match *self {
            EntCoef::Fixed(v) | EntCoef::Auto { initial: v } => v,
        }
    }
}

impl fmt::Display for EntCoef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EntCoef::Fixed(v) => write!(f, "{v}"),
            EntCoef::Auto { initial } if initial == 1.0 => write!(f, "auto"),
            EntCoef::Auto { initial } => write!(f, "auto_{initial}"),
        }
    }
}

impl Serialize for EntCoef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EntCoef::Fixed(v) => s.serialize_f64(*v),
            EntCoef::Auto { .. } => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for EntCoef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = EntCoef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("auto, auto_<initial value> or a positive number")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<EntCoef, E> {
                EntCoef::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<EntCoef, E> {
                EntCoef::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<EntCoef, E> {
                EntCoef::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EntCoef, E> {
                EntCoef::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// TD3's exploration noise, added to the actor's action in [-1, 1] and clipped.
/// Written as a string (`"ornstein-uhlenbeck"` is no RON identifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoiseType {
    /// No noise (SB3's `action_noise=None`).
    None,
    /// Independent Gaussian noise every step.
    Normal,
    /// Ornstein-Uhlenbeck (theta 0.15, dt 0.01), reset at each episode's end.
    OrnsteinUhlenbeck,
}

impl NoiseType {
    pub const ALL: [NoiseType; 3] = [NoiseType::None, NoiseType::Normal, NoiseType::OrnsteinUhlenbeck];

    /// Its name in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            NoiseType::None => "none",
            NoiseType::Normal => "normal",
            NoiseType::OrnsteinUhlenbeck => "ornstein-uhlenbeck",
        }
    }
}

impl Serialize for NoiseType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NoiseType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NoiseType;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("one of \"none\", \"normal\", \"ornstein-uhlenbeck\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NoiseType, E> {
                NoiseType::ALL
                    .into_iter()
                    .find(|n| n.as_str() == v)
                    .ok_or_else(|| E::custom(format!("unknown noise_type '{v}': use none, normal or ornstein-uhlenbeck")))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ent_coef_parses_as_sb3() {
        assert_eq!(EntCoef::parse("auto").unwrap(), EntCoef::Auto { initial: 1.0 });
        assert_eq!(EntCoef::parse("auto_0.1").unwrap(), EntCoef::Auto { initial: 0.1 });
        assert_eq!(EntCoef::parse("0.2").unwrap(), EntCoef::Fixed(0.2));
        for bad in ["auto0.1", "auto_", "auto_-1", "0", "-0.5", "nan", "fixed"] {
            assert!(EntCoef::parse(bad).is_err(), "{bad}");
        }
        for text in ["auto", "auto_0.1", "0.05"] {
            let c = EntCoef::parse(text).unwrap();
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(serde_json::from_value::<EntCoef>(json).unwrap(), c);
        }
        assert_eq!(serde_json::from_str::<NoiseType>("\"ornstein-uhlenbeck\"").unwrap(), NoiseType::OrnsteinUhlenbeck);
    }
}
