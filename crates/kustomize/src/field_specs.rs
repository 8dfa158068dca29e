//! Field specs: which fields of which kinds a builtin transformer touches, and the walk that
//! visits them.
//!
//! The tables are kustomize's own (`data/builtin-field-specs.yaml`, copied from its
//! `builtinpluginconsts` as data); a kustomization's `configurations` files and `crds` add to
//! them in the same format. A path is `/`-separated (`\/` escapes a slash inside a key, as in
//! annotation names); `name[]` marks a list field; any list met on the way is walked element by
//! element. `create` makes missing fields on the way.
//!
//! This module walks and merges specs; what is written at the end of a path is the caller's.

use std::sync::OnceLock;

use crate::resource::Gvk;
use crate::value::{Map, Value};

/// One field spec: a path in objects selected by group/version/kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    /// A spec for every kind.
    pub fn any_kind(path: &str, create: bool) -> FieldSpec {
        FieldSpec { path: path.to_owned(), create, ..FieldSpec::default() }
    }

    /// Whether this spec applies to objects of `gvk`.
    pub fn selects(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.group, &self.version, &self.kind)
    }

    /// The path split into keys, honouring `\/` escapes.
    pub fn path_segments(&self) -> Vec<String> {
        split_path(&self.path)
    }

    /// Reads one spec from its YAML form.
    pub fn from_value(value: &Value) -> Result<FieldSpec, String> {
        let map = value.as_map().ok_or("a field spec must be a mapping")?;
        let mut spec = FieldSpec::default();
        for (key, field) in map {
            match key.as_str() {
                "group" => spec.group = string_field(field, key)?,
                "version" => spec.version = string_field(field, key)?,
                "kind" => spec.kind = string_field(field, key)?,
                "path" => spec.path = string_field(field, key)?,
                "create" => {
                    spec.create = match field {
                        Value::Bool(b) => *b,
                        Value::Null => false,
                        _ => return Err("'create' must be true or false".into()),
                    }
                }
                // kustomize decodes field specs leniently: other keys are ignored.
                _ => {}
            }
        }
        Ok(spec)
    }

    /// The group/version/kind this spec selects.
    pub fn gvk(&self) -> Gvk {
        Gvk { group: self.group.clone(), version: self.version.clone(), kind: self.kind.clone() }
    }

    /// kustomize's `effectivelyEquals`: same path and this spec's gvk selected by the other's
    /// (so a kind-specific spec already present absorbs a later kind-less one, not the reverse).
    fn effectively_equals(&self, other: &FieldSpec) -> bool {
        self.path == other.path
            && (other.group.is_empty() || other.group == self.group)
            && (other.version.is_empty() || other.version == self.version)
            && (other.kind.is_empty() || other.kind == self.kind)
    }
}

fn string_field(value: &Value, key: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        _ => Err(format!("'{key}' must be a string")),
    }
}

/// Splits a field-spec path on `/`, keeping `\/` as a literal slash.
pub fn split_path(path: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                current.push('/');
                chars.next();
            }
            '/' => segments.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    segments.push(current);
    segments
}

/// Merges `incoming` into `specs` as kustomize's `FsSlice.MergeAll`: duplicates are dropped,
/// a duplicate that disagrees on `create` is an error.
pub fn merge_specs(specs: &mut Vec<FieldSpec>, incoming: &[FieldSpec]) -> Result<(), String> {
    for spec in incoming {
        match specs.iter().find(|existing| existing.effectively_equals(spec)) {
            Some(existing) if existing.create != spec.create => {
                return Err(format!("conflicting fieldspecs for path '{}'", spec.path));
            }
            Some(_) => {}
            None => specs.push(spec.clone()),
        }
    }
    Ok(())
}

