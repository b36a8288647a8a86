//! The JSON Schema of topology.yaml, generated from the model's types and doc comments.

use crate::topology::Topology;

/// The schema as pretty JSON with a trailing newline (what `hagen schema` prints and
/// what is committed as `schema/topology.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Topology);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
