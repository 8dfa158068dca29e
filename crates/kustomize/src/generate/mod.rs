//! `configMapGenerator` and `secretGenerator`: objects made from literals, files and env files.
//!
//! Inputs are read through the caller's loader (so the load restrictor and the read set apply);
//! this module only turns key/value pairs into objects the way kustomize's generators do:
//! env files first, then literals, then files; repeated keys are an error; ConfigMap values that
//! are not UTF-8 go to `binaryData`; Secret values are base64-encoded. Secret values never
//! appear in error messages.

use crate::kustomization::{GeneratorArgs, GeneratorOptions};
use crate::resource::{Behavior, Resource};
use crate::value::{Map, Value};

/// Which generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorKind {
    ConfigMap,
    Secret,
}

impl GeneratorKind {
    /// The builtin plugin kind kustomize names this generator by.
    pub fn kind_name(self) -> &'static str {
        match self {
            GeneratorKind::ConfigMap => "ConfigMapGenerator",
            GeneratorKind::Secret => "SecretGenerator",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            GeneratorKind::ConfigMap => "ConfigMap",
            GeneratorKind::Secret => "Secret",
        }
    }
}

/// Reads a generator input file relative to the kustomization; errors are already
/// user-facing (they name paths, never content).
pub type InputReader<'a> = dyn Fn(&str) -> Result<Vec<u8>, String> + 'a;

/// Why a generator entry could not make its object. No variant carries a value from the
/// inputs: any of them may be a secret (ConfigMap values too, to be safe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerateError {
    /// The entry itself is wrong (no name, bad behavior, an unreadable file...).
    Entry(String),
    /// An input is malformed: a line of the env file `file`, or (with `file` `None`) a literal
    /// or file source of the entry.
    Input { file: Option<String>, line: Option<u32>, message: String },
}

impl From<String> for GenerateError {
    fn from(message: String) -> Self {
        GenerateError::Entry(message)
    }
}

/// Where a key/value pair came from, for errors that must not show it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PairOrigin {
    Env { file: String, line: u32 },
    Literal { index: usize },
    File { index: usize },
}

impl PairOrigin {
    fn error(&self, message: String) -> GenerateError {
        match self {
            PairOrigin::Env { file, line } => {
                GenerateError::Input { file: Some(file.clone()), line: Some(*line), message }
            }
            PairOrigin::Literal { index } => GenerateError::Input {
                file: None,
                line: None,
                message: format!("literal {}: {message}", index + 1),
            },
            PairOrigin::File { index } => GenerateError::Input {
                file: None,
                line: None,
                message: format!("file source {}: {message}", index + 1),
            },
        }
    }
}

/// Makes the object one generator entry describes.
pub fn generate(
    kind: GeneratorKind,
    args: &GeneratorArgs,
    global_options: Option<&GeneratorOptions>,
    read: &InputReader<'_>,
) -> Result<Resource, GenerateError> {
    if args.name.is_empty() {
        return Err(format!("a {} must have a name", kind.kind().to_lowercase()).into());
    }
    let behavior = Behavior::parse(&args.behavior)
        .ok_or_else(|| format!("invalid behavior '{}'", args.behavior))?;
    let options = GeneratorOptions::merged_with_global(args.options.as_ref(), global_options);
    let pairs = key_values(args, read)?;

    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        metadata.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), "v1".into());
    object.insert("kind".into(), kind.kind().into());
    object.insert("metadata".into(), Value::Map(metadata));
    match kind {
        GeneratorKind::ConfigMap => {
            let mut data = Map::new();
            let mut binary = Map::new();
            for (key, value) in pairs {
                match String::from_utf8(value) {
                    Ok(text) => data.insert(key, Value::String(text)),
                    Err(bytes) => binary.insert(key, Value::String(base64_lines(bytes.as_bytes()))),
                };
            }
            if !data.is_empty() {
                object.insert("data".into(), Value::Map(data));
            }
            if !binary.is_empty() {
                object.insert("binaryData".into(), Value::Map(binary));
            }
        }
        GeneratorKind::Secret => {
            let secret_type =
                if args.secret_type.is_empty() { "Opaque" } else { &args.secret_type };
            object.insert("type".into(), Value::String(secret_type.to_owned()));
            let data: Map = pairs
                .into_iter()
                .map(|(key, value)| (key, Value::String(base64_lines(&value))))
                .collect();
            if !data.is_empty() {
                object.insert("data".into(), Value::Map(data));
            }
        }
    }
    let mut resource = Resource::new(Value::Map(object), "");
    if let Some(options) = &options {
        let mut labels: Vec<&(String, String)> = options.labels.iter().collect();
        labels.sort();
        for (key, value) in labels {
            set_metadata_entry(&mut resource, "labels", key, value);
        }
        let mut annotations: Vec<&(String, String)> = options.annotations.iter().collect();
        annotations.sort();
        for (key, value) in annotations {
            set_metadata_entry(&mut resource, "annotations", key, value);
        }
        if options.immutable {
            resource
                .value
                .as_map_mut()
                .expect("generated objects are mappings")
                .insert("immutable".into(), Value::Bool(true));
        }
    }
    resource.behavior = Some(behavior);
    resource.needs_hash_suffix = !options.as_ref().is_some_and(|o| o.disable_name_suffix_hash);
    Ok(resource)
}

