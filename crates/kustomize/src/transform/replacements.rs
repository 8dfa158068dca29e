//! kustomize's `replacements`: copy a value from one resource's field into fields of others.
//!
//! This module owns reading replacement entries (already parsed into `Value`; the caller loads
//! `path:` files) and applying them to a list of resources, exactly as kustomize v5.5's
//! replacement filter does: the source is found by exact id (one and only one match), targets by
//! `select` minus `reject` (ids and label/annotation selectors), field paths may step through
//! lists by index, `[field=regex]` or `*`, `options.delimiter/index` split values and `create`
//! makes missing fields. A target scalar keeps its type (only its text changes), so a number
//! copied into a string field stays a string. It must not read files or know the pipeline.

use regex::Regex;

use crate::patch::entry_fields::EntryFields;
use crate::patch::selector::{Selector, SelectorError, SelectorSpec};
use crate::patch::strategic_merge::scalar_text;
use crate::resource::{Gvk, ResId};
use crate::value::{Map, Value};

/// The field a replacement reads or writes when none is given.
const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// Why replacements could not be read or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplacementError {
    #[error("invalid replacement: {reason}")]
    Invalid { reason: String },
    #[error(transparent)]
    Selector(#[from] SelectorError),
    #[error("multiple matches for selector {selector}")]
    MultipleSources { selector: String },
    #[error("nothing selected by {selector}")]
    NoSource { selector: String },
    #[error("fieldPath `{field_path}` is missing for replacement source {selector}")]
    MissingSourceField { field_path: String, selector: String },
    #[error("delimiter option can only be used with scalar nodes")]
    DelimiterOnNonScalar,
    #[error("options.index {index} is out of bounds for value {value}")]
    IndexOutOfBounds { index: i64, value: String },
    #[error("unable to find field \"{field_path}\" in replacement target")]
    MissingTargetField { field_path: String },
    #[error("unable to find or create field \"{field_path}\" in replacement target")]
    CannotCreateTargetField { field_path: String },
    #[error("{field_path}: {reason}")]
    Path { field_path: String, reason: String },
    #[error("cannot decode {found} `{text}` as a {tag}")]
    Undecodable { text: String, found: &'static str, tag: &'static str },
}

/// kustomize's `ResId.IsSelectedBy`: every non-empty field of `selector` equals the id's
/// (namespaces compared as effective namespaces).
fn is_selected_by(id: &ResId, selector: &ResId) -> bool {
    let same = |wanted: &str, actual: &str| wanted.is_empty() || wanted == actual;
    same(&selector.name, &id.name)
        && (selector.namespace.is_empty()
            || selector.effective_namespace() == id.effective_namespace())
        && id.gvk.is_selected_by(&selector.gvk.group, &selector.gvk.version, &selector.gvk.kind)
}

fn current_id(resource: &Value) -> ResId {
    let text = |path: &[&str]| resource.get_path(path).and_then(Value::as_str).unwrap_or("");
    ResId {
        gvk: Gvk::from_api_version(text(&["apiVersion"]), text(&["kind"])),
        name: text(&["metadata", "name"]).to_owned(),
        namespace: text(&["metadata", "namespace"]).to_owned(),
    }
}

/// kustomize's `ResId.String()` for a selector, as its messages print it.
fn describe(id: &ResId) -> String {
    id.to_string()
}

/// `options:` of a source or target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldOptions {
    pub delimiter: String,
    pub index: i64,
    pub create: bool,
}

/// Where the value comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub id: ResId,
    pub field_path: String,
    pub options: FieldOptions,
}

/// Where the value goes.
#[derive(Debug, Clone)]
pub struct Target {
    select_id: ResId,
    select: Selector,
    reject: Vec<(ResId, Selector, bool)>,
    field_paths: Vec<String>,
    options: FieldOptions,
}

/// One entry of `replacements:`.
#[derive(Debug, Clone)]
pub struct Replacement {
    pub source: Source,
    targets: Vec<Target>,
}

fn invalid(reason: impl Into<String>) -> ReplacementError {
    ReplacementError::Invalid { reason: reason.into() }
}

fn fields<'a>(
    value: &'a Value,
    known: &[&str],
    strict: bool,
    what: &str,
) -> Result<EntryFields<'a>, ReplacementError> {
    let map = value.as_map().ok_or_else(|| invalid(format!("{what} must be a map")))?;
    EntryFields::new(map, known, strict).map_err(|reason| invalid(format!("{what}: {reason}")))
}

fn text(fields: &EntryFields<'_>, name: &str) -> Result<String, ReplacementError> {
    fields.text(name).map_err(invalid)
}

fn res_id(fields: &EntryFields<'_>) -> Result<ResId, ReplacementError> {
    Ok(ResId {
        gvk: Gvk {
            group: text(fields, "group")?,
            version: text(fields, "version")?,
            kind: text(fields, "kind")?,
        },
        name: text(fields, "name")?,
        namespace: text(fields, "namespace")?,
    })
}

