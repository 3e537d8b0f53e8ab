//! TensorBoard event files: `logs/events.out.tfevents.<secs>.<host>.<pid>`.
//!
//! TFRecord framing — u64 length, masked CRC32C of the length, the payload,
//! masked CRC32C of the payload (all little-endian) — around `Event` protocol
//! buffers, encoded by hand (the few fields used):
//!
//! ```text
//! Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//! Summary { repeated Value value = 1; }
//! Value   { string tag = 1; float simple_value = 2; }
//! ```
//! The first event carries `file_version: "brain.Event:2"`; each `write` is one
//! event with every scalar of that step, written at once like metrics.csv, so
//! `tensorboard --logdir runs` follows a live run. A resumed run starts a new
//! file; TensorBoard drops the steps the old file had past the resume point.
//! After the version come the run's HParams session and text summaries
//! (`tb_plugins`); the session's end is written when the logger finishes.

use super::logger::MetricsSink;
use super::tb_plugins::{self, HParamValue, SessionStatus};
use super::{RunStatus, unix_now_f64};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// TFRecord's CRC mask (`masked_crc32c` in TensorFlow's record writer).
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

pub(super) fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn length_delimited(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    varint(u64::from(field << 3 | 2), out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// One `Event` with `wall_time`, `step` and an encoded `Summary`.
pub fn encode_summary_event(wall_time: f64, step: i64, summary: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(16 + summary.len());
    e.push(0x09);
    e.extend_from_slice(&wall_time.to_le_bytes());
    e.push(0x10);
    varint(step as u64, &mut e);
    length_delimited(5, summary, &mut e);
    e
}

/// One `Event` with `wall_time`, `step` and either a file version or scalars.
pub fn encode_event(wall_time: f64, step: i64, file_version: Option<&str>, scalars: &[(&str, f32)]) -> Vec<u8> {
    let mut e = Vec::with_capacity(16 + scalars.len() * 32);
    e.push(0x09); // field 1, fixed64
    e.extend_from_slice(&wall_time.to_le_bytes());
    e.push(0x10); // field 2, varint (int64: two's complement)
    varint(step as u64, &mut e);
    if let Some(v) = file_version {
        length_delimited(3, v.as_bytes(), &mut e);
    }
    if !scalars.is_empty() {
        let mut summary = Vec::new();
        for (tag, value) in scalars {
            let mut v = Vec::with_capacity(tag.len() + 8);
            length_delimited(1, tag.as_bytes(), &mut v);
            v.push(0x15); // field 2, fixed32
            v.extend_from_slice(&value.to_le_bytes());
            length_delimited(1, &v, &mut summary);
        }
        length_delimited(5, &summary, &mut e);
    }
    e
}

/// One TFRecord around `payload`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u64).to_le_bytes();
    let mut r = Vec::with_capacity(payload.len() + 16);
    r.extend_from_slice(&len);
    r.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    r.extend_from_slice(payload);
    r.extend_from_slice(&masked_crc32c(payload).to_le_bytes());
    r
}

/// What a run's event file says besides its scalars: the HParams columns and
/// session, and text summaries (the config, the environment), at `step`.
#[derive(Clone, Debug, Default)]
pub struct EventHeader {
    pub step: u64,
    /// The experiment's columns: every key any run in the directory may have.
    pub hparam_infos: Vec<(String, HParamValue)>,
    /// This run's values.
    pub hparams: Vec<(String, HParamValue)>,
    /// Scalar tags the HPARAMS tab shows as metrics (their last value).
    pub metric_tags: Vec<&'static str>,
    /// Runs with the same group name are one row group in the HPARAMS tab.
    pub group_name: String,
    /// (tag, Markdown) pairs for the TEXT tab.
    pub texts: Vec<(String, String)>,
}

/// Writes a run's scalars as TensorBoard events (a [`MetricsSink`] of the logger).
pub struct EventWriter {
    path: PathBuf,
    /// Opened for appending: after a failed write is cut off, the next one
    /// starts where the last whole record ends.
    file: File,
    /// Bytes of whole records written so far.
    len: u64,
    step: i64,
    has_session: bool,
}

impl EventWriter {
    /// Creates a new event file in `logs_dir`, named as TensorFlow names them,
    /// starting with the file version and `header`'s summaries.
    pub fn create(logs_dir: &Path, header: &EventHeader) -> io::Result<Self> {
        let secs = super::unix_now_secs();
        let host = super::host_name().unwrap_or_else(|| "localhost".into()).replace(['/', '\\'], "_");
        let base = format!("events.out.tfevents.{secs}.{host}.{}", std::process::id());
        // A resume within the same second and process gets `.1`, `.2`, …: an
        // earlier file is never overwritten (TensorBoard reads them in name order).
        let mut attempt = 0u32;
        let (path, file) = loop {
            let path = logs_dir.join(if attempt == 0 { base.clone() } else { format!("{base}.{attempt}") });
            match OpenOptions::new().create_new(true).append(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
                Err(e) => return Err(io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))),
            }
        };
        let step = i64::try_from(header.step).unwrap_or(i64::MAX);
        let mut w = Self { path, file, len: 0, step, has_session: !header.hparams.is_empty() };
        let now = unix_now_f64();
        let mut bytes = frame(&encode_event(now, 0, Some("brain.Event:2"), &[]));
        let mut summaries = Vec::new();
        if w.has_session {
            summaries.push(tb_plugins::experiment_summary(&header.hparam_infos, &header.metric_tags, now));
            summaries.push(tb_plugins::session_start_summary(&header.hparams, &header.group_name, now));
        }
        summaries.extend(header.texts.iter().map(|(tag, text)| tb_plugins::text_summary(tag, text)));
        for summary in summaries {
            bytes.extend_from_slice(&frame(&encode_summary_event(now, step, &summary)));
        }
        w.append(&bytes)?;
        Ok(w)
    }

    /// Appends whole records, or nothing: a write cut short (a full disk) is
    /// cut off again, so the file never holds a torn record before a later one.
    fn append(&mut self, records: &[u8]) -> io::Result<()> {
        match self.file.write_all(records) {
            Ok(()) => {
                self.len += records.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(self.failed(e))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("writing {}: {e}", self.path.display()))
    }
}

