//! The README and the user guide (`docs/`) stay true to the tree: every relative link points
//! to a file that exists (and to a heading that exists, for `#anchor`s), every guide page is
//! reachable from the README, and every source path the text names in backticks exists.
//! (The key reference, docs/configuration-keys.md, is checked against `keys --markdown` by a
//! unit test in src/config/reference.rs.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    let mut dirs = vec![root().join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The text outside fenced code blocks, line by line (with 1-based line numbers).
fn prose(text: &str) -> Vec<(usize, String)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, line.to_string()));
        }
    }
    out
}

/// A line without its inline code spans.
fn without_code(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// GitHub's anchors for a page's headings: lowercased, punctuation dropped, spaces to hyphens,
/// repeats numbered.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose(text) {
        let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else { continue };
        if !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_default();
        out.insert(if *n == 0 { slug.clone() } else { format!("{slug}-{n}") });
        *n += 1;
    }
    out
}

/// The targets of `[text](target)` and `![alt](target)` links on a line.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code(line);
    let mut out = Vec::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split_whitespace().next().unwrap_or("").trim_matches(|c| c == '<' || c == '>');
        out.push(target.to_string());
        rest = &rest[end..];
    }
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

#[test]
fn every_relative_link_in_the_readme_and_the_guide_resolves() {
    let mut broken = Vec::new();
    let mut linked: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (n, line) in prose(&text) {
            for target in link_targets(&line) {
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = target.split_once('#').map_or((target.as_str(), None), |(p, a)| (p, Some(a)));
                let file = if path.is_empty() { page.clone() } else { page.parent().unwrap().join(path) };
                let Ok(file) = file.canonicalize() else {
                    broken.push(format!("{}:{n}: {target}: no such file", relative(&page)));
                    continue;
                };
                linked.entry(page.canonicalize().unwrap()).or_default().insert(file.clone());
                if let Some(anchor) = anchor {
                    let known = if file.extension().is_some_and(|e| e == "md") {
                        anchors(&std::fs::read_to_string(&file).unwrap())
                    } else {
                        BTreeSet::new()
                    };
                    if !known.contains(anchor) {
                        broken.push(format!(
                            "{}:{n}: {target}: no heading with the anchor #{anchor} in {}",
                            relative(&page),
                            relative(&file)
                        ));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));

    // Every guide page can be reached from the README.
    let readme = root().join("README.md").canonicalize().unwrap();
    let mut reached = BTreeSet::from([readme.clone()]);
    let mut todo = vec![readme];
    while let Some(page) = todo.pop() {
        for next in linked.get(&page).into_iter().flatten() {
            if reached.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    let orphans: Vec<String> =
        pages().iter().map(|p| p.canonicalize().unwrap()).filter(|p| !reached.contains(p)).map(|p| relative(&p)).collect();
    assert!(orphans.is_empty(), "guide pages no link from README.md leads to: {orphans:?}");
}

#[test]
fn every_source_path_the_docs_name_exists() {
    let roots = ["src/", "tests/", "packaging/", "configs/", "benches/", "docs/", "assets/", ".ci/"];
    let mut missing = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (n, line) in prose(&text) {
            // Inline code spans are the odd-numbered pieces between backticks.
            for span in line.split('`').skip(1).step_by(2) {
                let path = span.split_whitespace().next().unwrap_or("");
                // `configs/config.yaml` is a run's file, not this repository's.
                let run_file = path.starts_with("configs/") && !path.ends_with(".ron");
                let plain = !path.contains(['<', '*', '{', '$', '[']) && path == span.trim() && !run_file;
                if plain && roots.iter().any(|r| path.starts_with(r)) && !root().join(path.trim_end_matches(':')).exists() {
                    missing.push(format!("{}:{n}: `{path}`", relative(&page)));
                }
            }
        }
    }
    assert!(missing.is_empty(), "paths named in the docs that do not exist:\n{}", missing.join("\n"));
}

#[test]
fn the_anchor_rules_match_github() {
    let a = anchors(
        "# RL Research\n## Seed groups and honest statistics\n### `env.id=gym:<id>`\n## Install\n## Install\n```\n# not a heading\n```\n",
    );
    let want: BTreeSet<String> =
        ["rl-research", "seed-groups-and-honest-statistics", "envidgymid", "install", "install-1"].map(String::from).into();
    assert_eq!(a, want);
    assert_eq!(link_targets("see [a](docs/a.md#x) and ![b](img.png) but not `[c](d)`"), ["docs/a.md#x", "img.png"]);
}
