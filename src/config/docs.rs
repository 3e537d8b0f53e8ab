//! Documentation of every config key, taken from the doc comments on the config
//! structs at build time (see build.rs).

include!(concat!(env!("OUT_DIR"), "/key_docs.rs"));

/// The doc of `key` (e.g. "algorithm.params.gamma") for algorithm `algo` (an `algorithm.name`).
pub fn key_doc(algo: &str, key: &str) -> Option<std::borrow::Cow<'static, str>> {
    let tagged = format!("{algo}:{key}");
    if let Some((_, d)) = KEY_DOCS.iter().find(|(k, _)| *k == tagged).or_else(|| KEY_DOCS.iter().find(|(k, _)| *k == key)) {
        return Some(std::borrow::Cow::Borrowed(*d));
    }
    // Env parameters are documented on their registry entries.
    let param = key.strip_prefix("env.params.")?;
    crate::envs::registry::param_anywhere(param).map(|p| std::borrow::Cow::Owned(p.doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AlgorithmConfig, Config};

    #[test]
    fn every_key_is_documented() {
        for algo in crate::config::algorithms::names() {
            let mut c = Config::default();
            c.algorithm = AlgorithmConfig::defaults_for(algo).unwrap();
            for key in crate::config::overrides::all_keys(&c) {
                if key == "algorithm.name" {
                    continue;
                }
                assert!(key_doc(algo, &key).is_some_and(|d| d.len() > 10), "{algo}: {key} has no doc comment");
            }
        }
        assert!(key_doc("dqn", "algorithm.params.learning_rate").unwrap().contains("2.3e-3"));
    }
}
