//! LunarLander's registry entry and parameters, and Gymnasium's heuristic pilot.

use super::lunar_lander::LunarLander;
use super::params::{ParamSpec, excl, incl};
use super::registry::{ActionSwitch, EnvAlias, EnvSpec};
use super::{ActionSpace, Env};

pub const ID: &str = "LunarLander-v3";
pub const CONTINUOUS_ID: &str = "LunarLanderContinuous-v3";
pub const ACTION_NAMES: [&str; 4] = ["do nothing", "left engine", "main engine", "right engine"];

/// Main throttle and lateral engine in [-1, 1] each (Gymnasium's continuous LunarLander).
pub fn continuous_action_space() -> ActionSpace {
    ActionSpace::Box { low: vec![-1.0, -1.0], high: vec![1.0, 1.0] }
}

/// LunarLander-v3's registry entry (v2 is its alias).
pub fn spec() -> EnvSpec {
    entry(false)
}

/// LunarLanderContinuous-v3's: LunarLander-v3 with `continuous` on by default, as Gymnasium registers it.
pub fn continuous_spec() -> EnvSpec {
    let mut spec = entry(true);
    spec.id = CONTINUOUS_ID.into();
    spec.aliases.clear();
    spec.summary = "land on the pad with a main throttle and a lateral engine in [-1, 1] (8 observations)".into();
    spec.gymnasium_id = Some(CONTINUOUS_ID.into());
    spec
}

fn entry(continuous: bool) -> EnvSpec {
    let d = LunarLanderParams::default();
    let switch = ActionSwitch { param: "continuous".into(), on: continuous_action_space(), off: ActionSpace::discrete(4, &ACTION_NAMES) };
    EnvSpec {
        id: ID.into(),
        aliases: vec![EnvAlias {
            id: "LunarLander-v2".into(),
            note: Some(
                "note: LunarLander-v2 runs LunarLander-v3's dynamics (the same with wind off; v3 re-draws the wind phase at every reset)"
                    .into(),
            ),
        }],
        summary: "land on the pad with main and side engines (4 actions, 8 observations)".into(),
        observation_space: LunarLander::default().observation_space(),
        action_space: if continuous { switch.on.clone() } else { switch.off.clone() },
        action_switch: Some(switch),
        max_episode_steps: 1000,
        render_fps: 50.0,
        reference_score: Some(200.0),
        params: vec![
            ParamSpec::bool(
                "continuous",
                continuous,
                "LunarLander: a Box action space (main throttle, lateral engine in [-1, 1]) instead of 4 discrete actions.",
            ),
            ParamSpec::float(
                "gravity",
                d.gravity,
                excl(-12.0),
                excl(0.0),
                "LunarLander: gravity in m/s^2, strictly between -12 and 0. Default -10.",
            )
            .unit(" m/s²"),
            ParamSpec::bool(
                "enable_wind",
                d.enable_wind,
                "LunarLander: apply Gymnasium's wind and turbulence while airborne. Default false.",
            ),
            ParamSpec::float(
                "wind_power",
                d.wind_power,
                incl(0.0),
                None,
                "LunarLander: maximum wind force (Gymnasium recommends 0..20). Default 15.",
            )
            .recommended(0.0, 20.0)
            .only_with("enable_wind"),
            ParamSpec::float(
                "turbulence_power",
                d.turbulence_power,
                incl(0.0),
                None,
                "LunarLander: maximum turbulence torque (Gymnasium recommends 0..2). Default 1.5.",
            )
            .recommended(0.0, 2.0)
            .only_with("enable_wind"),
        ],
        gymnasium_id: Some(ID.into()),
        needs_box2d: true,
        make: std::sync::Arc::new(|p, limit| {
            let params = LunarLanderParams {
                continuous: p.bool("continuous"),
                gravity: p.f64("gravity"),
                enable_wind: p.bool("enable_wind"),
                wind_power: p.f64("wind_power"),
                turbulence_power: p.f64("turbulence_power"),
            };
            Ok(super::with_time_limit(LunarLander::new(params), limit))
        }),
    }
}

/// Which engines fire on a step, and how hard.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Engines {
    /// The main engine's power (0.5..=1 continuous, 1 discrete).
    pub(super) main: Option<f64>,
    /// The side engine's direction (-1 left, +1 right) and power.
    pub(super) side: Option<(f64, f64)>,
}

impl Engines {
    /// Discrete action 0 noop, 1 left engine, 2 main, 3 right.
    pub(super) fn discrete(action: usize) -> Self {
        match action {
            2 => Engines { main: Some(1.0), side: None },
            1 | 3 => Engines { main: None, side: Some((action as f64 - 2.0, 1.0)) },
            _ => Engines::default(),
        }
    }

    /// Gymnasium's continuous mapping: the main engine fires above 0 at a
    /// throttle of 50..100%, a side engine beyond |0.5| (its sign the side).
    pub(super) fn continuous(a: [f32; 2]) -> Self {
        let [a0, a1] = a.map(|v| v.clamp(-1.0, 1.0) as f64);
        let main = (a0 > 0.0).then(|| (a0.clamp(0.0, 1.0) + 1.0) * 0.5);
        let side = (a1.abs() > 0.5).then(|| (a1.signum(), a1.abs().clamp(0.5, 1.0)));
        Engines { main, side }
    }
}

/// Env parameters, Gymnasium's `make` kwargs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LunarLanderParams {
    /// Box actions (main throttle, lateral engine) instead of 4 discrete ones.
    pub continuous: bool,
    pub gravity: f64,
    pub enable_wind: bool,
    pub wind_power: f64,
    pub turbulence_power: f64,
}

impl Default for LunarLanderParams {
    fn default() -> Self {
        Self { continuous: false, gravity: -10.0, enable_wind: false, wind_power: 15.0, turbulence_power: 1.5 }
    }
}

/// Gymnasium's `heuristic(env, s)` controller for the discrete env. NumPy 2
/// keeps float32 observations in float32 through the Python-float arithmetic
/// (NEP 50), so this computes in f32 too.
pub fn heuristic(s: &[f32]) -> usize {
    let mut angle_targ = s[0] * 0.5 + s[2] * 1.0;
    angle_targ = angle_targ.clamp(-0.4, 0.4);
    let hover_targ = 0.55 * s[0].abs();
    let mut angle_todo = (angle_targ - s[4]) * 0.5 - s[5] * 1.0;
    let mut hover_todo = (hover_targ - s[1]) * 0.5 - s[3] * 0.5;
    if s[6] != 0.0 || s[7] != 0.0 {
        angle_todo = 0.0;
        hover_todo = -s[3] * 0.5;
    }
    if hover_todo > angle_todo.abs() && hover_todo > 0.05 {
        2
    } else if angle_todo < -0.05 {
        3
    } else if angle_todo > 0.05 {
        1
    } else {
        0
    }
}