fn options(value: Option<&Value>, strict: bool) -> Result<FieldOptions, ReplacementError> {
    let Some(value) = value.filter(|v| !matches!(v, Value::Null)) else {
        return Ok(FieldOptions::default());
    };
    let fields = fields(value, &["delimiter", "index", "encoding", "create"], strict, "options")?;
    let index = match fields.get("index") {
        None | Some(Value::Null) => 0,
        Some(Value::Int(i)) => *i,
        Some(_) => return Err(invalid("options.index must be an integer")),
    };
    let create = match fields.get("create") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("options.create must be a boolean")),
    };
    Ok(FieldOptions { delimiter: text(&fields, "delimiter")?, index, create })
}

fn selector_parts(
    value: &Value,
    strict: bool,
) -> Result<(ResId, Selector, bool), ReplacementError> {
    let spec = SelectorSpec::from_value(value, strict)?;
    let has_label_or_annotation =
        !spec.label_selector.is_empty() || !spec.annotation_selector.is_empty();
    // Only the label and annotation selectors are used through `Selector`; ids compare exactly.
    let labels_only = SelectorSpec {
        label_selector: spec.label_selector.clone(),
        annotation_selector: spec.annotation_selector.clone(),
        ..SelectorSpec::default()
    };
    let id = ResId {
        gvk: Gvk { group: spec.group, version: spec.version, kind: spec.kind },
        name: spec.name,
        namespace: spec.namespace,
    };
    Ok((id, Selector::new(&labels_only)?, has_label_or_annotation))
}

impl Replacement {
    /// Reads one replacement (`source` + `targets`) written inline in a kustomization, where
    /// kustomize refuses unknown fields.
    pub fn from_value(value: &Value) -> Result<Replacement, ReplacementError> {
        Replacement::read(value, true)
    }

    /// Reads the content of a `replacements: - path:` file: one replacement or a list of them
    /// (decoded leniently, as kustomize decodes those files).
    pub fn from_file_content(value: &Value) -> Result<Vec<Replacement>, ReplacementError> {
        match value {
            Value::Seq(items) => items.iter().map(|item| Replacement::read(item, false)).collect(),
            Value::Map(_) => Ok(vec![Replacement::read(value, false)?]),
            _ => Err(invalid("unsupported replacement type encountered within replacement path")),
        }
    }

