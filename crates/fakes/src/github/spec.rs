//! GitHub's own OpenAPI description (the operations gitops-env calls, copied into
//! `crates/fakes/data/github/openapi.json`) as a request checker: it finds the operation a
//! method and path name, and checks the path and query parameters and the JSON body against it.
//!
//! It owns the question "would GitHub recognise this request as valid?" and nothing about
//! state or responses. Its answers are lists of human-readable violations, never panics: the
//! server records them and the test that sent the request fails.

use std::collections::BTreeMap;

use serde_json::Value;

use super::schema::{self, Strictness};

/// The description, trimmed to the operations we serve; see `data/github/README.md`.
const OPENAPI_JSON: &str = include_str!("../../data/github/openapi.json");

/// One operation of the description, ready to match requests.
#[derive(Debug)]
struct Operation {
    id: String,
    method: String,
    /// The path template split on `/`; `{name}` segments are parameters.
    segments: Vec<String>,
    /// Resolved parameter objects (`name`, `in`, `required`, `schema`).
    parameters: Vec<Value>,
    /// The `application/json` request body schema, if the operation takes a body.
    body_schema: Option<Value>,
    body_required: bool,
}

/// A request matched to its operation, with its decoded parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRequest {
    /// The operationId, e.g. `issues/list-comments`.
    pub operation_id: String,
    /// Path parameters by name, percent-decoded.
    pub path: BTreeMap<String, String>,
    /// Query parameters by name, percent-decoded (the last one wins when repeated).
    pub query: BTreeMap<String, String>,
}

/// Why a request does not match the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// No operation has this method and path (GitHub answers 404).
    UnknownRoute,
    /// The operation exists but its parameters are invalid (GitHub answers 422).
    InvalidParameters(Vec<String>),
}

impl RequestError {
    /// The violations, one line each.
    pub fn messages(&self) -> Vec<String> {
        match self {
            RequestError::UnknownRoute => {
                vec!["no such operation in GitHub's REST API description".to_string()]
            }
            RequestError::InvalidParameters(errors) => errors.clone(),
        }
    }
}

/// The loaded description.
#[derive(Debug)]
pub struct Spec {
    document: Value,
    operations: Vec<Operation>,
}

impl Spec {
    /// Loads the embedded description. It is checked in and tested, so failure is a bug.
    pub fn load() -> Spec {
        let document: Value =
            serde_json::from_str(OPENAPI_JSON).expect("data/github/openapi.json is valid JSON");
        let mut operations = Vec::new();
        let paths = document["paths"].as_object().expect("the description has paths");
        for (template, item) in paths {
            let shared =
                item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for (method, operation) in item.as_object().expect("a path item is an object") {
                if method == "parameters" {
                    continue;
                }
                let mut parameters: Vec<Value> = shared.clone();
                if let Some(own) = operation.get("parameters").and_then(Value::as_array) {
                    parameters.extend(own.iter().cloned());
                }
                let parameters = parameters
                    .iter()
                    .map(|parameter| resolve(&document, parameter).clone())
                    .collect();
                let body = operation.get("requestBody").map(|body| resolve(&document, body));
                operations.push(Operation {
                    id: operation["operationId"].as_str().unwrap_or_default().to_string(),
                    method: method.to_ascii_uppercase(),
                    segments: template
                        .trim_start_matches('/')
                        .split('/')
                        .map(str::to_string)
                        .collect(),
                    parameters,
                    body_schema: body
                        .and_then(|body| body.pointer("/content/application~1json/schema"))
                        .cloned(),
                    body_required: body
                        .and_then(|body| body.get("required"))
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                });
            }
        }
        Spec { document, operations }
    }

    /// The whole description, for resolving `$ref`s and reading examples.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The operationIds the description holds.
    pub fn operation_ids(&self) -> Vec<&str> {
        self.operations.iter().map(|operation| operation.id.as_str()).collect()
    }

