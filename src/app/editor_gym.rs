//! The editor's rows for a `gym:` env ("Gymnasium environment…" in the env
//! list): the Gymnasium id, the interpreter, the modules to import and the
//! make kwargs, with a Check button that starts a worker in the background
//! and says what it found (spaces, versions) or what is wrong.

use super::editor::Form;
use super::pending::{Pending, Waker};
use crate::config::EnvConfig;
use crate::envs::gym::{self, GymSource};
use egui::{RichText, TextEdit, Ui};

/// The id the env list's "Gymnasium environment…" entry starts from: Gymnasium's twin of our default env.
pub fn first_gym_id() -> String {
    format!("{}{}", gym::PREFIX, crate::envs::DEFAULT_ENV_ID)
}

/// The Check button's probe and what it last said, for the source it checked.
#[derive(Default)]
pub struct GymCheck {
    running: Option<(GymSource, Pending<Result<String, String>>)>,
    last: Option<(GymSource, Result<String, String>)>,
    kwargs_text: Option<String>,
    kwargs_error: Option<String>,
}

/// What a successful probe found, in one line.
fn found(hello: &gym::Hello) -> String {
    let limit = hello.max_episode_steps.map_or("no time limit".to_string(), |m| format!("time limit {m}"));
    format!(
        "observations {} ({} values), actions {}, {limit}; Gymnasium {}, Python {}",
        hello.observation_space, hello.obs_dim, hello.action_space_text, hello.gymnasium, hello.python
    )
}

/// The rows, inside the env grid (two columns). `waker` repaints when a check ends.
pub(super) fn gym_env_ui(ui: &mut Ui, f: &Form<'_>, env: &mut EnvConfig, check: &mut GymCheck, waker: Waker) {
    let Some(id) = gym::gym_id(&env.id).map(str::to_string) else { return };
    let l = ui.label("Gymnasium id").on_hover_text(f.tip("env.id"));
    let mut text = id;
    let r = ui
        .add(TextEdit::singleline(&mut text).hint_text("Acrobot-v1 or my_package/MyEnv-v0"))
        .on_hover_text("The Gymnasium id (gymnasium.make's first argument).")
        .labelled_by(l.id);
    if r.changed() {
        env.id = format!("{}{}", gym::PREFIX, text.trim());
    }
    ui.end_row();

    let l = f.label(ui, "env.python");
    let mut python = env.python.clone().unwrap_or_default();
    let r = ui.add(TextEdit::singleline(&mut python).hint_text(gym::DEFAULT_PYTHON)).on_hover_text(f.tip("env.python")).labelled_by(l.id);
    if r.changed() {
        env.python = (!python.trim().is_empty()).then(|| python.trim().to_string());
    }
    ui.end_row();

    let l = f.label(ui, "env.gym_imports");
    let mut imports = env.gym_imports.join(", ");
    let r =
        ui.add(TextEdit::singleline(&mut imports).hint_text("my_package.envs")).on_hover_text(f.tip("env.gym_imports")).labelled_by(l.id);
    if r.changed() {
        env.gym_imports = imports.split(',').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
    }
    ui.end_row();

    let l = f.label(ui, "env.gym_kwargs");
    let current = serde_json::to_string(&env.gym_kwargs).unwrap_or_default();
    let kwargs = check.kwargs_text.get_or_insert_with(|| current.clone());
    ui.vertical(|ui| {
        let r = ui
            .add(TextEdit::singleline(kwargs).hint_text(r#"{"continuous": true}"#))
            .on_hover_text(format!("{}\nA JSON object.", f.tip("env.gym_kwargs")))
            .labelled_by(l.id);
        if r.changed() {
            let t = kwargs.trim();
            match if t.is_empty() { Ok(Default::default()) } else { serde_json::from_str(t) } {
                Ok(map) => {
                    env.gym_kwargs = map;
                    check.kwargs_error = None;
                }
                Err(e) => check.kwargs_error = Some(format!("not a JSON object: {e}")),
            }
        }
        if let Some(e) = &check.kwargs_error {
            ui.label(RichText::new(e).small().color(ui.visuals().error_fg_color));
        }
    });
    ui.end_row();

    let Some(source) = env.gym_source() else { return };
    ui.label("");
    ui.vertical(|ui| {
        let busy = check.running.is_some();
        let clicked = ui
            .add_enabled(!busy, egui::Button::new(if busy { "Checking…" } else { "Check" }))
            .on_hover_text("Start the interpreter, import Gymnasium and make the env: shows its spaces, or what is wrong.")
            .clicked();
        if clicked {
            let s = source.clone();
            let work = move || gym::recheck(&s).map(|(_, hello)| found(&hello));
            check.running = Some((source.clone(), Pending::spawn("gym check", waker, work)));
        }
        if let Some((s, mut p)) = check.running.take() {
            match p.take() {
                Some(result) => check.last = Some((s, result)),
                None if p.busy() => check.running = Some((s, p)),
                None => check.last = Some((s, Err("the check stopped without an answer".into()))),
            }
        }
        // What the last check of this very source said (an edit makes it stale), or a run's probe.
        if check.last.as_ref().is_none_or(|(s, _)| *s != source) {
            if let Some(r) = gym::known(&source) {
                check.last = Some((source.clone(), r.map(|h| found(&h))));
            }
        }
        match &check.last {
            Some((s, Ok(what))) if *s == source => {
                ui.label(RichText::new(format!("Found: {what}")).small());
            }
            Some((s, Err(e))) if *s == source => {
                ui.label(RichText::new(e).small().color(ui.visuals().error_fg_color));
            }
            _ => {
                ui.label(RichText::new("not checked yet: Check, or start a run (it checks first)").small().weak());
            }
        }
    });
    ui.end_row();
}