/// kustomize's `Gvk.IsLessThan`: kinds it orders first, then the rest, then kinds it orders
/// last; ties broken by `group_version_kind` with `~` for empty parts.
pub fn gvk_order(a: &Gvk, b: &Gvk) -> std::cmp::Ordering {
    let rank = |gvk: &Gvk| -> i64 {
        let first = crate::transform::sort::DEFAULT_ORDER_FIRST;
        let last = crate::transform::sort::DEFAULT_ORDER_LAST;
        if let Some(i) = first.iter().position(|k| *k == gvk.kind) {
            i as i64 - first.len() as i64
        } else if let Some(i) = last.iter().position(|k| *k == gvk.kind) {
            1 + i as i64
        } else {
            0
        }
    };
    rank(a).cmp(&rank(b)).then_with(|| sort_key(a).cmp(sort_key(b)))
}

/// `group_version_kind` with `~G`/`~V`/`~K` for empty parts, as bytes, without allocating.
fn sort_key(gvk: &Gvk) -> impl Iterator<Item = u8> + '_ {
    fn or<'a>(value: &'a str, empty: &'static str) -> &'a str {
        if value.is_empty() { empty } else { value }
    }
    or(&gvk.group, "~G")
        .bytes()
        .chain(std::iter::once(b'_'))
        .chain(or(&gvk.version, "~V").bytes())
        .chain(std::iter::once(b'_'))
        .chain(or(&gvk.kind, "~K").bytes())
}

/// A name-reference rule: fields (in referrers) that hold the name of an object of `gvk`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameBackReference {
    pub gvk: Gvk,
    pub referrers: Vec<FieldSpec>,
}

/// The field-spec tables of all builtin transformers (kustomize's `TransformerConfig`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub volume_claim_template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackReference>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

impl TransformerConfig {
    /// kustomize's default tables.
    pub fn builtin() -> &'static TransformerConfig {
        static BUILTIN: OnceLock<TransformerConfig> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let text = include_str!("../data/builtin-field-specs.yaml");
            let value = crate::yaml::parse_document(text, "builtin-field-specs.yaml")
                .expect("the builtin field-spec table is valid YAML");
            TransformerConfig::from_value(&value).expect("the builtin field-spec table is valid")
        })
    }

    /// Reads a configuration file's contents (the `configurations` format).
    pub fn from_value(value: &Value) -> Result<TransformerConfig, String> {
        let mut config = TransformerConfig::default();
        let Some(map) = value.as_map() else {
            return match value {
                Value::Null => Ok(config),
                _ => Err("a transformer configuration must be a mapping".into()),
            };
        };
        for (key, field) in map {
            let list = match field {
                Value::Seq(items) => items.as_slice(),
                Value::Null => &[],
                _ => return Err(format!("'{key}' must be a list")),
            };
            let target = match key.as_str() {
                "namePrefix" => &mut config.name_prefix,
                "nameSuffix" => &mut config.name_suffix,
                "namespace" => &mut config.namespace,
                "commonLabels" => &mut config.common_labels,
                "templateLabels" => &mut config.template_labels,
                "volumeClaimTemplateLabels" => &mut config.volume_claim_template_labels,
                "labels" => &mut config.labels,
                "commonAnnotations" => &mut config.common_annotations,
                "varReference" => &mut config.var_reference,
                "images" => &mut config.images,
                "replicas" => &mut config.replicas,
                "nameReference" => {
                    for item in list {
                        config.name_reference.push(parse_back_reference(item)?);
                    }
                    continue;
                }
                other => return Err(format!("unknown transformer configuration field '{other}'")),
            };
            for item in list {
                target.push(FieldSpec::from_value(item)?);
            }
        }
        config.sort();
        Ok(config)
    }

    /// kustomize's `sortFields`: every table ordered by group/version/kind priority. The order
    /// matters because merging keeps the first of two specs that select each other.
    fn sort(&mut self) {
        for specs in [
            &mut self.name_prefix,
            &mut self.name_suffix,
            &mut self.namespace,
            &mut self.common_labels,
            &mut self.labels,
            &mut self.template_labels,
            &mut self.common_annotations,
            &mut self.var_reference,
            &mut self.images,
            &mut self.replicas,
        ] {
            specs.sort_by(|a, b| gvk_order(&a.gvk(), &b.gvk()));
        }
        self.name_reference.sort_by(|a, b| gvk_order(&a.gvk, &b.gvk));
    }

    /// Adds `other`'s specs to this configuration (kustomize's `TransformerConfig.Merge`,
    /// which sorts the result).
    pub fn merge(&mut self, other: &TransformerConfig) -> Result<(), String> {
        // Merging a configuration into an equal one changes nothing (every spec finds itself);
        // parents absorbing children's identical tables is the common case.
        if self == other {
            return Ok(());
        }
        // Merging into an empty configuration is a pure function of `other`; the builtin
        // tables are merged into every kustomization's empty accumulator, so that result is
        // computed once.
        if *self == TransformerConfig::default() && other == TransformerConfig::builtin() {
            *self = builtin_into_empty().clone();
            return Ok(());
        }
        self.merge_slowly(other)
    }

    /// The merge itself, spec by spec.
    fn merge_slowly(&mut self, other: &TransformerConfig) -> Result<(), String> {
        merge_specs(&mut self.name_prefix, &other.name_prefix)?;
        merge_specs(&mut self.name_suffix, &other.name_suffix)?;
        merge_specs(&mut self.namespace, &other.namespace)?;
        merge_specs(&mut self.common_labels, &other.common_labels)?;
        merge_specs(&mut self.template_labels, &other.template_labels)?;
        merge_specs(&mut self.volume_claim_template_labels, &other.volume_claim_template_labels)?;
        merge_specs(&mut self.labels, &other.labels)?;
        merge_specs(&mut self.common_annotations, &other.common_annotations)?;
        merge_specs(&mut self.var_reference, &other.var_reference)?;
        merge_specs(&mut self.images, &other.images)?;
        merge_specs(&mut self.replicas, &other.replicas)?;
        for incoming in &other.name_reference {
            match self.name_reference.iter_mut().find(|existing| existing.gvk == incoming.gvk) {
                Some(existing) => merge_specs(&mut existing.referrers, &incoming.referrers)?,
                None => self.name_reference.push(incoming.clone()),
            }
        }
        self.sort();
        Ok(())
    }
}

