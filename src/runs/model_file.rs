//! Model files: `best_model.zip` / `final_model.zip`.
//!
//! ```text
//! metadata.json        algorithm, env, spaces, network shapes, timesteps, eval, config
//! networks/<name>.bin  each network's parameters: per layer, weight [in, out]
//!                      row-major then bias, little-endian f32
//! ```
//! Plain formats on purpose: loadable without the original config and
//! without burn, from Rust or `numpy.frombuffer(..., '<f4')`.

use crate::config::{Activation, Config};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::path::Path;

/// The newest format this build reads. Version 2 adds `action_space` (a Box
/// action space needs it), version 3 `obs_normalization` (a policy trained on
/// normalized observations acts wrongly without it, so a build that cannot
/// apply it must refuse the file). Each file is written as the oldest version
/// that holds it, so older builds keep reading what they can use.
/// Version 4 adds the `tanh_squashed` head (SAC, TD3).
pub const FORMAT_VERSION: u32 = 4;

/// One linear layer's parameters, burn layout: `weight` is row-major [in, out].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerWeights {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// A whole MLP's parameters and shape, enough to rebuild it anywhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpWeights {
    pub sizes: Vec<usize>,
    pub activation: Activation,
    pub layers: Vec<LayerWeights>,
}

impl MlpWeights {
    pub fn check(&self) -> Result<(), String> {
        if self.sizes.len() < 2 || self.layers.len() + 1 != self.sizes.len() {
            return Err(format!("network shape {:?} does not match its {} layers", self.sizes, self.layers.len()));
        }
        for (i, (s, l)) in self.sizes.windows(2).zip(&self.layers).enumerate() {
            if l.weight.len() != s[0] * s[1] || l.bias.len() != s[1] {
                return Err(format!(
                    "layer {i}: expected {}x{} weights and {} biases, found {} and {}",
                    s[0],
                    s[1],
                    s[1],
                    l.weight.len(),
                    l.bias.len()
                ));
            }
            if l.weight.iter().chain(&l.bias).any(|v| !v.is_finite()) {
                return Err(format!("layer {i} holds NaN or infinite values"));
            }
        }
        Ok(())
    }