    /// Finds the operation for `method` and `raw_path` (without query) and checks the path and
    /// query parameters.
    pub fn match_request(
        &self,
        method: &str,
        raw_path: &str,
        raw_query: &str,
    ) -> Result<MatchedRequest, RequestError> {
        let segments: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
        let (operation, path) = self.find(method, &segments).ok_or(RequestError::UnknownRoute)?;
        let mut errors = Vec::new();
        let mut query = BTreeMap::new();
        for pair in raw_query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            query.insert(percent_decode(name), percent_decode(value));
        }
        for (name, value) in &query {
            match operation.parameter("query", name) {
                Some(parameter) => self.check_parameter(parameter, value, &mut errors),
                None => errors
                    .push(format!("{}: query parameter {name:?} is not declared", operation.id)),
            }
        }
        for parameter in &operation.parameters {
            let name = parameter["name"].as_str().unwrap_or_default();
            match parameter["in"].as_str() {
                Some("path") => {
                    if let Some(value) = path.get(name) {
                        self.check_parameter(parameter, value, &mut errors);
                    }
                }
                Some("query") => {
                    let required = parameter["required"].as_bool().unwrap_or(false);
                    if required && !query.contains_key(name) {
                        errors.push(format!(
                            "{}: required query parameter {name:?} is missing",
                            operation.id
                        ));
                    }
                }
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(MatchedRequest { operation_id: operation.id.clone(), path, query })
        } else {
            Err(RequestError::InvalidParameters(errors))
        }
    }

    /// Checks a request body against the operation's JSON schema. Undeclared properties are
    /// violations too (see `schema`). A body sent to an operation without one is a violation.
    pub fn check_body(&self, operation_id: &str, body: &[u8]) -> Vec<String> {
        let Some(operation) = self.operations.iter().find(|op| op.id == operation_id) else {
            return vec![format!("unknown operation {operation_id}")];
        };
        let Some(body_schema) = &operation.body_schema else {
            return if body.is_empty() {
                Vec::new()
            } else {
                vec![format!("{operation_id}: takes no request body but got {} bytes", body.len())]
            };
        };
        if body.is_empty() {
            return if operation.body_required {
                vec![format!("{operation_id}: the request body is required")]
            } else {
                Vec::new()
            };
        }
        let value: Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(err) => return vec![format!("{operation_id}: the body is not JSON: {err}")],
        };
        schema::validate(&self.document, body_schema, &value, Strictness::RejectUndeclared)
            .into_iter()
            .map(|error| format!("{operation_id} body{error}"))
            .collect()
    }

    /// Checks a response body the fake produced against the description (a self-check of the
    /// fake's fidelity, used by its tests).
    pub fn check_response(&self, operation_id: &str, status: u16, body: &Value) -> Vec<String> {
        let Some(schema) = self
            .document
            .pointer("/paths")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|paths| paths.values())
            .flat_map(|item| item.as_object().into_iter().flat_map(|ops| ops.values()))
            .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))
            .and_then(|op| op.pointer(&format!("/responses/{status}")))
            .map(|response| resolve(&self.document, response))
            .and_then(|response| response.pointer("/content/application~1json/schema"))
        else {
            return vec![format!("{operation_id}: no JSON response described for status {status}")];
        };
        schema::validate(&self.document, schema, body, Strictness::Standard)
    }

    /// The value of a named example in `#/components/examples`.
    pub fn example(&self, name: &str) -> Value {
        self.document
            .pointer(&format!("/components/examples/{name}/value"))
            .cloned()
            .unwrap_or_else(|| panic!("the description has no example {name:?}"))
    }

    fn find(
        &self,
        method: &str,
        segments: &[&str],
    ) -> Option<(&Operation, BTreeMap<String, String>)> {
        // Exact-length matches first, literal segments preferred over parameters, so that
        // `/deployments/{id}/statuses` never falls into a multi-segment parameter.
        let mut best: Option<(usize, &Operation, BTreeMap<String, String>)> = None;
        for operation in self.operations.iter().filter(|op| op.method == method) {
            if let Some((literals, params)) = operation.match_segments(segments)
                && best.as_ref().is_none_or(|(score, _, _)| literals > *score)
            {
                best = Some((literals, operation, params));
            }
        }
        best.map(|(_, operation, params)| (operation, params))
    }

    fn check_parameter(&self, parameter: &Value, value: &str, errors: &mut Vec<String>) {
        let name = parameter["name"].as_str().unwrap_or_default();
        let schema = resolve(&self.document, &parameter["schema"]);
        let typed = match schema["type"].as_str() {
            Some("integer") => match value.parse::<i64>() {
                Ok(number) => Value::from(number),
                Err(_) => {
                    errors.push(format!("parameter {name:?}: {value:?} is not an integer"));
                    return;
                }
            },
            Some("boolean") => match value {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    errors.push(format!("parameter {name:?}: {value:?} is not a boolean"));
                    return;
                }
            },
            _ => Value::String(value.to_string()),
        };
        for error in schema::validate(&self.document, schema, &typed, Strictness::Standard) {
            errors.push(format!("parameter {name:?}{error}"));
        }
    }
}

