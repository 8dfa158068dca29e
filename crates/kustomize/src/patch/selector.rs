//! Which resources a patch (or a replacement) targets: kustomize's `Selector` — group, version,
//! kind, name and namespace as anchored regular expressions, plus Kubernetes label and
//! annotation selectors — and how a patch's content decides between strategic merge and JSON 6902.
//!
//! Matching is pure: the caller hands each candidate's current object and its original name and
//! namespace (kustomize matches either, so a patch written against a base still finds a resource
//! after `namePrefix` or `namespace` changed it). Nothing here changes a resource.

use regex::Regex;

use crate::patch::entry_fields::EntryFields;
use crate::patch::json6902::{self, JsonPatchError, Operation};
use crate::resource::Gvk;
use crate::value::{Map, Value};

use crate::resource::NOT_A_NAMESPACE as NOT_NAMESPACEABLE;

/// Why a selector is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectorError {
    #[error("invalid {field} pattern {pattern:?}: {reason}")]
    Pattern { field: &'static str, pattern: String, reason: String },
    #[error("invalid {field} {selector:?}: {reason}")]
    Requirement { field: &'static str, selector: String, reason: String },
    #[error("invalid selector: {reason}")]
    Field { reason: String },
}

/// A target selector as written in a kustomization (`target:` of a patch, `select:`/`reject:`
/// of a replacement). Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectorSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

impl SelectorSpec {
    /// Reads a selector map (`group`, `version`, `kind`, `name`, `namespace`, `labelSelector`,
    /// `annotationSelector`). `strict` refuses other keys, as kustomize does inside a
    /// kustomization (but not in a replacement file).
    pub fn from_value(value: &Value, strict: bool) -> Result<SelectorSpec, SelectorError> {
        let Some(map) = value.as_map() else { return Ok(SelectorSpec::default()) };
        let fields = EntryFields::new(map, &SELECTOR_FIELDS, strict)
            .map_err(|reason| SelectorError::Field { reason })?;
        let text = |name: &str| fields.text(name).map_err(|reason| SelectorError::Field { reason });
        Ok(SelectorSpec {
            group: text("group")?,
            version: text("version")?,
            kind: text("kind")?,
            name: text("name")?,
            namespace: text("namespace")?,
            label_selector: text("labelSelector")?,
            annotation_selector: text("annotationSelector")?,
        })
    }
}

const SELECTOR_FIELDS: [&str; 7] =
    ["group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"];

/// A compiled selector.
#[derive(Debug, Clone)]
pub struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

/// What a selector looks at in one resource.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The resource as it is now.
    pub resource: &'a Value,
    /// Its name before any prefix/suffix was added (None: same as now).
    pub original_name: Option<&'a str>,
    /// Its namespace before a namespace transformer changed it (None: same as now).
    pub original_namespace: Option<&'a str>,
}

fn anchored(field: &'static str, pattern: &str) -> Result<Option<Regex>, SelectorError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pattern})$")).map(Some).map_err(|err| SelectorError::Pattern {
        field,
        pattern: pattern.to_owned(),
        reason: err.to_string(),
    })
}

fn text_at<'a>(resource: &'a Value, path: &[&str]) -> &'a str {
    resource.get_path(path).and_then(Value::as_str).unwrap_or("")
}

/// The group and version of an apiVersion (`apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`)).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

impl Selector {
    pub fn new(spec: &SelectorSpec) -> Result<Selector, SelectorError> {
        Ok(Selector {
            group: anchored("group", &spec.group)?,
            version: anchored("version", &spec.version)?,
            kind: anchored("kind", &spec.kind)?,
            name: anchored("name", &spec.name)?,
            namespace: anchored("namespace", &spec.namespace)?,
            labels: parse_requirements("labelSelector", &spec.label_selector)?,
            annotations: parse_requirements("annotationSelector", &spec.annotation_selector)?,
        })
    }

