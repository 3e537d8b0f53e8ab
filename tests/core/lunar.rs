//! LunarLander population statistics with Gymnasium's heuristic controller.

use rl_research::envs::lunar_lander::{heuristic, LunarLander};
use rl_research::envs::{Env, TimeLimit};

#[test]
fn heuristic_lands_like_in_gymnasium() {
    let episodes = 200;
    let (mut total, mut landed) = (0.0, 0);
    let mut env = TimeLimit::new(LunarLander::default(), 1000);
    let mut obs = [0f32; 8];
    for seed in 0..episodes {
        env.reset(Some(seed), &mut obs);
        let mut ret = 0.0;
        loop {
            let out = env.step(heuristic(&obs), &mut obs);
            ret += out.reward;
            if out.terminated || out.truncated {
                landed += usize::from(env.inner.outcome(&out) == "landed");
                break;
            }
        }
        total += ret;
    }
    let mean = total / episodes as f64;
    let rate = landed as f64 / episodes as f64;
    println!("heuristic over {episodes} seeds: mean return {mean:.1}, landed {:.0}% (Gymnasium over 500 seeds: mean 241, 93% land)", rate * 100.0);
    assert!(mean >= 215.0, "mean return {mean:.1} < 215");
    assert!(rate >= 0.85, "landing rate {rate:.2} < 0.85");
}
