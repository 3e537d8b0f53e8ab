//! Run names (`experiment.name` becomes a directory name) and values shown
//! in messages, kept short whatever the user typed.

use super::{ConfigError, err};

/// The longest `experiment.name`: file systems allow 255 bytes per directory
/// name, and a taken name gets a `_<n>` suffix (up to `_9999`).
pub const MAX_NAME_BYTES: usize = 250;

/// `s` cut to `max_chars` characters, saying how long it was, so a huge value
/// never floods a message or a terminal.
pub fn elide(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_string(),
        Some((end, _)) => format!("{}... ({} bytes in all)", &s[..end], s.len()),
    }
}

/// Checks a name is safe as one path component.
pub fn validate_experiment_name(name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return err("experiment.name is empty: give a name such as experiment.name=my_run");
    }
    if name.len() > MAX_NAME_BYTES {
        return err(format!(
            "experiment.name is {} bytes long ('{}'): at most {MAX_NAME_BYTES} bytes, as it becomes a directory name (file systems allow 255)",
            name.len(),
            elide(&name.escape_debug().to_string(), 40)
        ));
    }
    if name.contains('/') || name.contains('\\') || name.contains("..") || name.chars().any(char::is_control) {
        return err(format!(
            "experiment.name '{}' is not allowed: it may not contain '/', '\\', '..' or control characters (it becomes a directory name)",
            elide(&name.escape_debug().to_string(), 80)
        ));
    }
    if name == "." || name.starts_with('-') {
        return err(format!("experiment.name '{}' is not allowed: it may not be '.' or start with '-'", elide(name, 80)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for bad in ["a/b", "..", "x..y", "a\nb", "", "-x"] {
            assert!(validate_experiment_name(bad).is_err(), "{bad:?}");
        }
        validate_experiment_name("my_run-2.1").unwrap();
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        let e = validate_experiment_name(&long).unwrap_err().0;
        assert!(e.starts_with("experiment.name is 251 bytes") && e.len() < 200, "{e}");
        validate_experiment_name(&long[1..]).unwrap();
        assert_eq!(elide("abc", 3), "abc");
        assert_eq!(elide("abcé", 3), "abc... (5 bytes in all)");
    }
}