/// The builtin tables merged into an empty configuration (kustomize's first `MergeConfig`).
fn builtin_into_empty() -> &'static TransformerConfig {
    static MERGED: OnceLock<TransformerConfig> = OnceLock::new();
    MERGED.get_or_init(|| {
        let mut merged = TransformerConfig::default();
        merged.merge_slowly(TransformerConfig::builtin()).expect("the builtin tables merge");
        merged
    })
}

fn parse_back_reference(value: &Value) -> Result<NameBackReference, String> {
    let map = value.as_map().ok_or("a nameReference entry must be a mapping")?;
    let mut gvk = Gvk::default();
    let mut referrers = Vec::new();
    for (key, field) in map {
        match key.as_str() {
            "group" => gvk.group = string_field(field, key)?,
            "version" => gvk.version = string_field(field, key)?,
            "kind" => gvk.kind = string_field(field, key)?,
            "fieldSpecs" => {
                for item in field.as_seq().unwrap_or(&[]) {
                    referrers.push(FieldSpec::from_value(item)?);
                }
            }
            other => return Err(format!("unknown nameReference field '{other}'")),
        }
    }
    Ok(NameBackReference { gvk, referrers })
}

/// What to make when `create` finds the last field of a path missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// Make nothing: only existing fields are visited.
    Existing,
    /// Make an empty mapping (labels, annotations, selectors).
    Map,
    /// Make a null scalar for the visitor to set (namespace, replicas).
    Scalar,
}

