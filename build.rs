//! Extracts the doc comments of the config structs in `src/config/{mod,params}.rs` into a
//! table, so the GUI's tooltips and `rl-research keys` show exactly the
//! documentation written on the fields (one source, never out of date).

use std::fmt::Write;

fn main() {
    key_docs();
    windows_resources();
}

/// On Windows, compiles the icon and version info into the .exe (packaging/windows).
fn windows_resources() {
    println!("cargo:rerun-if-changed=packaging/windows/rl-research.rc");
    println!("cargo:rerun-if-changed=packaging/windows/rl-research.ico");
    #[cfg(windows)]
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        if let Err(e) = embed_resource::compile("packaging/windows/rl-research.rc", embed_resource::NONE).manifest_optional() {
            println!("cargo:warning=the Windows icon resource was not compiled into the .exe: {e}");
        }
    }
}

fn key_docs() {
    let mut src = String::new();
    for path in ["src/config/mod.rs", "src/config/params.rs"] {
        println!("cargo:rerun-if-changed={path}");
        src.push_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("build.rs: cannot read {path}: {e}")));
        src.push('\n');
    }
    // struct name -> (key prefix, algorithm tag)
    let structs = [
        ("ExperimentConfig", "experiment.", ""),
        ("EnvConfig", "env.", ""),
        ("PpoParams", "algorithm.params.", "ppo:"),
        ("DqnParams", "algorithm.params.", "dqn:"),
        ("A2cParams", "algorithm.params.", "a2c:"),
        ("SacParams", "algorithm.params.", "sac:"),
        ("Td3Params", "algorithm.params.", "td3:"),
        ("LoggingConfig", "logging.", ""),
        ("StatsConfig", "stats.", ""),
    ];
    let mut out =
        String::from("/// (key, doc): `ppo:`/`dqn:` prefixes mark algorithm-specific keys.\npub static KEY_DOCS: &[(&str, &str)] = &[\n");
    let mut current: Option<(&str, &str)> = None;
    let mut doc: Vec<String> = Vec::new();
    for line in src.lines() {
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            current = structs.iter().find(|s| s.0 == name).map(|s| (s.1, s.2));
            doc.clear();
            continue;
        }
        let Some((prefix, tag)) = current else { continue };
        if line.starts_with('}') {
            current = None;
            continue;
        }
        let s = line.trim();
        if let Some(d) = s.strip_prefix("///") {
            doc.push(d.trim().to_string());
        } else if let Some(rest) = s.strip_prefix("pub ") {
            let field: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if field != "params" && !doc.is_empty() {
                let text = doc.join(" ").replace('`', "");
                let _ = writeln!(out, "    ({:?}, {:?}),", format!("{tag}{prefix}{field}"), text);
            }
            doc.clear();
        } else if !s.starts_with('#') {
            doc.clear();
        }
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("key_docs.rs");
    std::fs::write(dest, out).expect("build.rs: cannot write key_docs.rs");
}