impl MetricsSink for EventWriter {
    fn write(&mut self, timesteps: u64, metrics: &[(&str, f64)]) -> io::Result<()> {
        let scalars: Vec<(&str, f32)> = metrics.iter().map(|(k, v)| (*k, *v as f32)).collect();
        self.step = i64::try_from(timesteps).unwrap_or(i64::MAX);
        self.append(&frame(&encode_event(unix_now_f64(), self.step, None, &scalars)))
    }

    /// The HParams session's end: its status shows in the HPARAMS tab.
    fn finish(&mut self, status: RunStatus) -> io::Result<()> {
        if !self.has_session {
            return Ok(());
        }
        let status = match status {
            RunStatus::Completed => SessionStatus::Success,
            RunStatus::Failed => SessionStatus::Failure,
            RunStatus::Stopped | RunStatus::Running | RunStatus::Interrupted => SessionStatus::Unknown,
        };
        let now = unix_now_f64();
        let event = encode_summary_event(now, self.step, &tb_plugins::session_end_summary(status, now));
        self.append(&frame(&event))
    }
}

/// One scalar read back from an event file.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarEvent {
    pub step: i64,
    pub wall_time: f64,
    pub tag: String,
    pub value: f32,
}

fn read_varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The fields of one protobuf message: (field number, wire type, bytes or value).
fn fields(b: &[u8]) -> Option<Vec<(u32, &[u8], u64)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = read_varint(b, &mut i)?;
        let (field, wire) = ((key >> 3) as u32, key & 7);
        match wire {
            0 => out.push((field, &b[0..0], read_varint(b, &mut i)?)),
            1 => {
                let s = b.get(i..i + 8)?;
                i += 8;
                out.push((field, s, 0));
            }
            2 => {
                let n = read_varint(b, &mut i)? as usize;
                let s = b.get(i..i.checked_add(n)?)?;
                i += n;
                out.push((field, s, 0));
            }
            5 => {
                let s = b.get(i..i + 4)?;
                i += 4;
                out.push((field, s, 0));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A plugin's summary read back: HParams data or text.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginSummary {
    pub step: i64,
    pub tag: String,
    pub plugin: String,
    /// The plugin's content (HParamsPluginData for "hparams").
    pub content: Vec<u8>,
    /// The tensor's string, for text summaries.
    pub text: Option<String>,
}

/// Everything an event file holds that this project writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFile {
    pub file_version: String,
    pub scalars: Vec<ScalarEvent>,
    pub plugins: Vec<PluginSummary>,
}