/// Visits the field at `spec`'s path in `object` (when the spec selects the object), calling
/// `visit` on each node found. Lists met on the way are walked element by element.
pub fn visit(
    object: &mut Value,
    spec: &FieldSpec,
    leaf: Leaf,
    visit: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let segments = spec.path_segments();
    let create = spec.create && leaf != Leaf::Existing;
    walk(object, &segments, create, leaf, visit)
        .map_err(|message| format!("considering field '{}': {message}", spec.path))
}

fn walk(
    node: &mut Value,
    path: &[String],
    create: bool,
    leaf: Leaf,
    visit: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return visit(node);
    };
    match node {
        Value::Null => Ok(()),
        Value::Seq(items) => {
            for item in items {
                walk(item, path, create, leaf, visit)?;
            }
            Ok(())
        }
        Value::Map(map) => {
            let (name, is_list) = match first.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (first.as_str(), false),
            };
            if name.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            if create && !is_list {
                let made = if rest.is_empty() { leaf } else { Leaf::Map };
                let field = map.entry(name.to_owned()).or_insert(Value::Null);
                if matches!(field, Value::Null) && made == Leaf::Map {
                    *field = Value::Map(Map::new());
                }
                return walk(field, rest, create, leaf, visit);
            }
            match map.get_mut(name) {
                Some(field) => walk(field, rest, create, leaf, visit),
                None => Ok(()),
            }
        }
        _ => Err("expected sequence or mapping node".into()),
    }
}

/// Applies `visit` along every spec in `specs` that selects `object`'s kind.
pub fn visit_all(
    object: &mut Value,
    specs: &[FieldSpec],
    leaf: Leaf,
    visit: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let gvk = object_gvk(object);
    for spec in specs.iter().filter(|spec| spec.selects(&gvk)) {
        self::visit(object, spec, leaf, visit)?;
    }
    Ok(())
}

/// The group/version/kind of an object.
pub fn object_gvk(object: &Value) -> Gvk {
    let text = |key: &str| object.get_path(&[key]).and_then(Value::as_str).unwrap_or("");
    Gvk::from_api_version(text("apiVersion"), text("kind"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        crate::yaml::parse_document(text, "test.yaml").unwrap()
    }

    #[test]
    fn split_path_keeps_escaped_slashes() {
        assert_eq!(
            split_path("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret"),
            vec!["metadata", "annotations", "nginx.ingress.kubernetes.io/auth-secret"]
        );
    }

    #[test]
    fn builtin_tables_load() {
        let config = TransformerConfig::builtin();
        assert_eq!(config.name_prefix, vec![FieldSpec::any_kind("metadata/name", false)]);
        assert!(
            config.common_labels.iter().any(|s| s.kind == "Service" && s.path == "spec/selector")
        );
        let config_map = config.name_reference.iter().find(|r| r.gvk.kind == "ConfigMap").unwrap();
        assert!(config_map.referrers.len() > 40);
    }

    #[test]
    fn visit_creates_missing_maps_and_walks_lists() {
        let mut object = parse(
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n      - name: b\n",
        );
        let spec = FieldSpec::any_kind("spec/template/metadata/labels", true);
        visit(&mut object, &spec, Leaf::Map, &mut |node| {
            node.as_map_mut().unwrap().insert("app".into(), "x".into());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            object.get_path(&["spec", "template", "metadata", "labels", "app"]),
            Some(&Value::from("x"))
        );
        let mut names = Vec::new();
        let spec = FieldSpec::any_kind("spec/template/spec/containers/name", false);
        visit(&mut object, &spec, Leaf::Existing, &mut |node| {
            names.push(node.as_str().unwrap().to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(names, vec!["a", "b"]);
    }

    #[test]
    fn conflicting_create_flags_are_refused() {
        let mut specs = vec![FieldSpec::any_kind("a/b", true)];
        assert!(merge_specs(&mut specs, &[FieldSpec::any_kind("a/b", false)]).is_err());
        merge_specs(&mut specs, &[FieldSpec::any_kind("a/b", true)]).unwrap();
        assert_eq!(specs.len(), 1);
    }
}
