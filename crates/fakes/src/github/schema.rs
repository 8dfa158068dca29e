//! A JSON Schema validator for exactly the keywords GitHub's OpenAPI 3.0 description uses in the
//! operations the fake serves: `$ref` (to `#/components/...`), `type` with OpenAPI's `nullable`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `oneOf`/`anyOf`/`allOf`,
//! `maxLength`, `minimum`/`maximum`, and the `date-time` and `uri` formats.
//!
//! It owns judging one JSON value against one schema and nothing else: which schema applies to
//! which request is `spec`'s business. Keywords it does not know are ignored, like a real
//! validator would; annotations (`description`, `example`, `default`...) never affect the result.
//!
//! One deliberate strictness beyond JSON Schema: with [`Strictness::RejectUndeclared`], an object
//! property that the schema does not declare (and no `additionalProperties` allows) is an error.
//! GitHub silently ignores such fields, which is exactly why a misspelt field (`enviroment`) in
//! our client would go unnoticed in production; the fake flags it instead.

use serde_json::Value;

/// Whether undeclared object properties are errors (requests) or allowed (responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// JSON Schema semantics: undeclared properties are allowed.
    Standard,
    /// Undeclared properties of an object with declared `properties` are errors.
    RejectUndeclared,
}

/// Validates `value` against `schema`, resolving `$ref`s in `document` (the whole OpenAPI
/// description). Returns every error found, each prefixed with a JSON pointer into `value`.
pub fn validate(
    document: &Value,
    schema: &Value,
    value: &Value,
    strictness: Strictness,
) -> Vec<String> {
    let mut errors = Vec::new();
    let validator = Validator { document, strictness };
    validator.check(schema, value, "", &mut errors, 0);
    errors
}

struct Validator<'a> {
    document: &'a Value,
    strictness: Strictness,
}

/// `$ref` chains deeper than this are a cycle in the description, not data.
const MAX_DEPTH: usize = 64;

impl Validator<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> Result<&'s Value, String> {
        let mut current = schema;
        for _ in 0..MAX_DEPTH {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let pointer = reference
                        .strip_prefix('#')
                        .ok_or_else(|| format!("unsupported external $ref {reference}"))?;
                    current = self
                        .document
                        .pointer(pointer)
                        .ok_or_else(|| format!("dangling $ref {reference}"))?;
                }
                None => return Ok(current),
            }
        }
        Err("$ref cycle".to_string())
    }

    fn check(
        &self,
        schema: &Value,
        value: &Value,
        at: &str,
        errors: &mut Vec<String>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            errors.push(format!("{at}: schema nesting too deep"));
            return;
        }
        let schema = match self.resolve(schema) {
            Ok(schema) => schema,
            Err(err) => {
                errors.push(format!("{at}: {err}"));
                return;
            }
        };
        let Some(keywords) = schema.as_object() else {
            // `true`/`{}`-like schemas accept anything.
            return;
        };
        let nullable = keywords.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        if value.is_null() && nullable {
            return;
        }
        if let Some(expected) = keywords.get("type").and_then(Value::as_str)
            && !type_matches(expected, value)
        {
            errors.push(format!("{at}: expected {expected}, found {}", describe(value)));
            return;
        }
        if let Some(allowed) = keywords.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {}", Value::Array(allowed.clone())));
        }
        self.check_combinators(keywords, value, at, errors, depth);
        match value {
            Value::Object(members) => self.check_object(keywords, members, at, errors, depth),
            Value::Array(elements) => {
                if let Some(items) = keywords.get("items") {
                    for (index, element) in elements.iter().enumerate() {
                        self.check(items, element, &format!("{at}/{index}"), errors, depth + 1);
                    }
                }
            }
            Value::String(text) => check_string(keywords, text, at, errors),
            Value::Number(number) => {
                let n = number.as_f64().unwrap_or(0.0);
                if let Some(min) = keywords.get("minimum").and_then(Value::as_f64)
                    && n < min
                {
                    errors.push(format!("{at}: {n} is below the minimum {min}"));
                }
                if let Some(max) = keywords.get("maximum").and_then(Value::as_f64)
                    && n > max
                {
                    errors.push(format!("{at}: {n} is above the maximum {max}"));
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn check_combinators(
        &self,
        keywords: &serde_json::Map<String, Value>,
        value: &Value,
        at: &str,
        errors: &mut Vec<String>,
        depth: usize,
    ) {
        if let Some(all) = keywords.get("allOf").and_then(Value::as_array) {
            for branch in all {
                self.check(branch, value, at, errors, depth + 1);
            }
        }
        for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            let Some(branches) = keywords.get(keyword).and_then(Value::as_array) else {
                continue;
            };
            let mut branch_errors = Vec::new();
            let matching = branches
                .iter()
                .filter(|branch| {
                    let mut errs = Vec::new();
                    self.check(branch, value, at, &mut errs, depth + 1);
                    let ok = errs.is_empty();
                    branch_errors.extend(errs);
                    ok
                })
                .count();
            if matching == 0 {
                errors.push(format!(
                    "{at}: matches none of the {keyword} branches ({})",
                    branch_errors.join("; ")
                ));
            } else if exactly_one && matching > 1 {
                errors.push(format!("{at}: matches {matching} oneOf branches, expected exactly 1"));
            }
        }
    }

    fn check_object(
        &self,
        keywords: &serde_json::Map<String, Value>,
        members: &serde_json::Map<String, Value>,
        at: &str,
        errors: &mut Vec<String>,
        depth: usize,
    ) {
        if let Some(required) = keywords.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !members.contains_key(name) {
                    errors.push(format!("{at}: missing required property {name:?}"));
                }
            }
        }
        let declared = keywords.get("properties").and_then(Value::as_object);
        let additional = keywords.get("additionalProperties");
        for (name, member) in members {
            let here = format!("{at}/{name}");
            if let Some(property) = declared.and_then(|declared| declared.get(name)) {
                self.check(property, member, &here, errors, depth + 1);
                continue;
            }
            match additional {
                Some(Value::Bool(false)) => {
                    errors.push(format!("{here}: property is not allowed"));
                }
                Some(Value::Bool(true)) => {}
                Some(schema @ Value::Object(_)) => {
                    self.check(schema, member, &here, errors, depth + 1);
                }
                _ => {
                    if self.strictness == Strictness::RejectUndeclared && declared.is_some() {
                        errors.push(format!("{here}: property is not declared by the schema"));
                    }
                }
            }
        }
    }
}