    fn read(value: &Value, strict: bool) -> Result<Replacement, ReplacementError> {
        let entry = fields(value, &["source", "targets", "path"], strict, "a replacement")?;
        let source = entry.get("source").filter(|v| !matches!(v, Value::Null));
        let targets = entry.get("targets").and_then(Value::as_seq);
        let (Some(source), Some(targets)) = (source, targets) else {
            return Err(invalid("replacements must specify a source and at least one target"));
        };
        let known = ["group", "version", "kind", "name", "namespace", "fieldPath", "options"];
        let source_fields = fields(source, &known, strict, "source")?;
        let field_path = text(&source_fields, "fieldPath")?;
        let source = Source {
            id: res_id(&source_fields)?,
            field_path: if field_path.is_empty() {
                DEFAULT_FIELD_PATH.to_owned()
            } else {
                field_path
            },
            options: options(source_fields.get("options"), strict)?,
        };
        let targets = targets
            .iter()
            .map(|target| {
                let known = ["select", "reject", "fieldPaths", "options"];
                let target = fields(target, &known, strict, "a target")?;
                let select = target.get("select").filter(|v| !matches!(v, Value::Null));
                let select =
                    select.ok_or_else(|| invalid("target must specify resources to select"))?;
                let (select_id, select, _) = selector_parts(select, strict)?;
                let reject = match target.get("reject").and_then(Value::as_seq) {
                    Some(items) => items
                        .iter()
                        .map(|item| selector_parts(item, strict))
                        .collect::<Result<Vec<_>, _>>()?,
                    None => Vec::new(),
                };
                let mut field_paths = match target.get("fieldPaths").and_then(Value::as_seq) {
                    Some(paths) => paths
                        .iter()
                        .map(|p| {
                            p.as_str()
                                .map(str::to_owned)
                                .ok_or_else(|| invalid("fieldPaths must be strings"))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    None => Vec::new(),
                };
                if field_paths.is_empty() {
                    field_paths.push(DEFAULT_FIELD_PATH.to_owned());
                }
                Ok(Target {
                    select_id,
                    select,
                    reject,
                    field_paths,
                    options: options(target.get("options"), strict)?,
                })
            })
            .collect::<Result<Vec<_>, ReplacementError>>()?;
        Ok(Replacement { source, targets })
    }
}

/// A resource with the ids it had before renames (kustomize's previous-id annotations).
#[derive(Debug)]
pub struct Subject<'a> {
    pub resource: &'a mut Value,
    pub previous_ids: &'a [ResId],
}

fn ids_of(resource: &Value, previous: &[ResId]) -> Vec<ResId> {
    let current = current_id(resource);
    // Previous ids carry the current group and version, as kustomize builds them.
    let previous = previous.iter().map(|id| ResId {
        gvk: Gvk {
            group: current.gvk.group.clone(),
            version: current.gvk.version.clone(),
            ..id.gvk.clone()
        },
        ..id.clone()
    });
    std::iter::once(current.clone()).chain(previous).collect()
}

/// Applies `replacements` in order to `subjects`.
pub fn apply(
    subjects: &mut [Subject<'_>],
    replacements: &[Replacement],
) -> Result<(), ReplacementError> {
    for replacement in replacements {
        let (mut value, alias) = source_value(subjects, &replacement.source)?;
        let path = split_path(&replacement.source.field_path);
        let alias = alias.and_then(|index| {
            let steps = locate(subjects[index].resource, &path)?;
            Some(SourceField { index, steps })
        });
        for target in &replacement.targets {
            apply_target(subjects, &mut value, alias.as_ref(), target)?;
        }
    }
    Ok(())
}

/// Where the value came from, when kyaml hands the source's own node to the targets (no source
/// delimiter): a target that writes into that very field changes the value later targets get.
struct SourceField {
    index: usize,
    /// The concrete keys and indices of the source node in its resource.
    steps: Vec<Step>,
}

/// One concrete step from a node to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn source_value(
    subjects: &[Subject<'_>],
    source: &Source,
) -> Result<(Value, Option<usize>), ReplacementError> {
    let describe_source = || {
        let mut text = describe(&source.id);
        if !source.field_path.is_empty() {
            text.push(':');
            text.push_str(&source.field_path);
        }
        text
    };
    let mut found: Option<usize> = None;
    for (index, subject) in subjects.iter().enumerate() {
        if ids_of(subject.resource, subject.previous_ids)
            .iter()
            .any(|id| is_selected_by(id, &source.id))
        {
            if found.is_some() {
                return Err(ReplacementError::MultipleSources { selector: describe_source() });
            }
            found = Some(index);
        }
    }
    let index = found.ok_or_else(|| ReplacementError::NoSource { selector: describe_source() })?;
    let resource = &*subjects[index].resource;
    let path = split_path(&source.field_path);
    let value = lookup(resource, &path).filter(|v| !is_nil_or_empty(v)).ok_or_else(|| {
        ReplacementError::MissingSourceField {
            field_path: source.field_path.clone(),
            selector: describe(&source.id),
        }
    })?;
    if source.options.delimiter.is_empty() {
        return Ok((value.clone(), Some(index)));
    }
    if matches!(value, Value::Map(_) | Value::Seq(_)) {
        return Err(ReplacementError::DelimiterOnNonScalar);
    }
    let text = scalar_text(value);
    let parts: Vec<&str> = text.split(source.options.delimiter.as_str()).collect();
    let index = usize::try_from(source.options.index).ok().filter(|i| *i < parts.len());
    let index = index.ok_or(ReplacementError::IndexOutOfBounds {
        index: source.options.index,
        value: text.clone(),
    })?;
    Ok((with_text(value, parts[index]), None))
}

fn is_nil_or_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Map(map) => map.is_empty(),
        Value::Seq(items) => items.is_empty(),
        _ => false,
    }
}