/// Reads an event file back, checking every record's framing and CRCs: its
/// file version and its scalars. A torn last record (a crash mid-write) is skipped.
pub fn read_events(path: &Path) -> Result<(String, Vec<ScalarEvent>), String> {
    read_event_file(path).map(|f| (f.file_version, f.scalars))
}

/// [`read_events`] with the plugin summaries too.
pub fn read_event_file(path: &Path) -> Result<EventFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bad = |what: &str, at: usize| format!("{}: {what} at byte {at}", path.display());
    let (mut i, mut out) = (0usize, EventFile::default());
    while i < bytes.len() {
        let Some(header) = bytes.get(i..i + 12) else { break };
        let len = u64::from_le_bytes(header[..8].try_into().map_err(|_| bad("short header", i))?) as usize;
        if u32::from_le_bytes(header[8..12].try_into().map_err(|_| bad("short header", i))?) != masked_crc32c(&header[..8]) {
            return Err(bad("bad length CRC", i));
        }
        let Some(payload) = bytes.get(i + 12..(i + 12).saturating_add(len)) else { break };
        let Some(crc) = bytes.get(i + 12 + len..i + 16 + len) else { break };
        if u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) != masked_crc32c(payload) {
            return Err(bad("bad payload CRC", i));
        }
        let event = fields(payload).ok_or_else(|| bad("malformed Event", i))?;
        let (mut wall_time, mut step) = (0.0, 0i64);
        for (f, s, v) in &event {
            match f {
                1 if s.len() == 8 => wall_time = f64::from_le_bytes(s[..8].try_into().unwrap_or([0; 8])),
                2 => step = *v as i64,
                3 => out.file_version = String::from_utf8_lossy(s).into_owned(),
                _ => {}
            }
        }
        for (f, summary, _) in &event {
            if *f != 5 {
                continue;
            }
            for (vf, value, _) in fields(summary).ok_or_else(|| bad("malformed Summary", i))? {
                if vf != 1 {
                    continue;
                }
                let (mut tag, mut val, mut plugin, mut text) = (String::new(), None, None, None);
                for (g, s, _) in fields(value).ok_or_else(|| bad("malformed Value", i))? {
                    match g {
                        1 => tag = String::from_utf8_lossy(s).into_owned(),
                        2 if s.len() == 4 => val = Some(f32::from_le_bytes([s[0], s[1], s[2], s[3]])),
                        9 => plugin = Some(plugin_data(s).ok_or_else(|| bad("malformed SummaryMetadata", i))?),
                        8 => {
                            text = fields(s)
                                .ok_or_else(|| bad("malformed TensorProto", i))?
                                .into_iter()
                                .find(|t| t.0 == 8)
                                .map(|t| String::from_utf8_lossy(t.1).into_owned())
                        }
                        _ => {}
                    }
                }
                if let Some(value) = val {
                    out.scalars.push(ScalarEvent { step, wall_time, tag, value });
                } else if let Some((plugin, content)) = plugin {
                    out.plugins.push(PluginSummary { step, tag, plugin, content, text });
                }
            }
        }
        i += 16 + len;
    }
    Ok(out)
}

