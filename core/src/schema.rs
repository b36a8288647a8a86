//! The JSON Schema of topology.yaml, generated from the model's types and doc comments,
//! with each key's `default` (and the "Default X." of its description) taken from
//! [`crate::defaults::TABLE`].

use crate::defaults::{self, Value};
use crate::topology::Topology;
use serde_json::Value as Json;

/// The schema as pretty JSON with a trailing newline (what `hagen schema` prints and
/// what is committed as `schema/topology.schema.json`).
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(Topology);
    for d in defaults::TABLE {
        set_default(&mut schema, d.path, d.value);
    }
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Follows `path` through `properties` and `$ref`s (also inside `anyOf`, as optional
/// keys are written) and records the default on the property it ends at.
fn set_default(schema: &mut schemars::Schema, path: &str, value: Value) {
    let keys: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    // The JSON pointer of the object whose `properties` hold the last key.
    let mut owner = String::new();
    for key in parents {
        let Some(property) = schema.pointer(&format!("{owner}/properties/{key}")) else {
            return;
        };
        let Some(target) = reference(property) else {
            return;
        };
        owner = target;
    }
    let Some(property) = schema.pointer_mut(&format!("{owner}/properties/{last}")) else {
        return;
    };
    if let Some(Json::String(d)) = property.get_mut("description") {
        d.push_str(&format!(" Default {value}."));
    }
    property["default"] = match value {
        Value::Number(n) => Json::from(n),
        Value::Text(t) => Json::from(t),
    };
}

/// The JSON pointer a property's `$ref` names (`#/$defs/Spec` → `/$defs/Spec`).
fn reference(property: &Json) -> Option<String> {
    let direct = property.get("$ref");
    let optional = || {
        property
            .get("anyOf")?
            .as_array()?
            .iter()
            .find_map(|a| a.get("$ref"))
    };
    let r = direct.or_else(optional)?.as_str()?;
    r.strip_prefix('#').map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_lands_in_the_schema() {
        let schema: Json = serde_json::from_str(&json_schema()).unwrap();
        for d in defaults::TABLE {
            let text = schema.to_string();
            let shown = match d.value {
                Value::Number(n) => format!("\"default\":{n}"),
                Value::Text(t) => format!("\"default\":\"{t}\""),
            };
            assert!(
                text.contains(&shown),
                "{} ({shown}) is not in the schema",
                d.path
            );
        }
        let port = schema
            .pointer("/$defs/ControlPlaneEndpoint/properties/port")
            .unwrap();
        assert_eq!(
            port["default"],
            Json::from(u32::from(defaults::ENDPOINT_PORT))
        );
        assert!(
            port["description"]
                .as_str()
                .unwrap()
                .ends_with("Default 6443.")
        );
    }
}
