//! The non-scalar summaries of a run's event file: TensorBoard's HParams
//! plugin (so the HPARAMS tab compares runs and sweep trials) and text
//! summaries (the resolved config, the environment details).
//!
//! Hand-encoded like the scalars (see `tfevents`), from TensorBoard's
//! `plugins/hparams/{plugin_data,api}.proto` and `summary.proto`:
//!
//! ```text
//! Summary.Value   { string tag = 1; SummaryMetadata metadata = 9; TensorProto tensor = 8; }
//! SummaryMetadata { PluginData plugin_data = 1; }   PluginData { string plugin_name = 1; bytes content = 2; }
//! HParamsPluginData { int32 version = 1; oneof { Experiment experiment = 2;
//!                     SessionStartInfo session_start_info = 3; SessionEndInfo session_end_info = 4; } }
//! Experiment       { double time_created_secs = 3; repeated HParamInfo hparam_infos = 4; repeated MetricInfo metric_infos = 5; }
//! HParamInfo       { string name = 1; DataType type = 4; }       MetricInfo { MetricName name = 1; }  MetricName { string tag = 2; }
//! SessionStartInfo { map<string, google.protobuf.Value> hparams = 1; string group_name = 4; double start_time_secs = 5; }
//! SessionEndInfo   { Status status = 1; double end_time_secs = 2; }
//! ```
//! TensorBoard takes the HPARAMS columns from the first `_hparams_/experiment`
//! it finds in the log directory, so every run lists the keys of every
//! algorithm (see `runner`), and each session lists its own values.

use super::tfevents::{length_delimited, varint};

pub const EXPERIMENT_TAG: &str = "_hparams_/experiment";
pub const SESSION_START_TAG: &str = "_hparams_/session_start_info";
pub const SESSION_END_TAG: &str = "_hparams_/session_end_info";

/// A hyperparameter's value as the HParams plugin types it.
#[derive(Clone, Debug, PartialEq)]
pub enum HParamValue {
    Number(f64),
    Text(String),
    Bool(bool),
}

impl HParamValue {
    /// `api.proto`'s DataType: STRING = 1, BOOL = 2, FLOAT64 = 3.
    fn data_type(&self) -> u64 {
        match self {
            HParamValue::Text(_) => 1,
            HParamValue::Bool(_) => 2,
            HParamValue::Number(_) => 3,
        }
    }

    /// A `google.protobuf.Value`.
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        match self {
            HParamValue::Number(x) => {
                v.push(0x11); // number_value = 2, fixed64
                v.extend_from_slice(&x.to_le_bytes());
            }
            HParamValue::Text(s) => length_delimited(3, s.as_bytes(), &mut v),
            HParamValue::Bool(b) => {
                v.push(0x20); // bool_value = 4, varint
                v.push(u8::from(*b));
            }
        }
        v
    }
}

/// How a run ended, as `api.proto`'s Status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStatus {
    /// A stopped run (Ctrl-C, a sweep's pruner) neither succeeded nor failed.
    Unknown = 0,
    Success = 1,
    Failure = 2,
}

fn double(field: u32, x: f64, out: &mut Vec<u8>) {
    varint(u64::from(field << 3 | 1), out);
    out.extend_from_slice(&x.to_le_bytes());
}

/// One `Summary.Value` carrying `plugin`'s `content` (and `tensor`, if any).
fn plugin_value(tag: &str, plugin: &str, content: &[u8], tensor: &[u8]) -> Vec<u8> {
    let mut plugin_data = Vec::new();
    length_delimited(1, plugin.as_bytes(), &mut plugin_data);
    if !content.is_empty() {
        length_delimited(2, content, &mut plugin_data);
    }
    let mut metadata = Vec::new();
    length_delimited(1, &plugin_data, &mut metadata);
    let mut value = Vec::new();
    length_delimited(1, tag.as_bytes(), &mut value);
    length_delimited(9, &metadata, &mut value);
    if !tensor.is_empty() {
        length_delimited(8, tensor, &mut value);
    }
    value
}

/// A `Summary` holding one HParamsPluginData (version 0) with `field` set.
fn hparams_summary(tag: &str, field: u32, message: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    length_delimited(field, message, &mut data);
    // The hparams plugin's NULL_TENSOR: DT_FLOAT with shape [0].
    let null_tensor = [0x08, 0x01, 0x12, 0x02, 0x12, 0x00];
    let mut summary = Vec::new();
    length_delimited(1, &plugin_value(tag, "hparams", &data, &null_tensor), &mut summary);
    summary
}

