//! The environment registry: one entry per environment, the only place its
//! facts are written (ids and aliases, spaces, time limit, reference score,
//! typed parameters, factory). Config validation, reference scores, action
//! names, the editor's env form, `rl-research keys` and the Python package
//! read it. It is open at run time: [`register`] adds an entry from anywhere
//! (a test file, a Python-defined env), and it is then trained, evaluated and
//! replayed like a built-in one.

use super::params::{ParamSpec, ParamValues};
use super::{ActionSpace, BoxSpace, Env};
use std::sync::{Arc, OnceLock, RwLock};

/// Builds one env with resolved parameters (every declared key set) and its
/// time limit; the factory wraps the env in [`TimeLimit`](super::TimeLimit)
/// itself, so stepping it costs one dynamic call.
pub type EnvFactory = Arc<dyn Fn(&ParamValues, u32) -> Result<Box<dyn Env>, String> + Send + Sync>;

/// Another id for an entry (an older version with the same dynamics), with
/// what a run using it is told when it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvAlias {
    pub id: String,
    pub note: Option<String>,
}

/// An action space a bool parameter picks, as Gymnasium's `make` takes
/// LunarLander's `continuous=True`: `on` while the parameter is true, else `off`.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionSwitch {
    pub param: String,
    pub on: ActionSpace,
    pub off: ActionSpace,
}

/// Everything known about one environment.
#[derive(Clone)]
pub struct EnvSpec {
    /// Gymnasium id, e.g. `CartPole-v1`.
    pub id: String,
    pub aliases: Vec<EnvAlias>,
    /// One line for menus and `rl-research keys`.
    pub summary: String,
    pub observation_space: BoxSpace,
    /// The action space with the default parameters.
    pub action_space: ActionSpace,
    /// Set when a parameter changes the action space ([`EnvSpec::action_space_for`] reads it).
    pub action_switch: Option<ActionSwitch>,
    /// The registered `TimeLimit` (`env.max_episode_steps` overrides it).
    pub max_episode_steps: u32,
    /// Gymnasium's `metadata["render_fps"]`: videos and replays play at this rate.
    pub render_fps: f64,
    /// The score a seed group's optimality gap is measured against (the env's "solved" score).
    pub reference_score: Option<f64>,
    pub params: Vec<ParamSpec>,
    /// The id real Gymnasium knows this env by, where it has one (`bench --sb3` runs it there).
    pub gymnasium_id: Option<String>,
    /// Gymnasium needs Box2D for it (`pip install gymnasium[box2d]`).
    pub needs_box2d: bool,
    pub make: EnvFactory,
}

impl std::fmt::Debug for EnvSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvSpec").field("id", &self.id).field("action_space", &self.action_space).finish_non_exhaustive()
    }
}

impl EnvSpec {
    pub fn param(&self, key: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.key == key)
    }

    /// The action space with these parameters (those not given at their defaults).
    pub fn action_space_for(&self, given: &ParamValues) -> ActionSpace {
        let Some(switch) = &self.action_switch else { return self.action_space.clone() };
        let on = match given.get(&switch.param) {
            Some(v) => matches!(v, super::params::ParamValue::Bool(true)),
            None => self.param(&switch.param).is_some_and(|p| p.default_value() == super::params::ParamValue::Bool(true)),
        };
        if on { switch.on.clone() } else { switch.off.clone() }
    }

    /// Checks the values set and fills in the defaults. Keys another
    /// registered env declares are ignored (a config can switch `env.id`
    /// without clearing them); a key no env declares is an error naming this
    /// env's keys.
    pub fn resolve_params(&self, given: &ParamValues) -> Result<ParamValues, String> {
        let mut out = ParamValues::default();
        for (key, value) in &given.0 {
            let full = format!("env.params.{key}");
            match self.param(key) {
                Some(p) => out.set(key, p.check(&full, value)?),
                None if param_anywhere(key).is_some() => {}
                None => {
                    let own: Vec<&str> = self.params.iter().map(|p| p.key.as_str()).collect();
                    return Err(if own.is_empty() {
                        format!("{full}: {} takes no parameters (remove the key)", self.id)
                    } else {
                        format!("{full}: {} has no parameter '{key}': its parameters are {}", self.id, own.join(", "))
                    });
                }
            }
        }
        for p in &self.params {
            if out.get(&p.key).is_none() {
                out.set(&p.key, p.default_value());
            }
        }
        Ok(out)
    }

    /// One env with these parameters and time limit (`None`: the registered one).
    pub fn make(&self, given: &ParamValues, max_episode_steps: Option<u32>) -> Result<Box<dyn Env>, String> {
        let params = self.resolve_params(given)?;
        let env = (self.make)(&params, max_episode_steps.unwrap_or(self.max_episode_steps))?;
        let (space, declared) = (env.action_space(), self.action_space_for(&params));
        if space != declared {
            return Err(format!(
                "{}: the env built has the action space {}, its registry entry says {}",
                self.id,
                space.describe(),
                declared.describe()
            ));
        }
        Ok(env)
    }

    fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(|a| a.id.as_str()))
    }
}

/// The frame rate episodes of `env_id` play at (Gymnasium's; 50 for an id no longer registered).
pub fn render_fps(env_id: &str) -> f64 {
    find(env_id).map_or(50.0, |f| f.spec.render_fps)
}

/// A registry lookup: the entry and, for an alias, its note.
#[derive(Clone, Debug)]
pub struct Found {
    pub spec: Arc<EnvSpec>,
    pub note: Option<String>,
}