    pub fn n_params(&self) -> usize {
        self.layers.iter().map(|l| l.weight.len() + l.bias.len()).sum()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkInfo {
    pub name: String,
    pub sizes: Vec<usize>,
    pub activation: Activation,
}

/// Which head a policy net has: action logits (PPO) or Q-values (DQN), whose
/// greedy action is the argmax, or the mean of a diagonal Gaussian over a Box
/// action space, whose deterministic action is the mean clipped into the
/// bounds. Stored as "logits" / "q_values" / "gaussian_mean".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyHead {
    Logits,
    QValues,
    GaussianMean,
    /// SAC's and TD3's actors: the first `dim` outputs are pre-tanh means (SAC
    /// adds `dim` log_stds after them); the deterministic action is
    /// `low + (tanh(mean) + 1) / 2 * (high - low)`, with the mean first clipped
    /// into [-2, 2] when the model has a gSDE `log_std` network (SB3's `clip_mean`).
    TanhSquashed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    pub format_version: u32,
    pub crate_version: String,
    pub algorithm: String,
    pub env_id: String,
    pub obs_dim: usize,
    pub obs_low: Vec<f32>,
    pub obs_high: Vec<f32>,
    /// Discrete actions (for a Box action space: its dimension).
    pub n_actions: usize,
    /// The env's action space (format 2; absent in version 1 files, which are `Discrete(n_actions)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_space: Option<crate::envs::ActionSpace>,
    /// The observation statistics the policy was trained with (format 3;
    /// absent when observations were not normalized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obs_normalization: Option<crate::envs::normalize::ObsNorm>,
    /// Network that picks actions ("actor" or "q_net").
    pub policy_network: String,
    pub policy_head: PolicyHead,
    pub networks: Vec<NetworkInfo>,
    pub timesteps: u64,
    pub eval_mean_reward: Option<f64>,
    pub eval_std_reward: Option<f64>,
    pub saved_at_unix_secs: u64,
    pub config: Config,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    pub metadata: ModelMetadata,
    pub networks: Vec<(String, MlpWeights)>,
}

/// Bounds on what a model file may make us allocate.
const MAX_METADATA_BYTES: u64 = 16 << 20;
const MAX_NETWORK_BYTES: usize = 1 << 30;

/// Reads a zip entry of at most `max` bytes: its declared size is checked
/// first, and the decompressed stream is cut at `max + 1` whatever it declared.
fn read_bounded<R: io::Read>(entry: zip::read::ZipFile<'_, R>, max: u64) -> io::Result<Vec<u8>> {
    let declared = entry.size();
    if declared > max {
        return Err(bad_data(format!("{declared} bytes declared, more than the {max} allowed")));
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    entry.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(bad_data(format!("decompresses to more than the {max} bytes allowed")));
    }
    Ok(bytes)
}

fn bad_data(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl ModelMetadata {
    /// The action space the model acts in (a version 1 file's is `Discrete(n_actions)`).
    pub fn action_space(&self) -> crate::envs::ActionSpace {
        self.action_space.clone().unwrap_or_else(|| {
            let names: Vec<String> = crate::envs::registry::find(&self.env_id)
                .and_then(|f| match &f.spec.action_space {
                    crate::envs::ActionSpace::Discrete { n, names } if *n == self.n_actions => Some(names.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            crate::envs::ActionSpace::Discrete { n: self.n_actions, names }
        })
    }

    /// The format version a model with this action space, normalization and head is written as (see [`FORMAT_VERSION`]).
    pub fn format_for(space: &crate::envs::ActionSpace, normalized: bool, head: PolicyHead) -> u32 {
        match space {
            _ if head == PolicyHead::TanhSquashed => 4,
            _ if normalized => 3,
            crate::envs::ActionSpace::Discrete { .. } => 1,
            crate::envs::ActionSpace::Box { .. } => 2,
        }
    }
}

impl SavedModel {
    pub fn network(&self, name: &str) -> Option<&MlpWeights> {
        self.networks.iter().find(|(n, _)| n == name).map(|(_, w)| w)
    }

    pub fn to_zip_bytes(&self) -> io::Result<Vec<u8>> {
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let meta = serde_json::to_string_pretty(&self.metadata).map_err(io::Error::other)?;
        zip.start_file("metadata.json", opts).map_err(io::Error::other)?;
        zip.write_all(meta.as_bytes())?;
        for (name, w) in &self.networks {
            zip.start_file(format!("networks/{name}.bin"), opts).map_err(io::Error::other)?;
            let mut bytes = Vec::with_capacity(w.n_params() * 4);
            for l in &w.layers {
                for v in l.weight.iter().chain(&l.bias) {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
            }
            zip.write_all(&bytes)?;
        }
        Ok(zip.finish().map_err(io::Error::other)?.into_inner())
    }

    pub fn save(&self, path: &Path) -> io::Result<()> {
        super::write_atomic(path, &self.to_zip_bytes()?)
    }

    /// Loads and checks a model file; errors name the file and what is wrong.
    pub fn load(path: &Path) -> io::Result<Self> {
        let file =
            std::fs::File::open(path).map_err(|e| io::Error::new(e.kind(), format!("cannot open model file {}: {e}", path.display())))?;
        Self::from_reader(file, &path.display().to_string())
    }

    /// Reads a model zip from any seekable reader (`name` is used in errors).
    /// Hostile files are refused before anything big is allocated: every entry's
    /// size is bounded (metadata 16 MiB, a network by its declared shape, at most
    /// 1 GiB) and checked while decompressing, so a zip bomb stops at the bound.
    pub fn from_reader<R: io::Read + io::Seek>(reader: R, name: &str) -> io::Result<Self> {
        let ctx = |e: String| bad_data(format!("model file {name}: {e}"));
        let mut zip = zip::ZipArchive::new(reader).map_err(|e| ctx(format!("not a zip archive ({e})")))?;
        let meta_bytes = {
            let entry = zip.by_name("metadata.json").map_err(|_| ctx("metadata.json is missing: not an rl-research model".into()))?;
            read_bounded(entry, MAX_METADATA_BYTES).map_err(|e| ctx(format!("metadata.json: {e}")))?
        };
        let meta_text = String::from_utf8(meta_bytes).map_err(|_| ctx("metadata.json is not UTF-8".into()))?;
        let metadata: ModelMetadata = serde_json::from_str(&meta_text).map_err(|e| ctx(format!("metadata.json: {e}")))?;
        if metadata.format_version > FORMAT_VERSION {
            return Err(ctx(format!(
                "format version {} is newer than this build reads ({FORMAT_VERSION}); upgrade rl-research",
                metadata.format_version
            )));
        }
        if let Some(n) = &metadata.obs_normalization {
            n.check(metadata.obs_dim).map_err(|e| ctx(format!("obs_normalization: {e}")))?;
        }
        let mut networks = Vec::new();
        for info in &metadata.networks {
            // Parameters the shape claims, checked before reading anything.
            let expected = info
                .sizes
                .windows(2)
                .try_fold(0usize, |acc, s| s[0].checked_mul(s[1]).and_then(|w| w.checked_add(s[1])).and_then(|l| acc.checked_add(l)))
                .filter(|&n| n <= MAX_NETWORK_BYTES / 4)
                .ok_or_else(|| {
                    ctx(format!(
                        "network {} claims shape {:?}: more than this build loads ({} MiB)",
                        info.name,
                        info.sizes,
                        MAX_NETWORK_BYTES >> 20
                    ))
                })?;
            if info.sizes.len() < 2 {
                return Err(ctx(format!("network {} has shape {:?}: it needs inputs and outputs", info.name, info.sizes)));
            }
            let bytes = {
                let entry = zip
                    .by_name(&format!("networks/{}.bin", info.name))
                    .map_err(|_| ctx(format!("networks/{}.bin is missing", info.name)))?;
                read_bounded(entry, expected as u64 * 4).map_err(|e| ctx(format!("networks/{}.bin: {e}", info.name)))?
            };
            let floats: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            if bytes.len() % 4 != 0 || floats.len() != expected {
                return Err(ctx(format!(
                    "networks/{}.bin holds {} bytes, expected {} for shape {:?}",
                    info.name,
                    bytes.len(),
                    expected * 4,
                    info.sizes
                )));
            }
            let mut layers = Vec::new();
            let mut at = 0;
            for s in info.sizes.windows(2) {
                let weight = floats[at..at + s[0] * s[1]].to_vec();
                at += s[0] * s[1];
                let bias = floats[at..at + s[1]].to_vec();
                at += s[1];
                layers.push(LayerWeights { weight, bias });
            }
            let w = MlpWeights { sizes: info.sizes.clone(), activation: info.activation, layers };
            w.check().map_err(|e| ctx(format!("network {}: {e}", info.name)))?;
            networks.push((info.name.clone(), w));
        }
        if !networks.iter().any(|(n, _)| *n == metadata.policy_network) {
            return Err(ctx(format!("policy network '{}' is not among the saved networks", metadata.policy_network)));
        }
        Ok(Self { metadata, networks })
    }
}