/// `_hparams_/experiment`: the columns of the HPARAMS tab.
pub fn experiment_summary(hparam_infos: &[(String, HParamValue)], metric_tags: &[&str], time_created_secs: f64) -> Vec<u8> {
    let mut e = Vec::new();
    double(3, time_created_secs, &mut e);
    for (name, example) in hparam_infos {
        let mut info = Vec::new();
        length_delimited(1, name.as_bytes(), &mut info);
        info.push(0x20); // type = 4
        varint(example.data_type(), &mut info);
        length_delimited(4, &info, &mut e);
    }
    for tag in metric_tags {
        let mut name = Vec::new();
        length_delimited(2, tag.as_bytes(), &mut name);
        let mut info = Vec::new();
        length_delimited(1, &name, &mut info);
        length_delimited(5, &info, &mut e);
    }
    hparams_summary(EXPERIMENT_TAG, 2, &e)
}

/// `_hparams_/session_start_info`: this run's hyperparameter values.
pub fn session_start_summary(hparams: &[(String, HParamValue)], group_name: &str, start_time_secs: f64) -> Vec<u8> {
    let mut s = Vec::new();
    for (name, value) in hparams {
        let mut entry = Vec::new();
        length_delimited(1, name.as_bytes(), &mut entry);
        length_delimited(2, &value.encode(), &mut entry);
        length_delimited(1, &entry, &mut s);
    }
    if !group_name.is_empty() {
        length_delimited(4, group_name.as_bytes(), &mut s);
    }
    double(5, start_time_secs, &mut s);
    hparams_summary(SESSION_START_TAG, 3, &s)
}

/// `_hparams_/session_end_info`: how the run ended.
pub fn session_end_summary(status: SessionStatus, end_time_secs: f64) -> Vec<u8> {
    let mut s = Vec::new();
    s.push(0x08); // status = 1
    varint(status as u64, &mut s);
    double(2, end_time_secs, &mut s);
    hparams_summary(SESSION_END_TAG, 4, &s)
}

/// A text summary (TensorBoard's TEXT tab renders it as Markdown): a scalar
/// DT_STRING tensor under the "text" plugin.
pub fn text_summary(tag: &str, markdown: &str) -> Vec<u8> {
    let mut tensor = vec![0x08, 0x07]; // dtype = DT_STRING
    length_delimited(2, &[], &mut tensor); // tensor_shape: a scalar
    length_delimited(8, markdown.as_bytes(), &mut tensor);
    let mut summary = Vec::new();
    length_delimited(1, &plugin_value(tag, "text", &[], &tensor), &mut summary);
    summary
}

/// A config's flattened values as hyperparameters: numbers, booleans and
/// strings as they are, lists as their JSON text (the plugin has no list type).
pub fn hparams_from_json(values: &[(String, serde_json::Value)]) -> Vec<(String, HParamValue)> {
    values
        .iter()
        .map(|(k, v)| {
            let hv = match v {
                serde_json::Value::Number(n) => n.as_f64().map(HParamValue::Number).unwrap_or_else(|| HParamValue::Text(n.to_string())),
                serde_json::Value::Bool(b) => HParamValue::Bool(*b),
                serde_json::Value::String(s) => HParamValue::Text(s.clone()),
                other => HParamValue::Text(other.to_string()),
            };
            (k.clone(), hv)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_summaries_have_the_expected_wire_bytes() {
        assert_eq!(HParamValue::Bool(true).encode(), [0x20, 0x01]);
        assert_eq!(HParamValue::Text("ab".into()).encode(), [0x1a, 0x02, b'a', b'b']);
        let mut n = vec![0x11];
        n.extend_from_slice(&0.5f64.to_le_bytes());
        assert_eq!(HParamValue::Number(0.5).encode(), n);
        let end = session_end_summary(SessionStatus::Success, 2.0);
        // Summary.value (0x0a) → Value.tag (0x0a) "_hparams_/session_end_info".
        assert_eq!(&end[2..4], &[0x0a, SESSION_END_TAG.len() as u8]);
        assert_eq!(&end[4..4 + SESSION_END_TAG.len()], SESSION_END_TAG.as_bytes());
        let text = text_summary("config", "x: 1");
        assert!(text.windows(4).any(|w| w == b"text"));
        assert!(text.ends_with(b"x: 1"));
    }

    #[test]
    fn json_values_map_to_plugin_types() {
        let vals = vec![
            ("a".to_string(), serde_json::json!(3)),
            ("b".to_string(), serde_json::json!("lin_0.001")),
            ("c".to_string(), serde_json::json!([64, 64])),
            ("d".to_string(), serde_json::json!(false)),
        ];
        let got = hparams_from_json(&vals);
        assert_eq!(got[0].1, HParamValue::Number(3.0));
        assert_eq!(got[1].1, HParamValue::Text("lin_0.001".into()));
        assert_eq!(got[2].1, HParamValue::Text("[64,64]".into()));
        assert_eq!(got[3].1, HParamValue::Bool(false));
    }
}