fn registry() -> &'static RwLock<Vec<Arc<EnvSpec>>> {
    static REGISTRY: OnceLock<RwLock<Vec<Arc<EnvSpec>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(super::builtin_specs().into_iter().map(Arc::new).collect()))
}

fn read() -> Vec<Arc<EnvSpec>> {
    // A writer that panicked cannot leave a half-pushed Vec: the entries stay valid.
    registry().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Every entry, built-ins first, then in registration order.
pub fn specs() -> Vec<Arc<EnvSpec>> {
    read()
}

/// Every id and alias, in registry order (what `env.id` accepts).
pub fn all_ids() -> Vec<String> {
    read().iter().flat_map(|s| s.all_ids().map(String::from).collect::<Vec<_>>()).collect()
}

/// The entry for an id or alias.
pub fn find(id: &str) -> Option<Found> {
    read().into_iter().find_map(|spec| {
        if spec.id == id {
            return Some(Found { spec, note: None });
        }
        let note = spec.aliases.iter().find(|a| a.id == id)?.note.clone();
        Some(Found { spec: spec.clone(), note })
    })
}

/// The entry for an id or alias, or an error listing the valid ids.
pub fn lookup(id: &str) -> Result<Found, String> {
    find(id).ok_or_else(|| format!("unknown env id '{id}' for key env.id: valid ids are {}", all_ids().join(", ")))
}

/// A parameter some registered env declares under `key` (the first such).
pub fn param_anywhere(key: &str) -> Option<ParamSpec> {
    read().iter().find_map(|s| s.param(key).cloned())
}

/// Adds an entry. Refused: an id or alias already registered, a parameter
/// whose default fails its own check, or spaces that do not fit together.
pub fn register(spec: EnvSpec) -> Result<(), String> {
    let bad_id = |id: &str| id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control());
    if let Some(id) = spec.all_ids().find(|id| bad_id(id)) {
        return Err(format!("env id {id:?} is not valid: ids are non-empty, without spaces (e.g. MyEnv-v0)"));
    }
    if spec.observation_space.low.len() != spec.observation_space.high.len() || spec.observation_space.dim() == 0 {
        return Err(format!("{}: the observation space needs as many low as high bounds, at least one", spec.id));
    }
    match &spec.action_space {
        ActionSpace::Discrete { n, names } if *n == 0 || (!names.is_empty() && names.len() != *n) => {
            return Err(format!("{}: a Discrete action space needs n >= 1 and either no names or one per action", spec.id));
        }
        ActionSpace::Box { low, high } if low.is_empty() || low.len() != high.len() || low.iter().zip(high).any(|(l, h)| !(l <= h)) => {
            return Err(format!("{}: a Box action space needs as many low as high bounds, at least one, low <= high", spec.id));
        }
        _ => {}
    }
    if spec.max_episode_steps == 0 {
        return Err(format!("{}: max_episode_steps must be at least 1", spec.id));
    }
    if !(spec.render_fps.is_finite() && spec.render_fps >= 1.0 && spec.render_fps <= 240.0) {
        return Err(format!("{}: render_fps must be between 1 and 240, got {}", spec.id, spec.render_fps));
    }
    if let Some(switch) = &spec.action_switch {
        if !matches!(spec.param(&switch.param).map(|d| &d.kind), Some(super::params::ParamKind::Bool { .. })) {
            return Err(format!("{}: the action space switches on '{}', which is not a bool parameter of this env", spec.id, switch.param));
        }
        if spec.action_space_for(&ParamValues::default()) != spec.action_space {
            return Err(format!("{}: action_space must be the switch's space at the parameter's default", spec.id));
        }
    }
    for p in &spec.params {
        if let Some(k) = &p.only_with {
            if !matches!(spec.param(k).map(|d| &d.kind), Some(super::params::ParamKind::Bool { .. })) {
                return Err(format!(
                    "{}: parameter {} is shown only with '{k}', which is not a bool parameter of this env",
                    spec.id, p.key
                ));
            }
        }
        p.check(&format!("{} parameter {}", spec.id, p.key), &p.default_value())?;
        if let Some(other) = param_anywhere(&p.key) {
            if std::mem::discriminant(&other.kind) != std::mem::discriminant(&p.kind) {
                return Err(format!("{}: parameter {} is a different type in another env; name it differently", spec.id, p.key));
            }
        }
    }
    let mut all = registry().write().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = spec.all_ids().find(|id| all.iter().any(|s| s.all_ids().any(|x| x == *id))) {
        return Err(format!("env id '{id}' is already registered"));
    }
    all.push(Arc::new(spec));
    Ok(())
}

/// Adds an entry in place of the one with the same id, if any (a `gym:`
/// env probed again with other kwargs), with [`register`]'s checks.
pub fn replace(spec: EnvSpec) -> Result<(), String> {
    {
        let mut all = registry().write().unwrap_or_else(|e| e.into_inner());
        all.retain(|s| s.id != spec.id);
    }
    register(spec)
}

/// Puts each value a registered env declares into its declared type (`-3`
/// for a float parameter becomes `-3.0`); values that fail their check are
/// left for validation to report.
pub fn normalize(values: &mut ParamValues) {
    for (key, value) in values.0.iter_mut() {
        if let Some(Ok(typed)) = param_anywhere(key).map(|p| p.check(key, value)) {
            *value = typed;
        }
    }
}
