//! The field schema of the built-in kinds, as data: `data/kube/schema.json`, generated from
//! kubernetes/api's `generated.proto` files and Go types by `data/kube/schema.py` (see
//! `data/kube/README.md`). Per protobuf message it lists each field's number, JSON name, type,
//! how Go encodes it (pointer, `omitempty`, `,inline`) and its strategic-merge-patch strategy.
//!
//! The protobuf decoder (`protobuf`) and the strategic merge patch (`patch`) read it. It holds
//! no objects and does no I/O beyond parsing the embedded table once.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::Value as Json;

const SCHEMA_JSON: &str = include_str!("../../data/kube/schema.json");

/// A protobuf scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Double,
    Float,
}

impl Scalar {
    fn parse(name: &str) -> Option<Scalar> {
        Some(match name {
            "string" => Scalar::String,
            "bytes" => Scalar::Bytes,
            "bool" => Scalar::Bool,
            "int32" => Scalar::Int32,
            "int64" => Scalar::Int64,
            "uint32" => Scalar::Uint32,
            "uint64" => Scalar::Uint64,
            "double" => Scalar::Double,
            "float" => Scalar::Float,
            _ => return None,
        })
    }
}

/// What a field holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    Scalar(Scalar),
    /// A message, by its full protobuf name (`k8s.io.api.core.v1.PodSpec`).
    Message(String),
    /// `map<key, value>`: a JSON object.
    Map {
        key: Scalar,
        value: Box<FieldType>,
    },
}

impl FieldType {
    fn parse(text: &str) -> FieldType {
        if let Some(rest) = text.strip_prefix("map:")
            && let Some((key, value)) = rest.split_once(':')
        {
            return FieldType::Map {
                key: Scalar::parse(key).unwrap_or(Scalar::String),
                value: Box::new(FieldType::parse(value)),
            };
        }
        match Scalar::parse(text) {
            Some(scalar) => FieldType::Scalar(scalar),
            None => FieldType::Message(text.to_owned()),
        }
    }

    /// The message this field (or its map values) holds, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            FieldType::Message(name) => Some(name),
            FieldType::Map { value, .. } => value.message(),
            FieldType::Scalar(_) => None,
        }
    }
}

/// One field of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub number: u64,
    /// The JSON name (the Go `json` tag).
    pub name: String,
    pub ty: FieldType,
    pub repeated: bool,
    /// A Go pointer: a present zero value is kept.
    pub pointer: bool,
    /// Go's `omitempty`: a zero value of a non-pointer scalar is not written.
    pub omitempty: bool,
    /// Go's `,inline`: the message's fields appear in the parent object.
    pub inline: bool,
    /// `patchStrategy: merge`: lists merge item by item (by `merge_key`, or as sets).
    pub merge: bool,
    /// `patchStrategy: retainKeys`.
    pub retain_keys: bool,
    pub merge_key: Option<String>,
}

/// The loaded table.
#[derive(Debug)]
pub struct Schema {
    kinds: HashMap<String, String>,
    messages: HashMap<String, Vec<Field>>,
    arrays: HashSet<String>,
}

impl Schema {
    /// The embedded table (parsed on first use). It is checked in and tested, so a failure to
    /// parse it is a bug in the fake.
    pub fn get() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| Schema::parse(SCHEMA_JSON))
    }

    fn parse(text: &str) -> Schema {
        let document: Json = serde_json::from_str(text).expect("bundled schema.json is JSON");
        let kinds = document["kinds"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let mut messages = HashMap::new();
        for (name, fields) in document["messages"].as_object().into_iter().flatten() {
            let parsed = fields
                .as_array()
                .into_iter()
                .flatten()
                .map(|entry| {
                    let flags = entry[3].as_str().unwrap_or_default();
                    Field {
                        number: entry[0].as_u64().unwrap_or_default(),
                        name: entry[1].as_str().unwrap_or_default().to_owned(),
                        ty: FieldType::parse(entry[2].as_str().unwrap_or_default()),
                        repeated: flags.contains('r'),
                        pointer: flags.contains('p'),
                        omitempty: flags.contains('o'),
                        inline: flags.contains('i'),
                        merge: flags.contains('m'),
                        retain_keys: flags.contains('k'),
                        merge_key: entry.get(4).and_then(Json::as_str).map(str::to_owned),
                    }
                })
                .collect();
            messages.insert(name.clone(), parsed);
        }
        let arrays = document["arrays"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        Schema { kinds, messages, arrays }
    }

    /// The message of a kind (`apps/v1`, `Deployment`), if it is built in.
    pub fn kind(&self, api_version: &str, kind: &str) -> Option<&str> {
        self.kinds.get(&format!("{api_version}/{kind}")).map(String::as_str)
    }

    pub fn message(&self, name: &str) -> Option<&[Field]> {
        self.messages.get(name).map(Vec::as_slice)
    }

    /// Whether the message wraps a Go named slice (`repeated items = 1`) and is a JSON array.
    pub fn is_array(&self, name: &str) -> bool {
        self.arrays.contains(name)
    }

    /// The field a JSON key names in `message`, looking through inline fields.
    pub fn json_field(&self, message: &str, key: &str) -> Option<&Field> {
        let fields = self.message(message)?;
        fields.iter().find(|f| !f.inline && f.name == key).or_else(|| {
            fields
                .iter()
                .filter(|f| f.inline)
                .find_map(|f| f.ty.message().and_then(|m| self.json_field(m, key)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_kinds_fields_and_patch_strategies() {
        let schema = Schema::get();
        assert_eq!(schema.kind("apps/v1", "Deployment"), Some("k8s.io.api.apps.v1.Deployment"));
        assert_eq!(schema.kind("v1", "Namespace"), Some("k8s.io.api.core.v1.Namespace"));
        let replicas = schema.json_field("k8s.io.api.apps.v1.DeploymentSpec", "replicas").unwrap();
        assert_eq!((replicas.number, replicas.pointer), (1, true));
        let containers = schema.json_field("k8s.io.api.core.v1.PodSpec", "containers").unwrap();
        assert!(containers.repeated && containers.merge);
        assert_eq!(containers.merge_key.as_deref(), Some("name"));
        // `configMap` is a field of the inline `VolumeSource`.
        let config_map = schema.json_field("k8s.io.api.core.v1.Volume", "configMap").unwrap();
        assert_eq!(
            config_map.ty,
            FieldType::Message("k8s.io.api.core.v1.ConfigMapVolumeSource".into())
        );
        let labels = schema.json_field("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels");
        assert!(matches!(labels.unwrap().ty, FieldType::Map { key: Scalar::String, .. }));
        assert!(schema.is_array("k8s.io.api.authentication.v1.ExtraValue"));
        assert_eq!(schema.kind("example.com/v1", "Widget"), None);
    }
}
