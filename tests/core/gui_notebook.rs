//! The experiment notebook in the desktop app, driven by labels: purpose and tags
//! written before a run, findings after it, two tag chips filtering the browser,
//! and Remove checkpoints… on a finished run.

use crate::gui::wait_until;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use rl_research::RunStatus;
use rl_research::app::{RlApp, Settings, Tab};
use rl_research::runs::{RunDir, RunInfo};

#[test]
fn gui_notes_tags_filters_and_checkpoint_clean_up() {
    let dir = crate::temp_dir("gui-notebook");
    // Two runs with one tag each, so the two-tag filter has something to leave out.
    for (name, tags) in [("only_baseline", "[baseline]"), ("only_lr", "[lr-study]")] {
        let c = crate::resume::small_config(
            "cartpole_ppo",
            &dir,
            &[&format!("experiment.name={name}"), &format!("experiment.tags={tags}"), "experiment.total_timesteps=1024"],
        );
        rl_research::runner::run_experiment(&c).unwrap();
    }
    let mut settings = Settings::default();
    settings.runs_dir = dir.clone();
    settings.config = crate::resume::small_config("cartpole_ppo", &dir, &["experiment.name=noted", "experiment.total_timesteps=2048"]);
    let mut harness =
        Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_ui_state(|ui, app: &mut RlApp| app.ui(ui), RlApp::new(settings));
    wait_until(&mut harness, "the runs scan", 30, |a| a.browser.known_tags.len() == 2);

    // Before the run: its purpose, one tag typed, one picked from the tags already used.
    let notes = harness.get_by_role_and_label(Role::MultilineTextInput, "notes");
    notes.focus();
    notes.type_text("Does a smaller batch help?");
    harness.step();
    let tag = harness.get_by_role_and_label(Role::TextInput, "tags");
    tag.focus();
    tag.type_text("baseline");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    harness.get_by_label("used tags").click();
    harness.run_steps(2);
    harness.get_by_label("lr-study").click();
    harness.run_steps(2);
    // A tag with a space is refused, named, and not added.
    let tag = harness.get_by_role_and_label(Role::TextInput, "tags");
    tag.focus();
    tag.type_text("two words");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
    harness.get_by_label_contains("tag 'two words' contains whitespace");
    let e = &harness.state().settings.config.experiment;
    assert_eq!((e.tags.clone(), e.notes.as_str()), (vec!["baseline".to_string(), "lr-study".to_string()], "Does a smaller batch help?"));
    harness.get_by_label("Run").click();
    harness.step();
    wait_until(&mut harness, "the run to finish", 120, |a| a.jobs.list.first().is_some_and(|j| !j.running()));
    let job = &harness.state().jobs.list[0];
    assert_eq!(job.status, Some(RunStatus::Completed), "{:?}", job.error);
    let run = RunDir::at(job.run_dir.clone().expect("run dir"));
    let info = RunInfo::read(&run).unwrap();
    assert_eq!((info.tags.len(), info.notes.as_str()), (2, "Does a smaller batch help?"));

    // Two tag chips: only the run with both tags stays.
    harness.get_by_label("Runs").click();
    wait_until(&mut harness, "the new run in the browser", 30, |a| a.browser.rows.len() == 3);
    harness.get_by_label("#baseline").click();
    harness.get_by_label("#lr-study").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("only_baseline").is_none() && harness.query_by_label("only_lr").is_none());
    harness.get_by_label_contains("1 of 3 runs");

    // Findings after the run, saved into notes.md without touching its results.
    harness.get_by_label("noted").click();
    harness.run_steps(2);
    harness.get_by_label_contains("purpose: Does a smaller batch help?");
    let before = std::fs::read(run.run_info()).unwrap();
    let findings = harness.get_by_role_and_label(Role::MultilineTextInput, "Notes");
    findings.focus();
    findings.type_text("No: batch 64 learns slower.");
    harness.step();
    harness.get_by_label("Save notes").click();
    harness.run_steps(2);
    assert_eq!(std::fs::read_to_string(run.notes_md()).unwrap(), "No: batch 64 learns slower.");
    assert_eq!(std::fs::read(run.run_info()).unwrap(), before);

    // Remove checkpoints: disk use drops, the run says it cannot resume, and why.
    let row = |a: &RlApp| a.browser.rows.iter().find(|r| r.path == run.root).cloned().expect("the run's row");
    let (disk, ckpt) = (row(harness.state()).disk.total_bytes, row(harness.state()).disk.checkpoint_bytes);
    assert!(ckpt > 0 && !row(harness.state()).checkpoints.is_empty());
    harness.get_by_label("Remove checkpoints…").click();
    harness.run_steps(2);
    harness.get_by_label("Remove checkpoints").click();
    harness.run_steps(3);
    let after = row(harness.state());
    // It drops by the checkpoints, less run_info.json's record of the clean-up.
    let dropped = disk - after.disk.total_bytes;
    assert!(after.checkpoints.is_empty() && dropped + 512 > ckpt && dropped <= ckpt, "{:?} vs {disk} - {ckpt}", after.disk);
    harness.get_by_label_contains("Not resumable: its checkpoints were removed by a clean-up");
    let e = rl_research::runner::resume_experiment(&run.root, Default::default()).unwrap_err().to_string();
    assert!(e.contains("checkpoints were removed"), "{e}");
    assert_eq!(harness.state().settings.tab, Tab::Runs);
    // What the filters leave can be ticked at once, for the curves or Compare.
    harness.state_mut().browser.selected.clear();
    harness.step();
    harness.get_by_label("select all shown").click();
    harness.run_steps(2);
    assert_eq!(harness.state().browser.selected, vec![run.root.clone()]);
    let _ = std::fs::remove_dir_all(&dir);
}