/// SummaryMetadata's plugin name and content.
fn plugin_data(metadata: &[u8]) -> Option<(String, Vec<u8>)> {
    let data = fields(metadata)?.into_iter().find(|f| f.0 == 1)?.1;
    let (mut name, mut content) = (String::new(), Vec::new());
    for (f, s, _) in fields(data)? {
        match f {
            1 => name = String::from_utf8_lossy(s).into_owned(),
            2 => content = s.to_vec(),
            _ => {}
        }
    }
    Some((name, content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_mask_and_varints_match_tensorflow() {
        // TensorFlow's masked CRC of an empty string and of "a" (from its crc32c tests' definition).
        assert_eq!(masked_crc32c(b""), 0u32.rotate_right(15).wrapping_add(0xa282_ead8));
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283, "the standard CRC-32C check value");
        let mut v = Vec::new();
        varint(300, &mut v);
        assert_eq!(v, [0xac, 0x02]);
        let e = encode_event(1.5, 2048, None, &[("train/loss", 0.25)]);
        let (mut i, mut j) = (0usize, 0usize);
        assert_eq!(read_varint(&e, &mut i), Some(0x09));
        assert_eq!(fields(&e).unwrap().len(), 3);
        assert!(read_varint(&[0xff; 11], &mut j).is_none(), "an endless varint is refused");
    }

    #[test]
    fn events_round_trip_and_a_torn_record_is_skipped() {
        let dir = std::env::temp_dir().join(format!("rl-research-tfevents-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = EventWriter::create(&dir, &EventHeader::default()).unwrap();
        w.write(10, &[("rollout/ep_rew_mean", 22.5), ("nested/a/b", -1.0)]).unwrap();
        w.write(20, &[("eval/mean_reward", 500.0)]).unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&frame(&encode_event(0.0, 30, None, &[("x", 1.0)]))[..9]);
        std::fs::write(&path, &bytes).unwrap();
        let (version, scalars) = read_events(&path).unwrap();
        assert_eq!(version, "brain.Event:2");
        assert!(read_event_file(&path).unwrap().plugins.is_empty(), "no header, no plugin summaries");
        let got: Vec<(i64, &str, f32)> = scalars.iter().map(|s| (s.step, s.tag.as_str(), s.value)).collect();
        assert_eq!(got, vec![(10, "rollout/ep_rew_mean", 22.5), (10, "nested/a/b", -1.0), (20, "eval/mean_reward", 500.0)]);
        let last = bytes.len() - 20;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_events(&path).unwrap_err().contains("CRC"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_header_writes_hparams_and_texts_and_finish_ends_the_session() {
        let dir = std::env::temp_dir().join(format!("rl-research-tfevents-header-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = EventHeader {
            step: 7,
            hparam_infos: vec![
                ("algorithm.params.learning_rate".into(), HParamValue::Number(3e-4)),
                ("algorithm.params.gamma".into(), HParamValue::Number(0.99)),
            ],
            hparams: vec![("algorithm.params.learning_rate".into(), HParamValue::Number(3e-4))],
            metric_tags: vec!["eval/mean_reward"],
            group_name: String::new(),
            texts: vec![("config".into(), "    a: 1".into())],
        };
        let mut w = EventWriter::create(&dir, &header).unwrap();
        w.write(8, &[("eval/mean_reward", 1.0)]).unwrap();
        w.finish(RunStatus::Completed).unwrap();
        let file = read_event_file(w.path()).unwrap();
        let tags: Vec<(i64, &str, &str)> = file.plugins.iter().map(|p| (p.step, p.tag.as_str(), p.plugin.as_str())).collect();
        assert_eq!(
            tags,
            vec![
                (7, tb_plugins::EXPERIMENT_TAG, "hparams"),
                (7, tb_plugins::SESSION_START_TAG, "hparams"),
                (7, "config", "text"),
                (8, tb_plugins::SESSION_END_TAG, "hparams")
            ]
        );
        assert_eq!(file.plugins[2].text.as_deref(), Some("    a: 1"));
        assert!(file.plugins[0].content.windows(5).any(|w| w == b"gamma"), "the experiment lists every column");
        assert_eq!(file.scalars.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
