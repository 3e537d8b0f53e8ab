//! Observation and action spaces, and actions that are either an index
//! (`Discrete`) or a vector of f32 (`Box`), as Gymnasium's spaces are.
//!
//! Actions are passed by value as a small enum (`Action`), and a batch of them
//! as one borrowed slice (`Actions`): a discrete env's step costs one branch
//! more than with a bare `usize`, and nothing is allocated per step.

use serde::{Deserialize, Serialize};

/// A box space: per-dimension bounds (may be infinite).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoxSpace {
    pub low: Vec<f32>,
    pub high: Vec<f32>,
}

impl BoxSpace {
    pub fn dim(&self) -> usize {
        self.low.len()
    }
}

/// Which kind of action a space takes (what an algorithm says it supports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Discrete,
    Box,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Discrete => "Discrete",
            ActionKind::Box => "Box",
        }
    }
}

/// An env's action space. Stored in model files as
/// `{"type": "discrete", "n": 4, "names": [...]}` or `{"type": "box", "low": [...], "high": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionSpace {
    /// Actions `0..n`; `names` (may be empty) label them in replays.
    Discrete {
        n: usize,
        #[serde(default)]
        names: Vec<String>,
    },
    /// A vector of `low.len()` floats, each within its bounds.
    Box { low: Vec<f32>, high: Vec<f32> },
}

impl ActionSpace {
    pub fn discrete(n: usize, names: &[&str]) -> Self {
        ActionSpace::Discrete { n, names: names.iter().map(|s| s.to_string()).collect() }
    }

    pub fn kind(&self) -> ActionKind {
        match self {
            ActionSpace::Discrete { .. } => ActionKind::Discrete,
            ActionSpace::Box { .. } => ActionKind::Box,
        }
    }

    /// Outputs of a policy network for this space: one score per discrete
    /// action, one mean per Box dimension.
    pub fn policy_outputs(&self) -> usize {
        match self {
            ActionSpace::Discrete { n, .. } => *n,
            ActionSpace::Box { low, .. } => low.len(),
        }
    }

    /// A Box space's dimension; 0 for a discrete space (what buffers store per action as floats).
    pub fn box_dim(&self) -> usize {
        match self {
            ActionSpace::Discrete { .. } => 0,
            ActionSpace::Box { low, .. } => low.len(),
        }
    }

    /// Values per action in a batch: 1 for an index, the dimension for a Box.
    pub fn width(&self) -> usize {
        match self {
            ActionSpace::Discrete { .. } => 1,
            ActionSpace::Box { low, .. } => low.len(),
        }
    }

    /// The name of discrete action `a`, where the env gives names.
    pub fn action_name(&self, a: usize) -> Option<&str> {
        match self {
            ActionSpace::Discrete { names, .. } => names.get(a).map(String::as_str),
            ActionSpace::Box { .. } => None,
        }
    }

    /// Gymnasium's spelling: `Discrete(4)`, `Box(-1.0, 1.0, (2,))`.
    pub fn describe(&self) -> String {
        match self {
            ActionSpace::Discrete { n, .. } => format!("Discrete({n})"),
            ActionSpace::Box { low, high } => {
                let same = |v: &[f32]| v.windows(2).all(|w| w[0] == w[1]);
                match (low.first(), high.first()) {
                    (Some(l), Some(h)) if same(low) && same(high) => format!("Box({l:?}, {h:?}, ({},))", low.len()),
                    _ => format!("Box(low={low:?}, high={high:?})"),
                }
            }
        }
    }

    /// Whether `action` belongs to this space (kind, size, range; NaN never does).
    pub fn check(&self, action: Action<'_>) -> Result<(), String> {
        match (self, action) {
            (ActionSpace::Discrete { n, .. }, Action::Discrete(a)) if a < *n => Ok(()),
            (ActionSpace::Box { low, high }, Action::Continuous(v))
                if v.len() == low.len() && v.iter().zip(low.iter().zip(high)).all(|(x, (l, h))| x >= l && x <= h) =>
            {
                Ok(())
            }
            (_, a) => Err(format!("action {} is outside the action space {}", a.describe(), self.describe())),
        }
    }

    /// Puts a continuous action inside the bounds (SB3 clips a Gaussian
    /// policy's action before stepping); a discrete one is returned as is.
    /// A Box action from [-1, 1] into the bounds, as SB3's `unscale_action`
    /// (`low + 0.5 (a + 1) (high - low)`) for the squashed actors of SAC and TD3;
    /// `scaled` holds whole actions, row after row.
    pub fn unscale_into(&self, scaled: &[f32], out: &mut Vec<f32>) {
        out.clear();
        if let ActionSpace::Box { low, high } = self {
            for row in scaled.chunks(low.len().max(1)) {
                out.extend(row.iter().zip(low.iter().zip(high)).map(|(&a, (&l, &h))| (l + 0.5 * (a + 1.0) * (h - l)).clamp(l, h)));
            }
        }
    }

    pub fn clip_into(&self, values: &mut [f32]) {
        if let ActionSpace::Box { low, high } = self {
            for ((v, l), h) in values.iter_mut().zip(low).zip(high) {
                *v = if v.is_nan() { *l } else { v.clamp(*l, *h) };
            }
        }
    }
}

/// One env's action, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action<'a> {
    Discrete(usize),
    Continuous(&'a [f32]),
}