fn apply_target(
    subjects: &mut [Subject<'_>],
    value: &mut Value,
    source: Option<&SourceField>,
    target: &Target,
) -> Result<(), ReplacementError> {
    for (subject_index, subject) in subjects.iter_mut().enumerate() {
        let ids = ids_of(subject.resource, subject.previous_ids);
        let candidate = crate::patch::selector::Candidate {
            resource: subject.resource,
            original_name: None,
            original_namespace: None,
        };
        if !target.select.matches(candidate) {
            continue;
        }
        if target.reject.iter().any(|(_, selector, has)| *has && selector.matches(candidate)) {
            continue;
        }
        let rejected = target.reject.iter().any(|(id, _, _)| {
            *id != ResId::default() && ids.iter().any(|own| is_selected_by(own, id))
        });
        if rejected || !ids.iter().any(|id| is_selected_by(id, &target.select_id)) {
            continue;
        }
        for field_path in &target.field_paths {
            let path = split_path(field_path);
            // Annotation values are strings to kustomize: a new one keeps its exact text.
            let annotation = path.len() == 3 && path[0] == "metadata" && path[1] == "annotations";
            let create = target.options.create;
            let mut count = 0usize;
            let mut failure = None;
            let aliased = source.filter(|s| s.index == subject_index).map(|s| s.steps.as_slice());
            let shape = value.clone();
            let walked =
                visit_path(subject.resource, &path, create, &shape, &mut |field, fresh, trail| {
                    count += 1;
                    if failure.is_some() {
                        return;
                    }
                    let landing = Landing::of(fresh, annotation);
                    match set_field(field, landing, value, &target.options) {
                        // The source's own node was written: later writes copy its new text.
                        Ok(()) if aliased == Some(trail) => *value = field.clone(),
                        Ok(()) => {}
                        Err(err) => failure = Some(err),
                    }
                });
            if walked.is_err() {
                return Err(if create {
                    ReplacementError::CannotCreateTargetField { field_path: field_path.clone() }
                } else {
                    ReplacementError::MissingTargetField { field_path: field_path.clone() }
                });
            }
            if let Some(err) = failure {
                return Err(err);
            }
            if count == 0 {
                return Err(if create {
                    ReplacementError::CannotCreateTargetField { field_path: field_path.clone() }
                } else {
                    ReplacementError::MissingTargetField { field_path: field_path.clone() }
                });
            }
        }
    }
    Ok(())
}

/// Writes `value` into `field`: a scalar keeps its type and takes the new text; anything else is
/// replaced by the value.
fn set_field(
    field: &mut Value,
    landing: Landing,
    value: &Value,
    options: &FieldOptions,
) -> Result<(), ReplacementError> {
    let mut value = value.clone();
    if !options.delimiter.is_empty() {
        if matches!(field, Value::Map(_) | Value::Seq(_)) {
            return Err(ReplacementError::DelimiterOnNonScalar);
        }
        let current = scalar_text(field);
        let mut parts: Vec<String> =
            current.split(options.delimiter.as_str()).map(str::to_owned).collect();
        let piece = scalar_text(&value);
        match usize::try_from(options.index) {
            Err(_) => parts.insert(0, piece),
            Ok(index) if index >= parts.len() => parts.push(piece),
            Ok(index) => parts[index] = piece,
        }
        value = Value::String(parts.join(&options.delimiter));
    }
    match field {
        Value::Map(_) | Value::Seq(_) => *field = value,
        scalar => {
            let text = match &value {
                Value::Map(_) | Value::Seq(_) => {
                    *scalar = value;
                    return Ok(());
                }
                other => scalar_text(other),
            };
            *scalar = match landing {
                Landing::Created => plain_scalar(&text),
                Landing::CreatedAnnotation => Value::String(text),
                Landing::Existing => retyped(scalar, &text)?,
            };
        }
    }
    Ok(())
}

/// What kind of node a target field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Landing {
    /// It was there: it keeps its type.
    Existing,
    /// `create` made it: untagged, so its type comes from the text.
    Created,
    /// `create` made an annotation: kustomize keeps annotation values as text.
    CreatedAnnotation,
}

impl Landing {
    fn of(created: bool, annotation: bool) -> Landing {
        match (created, annotation) {
            (false, _) => Landing::Existing,
            (true, false) => Landing::Created,
            (true, true) => Landing::CreatedAnnotation,
        }
    }
}

/// The YAML tag kustomize's decoder would give a plain scalar of this type.
fn tag_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "!!null",
        Value::Bool(_) => "!!bool",
        Value::Int(_) => "!!int",
        Value::Float(_) => "!!float",
        Value::String(_) => "!!str",
        Value::Seq(_) => "!!seq",
        Value::Map(_) => "!!map",
    }
}

/// `text` written into an existing scalar: kyaml changes the node's text and keeps its tag, so
/// the result must still decode as that tag — a string stays a string, and e.g. `hello` in an
/// integer field fails the build as kustomize's does ("cannot decode !!str `hello` as a !!int").
fn retyped(like: &Value, text: &str) -> Result<Value, ReplacementError> {
    let resolved = plain_scalar(text);
    let fits = match (like, &resolved) {
        (Value::String(_), _) => return Ok(Value::String(text.to_owned())),
        (Value::Float(_), Value::Int(i)) => return Ok(Value::Float(*i as f64)),
        (Value::Null, Value::Null)
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Int(_), Value::Int(_))
        | (Value::Float(_), Value::Float(_)) => true,
        _ => false,
    };
    if fits {
        Ok(resolved)
    } else {
        Err(ReplacementError::Undecodable {
            text: text.to_owned(),
            found: tag_of(&resolved),
            tag: tag_of(like),
        })
    }
}

/// A scalar of the same type as `like` holding `text` (kyaml changes a node's text, not its
/// tag); a created or null node has no tag, so its type comes from the text.
fn with_text(like: &Value, text: &str) -> Value {
    match like {
        Value::String(_) => Value::String(text.to_owned()),
        Value::Int(_) => text.parse().map(Value::Int).unwrap_or_else(|_| plain_scalar(text)),
        Value::Float(_) => text.parse().map(Value::Float).unwrap_or_else(|_| plain_scalar(text)),
        _ => plain_scalar(text),
    }
}