    /// Whether `candidate` is selected.
    pub fn matches(&self, candidate: Candidate<'_>) -> bool {
        let resource = candidate.resource;
        let api_version = text_at(resource, &["apiVersion"]);
        let kind = text_at(resource, &["kind"]);
        let (group, version) = split_api_version(api_version);
        let cluster_scoped = Gvk::from_api_version(api_version, kind).is_cluster_scoped();
        let effective = |namespace: &str| -> String {
            if cluster_scoped {
                NOT_NAMESPACEABLE.to_owned()
            } else if namespace.is_empty() {
                "default".to_owned()
            } else {
                namespace.to_owned()
            }
        };
        if let Some(pattern) = &self.namespace {
            let current = effective(text_at(resource, &["metadata", "namespace"]));
            let original = candidate.original_namespace.map(effective);
            if !pattern.is_match(&current) && !original.is_some_and(|ns| pattern.is_match(&ns)) {
                return false;
            }
        }
        if let Some(pattern) = &self.name {
            let current = text_at(resource, &["metadata", "name"]);
            if !pattern.is_match(current)
                && !candidate.original_name.is_some_and(|n| pattern.is_match(n))
            {
                return false;
            }
        }
        let gvk_matches = [(&self.group, group), (&self.version, version), (&self.kind, kind)]
            .into_iter()
            .all(|(pattern, text)| pattern.as_ref().is_none_or(|p| p.is_match(text)));
        if !gvk_matches {
            return false;
        }
        let labels = resource.get_path(&["metadata", "labels"]).and_then(Value::as_map);
        let annotations = resource.get_path(&["metadata", "annotations"]).and_then(Value::as_map);
        self.labels.iter().all(|r| r.matches(labels))
            && self.annotations.iter().all(|r| r.matches(annotations))
    }
}

/// One requirement of a Kubernetes label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

impl Requirement {
    fn matches(&self, labels: Option<&Map>) -> bool {
        let get = |key: &str| -> Option<String> {
            labels.and_then(|l| l.get(key)).map(crate::patch::strategic_merge::scalar_text)
        };
        match self {
            Requirement::Exists(key) => get(key).is_some(),
            Requirement::NotExists(key) => get(key).is_none(),
            Requirement::In(key, values) => get(key).is_some_and(|v| values.contains(&v)),
            Requirement::NotIn(key, values) => get(key).is_none_or(|v| !values.contains(&v)),
            Requirement::GreaterThan(key, bound) => {
                get(key).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v > *bound)
            }
            Requirement::LessThan(key, bound) => {
                get(key).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < *bound)
            }
        }
    }
}

/// Splits a selector on commas outside parentheses.
fn split_requirements(selector: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, ch) in selector.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&selector[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&selector[start..]);
    parts
}

fn parse_requirements(
    field: &'static str,
    selector: &str,
) -> Result<Vec<Requirement>, SelectorError> {
    let error = |reason: &str| SelectorError::Requirement {
        field,
        selector: selector.to_owned(),
        reason: reason.to_owned(),
    };
    if selector.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut requirements = Vec::new();
    for part in split_requirements(selector) {
        let part = part.trim();
        if part.is_empty() {
            return Err(error("empty requirement"));
        }
        if let Some(key) = part.strip_prefix('!') {
            requirements
                .push(Requirement::NotExists(checked_key(key.trim()).map_err(|r| error(&r))?));
            continue;
        }
        let set_operator = [(" notin ", false), (" in ", true)]
            .into_iter()
            .find_map(|(op, is_in)| part.find(op).map(|at| (at, op.len(), is_in)));
        if let Some((at, len, is_in)) = set_operator {
            let key = checked_key(part[..at].trim()).map_err(|r| error(&r))?;
            let rest = part[at + len..].trim();
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| error("expected a parenthesised list of values"))?;
            let values: Vec<String> = inner.split(',').map(|v| v.trim().to_owned()).collect();
            requirements.push(if is_in {
                Requirement::In(key, values)
            } else {
                Requirement::NotIn(key, values)
            });
            continue;
        }
        let operators: [(&str, u8); 5] = [("!=", 0), ("==", 1), ("=", 1), (">", 2), ("<", 3)];
        let found =
            operators.iter().find_map(|(op, code)| part.find(op).map(|at| (at, op.len(), *code)));
        match found {
            None => {
                requirements.push(Requirement::Exists(checked_key(part).map_err(|r| error(&r))?))
            }
            Some((at, len, code)) => {
                let key = checked_key(part[..at].trim()).map_err(|r| error(&r))?;
                let value = part[at + len..].trim().to_owned();
                requirements.push(match code {
                    0 => Requirement::NotIn(key, vec![value]),
                    1 => Requirement::In(key, vec![value]),
                    2 => Requirement::GreaterThan(
                        key,
                        value.parse().map_err(|_| error("> needs an integer"))?,
                    ),
                    _ => Requirement::LessThan(
                        key,
                        value.parse().map_err(|_| error("< needs an integer"))?,
                    ),
                });
            }
        }
    }
    Ok(requirements)
}

fn checked_key(key: &str) -> Result<String, String> {
    let valid = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid { Ok(key.to_owned()) } else { Err(format!("invalid key {key:?}")) }
}

/// What a patch's text turned out to be, decided by content as kustomize decides it: a YAML or
/// JSON list of operations is a JSON 6902 patch; one or more objects are strategic merge patches.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchContent {
    StrategicMerge(Vec<Value>),
    Json6902(Vec<Operation>),
    /// Nothing but comments or empty documents: the patch does nothing.
    Empty,
}