fn set_metadata_entry(resource: &mut Resource, field: &str, key: &str, value: &str) {
    let metadata = resource.metadata_mut();
    let entry = metadata.entry(field.to_owned()).or_insert_with(|| Value::Map(Map::new()));
    if let Value::Map(map) = entry {
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
}

/// kustomize's builtin `IAMPolicyGenerator` (cloud `gke` only, as in kustomize): a
/// ServiceAccount annotated with the Google service account it acts as.
pub fn iam_policy_service_account(config: &Value) -> Result<Resource, String> {
    let text =
        |path: &[&str]| config.get_path(path).and_then(Value::as_str).unwrap_or("").to_owned();
    let cloud = text(&["cloud"]);
    if cloud != "gke" {
        return Err(format!("cloud provider {cloud} not supported yet"));
    }
    let google_account = format!(
        "{}@{}.iam.gserviceaccount.com",
        text(&["serviceAccount", "name"]),
        text(&["serviceAccount", "projectId"])
    );
    let mut annotations = Map::new();
    annotations.insert("iam.gke.io/gcp-service-account".into(), Value::String(google_account));
    let mut metadata = Map::new();
    metadata.insert("annotations".into(), Value::Map(annotations));
    metadata.insert("name".into(), Value::String(text(&["kubernetesService", "name"])));
    let namespace = text(&["kubernetesService", "namespace"]);
    if !namespace.is_empty() {
        metadata.insert("namespace".into(), Value::String(namespace));
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), "v1".into());
    object.insert("kind".into(), "ServiceAccount".into());
    object.insert("metadata".into(), Value::Map(metadata));
    let mut resource = Resource::new(Value::Map(object), "");
    resource.behavior = Some(Behavior::Create);
    Ok(resource)
}

/// All key/value pairs of one generator entry, in kustomize's order, keys checked.
fn key_values(
    args: &GeneratorArgs,
    read: &InputReader<'_>,
) -> Result<Vec<(String, Vec<u8>)>, GenerateError> {
    let mut pairs: Vec<(String, Vec<u8>, PairOrigin)> = Vec::new();
    for env_file in &args.envs {
        let content = read(env_file)?;
        pairs.extend(env_file_pairs(&content, env_file)?);
    }
    for (index, literal) in args.literals.iter().enumerate() {
        let origin = PairOrigin::Literal { index };
        let (key, value) = literal_pair(literal).map_err(|m| origin.error(m))?;
        pairs.push((key, value.into_bytes(), origin));
    }
    for (index, source) in args.files.iter().enumerate() {
        let (key, path) = file_source(source)?;
        let content = read(&path)?;
        pairs.push((key, content, PairOrigin::File { index }));
    }
    let mut seen = std::collections::HashSet::new();
    for (key, _, origin) in &pairs {
        check_key(key).map_err(|m| origin.error(m))?;
        if !seen.insert(key.clone()) {
            // A valid key name is shown: it names data, it is not the data.
            return Err(format!("configmap {} illegally repeats the key `{key}`", args.name).into());
        }
    }
    Ok(pairs.into_iter().map(|(key, value, _)| (key, value)).collect())
}

/// A ConfigMap/Secret data key must be a valid Kubernetes config key. The key is not shown
/// when it is invalid: `DB_PASSWORD:hunter2` on an env line is a whole line read as a key.
fn check_key(key: &str) -> Result<(), String> {
    let valid_chars =
        key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if key.is_empty()
        || !valid_chars
        || key.len() > 253
        || key == "."
        || key == ".."
        || key.starts_with("..")
    {
        let hint = if key.contains(':') {
            " (it holds ':'; key and value are separated by '=')"
        } else if key.chars().any(char::is_whitespace) {
            " (it holds whitespace)"
        } else {
            ""
        };
        return Err(format!(
            "the key is not a valid key name{hint}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
        ));
    }
    Ok(())
}

