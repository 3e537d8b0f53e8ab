//! An env's typed parameters (Gymnasium's `make` kwargs): each env declares
//! its own in its registry entry, with a default, a doc and its valid range,
//! and the config's `env.params` holds the values set (unset ones take the
//! default). Validation, `rl-research keys`, the editor's form and the Python
//! package all read the declarations, so a parameter is written down once.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A parameter value as a config file or an override gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => write!(f, "'{s}'"),
        }
    }
}

/// The `env.params` section: the values set, by key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParamValues(pub BTreeMap<String, ParamValue>);

impl ParamValues {
    pub fn set(&mut self, key: &str, value: ParamValue) {
        self.0.insert(key.to_string(), value);
    }
    pub fn get(&self, key: &str) -> Option<&ParamValue> {
        self.0.get(key)
    }
    /// A float parameter (an integer reads as its float); resolved values always have one.
    pub fn f64(&self, key: &str) -> f64 {
        match self.0.get(key) {
            Some(ParamValue::Float(x)) => *x,
            Some(ParamValue::Int(i)) => *i as f64,
            _ => f64::NAN,
        }
    }
    pub fn bool(&self, key: &str) -> bool {
        matches!(self.0.get(key), Some(ParamValue::Bool(true)))
    }
}

/// One end of a parameter's range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub value: f64,
    pub inclusive: bool,
}

/// What a parameter holds, with its default and valid range.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamKind {
    Bool {
        default: bool,
    },
    Float {
        default: f64,
        min: Option<Limit>,
        max: Option<Limit>,
        /// What the env's authors recommend beyond the hard range, for messages (e.g. "0..20").
        recommended: Option<(f64, f64)>,
        /// Unit shown in the editor (" m/s²"), may be empty.
        unit: &'static str,
    },
}

/// One declared parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub key: String,
    pub doc: String,
    pub kind: ParamKind,
    /// A bool parameter this one only matters with (LunarLander's wind power
    /// needs `enable_wind`): the editor shows it only while that is on.
    pub only_with: Option<String>,
}

impl ParamSpec {
    pub fn bool(key: &str, default: bool, doc: &str) -> Self {
        Self { key: key.into(), doc: doc.into(), kind: ParamKind::Bool { default }, only_with: None }
    }

    pub fn float(key: &str, default: f64, min: Option<Limit>, max: Option<Limit>, doc: &str) -> Self {
        Self {
            key: key.into(),
            doc: doc.into(),
            kind: ParamKind::Float { default, min, max, recommended: None, unit: "" },
            only_with: None,
        }
    }

    pub fn recommended(mut self, lo: f64, hi: f64) -> Self {
        if let ParamKind::Float { recommended, .. } = &mut self.kind {
            *recommended = Some((lo, hi));
        }
        self
    }

    /// Shown in the editor only while the bool parameter `key` is on.
    pub fn only_with(mut self, key: &str) -> Self {
        self.only_with = Some(key.to_string());
        self
    }

    pub fn unit(mut self, u: &'static str) -> Self {
        if let ParamKind::Float { unit, .. } = &mut self.kind {
            *unit = u;
        }
        self
    }

    pub fn default_value(&self) -> ParamValue {
        match self.kind {
            ParamKind::Bool { default } => ParamValue::Bool(default),
            ParamKind::Float { default, .. } => ParamValue::Float(default),
        }
    }

    /// The editor's slider range: the hard limits, else the recommended range, else around the default.
    pub fn editor_range(&self) -> Option<std::ops::RangeInclusive<f64>> {
        let ParamKind::Float { default, min, max, recommended, .. } = &self.kind else { return None };
        let step_in = |l: &Limit, up: bool| {
            if l.inclusive { l.value } else { l.value + if up { 0.01 } else { -0.01 } }
        };
        let lo = min.as_ref().map(|l| step_in(l, true)).or(recommended.map(|r| r.0)).unwrap_or(default - 10.0 * default.abs().max(1.0));
        let hi =
            max.as_ref().map(|l| step_in(l, false)).or(recommended.map(|r| r.1 * 5.0)).unwrap_or(default + 10.0 * default.abs().max(1.0));
        Some(lo..=hi)
    }

    /// Checks a value (`full_key` is what messages name, e.g. `env.params.gravity`)
    /// and returns it in the parameter's own type.
    pub fn check(&self, full_key: &str, value: &ParamValue) -> Result<ParamValue, String> {
        match (&self.kind, value) {
            (ParamKind::Bool { .. }, ParamValue::Bool(b)) => Ok(ParamValue::Bool(*b)),
            (ParamKind::Bool { .. }, v) => Err(format!("{full_key}: expected true or false, got {v}")),
            (ParamKind::Float { min, max, recommended, .. }, ParamValue::Float(_) | ParamValue::Int(_)) => {
                let x = match value {
                    ParamValue::Int(i) => *i as f64,
                    ParamValue::Float(x) => *x,
                    _ => f64::NAN,
                };
                let below = |l: &Limit| if l.inclusive { x < l.value } else { x <= l.value };
                let above = |l: &Limit| if l.inclusive { x > l.value } else { x >= l.value };
                if x.is_finite() && !min.as_ref().is_some_and(below) && !max.as_ref().is_some_and(above) {
                    return Ok(ParamValue::Float(x));
                }
                let hint = recommended.map(|(lo, hi)| format!(" (Gymnasium recommends {lo}..{hi})")).unwrap_or_default();
                let range = match (min, max) {
                    (Some(lo), Some(hi)) if !lo.inclusive && !hi.inclusive => format!("between {} and {} (exclusive)", lo.value, hi.value),
                    (Some(lo), Some(hi)) => format!("between {} and {}", lo.value, hi.value),
                    (Some(lo), None) => format!("{} {}", if lo.inclusive { ">=" } else { ">" }, lo.value),
                    (None, Some(hi)) => format!("{} {}", if hi.inclusive { "<=" } else { "<" }, hi.value),
                    (None, None) => "a finite number".to_string(),
                };
                Err(format!("{full_key}: must be {range}{hint}, got {x}"))
            }
            (ParamKind::Float { .. }, v) => Err(format!("{full_key}: expected a number, got {v}")),
        }
    }
}

/// `v` inclusive / exclusive, for declaring ranges.
pub fn incl(value: f64) -> Option<Limit> {
    Some(Limit { value, inclusive: true })
}
pub fn excl(value: f64) -> Option<Limit> {
    Some(Limit { value, inclusive: false })
}