fn check_string(
    keywords: &serde_json::Map<String, Value>,
    text: &str,
    at: &str,
    errors: &mut Vec<String>,
) {
    if let Some(max) = keywords.get("maxLength").and_then(Value::as_u64) {
        let length = text.chars().count() as u64;
        if length > max {
            errors.push(format!("{at}: string of {length} characters exceeds maxLength {max}"));
        }
    }
    match keywords.get("format").and_then(Value::as_str) {
        Some("date-time") if !is_date_time(text) => {
            errors.push(format!("{at}: {text:?} is not an RFC 3339 date-time"));
        }
        Some("uri") if !text.is_empty() && !text.contains(':') => {
            errors.push(format!("{at}: {text:?} is not a URI"));
        }
        _ => {}
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `YYYY-MM-DDTHH:MM:SS` followed by optional fraction and `Z` or `±HH:MM`.
fn is_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes.get(range).is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    if bytes.len() < 20
        || !digits(0..4)
        || bytes[4] != b'-'
        || !digits(5..7)
        || bytes[7] != b'-'
        || !digits(8..10)
        || !matches!(bytes[10], b'T' | b't')
        || !digits(11..13)
        || bytes[13] != b':'
        || !digits(14..16)
        || bytes[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
        if end == 0 {
            return false;
        }
        rest = &fraction[end..];
    }
    rest == "Z" || rest == "z" || (rest.len() == 6 && matches!(&rest[..1], "+" | "-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({"components": {"schemas": {
            "user": {"type": "object", "properties": {"login": {"type": "string"}},
                     "required": ["login"]},
            "body": {"type": "object", "required": ["state"], "properties": {
                "state": {"type": "string", "enum": ["success", "failure"]},
                "auto_merge": {"type": "boolean"},
                "note": {"type": "string", "nullable": true, "maxLength": 5},
                "payload": {"oneOf": [{"type": "object", "additionalProperties": true},
                                      {"type": "string"}]},
                "user": {"$ref": "#/components/schemas/user"},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string"}}
            }}
        }}})
    }

    fn errors_of(value: Value, strictness: Strictness) -> Vec<String> {
        let document = document();
        let schema = json!({"$ref": "#/components/schemas/body"});
        validate(&document, &schema, &value, strictness)
    }

    #[test]
    fn a_valid_body_has_no_errors() {
        let body = json!({"state": "success", "auto_merge": false, "note": null,
            "payload": {"x": 1}, "user": {"login": "octocat"}, "when": "2026-01-02T03:04:05Z",
            "tags": ["a"]});
        assert_eq!(errors_of(body, Strictness::RejectUndeclared), Vec::<String>::new());
    }

    #[test]
    fn a_wrong_type_is_flagged_with_its_location() {
        let errors =
            errors_of(json!({"state": "success", "auto_merge": "false"}), Strictness::Standard);
        assert_eq!(errors, vec!["/auto_merge: expected boolean, found string".to_string()]);
    }

    #[test]
    fn missing_required_enum_and_nested_ref_errors_are_all_reported() {
        let errors = errors_of(
            json!({"state": "done", "user": {}, "tags": [1], "note": "too long"}),
            Strictness::Standard,
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors.iter().any(|e| e.starts_with("/state: \"done\" is not one of")));
        assert!(errors.contains(&"/user: missing required property \"login\"".to_string()));
        assert!(errors.contains(&"/tags/0: expected string, found integer".to_string()));
        assert!(errors.iter().any(|e| e.contains("exceeds maxLength 5")));
        let errors = errors_of(json!({"auto_merge": true}), Strictness::Standard);
        assert_eq!(errors, vec![": missing required property \"state\"".to_string()]);
    }

    #[test]
    fn one_of_needs_exactly_one_branch() {
        assert!(
            errors_of(json!({"state": "success", "payload": "{}"}), Strictness::Standard)
                .is_empty()
        );
        let errors = errors_of(json!({"state": "success", "payload": 3}), Strictness::Standard);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("/payload: matches none of the oneOf branches"));
    }

    #[test]
    fn undeclared_properties_are_rejected_only_when_strict() {
        let body = json!({"state": "success", "enviroment": "production"});
        assert!(errors_of(body.clone(), Strictness::Standard).is_empty());
        assert_eq!(
            errors_of(body, Strictness::RejectUndeclared),
            vec!["/enviroment: property is not declared by the schema".to_string()]
        );
    }

    #[test]
    fn date_times_follow_rfc_3339() {
        assert!(is_date_time("2026-11-25T18:00:00Z"));
        assert!(is_date_time("2026-11-25T18:00:00.123+01:00"));
        assert!(!is_date_time("2026-11-25 18:00:00Z"));
        assert!(!is_date_time("yesterday"));
    }
}