/// The type a plain (untagged, unquoted) scalar with this text resolves to, by kyaml's rules
/// (the YAML parser's resolver); text that would not stay one plain scalar is a string.
pub(crate) fn plain_scalar(text: &str) -> Value {
    let single_plain_scalar = !text.is_empty()
        && !text.contains([
            '\n', ':', '#', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '\'', '"', '%', '@',
            '`',
        ])
        && text.trim() == text;
    if text.is_empty() {
        return Value::Null;
    }
    if single_plain_scalar
        && let Ok(value @ (Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_))) =
            crate::yaml::parse_document(text, "replacement value")
    {
        return value;
    }
    Value::String(text.to_owned())
}

/// kyaml's `SmarterPathSplitter`: splits on `.`, keeping `[a.b=c.d]` whole and honouring `\.`.
pub fn split_path(path: &str) -> Vec<String> {
    let mut raw: Vec<String> = path.split('.').map(str::to_owned).collect();
    if raw.len() > 1 && raw[0].is_empty() {
        raw.remove(0);
    }
    let mut escaped: Vec<String> = Vec::new();
    for part in raw {
        match escaped.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(&part);
            }
            _ => escaped.push(part),
        }
    }
    let mut result = Vec::new();
    let mut i = 0;
    while i < escaped.len() {
        let part = &escaped[i];
        if part.starts_with('[') && !part.ends_with(']') {
            let mut joined = vec![part.clone()];
            while i < escaped.len() - 1 {
                i += 1;
                joined.push(escaped[i].clone());
                if escaped[i].ends_with(']') {
                    break;
                }
            }
            let joined = joined.join(".");
            if joined.contains('=') {
                result.push(joined);
            } else {
                result.push(joined.trim_matches(['[', ']']).to_owned());
            }
        } else {
            result.push(part.clone());
        }
        i += 1;
    }
    result
}

fn list_selector(part: &str) -> Option<(&str, &str)> {
    let inner = part.strip_prefix('[')?.strip_suffix(']')?;
    Some(inner.split_once('=').unwrap_or((inner, "")))
}

/// The concrete keys and indices `lookup` follows to the source node.
fn locate(value: &Value, path: &[String]) -> Option<Vec<Step>> {
    let mut node = value;
    let mut steps = Vec::new();
    for part in path.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let next = lookup(node, &[part.to_owned()])?;
        let step = match node {
            Value::Seq(items) => {
                Step::Index(items.iter().position(|item| std::ptr::eq(item, next))?)
            }
            _ => Step::Key(part.to_owned()),
        };
        steps.push(step);
        node = next;
    }
    Some(steps)
}

/// kyaml's `Lookup` for a source: exact `[field=value]` matches, indices, `-` for the last.
fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = value;
    for part in path.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        node = if let Ok(index) = part.parse::<i64>() {
            let items = node.as_seq()?;
            items.get(usize::try_from(index).ok()?)?
        } else if part == "-" {
            node.as_seq()?.last()?
        } else if part.starts_with('[') && part.ends_with(']') {
            let (field, wanted) = list_selector(part)?;
            let items = node.as_seq()?;
            if field.is_empty() {
                items.iter().find(|item| {
                    !matches!(item, Value::Map(_) | Value::Seq(_)) && scalar_text(item) == wanted
                })?
            } else {
                items.iter().find(|item| {
                    item.as_map()
                        .and_then(|m| m.get(field))
                        .is_some_and(|v| scalar_text(v) == wanted)
                })?
            }
        } else {
            node.as_map()?.get(part)?
        };
    }
    Some(node)
}

/// What kind of node `create` makes for a path part, from the part after it.
fn created_node(next: Option<&String>, value: &Value) -> Value {
    match next {
        Some(next) if (next.starts_with('[') && next.ends_with(']')) || is_index(next) => {
            Value::Seq(Vec::new())
        }
        Some(_) => Value::Map(Map::new()),
        None => match value {
            Value::Map(_) => Value::Map(Map::new()),
            Value::Seq(_) => Value::Seq(Vec::new()),
            _ => Value::Null,
        },
    }
}

fn is_index(part: &str) -> bool {
    part.parse::<i64>().is_ok_and(|i| i >= 0)
}

fn wrong_kind(expected: &str) -> String {
    format!("wrong node kind: expected {expected}")
}

/// A field a target path reached: the node, and whether `create` just made it (a made node has
/// no YAML tag yet, so its type will come from the text written into it).
type Found<'f> = dyn FnMut(&mut Value, bool, &[Step]) + 'f;