/// `key=value`, with one pair of surrounding quotes removed from the value.
fn literal_pair(source: &str) -> Result<(String, String), String> {
    match source.split_once('=') {
        Some((key, value)) if !key.is_empty() => {
            Ok((key.to_owned(), remove_quotes(value).to_owned()))
        }
        // The literal is not shown: without '=' it may be the value alone.
        _ => Err("invalid literal source: expected key=value".to_owned()),
    }
}

fn remove_quotes(value: &str) -> &str {
    let bytes = value.as_bytes();
    if bytes.len() >= 2
        && bytes[0] == bytes[bytes.len() - 1]
        && (bytes[0] == b'"' || bytes[0] == b'\'')
    {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// `path` (key = file name) or `key=path`.
fn file_source(source: &str) -> Result<(String, String), String> {
    match source.matches('=').count() {
        0 => Ok((crate::fs::file_name(source).to_owned(), source.to_owned())),
        1 => {
            let (key, path) = source.split_once('=').unwrap_or_default();
            if key.is_empty() {
                Err(format!("missing key name for file path \"{path}\" in source \"{source}\""))
            } else if path.is_empty() {
                Err(format!("missing file path for key name \"{key}\" in source \"{source}\""))
            } else {
                Ok((key.to_owned(), path.to_owned()))
            }
        }
        _ => Err(format!("source \"{source}\" key name or file path contains '='")),
    }
}

/// The pairs of an env file: `KEY=value` lines; blank lines and `#` comments skipped; a key
/// without `=` gets an empty value.
fn env_file_pairs(
    content: &[u8],
    file: &str,
) -> Result<Vec<(String, Vec<u8>, PairOrigin)>, GenerateError> {
    let mut pairs = Vec::new();
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    for (number, raw_line) in content.split(|b| *b == b'\n').enumerate() {
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let origin = PairOrigin::Env {
            file: file.to_owned(),
            line: u32::try_from(number + 1).unwrap_or(u32::MAX),
        };
        let Ok(line) = std::str::from_utf8(raw_line) else {
            return Err(origin.error("the line has invalid utf8 bytes".to_owned()));
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            // Not shown: `password hunter2` has no '=' and is all value.
            return Err(origin.error("invalid environment variable name before '='".to_owned()));
        }
        pairs.push((key.to_owned(), value.as_bytes().to_vec(), origin));
    }
    Ok(pairs)
}

/// Base64 as kyaml writes generated data: when the encoding is 70 characters or longer it is
/// broken into 70-character lines, each ending with a newline (so it prints as a literal block).
pub fn base64_lines(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_files(path: &str) -> Result<Vec<u8>, String> {
        Err(format!("{path}: not found"))
    }

    #[test]
    fn long_base64_is_broken_into_lines() {
        let encoded = base64_lines(&[b'x'; 60]);
        let lines: Vec<&str> = encoded.split_terminator('\n').collect();
        assert_eq!(lines.iter().map(|l| l.len()).collect::<Vec<_>>(), vec![70, 10]);
        assert!(encoded.ends_with('\n'));
        assert!(!base64_lines(b"short").contains('\n'));
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn literals_strip_one_pair_of_quotes_and_keys_must_be_unique() {
        let args = GeneratorArgs {
            name: "cm".into(),
            literals: vec!["a=\"x y\"".into(), "b=c=d".into()],
            ..GeneratorArgs::default()
        };
        let resource = generate(GeneratorKind::ConfigMap, &args, None, &no_files).unwrap();
        assert_eq!(resource.value.get_path(&["data", "a"]), Some(&Value::from("x y")));
        assert_eq!(resource.value.get_path(&["data", "b"]), Some(&Value::from("c=d")));
        assert!(resource.needs_hash_suffix);
        let repeated = GeneratorArgs { literals: vec!["a=1".into(), "a=2".into()], ..args };
        assert!(generate(GeneratorKind::ConfigMap, &repeated, None, &no_files).is_err());
    }

    #[test]
    fn env_files_skip_comments_and_secrets_are_encoded() {
        let read = |_: &str| Ok(b"# comment\n\nA=1\nB\n".to_vec());
        let args = GeneratorArgs {
            name: "s".into(),
            envs: vec!["x.env".into()],
            ..GeneratorArgs::default()
        };
        let resource = generate(GeneratorKind::Secret, &args, None, &read).unwrap();
        assert_eq!(resource.value.get_path(&["data", "A"]), Some(&Value::from("MQ==")));
        assert_eq!(resource.value.get_path(&["data", "B"]), Some(&Value::from("")));
        assert_eq!(resource.value.get_path(&["type"]), Some(&Value::from("Opaque")));
    }
}
