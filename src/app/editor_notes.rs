//! The editor's notebook fields: the run's tags (typed, or picked from the tags
//! already used in the runs directory) and its purpose (experiment.notes).

use super::editor::Form;
use crate::runs::notebook::check_tag;
use egui::{RichText, Ui};

/// What the tag field keeps between frames.
#[derive(Default)]
pub struct TagInput {
    /// What is typed into the "add tag" field.
    pub text: String,
    /// Why the last typed tag was not added.
    pub error: Option<String>,
    /// Tags used in the runs directory (the runs browser's), offered in the menu.
    pub known: Vec<String>,
}

/// The tags row: each tag with a remove button, a field to add one (Enter), a menu of used tags.
pub(super) fn tags_row_ui(ui: &mut Ui, f: &Form<'_>, tags: &mut Vec<String>, input: &mut TagInput) {
    let key = "experiment.tags";
    let l = f.label(ui, key);
    ui.vertical(|ui| {
        ui.horizontal_wrapped(|ui| {
            let mut remove = None;
            for (i, t) in tags.iter().enumerate() {
                if ui.small_button(format!("{t} ×")).on_hover_text(format!("Remove the tag {t}")).clicked() {
                    remove = Some(i);
                }
            }
            if let Some(i) = remove {
                tags.remove(i);
            }
            let field = ui
                .add(egui::TextEdit::singleline(&mut input.text).desired_width(100.0).hint_text("add a tag"))
                .labelled_by(l.id)
                .on_hover_text(f.tip(key));
            if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                let tag = input.text.trim().to_string();
                input.error = match check_tag(&tag) {
                    _ if tag.is_empty() => None,
                    Err(e) => Some(e),
                    Ok(()) if tags.contains(&tag) => Some(format!("the run already has the tag {tag}")),
                    Ok(()) => {
                        tags.push(tag);
                        input.text.clear();
                        None
                    }
                };
            }
            let unused: Vec<&String> = input.known.iter().filter(|t| !tags.contains(t)).collect();
            if !unused.is_empty() {
                ui.menu_button("used tags", |ui| {
                    for t in unused {
                        if ui.button(t.as_str()).clicked() {
                            tags.push(t.clone());
                            ui.close();
                        }
                    }
                })
                .response
                .on_hover_text("Tags already on runs in the runs directory");
            }
        });
        if let Some(e) = &input.error {
            ui.label(RichText::new(e).color(ui.visuals().error_fg_color).small());
        }
    });
    ui.end_row();
}

/// The purpose: why this run is started (a few lines, kept with its results).
pub(super) fn notes_row_ui(ui: &mut Ui, f: &Form<'_>, notes: &mut String) {
    let key = "experiment.notes";
    let l = f.label(ui, key);
    ui.add(
        egui::TextEdit::multiline(notes)
            .desired_rows(2)
            .desired_width(260.0)
            .hint_text("why this run: the question, what changed, what you expect"),
    )
    .labelled_by(l.id)
    .on_hover_text(f.tip(key));
    ui.end_row();
}