/// kyaml's `PathMatcher` for targets: calls `found` on every field the path reaches, creating
/// missing ones when `create` is set. `[field=regex]` matches unanchored, as kyaml does.
fn visit_path(
    node: &mut Value,
    path: &[String],
    create: bool,
    value: &Value,
    found: &mut Found<'_>,
) -> Result<(), String> {
    visit_from(node, false, path, create, value, &mut Vec::new(), found)
}

/// `trail` holds the concrete keys and indices from the resource to `node`.
fn visit_from(
    node: &mut Value,
    fresh: bool,
    path: &[String],
    create: bool,
    value: &Value,
    trail: &mut Vec<Step>,
    found: &mut Found<'_>,
) -> Result<(), String> {
    let Some((part, rest)) = path.split_first() else {
        found(node, fresh, trail);
        return Ok(());
    };
    if is_index(part) {
        let index: usize = part.parse().map_err(|_| format!("bad index {part}"))?;
        let items = node.as_seq_mut().ok_or_else(|| wrong_kind("SequenceNode"))?;
        let made = items.len() == index && create;
        if made {
            items.push(created_node(rest.first(), value));
        }
        let len = items.len();
        let item = items
            .get_mut(index)
            .ok_or_else(|| format!("index {index} specified but only {len} elements found"))?;
        return descend(item, Step::Index(index), made, rest, create, value, trail, found);
    }
    if part.starts_with('[') && part.ends_with(']') {
        let (field, pattern) = part[1..part.len() - 1]
            .split_once('=')
            .ok_or("list path element must contain fieldName=fieldValue for element to match")?;
        let regex = Regex::new(pattern).map_err(|e| e.to_string())?;
        let items = node.as_seq_mut().ok_or_else(|| wrong_kind("SequenceNode"))?;
        let mut matched = 0usize;
        let mut counting = |field_value: &mut Value, fresh: bool, trail: &[Step]| {
            matched += 1;
            found(field_value, fresh, trail);
        };
        for (index, item) in items.iter_mut().enumerate() {
            let selected = if field.is_empty() {
                !matches!(item, Value::Map(_) | Value::Seq(_)) && regex.is_match(&scalar_text(item))
            } else {
                match item.as_map().and_then(|m| m.get(field)) {
                    Some(Value::Null) | None => false,
                    Some(v) => regex.is_match(&scalar_text(v)),
                }
            };
            if selected {
                let step = Step::Index(index);
                descend(item, step, false, rest, create, value, trail, &mut counting)?;
            }
        }
        if matched == 0 && create {
            let key = plain_scalar(pattern);
            let element = if field.is_empty() {
                key
            } else {
                Value::Map(Map::from_iter([(field.to_owned(), key)]))
            };
            items.push(element);
            let index = items.len() - 1;
            let item = items.last_mut().expect("just pushed");
            return descend(item, Step::Index(index), true, rest, create, value, trail, found);
        }
        return Ok(());
    }
    if part == "*" {
        let items = node.as_seq_mut().ok_or_else(|| wrong_kind("SequenceNode"))?;
        for (index, item) in items.iter_mut().enumerate() {
            descend(item, Step::Index(index), false, rest, create, value, trail, found)?;
        }
        return Ok(());
    }
    let map = node.as_map_mut().ok_or_else(|| wrong_kind("MappingNode"))?;
    let made = !map.contains_key(part.as_str());
    if made {
        if !create {
            return Ok(());
        }
        map.insert(part.clone(), created_node(rest.first(), value));
    }
    let child = map.get_mut(part.as_str()).expect("present");
    descend(child, Step::Key(part.clone()), made, rest, create, value, trail, found)
}