impl PatchContent {
    /// Classifies the parsed documents of a patch.
    pub fn from_documents(documents: Vec<Value>) -> Result<PatchContent, JsonPatchError> {
        let documents: Vec<Value> =
            documents.into_iter().filter(|d| !matches!(d, Value::Null)).collect();
        match documents.as_slice() {
            [] => Ok(PatchContent::Empty),
            [list @ Value::Seq(_)] => Ok(PatchContent::Json6902(json6902::decode(list)?)),
            _ if documents.iter().all(|d| d.as_map().is_some()) => Ok(PatchContent::StrategicMerge(documents)),
            _ => Err(JsonPatchError::Invalid {
                reason: "a patch must be objects (strategic merge) or one list of operations (JSON 6902)".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::build::{map, s};

    fn resource(
        api_version: &str,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        labels: Vec<(&str, &str)>,
    ) -> Value {
        let mut metadata = vec![("name", s(name))];
        if let Some(ns) = namespace {
            metadata.push(("namespace", s(ns)));
        }
        metadata.push(("labels", map(labels.into_iter().map(|(k, v)| (k, s(v))).collect())));
        map(vec![("apiVersion", s(api_version)), ("kind", s(kind)), ("metadata", map(metadata))])
    }

    fn selects(spec: SelectorSpec, resource: &Value) -> bool {
        Selector::new(&spec).expect("valid").matches(Candidate {
            resource,
            original_name: None,
            original_namespace: None,
        })
    }

    #[test]
    fn fields_are_anchored_regular_expressions() {
        let web = resource("apps/v1", "Deployment", "web-api", Some("prod"), vec![]);
        let spec = |kind: &str, name: &str| SelectorSpec {
            kind: kind.into(),
            name: name.into(),
            ..Default::default()
        };
        assert!(selects(spec("Deployment", "web-.*"), &web));
        assert!(!selects(spec("Deploy", ""), &web));
        assert!(!selects(spec("", "web"), &web));
        assert!(selects(spec("Deployment|StatefulSet", ""), &web));
        assert!(selects(
            SelectorSpec { group: "apps".into(), version: "v1".into(), ..Default::default() },
            &web
        ));
        assert!(!selects(SelectorSpec { group: "batch".into(), ..Default::default() }, &web));
    }

    #[test]
    fn namespaces_default_and_cluster_scoped_kinds_never_match_a_namespace() {
        let unnamespaced = resource("v1", "ConfigMap", "c", None, vec![]);
        let default_ns = SelectorSpec { namespace: "default".into(), ..Default::default() };
        assert!(selects(default_ns.clone(), &unnamespaced));
        let namespace = resource("v1", "Namespace", "default", None, vec![]);
        assert!(!selects(default_ns, &namespace));
    }

    #[test]
    fn original_names_still_select_after_a_prefix() {
        let renamed = resource("v1", "Service", "prod-web", None, vec![]);
        let selector = Selector::new(&SelectorSpec { name: "web".into(), ..Default::default() })
            .expect("valid");
        assert!(selector.matches(Candidate {
            resource: &renamed,
            original_name: Some("web"),
            original_namespace: None
        }));
        assert!(!selector.matches(Candidate {
            resource: &renamed,
            original_name: None,
            original_namespace: None
        }));
    }

    #[test]
    fn label_selector_syntax() {
        let r = resource("v1", "Pod", "p", None, vec![("app", "web"), ("tier", "front")]);
        let with =
            |selector: &str| SelectorSpec { label_selector: selector.into(), ..Default::default() };
        assert!(selects(with("app=web"), &r));
        assert!(selects(with("app==web,tier"), &r));
        assert!(selects(with("app in (web, api),!missing"), &r));
        assert!(selects(with("tier notin (back),other!=x"), &r));
        assert!(!selects(with("app!=web"), &r));
        assert!(!selects(with("app notin (web)"), &r));
        assert!(!selects(with("missing"), &r));
        assert!(Selector::new(&with("app in web")).is_err());
        assert!(Selector::new(&SelectorSpec { name: "(".into(), ..Default::default() }).is_err());
    }

    #[test]
    fn content_decides_between_strategic_merge_and_json6902() {
        let ops = Value::Seq(vec![map(vec![("op", s("remove")), ("path", s("/a"))])]);
        assert!(matches!(PatchContent::from_documents(vec![ops]), Ok(PatchContent::Json6902(_))));
        let object = resource("v1", "Pod", "p", None, vec![]);
        assert!(matches!(
            PatchContent::from_documents(vec![object]),
            Ok(PatchContent::StrategicMerge(_))
        ));
        assert_eq!(PatchContent::from_documents(vec![Value::Null]), Ok(PatchContent::Empty));
        assert!(PatchContent::from_documents(vec![s("text")]).is_err());
    }
}
