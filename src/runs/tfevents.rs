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
//! event with every scalar of that step, flushed like metrics.csv, so
//! `tensorboard --logdir runs` follows a live run. A resumed run starts a new
//! file; TensorBoard drops the steps the old file had past the resume point.

use super::logger::MetricsSink;
use super::unix_now_f64;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// TFRecord's CRC mask (`masked_crc32c` in TensorFlow's record writer).
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn length_delimited(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    varint(u64::from(field << 3 | 2), out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
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

/// Writes a run's scalars as TensorBoard events (a [`MetricsSink`] of the logger).
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventWriter {
    /// Creates a new event file in `logs_dir`, named as TensorFlow names them.
    pub fn create(logs_dir: &Path) -> io::Result<Self> {
        let secs = super::unix_now_secs();
        let host = super::host_name().unwrap_or_else(|| "localhost".into()).replace(['/', '\\'], "_");
        let path = logs_dir.join(format!("events.out.tfevents.{secs}.{host}.{}", std::process::id()));
        let file = File::create(&path).map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display())))?;
        let mut w = Self { path, out: BufWriter::new(file) };
        w.out.write_all(&frame(&encode_event(unix_now_f64(), 0, Some("brain.Event:2"), &[])))?;
        w.out.flush()?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl MetricsSink for EventWriter {
    fn write(&mut self, timesteps: u64, metrics: &[(&str, f64)]) -> io::Result<()> {
        let scalars: Vec<(&str, f32)> = metrics.iter().map(|(k, v)| (*k, *v as f32)).collect();
        let step = i64::try_from(timesteps).unwrap_or(i64::MAX);
        self.out.write_all(&frame(&encode_event(unix_now_f64(), step, None, &scalars)))?;
        self.out.flush().map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", self.path.display())))
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

/// Reads an event file back, checking every record's framing and CRCs: its
/// file version and its scalars. A torn last record (a crash mid-write) is skipped.
pub fn read_events(path: &Path) -> Result<(String, Vec<ScalarEvent>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bad = |what: &str, at: usize| format!("{}: {what} at byte {at}", path.display());
    let (mut i, mut version, mut scalars) = (0usize, String::new(), Vec::new());
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
                3 => version = String::from_utf8_lossy(s).into_owned(),
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
                let (mut tag, mut val) = (String::new(), None);
                for (g, s, _) in fields(value).ok_or_else(|| bad("malformed Value", i))? {
                    match g {
                        1 => tag = String::from_utf8_lossy(s).into_owned(),
                        2 if s.len() == 4 => val = Some(f32::from_le_bytes([s[0], s[1], s[2], s[3]])),
                        _ => {}
                    }
                }
                if let Some(value) = val {
                    scalars.push(ScalarEvent { step, wall_time, tag, value });
                }
            }
        }
        i += 16 + len;
    }
    Ok((version, scalars))
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
        let mut w = EventWriter::create(&dir).unwrap();
        w.write(10, &[("rollout/ep_rew_mean", 22.5), ("nested/a/b", -1.0)]).unwrap();
        w.write(20, &[("eval/mean_reward", 500.0)]).unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&frame(&encode_event(0.0, 30, None, &[("x", 1.0)]))[..9]);
        std::fs::write(&path, &bytes).unwrap();
        let (version, scalars) = read_events(&path).unwrap();
        assert_eq!(version, "brain.Event:2");
        let got: Vec<(i64, &str, f32)> = scalars.iter().map(|s| (s.step, s.tag.as_str(), s.value)).collect();
        assert_eq!(got, vec![(10, "rollout/ep_rew_mean", 22.5), (10, "nested/a/b", -1.0), (20, "eval/mean_reward", 500.0)]);
        let last = bytes.len() - 20;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_events(&path).unwrap_err().contains("CRC"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