/// `visit_from` one step down, keeping `trail` in step.
#[allow(clippy::too_many_arguments)]
fn descend(
    node: &mut Value,
    step: Step,
    fresh: bool,
    path: &[String],
    create: bool,
    value: &Value,
    trail: &mut Vec<Step>,
    found: &mut Found<'_>,
) -> Result<(), String> {
    trail.push(step);
    let result = visit_from(node, fresh, path, create, value, trail, found);
    trail.pop();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::build::{map, s, seq};

    fn config_map(name: &str, data: Vec<(&str, Value)>) -> Value {
        map(vec![
            ("apiVersion", s("v1")),
            ("kind", s("ConfigMap")),
            ("metadata", map(vec![("name", s(name))])),
            ("data", map(data)),
        ])
    }

    fn deployment(name: &str, containers: Vec<Value>) -> Value {
        map(vec![
            ("apiVersion", s("apps/v1")),
            ("kind", s("Deployment")),
            ("metadata", map(vec![("name", s(name))])),
            (
                "spec",
                map(vec![(
                    "template",
                    map(vec![("spec", map(vec![("containers", seq(containers))]))]),
                )]),
            ),
        ])
    }

    fn run(resources: &mut [Value], replacement: Value) -> Result<(), ReplacementError> {
        let replacement = Replacement::from_value(&replacement)?;
        let mut subjects: Vec<Subject<'_>> =
            resources.iter_mut().map(|resource| Subject { resource, previous_ids: &[] }).collect();
        apply(&mut subjects, &[replacement])
    }

    fn source(kind: &str, name: &str, field_path: &str) -> Value {
        map(vec![("kind", s(kind)), ("name", s(name)), ("fieldPath", s(field_path))])
    }

    #[test]
    fn copies_into_list_selected_fields_and_keeps_the_target_type() {
        let mut resources = vec![
            config_map("env", vec![("image", s("nginx:1.25")), ("port", s("8080"))]),
            deployment("web", vec![map(vec![("name", s("web")), ("image", s("old"))])]),
        ];
        run(
            &mut resources,
            map(vec![
                ("source", source("ConfigMap", "env", "data.image")),
                (
                    "targets",
                    seq(vec![map(vec![
                        ("select", map(vec![("kind", s("Deployment"))])),
                        (
                            "fieldPaths",
                            seq(vec![s("spec.template.spec.containers.[name=web].image")]),
                        ),
                    ])]),
                ),
            ]),
        )
        .expect("applies");
        let image = resources[1]
            .get_path(&["spec", "template", "spec", "containers"])
            .and_then(Value::as_seq);
        assert_eq!(image.and_then(|c| c[0].get_path(&["image"])), Some(&s("nginx:1.25")));
    }

    #[test]
    fn delimiter_and_index_pick_and_place_pieces() {
        let mut resources = vec![
            config_map("env", vec![("image", s("nginx:1.25"))]),
            config_map("target", vec![("ref", s("registry/app:old"))]),
        ];
        let mut src = source("ConfigMap", "env", "data.image");
        src.as_map_mut()
            .unwrap()
            .insert("options".into(), map(vec![("delimiter", s(":")), ("index", Value::Int(1))]));
        run(
            &mut resources,
            map(vec![
                ("source", src),
                (
                    "targets",
                    seq(vec![map(vec![
                        ("select", map(vec![("name", s("target"))])),
                        ("fieldPaths", seq(vec![s("data.ref")])),
                        ("options", map(vec![("delimiter", s(":")), ("index", Value::Int(1))])),
                    ])]),
                ),
            ]),
        )
        .expect("applies");
        assert_eq!(resources[1].get_path(&["data", "ref"]), Some(&s("registry/app:1.25")));
    }

    #[test]
    fn create_makes_missing_fields_and_missing_fields_otherwise_fail() {
        let replacement = |create: bool| {
            map(vec![
                ("source", source("ConfigMap", "env", "data.port")),
                (
                    "targets",
                    seq(vec![map(vec![
                        ("select", map(vec![("kind", s("Deployment"))])),
                        (
                            "fieldPaths",
                            seq(vec![s(
                                "spec.template.spec.containers.[name=web].ports.0.containerPort",
                            )]),
                        ),
                        ("options", map(vec![("create", Value::Bool(create))])),
                    ])]),
                ),
            ])
        };
        let fresh = || {
            vec![
                config_map("env", vec![("port", s("8080"))]),
                deployment("web", vec![map(vec![("name", s("web"))])]),
            ]
        };
        let mut resources = fresh();
        assert!(matches!(
            run(&mut resources, replacement(false)),
            Err(ReplacementError::MissingTargetField { .. })
        ));
        let mut resources = fresh();
        run(&mut resources, replacement(true)).expect("creates");
        let containers = resources[1]
            .get_path(&["spec", "template", "spec", "containers"])
            .and_then(Value::as_seq);
        let port = containers.and_then(|c| c[0].get_path(&["ports"])).and_then(Value::as_seq);
        // A created field has no tag: "8080" becomes a number, as in kustomize.
        assert_eq!(
            port.map(|p| p[0].clone()),
            Some(map(vec![("containerPort", Value::Int(8080))]))
        );
    }

    #[test]
    fn reject_and_source_errors() {
        let mut resources =
            vec![config_map("a", vec![("k", s("v"))]), config_map("b", vec![("k", s("old"))])];
        let replacement = map(vec![
            ("source", source("ConfigMap", "a", "data.k")),
            (
                "targets",
                seq(vec![map(vec![
                    ("select", map(vec![("kind", s("ConfigMap"))])),
                    ("reject", seq(vec![map(vec![("name", s("a"))])])),
                    ("fieldPaths", seq(vec![s("data.k")])),
                ])]),
            ),
        ]);
        run(&mut resources, replacement).expect("applies");
        assert_eq!(resources[1].get_path(&["data", "k"]), Some(&s("v")));

        let ambiguous = map(vec![
            ("source", map(vec![("kind", s("ConfigMap"))])),
            ("targets", seq(vec![map(vec![("select", map(vec![("kind", s("ConfigMap"))]))])])),
        ]);
        assert!(matches!(
            run(&mut resources, ambiguous),
            Err(ReplacementError::MultipleSources { .. })
        ));
        let missing = map(vec![
            ("source", source("ConfigMap", "a", "data.nope")),
            ("targets", seq(vec![map(vec![("select", map(vec![("kind", s("ConfigMap"))]))])])),
        ]);
        assert!(matches!(
            run(&mut resources, missing),
            Err(ReplacementError::MissingSourceField { .. })
        ));
        assert!(matches!(
            Replacement::from_value(&map(vec![("source", source("ConfigMap", "a", ""))])),
            Err(ReplacementError::Invalid { .. })
        ));
    }

    #[test]
    fn a_typed_target_must_still_decode_as_its_type() {
        // Pinned against kubectl kustomize v5.5.0: "cannot decode !!str `hello` as a !!int".
        let target = |value: Value| config_map("b", vec![("n", value)]);
        let replacement = map(vec![
            ("source", source("ConfigMap", "a", "data.x")),
            (
                "targets",
                seq(vec![map(vec![
                    ("select", map(vec![("name", s("b"))])),
                    ("fieldPaths", seq(vec![s("data.n")])),
                ])]),
            ),
        ]);
        let mut resources = vec![config_map("a", vec![("x", s("hello"))]), target(Value::Int(5))];
        assert!(matches!(
            run(&mut resources, replacement.clone()),
            Err(ReplacementError::Undecodable { tag: "!!int", .. })
        ));
        let mut resources = vec![config_map("a", vec![("x", s("7"))]), target(Value::Float(1.5))];
        run(&mut resources, replacement.clone()).expect("an integer fits a float field");
        assert_eq!(resources[1].get_path(&["data", "n"]), Some(&Value::Float(7.0)));
        let mut resources = vec![config_map("a", vec![("x", s("7"))]), target(s("old"))];
        run(&mut resources, replacement).expect("anything fits a string field");
        assert_eq!(resources[1].get_path(&["data", "n"]), Some(&s("7")));
    }

    #[test]
    fn writing_into_the_source_field_changes_what_later_targets_get() {
        // Pinned against kubectl kustomize v5.5.0: kyaml hands the targets the source's own node.
        let mut resources = vec![
            config_map("src", vec![("image", s("reg.io/x:2"))]),
            config_map("other", vec![("image", s("old"))]),
        ];
        let replacement = map(vec![
            ("source", source("ConfigMap", "src", "data.image")),
            (
                "targets",
                seq(vec![map(vec![
                    ("select", map(vec![("kind", s("ConfigMap"))])),
                    ("fieldPaths", seq(vec![s("data.image")])),
                    ("options", map(vec![("delimiter", s(":")), ("index", Value::Int(1))])),
                ])]),
            ),
        ]);
        run(&mut resources, replacement).expect("applies");
        assert_eq!(resources[0].get_path(&["data", "image"]), Some(&s("reg.io/x:reg.io/x:2")));
        assert_eq!(resources[1].get_path(&["data", "image"]), Some(&s("old:reg.io/x:reg.io/x:2")));
    }

    #[test]
    fn each_write_into_the_source_node_feeds_the_next_write_of_the_same_path() {
        // Pinned against kubectl kustomize v5.5.0: names become `db:db` then `web:db:db`.
        let container = |name: &str| map(vec![("name", s(name)), ("image", s("nginx:1"))]);
        let mut resources = vec![deployment("api", vec![container("db"), container("web")])];
        let replacement = map(vec![
            ("source", source("Deployment", "api", "spec.template.spec.containers.0.name")),
            (
                "targets",
                seq(vec![map(vec![
                    ("select", map(vec![("kind", s("Deployment"))])),
                    (
                        "fieldPaths",
                        seq(vec![s("spec.template.spec.containers.[image=nginx.*].name")]),
                    ),
                    ("options", map(vec![("delimiter", s(":")), ("index", Value::Int(3))])),
                ])]),
            ),
        ]);
        run(&mut resources, replacement).expect("applies");
        let containers = resources[0].get_path(&["spec", "template", "spec", "containers"]);
        let names: Vec<&Value> = containers
            .and_then(Value::as_seq)
            .unwrap()
            .iter()
            .filter_map(|c| c.get_path(&["name"]))
            .collect();
        assert_eq!(names, [&s("db:db"), &s("web:db:db")]);
    }

    #[test]
    fn paths_split_like_kyaml() {
        assert_eq!(split_path("a.[name=x.y].b"), ["a", "[name=x.y]", "b"]);
        assert_eq!(
            split_path(r"metadata.annotations.example\.com/x"),
            ["metadata", "annotations", "example.com/x"]
        );
        assert_eq!(split_path("spec.containers.0.image"), ["spec", "containers", "0", "image"]);
    }
}