impl Action<'_> {
    /// The index of a discrete action. An env is only given actions of its own
    /// space ([`VecEnv::step`](super::VecEnv::step) and the bindings check), so
    /// a discrete env reads its action with this; a continuous one reads as 0.
    #[inline]
    pub fn index(self) -> usize {
        match self {
            Action::Discrete(a) => a,
            Action::Continuous(_) => 0,
        }
    }

    /// The values of a continuous action (empty for a discrete one).
    #[inline]
    pub fn values(&self) -> &[f32] {
        match self {
            Action::Discrete(_) => &[],
            Action::Continuous(v) => v,
        }
    }

    pub fn to_value(self) -> ActionValue {
        match self {
            Action::Discrete(a) => ActionValue::Discrete(a),
            Action::Continuous(v) => ActionValue::Continuous(v.to_vec()),
        }
    }

    fn describe(self) -> String {
        match self {
            Action::Discrete(a) => a.to_string(),
            Action::Continuous(v) => format!("{v:?}"),
        }
    }
}

/// One action per env of a vectorized env, borrowed: indices, or `n * dim`
/// floats row-major.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Actions<'a> {
    Discrete(&'a [usize]),
    Continuous { dim: usize, values: &'a [f32] },
}

impl<'a> Actions<'a> {
    /// How many envs' actions this holds.
    pub fn len(&self) -> usize {
        match self {
            Actions::Discrete(a) => a.len(),
            Actions::Continuous { dim, values } => values.len() / (*dim).max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(&self, i: usize) -> Action<'a> {
        match *self {
            Actions::Discrete(a) => Action::Discrete(a[i]),
            Actions::Continuous { dim, values } => Action::Continuous(&values[i * dim..(i + 1) * dim]),
        }
    }

    /// Whether these are `n` actions of `space`'s kind and size (ranges are the env's concern).
    pub fn check_shape(&self, space: &ActionSpace, n: usize) -> Result<(), String> {
        let ok = match (self, space) {
            (Actions::Discrete(a), ActionSpace::Discrete { .. }) => a.len() == n,
            (Actions::Continuous { dim, values }, ActionSpace::Box { low, .. }) => *dim == low.len() && values.len() == n * dim,
            _ => false,
        };
        if ok { Ok(()) } else { Err(format!("expected {n} actions of the space {}, got {}", space.describe(), self.describe())) }
    }

    fn describe(&self) -> String {
        match self {
            Actions::Discrete(a) => format!("{} discrete actions", a.len()),
            Actions::Continuous { dim, values } => format!("{} values of continuous actions of dimension {dim}", values.len()),
        }
    }
}

/// An owned batch of actions (what a policy returns for `n` observations).
#[derive(Clone, Debug, PartialEq)]
pub enum ActionBatch {
    Discrete(Vec<usize>),
    Continuous { dim: usize, values: Vec<f32> },
}

impl ActionBatch {
    pub fn as_actions(&self) -> Actions<'_> {
        match self {
            ActionBatch::Discrete(a) => Actions::Discrete(a),
            ActionBatch::Continuous { dim, values } => Actions::Continuous { dim: *dim, values },
        }
    }

    pub fn get(&self, i: usize) -> Action<'_> {
        self.as_actions().get(i)
    }

    pub fn len(&self) -> usize {
        self.as_actions().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An action as recorded in replays (`eval_episodes.jsonl`): a plain number
/// for a discrete action (as files written before Box spaces existed hold), a
/// list of numbers for a continuous one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ActionValue {
    Discrete(usize),
    Continuous(Vec<f32>),
}

impl ActionValue {
    pub fn as_action(&self) -> Action<'_> {
        match self {
            ActionValue::Discrete(a) => Action::Discrete(*a),
            ActionValue::Continuous(v) => Action::Continuous(v),
        }
    }

    /// The action as a replay shows it: `2 (main engine)` or `[0.31, -1.00]`.
    pub fn label(&self, space: Option<&ActionSpace>) -> String {
        match self {
            ActionValue::Discrete(a) => match space.and_then(|s| s.action_name(*a)) {
                Some(name) => format!("{a} ({name})"),
                None => a.to_string(),
            },
            ActionValue::Continuous(v) => {
                let parts: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_check_kind_size_and_range() {
        let d = ActionSpace::discrete(2, &["left", "right"]);
        assert!(d.check(Action::Discrete(1)).is_ok());
        assert!(d.check(Action::Discrete(2)).unwrap_err().contains("Discrete(2)"));
        let b = ActionSpace::Box { low: vec![-2.0], high: vec![2.0] };
        assert!(b.check(Action::Continuous(&[1.5])).is_ok());
        assert!(b.check(Action::Continuous(&[f32::NAN])).is_err());
        assert!(b.check(Action::Continuous(&[1.0, 1.0])).is_err());
        assert!(b.check(Action::Discrete(0)).unwrap_err().contains("Box(-2.0, 2.0, (1,))"));
        let mut v = [5.0, f32::NAN];
        ActionSpace::Box { low: vec![-1.0, -1.0], high: vec![1.0, 1.0] }.clip_into(&mut v);
        assert_eq!(v, [1.0, -1.0]);
    }

    #[test]
    fn recorded_actions_read_as_before() {
        let old: ActionValue = serde_json::from_str("3").unwrap();
        assert_eq!(old, ActionValue::Discrete(3));
        assert_eq!(serde_json::to_string(&ActionValue::Discrete(3)).unwrap(), "3");
        let c: ActionValue = serde_json::from_str("[0.5,-1.0]").unwrap();
        assert_eq!(c, ActionValue::Continuous(vec![0.5, -1.0]));
        let space = ActionSpace::discrete(4, &["noop", "left", "main", "right"]);
        assert_eq!(ActionValue::Discrete(2).label(Some(&space)), "2 (main)");
        let s: ActionSpace = serde_json::from_str(r#"{"type":"box","low":[-1.0],"high":[1.0]}"#).unwrap();
        assert_eq!(s.kind(), ActionKind::Box);
    }
}
