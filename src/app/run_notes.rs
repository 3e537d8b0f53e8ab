//! The experiment notebook in the runs tab: a run's (or seed group's, or sweep's)
//! tags, purpose and disk use, and its findings (`notes.md`) edited in place.
//! Saving writes notes.md alone, atomically, and never over a version changed on
//! disk since it was opened (by `rl-research note`, another window, an editor).

use crate::runs::RunInfo;
use crate::runs::notebook::{self, DiskUse, format_bytes};
use egui::{RichText, Ui};
use std::path::{Path, PathBuf};

/// The notes being edited: the directory they belong to, the text on disk when opened
/// (to detect a change made elsewhere) and the text being typed.
pub struct NotesEditor {
    dir: Option<PathBuf>,
    on_disk: Result<String, String>,
    text: String,
    message: Option<(bool, String)>,
}

impl Default for NotesEditor {
    fn default() -> Self {
        Self { dir: None, on_disk: Ok(String::new()), text: String::new(), message: None }
    }
}

impl NotesEditor {
    /// Opens `dir`'s notes unless they are the ones open already.
    fn open(&mut self, dir: &Path) {
        if self.dir.as_deref() == Some(dir) {
            return;
        }
        let on_disk = notebook::read_notes(&notebook::notes_file(dir));
        self.text = on_disk.clone().unwrap_or_default();
        self.on_disk = on_disk;
        self.dir = Some(dir.to_path_buf());
        self.message = None;
    }

    /// Writes the typed text, unless notes.md changed on disk since it was opened.
    fn save(&mut self) {
        let Some(dir) = &self.dir else { return };
        let file = notebook::notes_file(dir);
        let now = notebook::read_notes(&file);
        if now != self.on_disk {
            self.message = Some((
                false,
                format!(
                    "{} changed on disk since it was opened (rl-research note, or another window): Reload to see it; your text is still here",
                    file.display()
                ),
            ));
            return;
        }
        self.message = Some(match notebook::write_notes(&file, &self.text) {
            Ok(()) => {
                self.on_disk = Ok(self.text.clone());
                (true, format!("saved {}", file.display()))
            }
            Err(e) => (false, e),
        });
    }

    /// The notes field with Save and Reload; `what` names the directory's kind.
    pub fn notes_ui(&mut self, ui: &mut Ui, dir: &Path, what: &str) {
        self.open(dir);
        let label = ui.horizontal(|ui| {
            let label = ui
                .strong("Notes")
                .on_hover_text(format!("Findings about this {what}: Markdown in {}", notebook::notes_file(dir).display()));
            let changed = self.on_disk.as_ref().is_ok_and(|d| *d != self.text);
            if ui
                .add_enabled(changed, egui::Button::new("Save notes"))
                .on_hover_text("Write notes.md (the results are not touched)")
                .clicked()
            {
                self.save();
            }
            if ui.button("Reload").on_hover_text("Read notes.md again (what you typed and did not save is dropped)").clicked() {
                self.dir = None;
                self.open(dir);
            }
            if changed {
                ui.label(RichText::new("unsaved").weak());
            }
            label.id
        });
        match &self.on_disk {
            Ok(_) => {
                ui.add(
                    egui::TextEdit::multiline(&mut self.text)
                        .id_salt("run_notes")
                        .desired_rows(3)
                        .desired_width(f32::INFINITY)
                        .hint_text(format!("What did this {what} show? (Markdown; rl-research note DIR \"...\" appends from a shell)")),
                )
                .labelled_by(label.inner);
            }
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        }
        if let Some((ok, m)) = &self.message {
            let color = if *ok { ui.visuals().weak_text_color() } else { ui.visuals().error_fg_color };
            ui.label(RichText::new(m).color(color));
        }
    }
}

/// Tags, purpose, disk use and what a clean-up removed, for a run's details.
pub fn run_summary_ui(ui: &mut Ui, info: &RunInfo, disk: Option<DiskUse>) {
    if !info.tags.is_empty() {
        ui.label(format!("tags: {}", info.tags.join(", ")));
    }
    if !info.notes.is_empty() {
        ui.label(RichText::new(format!("purpose: {}", info.notes)).italics())
            .on_hover_text("experiment.notes, written when the run was started");
    }
    if let Some(d) = disk {
        ui.label(format!(
            "on disk: {} (checkpoints {}, videos {})",
            format_bytes(d.total_bytes),
            format_bytes(d.checkpoint_bytes),
            format_bytes(d.video_bytes)
        ));
    }
    if let Some(removed) = info.checkpoints_removed() {
        ui.colored_label(ui.visuals().warn_fg_color, format!("Not resumable: {removed}"));
    }
}
