//! The value model every stage of the build works on.
//!
//! kustomize parses YAML with go-yaml v3 (kyaml), transforms it, then prints it through JSON and
//! go-yaml v2 (sigs.k8s.io/yaml). Going through JSON erases styles, comments and key order, so
//! what survives to the output is exactly a typed JSON-like tree: that is what `Value` holds.
//! Scalars are typed the way kyaml types plain scalars on input (see `yaml::parse`); the emitter
//! (`yaml::emit`) decides quoting from the type and the text, as go-yaml v2 does.
//!
//! Mapping keys are strings (JSON has no other key type); insertion order is kept so that
//! intermediate steps are deterministic, but the emitter sorts keys as go-yaml v2 does.

use indexmap::IndexMap;

/// An ordered mapping from string keys to values.
pub type Map = IndexMap<String, Value>;

/// A YAML/JSON value after kyaml's input typing.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Value>),
    Map(Map),
}

impl Value {
    /// The mapping inside, when this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    /// The mapping inside, mutably, when this is one.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    /// The sequence inside, when this is one.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The sequence inside, mutably, when this is one.
    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The string inside, when this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Follows a path of mapping keys; `None` when any step is missing or not a mapping.
    pub fn get_path(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(self, |value, key| value.as_map()?.get(*key))
    }

    /// Follows a path of mapping keys mutably; `None` when any step is missing or not a mapping.
    pub fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Value> {
        path.iter().try_fold(self, |value, key| value.as_map_mut()?.get_mut(*key))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Map(map)
    }
}

/// Short constructors for values in unit tests.
#[cfg(test)]
pub(crate) mod build {
    use super::{Map, Value};

    pub fn s(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    pub fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map>())
    }

    pub fn seq(items: Vec<Value>) -> Value {
        Value::Seq(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_path_walks_nested_maps_and_stops_at_non_maps() {
        let mut inner = Map::new();
        inner.insert("name".into(), "web".into());
        let mut outer = Map::new();
        outer.insert("metadata".into(), Value::Map(inner));
        outer.insert("kind".into(), "Deployment".into());
        let value = Value::Map(outer);
        assert_eq!(value.get_path(&["metadata", "name"]).and_then(Value::as_str), Some("web"));
        assert_eq!(value.get_path(&["kind", "name"]), None);
        assert_eq!(value.get_path(&["missing"]), None);
    }
}