impl Operation {
    /// Matches path segments; returns the number of literal segments matched and the
    /// parameters. A parameter marked `x-multi-segment` (git refs, file paths) in the last
    /// position takes the remaining segments.
    fn match_segments(&self, segments: &[&str]) -> Option<(usize, BTreeMap<String, String>)> {
        let mut params = BTreeMap::new();
        let mut literals = 0;
        for (index, template) in self.segments.iter().enumerate() {
            let Some(name) = template.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
                if segments.get(index) != Some(&template.as_str()) {
                    return None;
                }
                literals += 1;
                continue;
            };
            let is_last = index + 1 == self.segments.len();
            let multi = self
                .parameter("path", name)
                .and_then(|p| p.get("x-multi-segment"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let value = if is_last && multi {
                segments.get(index..).filter(|rest| !rest.is_empty())?.join("/")
            } else {
                segments.get(index)?.to_string()
            };
            if value.is_empty() {
                return None;
            }
            params.insert(name.to_string(), percent_decode_path(&value));
        }
        let multi_tail = self.segments.last().is_some_and(|last| {
            last.strip_prefix('{').and_then(|t| t.strip_suffix('}')).is_some_and(|name| {
                self.parameter("path", name)
                    .and_then(|p| p.get("x-multi-segment"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            })
        });
        (segments.len() == self.segments.len() || multi_tail).then_some((literals, params))
    }

    fn parameter(&self, location: &str, name: &str) -> Option<&Value> {
        self.parameters
            .iter()
            .find(|p| p["in"].as_str() == Some(location) && p["name"].as_str() == Some(name))
    }
}

fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..16 {
        match current.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => match document.pointer(pointer) {
                Some(target) => current = target,
                None => return current,
            },
            None => break,
        }
    }
    current
}

/// Decodes `%XX` escapes, and `+` as a space (query strings only).
pub fn percent_decode(text: &str) -> String {
    decode(text, true)
}

/// Decodes `%XX` escapes of a path segment, where `+` is a literal plus.
fn percent_decode_path(text: &str) -> String {
    decode(text, false)
}

fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        decoded.push(byte);
                        index += 3;
                        continue;
                    }
                    Err(_) => decoded.push(b'%'),
                }
            }
            b'+' if plus_is_space => decoded.push(b' '),
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_holds_the_operations_we_serve() {
        let spec = Spec::load();
        let mut ids = spec.operation_ids();
        ids.sort_unstable();
        assert_eq!(ids.len(), 22, "{ids:?}");
        for id in [
            "issues/list-comments",
            "repos/create-deployment-status",
            "repos/get-branch",
            "repos/get-collaborator-permission-level",
            "issues/add-labels",
            "issues/remove-label",
        ] {
            assert!(ids.contains(&id), "{id}");
        }
    }

    #[test]
    fn routes_match_with_their_parameters() {
        let spec = Spec::load();
        let matched = spec
            .match_request("GET", "/repos/o/r/issues/7/comments", "per_page=100&page=2")
            .unwrap();
        assert_eq!(matched.operation_id, "issues/list-comments");
        assert_eq!(matched.path["issue_number"], "7");
        assert_eq!(matched.query["page"], "2");
        let matched = spec.match_request("POST", "/repos/o/r/deployments/12/statuses", "").unwrap();
        assert_eq!(matched.operation_id, "repos/create-deployment-status");
        let matched = spec.match_request("GET", "/repos/o/r/compare/main...feat%2Fx", "").unwrap();
        assert_eq!(matched.path["basehead"], "main...feat/x");
    }

    #[test]
    fn unknown_routes_and_bad_parameters_are_violations() {
        let spec = Spec::load();
        let unknown = spec.match_request("GET", "/repos/o/r/branches", "").unwrap_err();
        assert_eq!(unknown, RequestError::UnknownRoute);
        let wrong_method = spec.match_request("PUT", "/repos/o/r/issues/7/comments", "");
        assert_eq!(wrong_method.unwrap_err(), RequestError::UnknownRoute);
        let errors = spec.match_request("GET", "/repos/o/r/issues/seven/comments", "").unwrap_err();
        assert_eq!(
            errors.messages(),
            vec!["parameter \"issue_number\": \"seven\" is not an integer"]
        );
        let errors =
            spec.match_request("GET", "/repos/o/r/issues/7/comments", "perpage=100").unwrap_err();
        assert_eq!(
            errors.messages(),
            vec!["issues/list-comments: query parameter \"perpage\" is not declared"]
        );
    }

    #[test]
    fn a_wrong_body_type_is_flagged() {
        let spec = Spec::load();
        let ok =
            br#"{"ref":"abc","environment":"testing","auto_merge":false,"required_contexts":[]}"#;
        assert_eq!(spec.check_body("repos/create-deployment", ok), Vec::<String>::new());
        let wrong = br#"{"ref":"abc","auto_merge":"false"}"#;
        assert_eq!(
            spec.check_body("repos/create-deployment", wrong),
            vec!["repos/create-deployment body/auto_merge: expected boolean, found string"]
        );
        let errors = spec.check_body("repos/create-deployment-status", br#"{"state":"done"}"#);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            spec.check_body("issues/create-comment", b"{}"),
            vec!["issues/create-comment body: missing required property \"body\""]
        );
        assert!(spec.check_body("issues/create-comment", b"not json")[0].contains("not JSON"));
        assert_eq!(
            spec.check_body("issues/delete-comment", b"{}"),
            vec!["issues/delete-comment: takes no request body but got 2 bytes"]
        );
    }

    #[test]
    fn the_descriptions_own_examples_validate_against_its_response_schemas() {
        let spec = Spec::load();
        for (operation, status, example) in [
            ("pulls/get", 200, "pull-request"),
            ("issues/create-comment", 201, "issue-comment"),
            ("issues/list-comments", 200, "issue-comment-items"),
            ("repos/create-deployment", 201, "deployment-simple-example"),
            ("repos/list-deployments", 200, "deployment-items"),
            ("repos/create-deployment-status", 201, "deployment-status"),
            ("pulls/list-files", 200, "diff-entry-items"),
            ("repos/compare-commits-with-basehead", 200, "commit-comparison"),
            ("rate-limit/get", 200, "rate-limit-overview"),
        ] {
            let errors = spec.check_response(operation, status, &spec.example(example));
            // GitHub's own pull-request example predates the team schema's required `type`; the
            // fake serves no requested teams, so its answers are unaffected.
            let known: &[&str] = if operation == "pulls/get" {
                &["/requested_teams/0: missing required property \"type\""]
            } else {
                &[]
            };
            assert_eq!(errors, known, "{operation}");
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("feat%2Fx+y%zz"), "feat/x y%zz");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
