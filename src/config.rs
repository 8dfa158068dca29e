//! The user's settings: repository layout, environments, branch rules and preview templates.
//!
//! Three layers, later wins: built-in defaults (PRODUCT §1: roots `apps` and `infrastructure`,
//! environments `testing` ← `develop` and `production` ← `main`, previews for `feat/*` rendered
//! from `testing`), the optional file `.github/gitops-env.yaml` in the user's repository, and the
//! action's non-empty inputs. Every error names the key and the file or input it came from.
//!
//! This module only validates and holds settings; it reads the config file only through the
//! `FileSystem` it is given (a checkout or a commit's tree) and decides nothing about events.

use std::fmt;
use std::time::Duration;

use kustomize::Value;

use crate::runner::inputs::{Inputs, split_list};

/// Which cluster credentials an environment uses: the action has one kubeconfig input per slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterSlot {
    Testing,
    Production,
}

impl ClusterSlot {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterSlot::Testing => "testing",
            ClusterSlot::Production => "production",
        }
    }
}

/// What a root holds, which decides whether its changes may be previewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootKind {
    /// Namespaced applications: changed apps get a preview.
    Apps,
    /// Cluster-wide infrastructure: a feature branch only shows its diff.
    Infrastructure,
}

/// A top folder holding `base/` and `overlays/`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Root {
    pub path: String,
    pub kind: RootKind,
}

/// A long-lived environment deployed from one branch.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Environment {
    pub name: String,
    /// The folder under `<root>/overlays/` it renders.
    pub overlay: String,
    /// The branch whose pushes deploy it.
    pub branch: String,
    pub cluster: ClusterSlot,
    /// `remotes.mutable-refs` for this environment; `None`: the global setting.
    pub mutable_refs: Option<bool>,
}

/// Per-branch preview environments.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PreviewSettings {
    pub branches: Vec<BranchPattern>,
    /// The environment whose overlays previews render (and whose cluster hosts them).
    pub environment: String,
    pub namespace_template: String,
    pub host_template: Option<String>,
    #[serde(serialize_with = "serialize_duration")]
    pub ttl: Duration,
}

/// All settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Config {
    pub roots: Vec<Root>,
    pub environments: Vec<Environment>,
    pub preview: PreviewSettings,
    /// Globs selecting unit directories (`{env}` = overlay folder); empty: discovered.
    pub units: Vec<String>,
    /// The label with which a maintainer lets a fork PR deploy.
    pub fork_deploy_label: String,
    pub helm: HelmSettings,
    pub remotes: RemoteSettings,
}

/// `helm`: where `helmCharts` may pull charts from.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HelmSettings {
    /// `helm.repositories`: chart repository hosts (`charts.example.com`, `*.example.com`);
    /// `None`: any host.
    pub repositories: Option<Vec<String>>,
}

/// `remotes`: how remote bases and resources may be referenced.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RemoteSettings {
    /// `remotes.mutable-refs`: whether a branch ref (or no ref) is allowed; environments may
    /// override it.
    pub mutable_refs: bool,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings { mutable_refs: true }
    }
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: `{key}`: {message}")]
pub struct ConfigError {
    /// The file or input the setting came from.
    pub origin: String,
    pub key: String,
    pub message: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            roots: vec![
                Root { path: "apps".into(), kind: RootKind::Apps },
                Root { path: "infrastructure".into(), kind: RootKind::Infrastructure },
            ],
            environments: vec![
                Environment {
                    name: "testing".into(),
                    overlay: "testing".into(),
                    branch: "develop".into(),
                    cluster: ClusterSlot::Testing,
                    mutable_refs: None,
                },
                Environment {
                    name: "production".into(),
                    overlay: "production".into(),
                    branch: "main".into(),
                    cluster: ClusterSlot::Production,
                    mutable_refs: None,
                },
            ],
            preview: PreviewSettings {
                branches: vec![BranchPattern::new("feat/*")],
                environment: "testing".into(),
                namespace_template: "preview-{slug}".into(),
                host_template: None,
                ttl: Duration::from_secs(72 * 3600),
            },
            units: Vec::new(),
            fork_deploy_label: "deploy-preview".into(),
            helm: HelmSettings::default(),
            remotes: RemoteSettings::default(),
        }
    }
}

impl Config {
    /// The environment named `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|env| env.name == name)
    }

    /// The environment deployed from `branch`.
    pub fn environment_for_branch(&self, branch: &str) -> Option<&Environment> {
        self.environments.iter().find(|env| env.branch == branch)
    }

    /// The environment previews render from.
    pub fn preview_environment(&self) -> &Environment {
        self.environment(&self.preview.environment)
            .expect("validated: the preview environment exists")
    }

    /// The branch integration happens on (the preview environment's branch): new branches are
    /// compared with it.
    pub fn integration_branch(&self) -> &str {
        &self.preview_environment().branch
    }

    /// Whether `branch` gets previews.
    pub fn is_preview_branch(&self, branch: &str) -> bool {
        self.preview.branches.iter().any(|pattern| pattern.matches(branch))
    }

    /// The overlay folders whose units may not use mutable remote refs (branches, or no ref):
    /// those of every environment whose `remotes.mutable-refs` (or the global one) is false.
    pub fn overlays_refusing_mutable_refs(&self) -> std::collections::BTreeSet<String> {
        self.environments
            .iter()
            .filter(|env| !env.mutable_refs.unwrap_or(self.remotes.mutable_refs))
            .map(|env| env.overlay.clone())
            .collect()
    }

    /// The root `path` is, if any.
    pub fn root_kind(&self, unit_path: &str) -> Option<RootKind> {
        self.roots
            .iter()
            .find(|root| kustomize::fs::is_within(unit_path, &root.path))
            .map(|root| root.kind)
    }

    /// The settings for a repository: defaults, then its config file at `path` (read through
    /// `fs`; absent means defaults), then the non-empty `inputs`.
    pub fn load(
        fs: &dyn kustomize::FileSystem,
        path: &str,
        inputs: &Inputs,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let path = path.trim_start_matches("./");
        let file_error = |message: String| ConfigError {
            origin: path.to_owned(),
            key: "(file)".into(),
            message,
        };
        if fs.kind(path).map_err(|err| file_error(err.to_string()))?
            == Some(kustomize::EntryKind::File)
        {
            let bytes = fs.read_file(path).map_err(|err| file_error(err.to_string()))?;
            let text = String::from_utf8(bytes).map_err(|_| file_error("not UTF-8".into()))?;
            let value = kustomize::yaml::parse_document(&text, path)
                .map_err(|err| file_error(err.to_string()))?;
            config.merge_file(&value, path)?;
        }
        config.merge_inputs(inputs)?;
        Ok(config)
    }

    /// Overrides settings with the keys present in the config file's parsed `value`.
    pub fn merge_file(&mut self, value: &Value, file: &str) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError {
            origin: file.to_owned(),
            key: key.to_owned(),
            message,
        };
        let Some(map) = value.as_map() else {
            if *value == Value::Null {
                return Ok(());
            }
            return Err(err("(top level)", "expected a mapping".into()));
        };
        for (key, item) in map {
            match key.as_str() {
                "roots" => {
                    let roots = item.as_map().ok_or_else(|| {
                        err(
                            "roots",
                            "expected a mapping with `apps` and `infrastructure` lists".into(),
                        )
                    })?;
                    let mut parsed = Vec::new();
                    for (kind_name, paths) in roots {
                        let kind = match kind_name.as_str() {
                            "apps" => RootKind::Apps,
                            "infrastructure" => RootKind::Infrastructure,
                            other => {
                                return Err(err(
                                    &format!("roots.{other}"),
                                    "unknown root kind (expected apps or infrastructure)".into(),
                                ));
                            }
                        };
                        for path in
                            string_list(paths).map_err(|m| err(&format!("roots.{kind_name}"), m))?
                        {
                            parsed.push(Root {
                                path: clean_folder(&path)
                                    .map_err(|m| err(&format!("roots.{kind_name}"), m))?,
                                kind,
                            });
                        }
                    }
                    self.roots = parsed;
                }
                "environments" => {
                    let items = item
                        .as_seq()
                        .ok_or_else(|| err("environments", "expected a list".into()))?;
                    let mut parsed = Vec::new();
                    for (index, env) in items.iter().enumerate() {
                        let key = format!("environments[{index}]");
                        parsed.push(
                            parse_environment(env)
                                .map_err(|(field, m)| err(&format!("{key}.{field}"), m))?,
                        );
                    }
                    self.environments = parsed;
                }
                "preview" => {
                    let preview =
                        item.as_map().ok_or_else(|| err("preview", "expected a mapping".into()))?;
                    for (field, value) in preview {
                        let key = format!("preview.{field}");
                        match field.as_str() {
                            "branches" => {
                                self.preview.branches = string_list(value).map_err(|m| err(&key, m))?.iter().map(|p| BranchPattern::new(p)).collect();
                            }
                            "environment" => self.preview.environment = string(value).map_err(|m| err(&key, m))?,
                            "namespace" => self.preview.namespace_template = string(value).map_err(|m| err(&key, m))?,
                            "host" => {
                                let host = string(value).map_err(|m| err(&key, m))?;
                                self.preview.host_template = Some(host).filter(|h| !h.is_empty());
                            }
                            "ttl" => self.preview.ttl = parse_duration(&string(value).map_err(|m| err(&key, m))?).map_err(|m| err(&key, m))?,
                            other => return Err(err(&format!("preview.{other}"), "unknown key (expected branches, environment, namespace, host, ttl)".into())),
                        }
                    }
                }
                "units" => self.units = string_list(item).map_err(|m| err("units", m))?,
                "fork-deploy-label" => {
                    self.fork_deploy_label =
                        string(item).map_err(|m| err("fork-deploy-label", m))?
                }
                "helm" => {
                    let helm =
                        item.as_map().ok_or_else(|| err("helm", "expected a mapping".into()))?;
                    for (field, value) in helm {
                        let key = format!("helm.{field}");
                        match field.as_str() {
                            "repositories" => {
                                let hosts = string_list(value).map_err(|m| err(&key, m))?;
                                for host in &hosts {
                                    check_host_pattern(host).map_err(|m| err(&key, m))?;
                                }
                                self.helm.repositories = Some(hosts);
                            }
                            other => {
                                return Err(err(
                                    &format!("helm.{other}"),
                                    "unknown key (expected repositories)".into(),
                                ));
                            }
                        }
                    }
                }
                "remotes" => {
                    if let Some(allowed) = parse_remotes(item).map_err(|(f, m)| err(&f, m))? {
                        self.remotes.mutable_refs = allowed;
                    }
                }
                other => {
                    return Err(err(other, "unknown key (expected roots, environments, preview, units, fork-deploy-label, helm, remotes)".into()));
                }
            }
        }
        self.validate(file)
    }

    /// Overrides settings with the action's non-empty inputs.
    pub fn merge_inputs(&mut self, inputs: &Inputs) -> Result<(), ConfigError> {
        let err = |input: &str, message: String| ConfigError {
            origin: format!("input `{input}`"),
            key: input.to_owned(),
            message,
        };
        let mut roots_changed = false;
        let mut roots: Vec<Root> = Vec::new();
        for (input, kind) in
            [("app-roots", RootKind::Apps), ("infrastructure-roots", RootKind::Infrastructure)]
        {
            let given = inputs.list(input);
            if given.is_empty() {
                roots.extend(self.roots.iter().filter(|r| r.kind == kind).cloned());
            } else {
                roots_changed = true;
                for path in given {
                    roots
                        .push(Root { path: clean_folder(&path).map_err(|m| err(input, m))?, kind });
                }
            }
        }
        if roots_changed {
            self.roots = roots;
        }
        for (slot, name_input, branch_input) in [
            (ClusterSlot::Testing, "testing-environment", "testing-branch"),
            (ClusterSlot::Production, "production-environment", "production-branch"),
        ] {
            let Some(env) = self.environments.iter_mut().find(|env| env.cluster == slot) else {
                continue;
            };
            if let Some(name) = inputs.non_empty(name_input) {
                if self.preview.environment == env.name {
                    self.preview.environment = name.to_owned();
                }
                env.name = name.to_owned();
                env.overlay = name.to_owned();
            }
            if let Some(branch) = inputs.non_empty(branch_input) {
                env.branch = branch.to_owned();
            }
        }
        let branches = inputs.list("preview-branches");
        if !branches.is_empty() {
            self.preview.branches = branches.iter().map(|p| BranchPattern::new(p)).collect();
        }
        if let Some(template) = inputs.non_empty("preview-namespace-template") {
            self.preview.namespace_template = template.to_owned();
        }
        if let Some(template) = inputs.non_empty("preview-host-template") {
            self.preview.host_template = Some(template.to_owned());
        }
        if let Some(ttl) = inputs.non_empty("preview-ttl") {
            self.preview.ttl = parse_duration(ttl).map_err(|m| err("preview-ttl", m))?;
        }
        let units = inputs.list("units");
        if !units.is_empty() {
            self.units = units;
        }
        if let Some(label) = inputs.non_empty("allow-fork-deploy-label") {
            self.fork_deploy_label = label.to_owned();
        }
        self.validate("inputs")
    }

    /// Checks the settings hang together.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError {
            origin: origin.to_owned(),
            key: key.to_owned(),
            message,
        };
        if self.roots.is_empty() {
            return Err(err("roots", "at least one root is needed".into()));
        }
        if self.environments.is_empty() {
            return Err(err("environments", "at least one environment is needed".into()));
        }
        for (i, env) in self.environments.iter().enumerate() {
            if self.environments[..i].iter().any(|other| other.name == env.name) {
                return Err(err(
                    "environments",
                    format!("environment `{}` is defined twice", env.name),
                ));
            }
            if self.environments[..i].iter().any(|other| other.branch == env.branch) {
                return Err(err(
                    "environments",
                    format!("branch `{}` deploys two environments", env.branch),
                ));
            }
        }
        if self.environment(&self.preview.environment).is_none() {
            return Err(err(
                "preview.environment",
                format!(
                    "`{}` is not one of the environments ({})",
                    self.preview.environment,
                    self.environment_names()
                ),
            ));
        }
        if !self.preview.namespace_template.contains("{slug}") {
            return Err(err(
                "preview.namespace",
                "the template must contain {slug}, or previews would share one namespace".into(),
            ));
        }
        if let Some(host) = &self.preview.host_template
            && !host.contains("{slug}")
        {
            return Err(err(
                "preview.host",
                "the template must contain {slug}, or previews would share hosts".into(),
            ));
        }
        Ok(())
    }

    fn environment_names(&self) -> String {
        self.environments.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}

fn parse_environment(value: &Value) -> Result<Environment, (String, String)> {
    let map = value.as_map().ok_or_else(|| (String::new(), "expected a mapping".to_owned()))?;
    let field = |name: &str| -> Result<Option<String>, (String, String)> {
        map.get(name).map(string).transpose().map_err(|m| (name.to_owned(), m))
    };
    for key in map.keys() {
        if !["name", "overlay", "branch", "cluster", "remotes"].contains(&key.as_str()) {
            return Err((
                key.clone(),
                "unknown key (expected name, overlay, branch, cluster, remotes)".into(),
            ));
        }
    }
    let mutable_refs = match map.get("remotes") {
        Some(remotes) => parse_remotes(remotes)?,
        None => None,
    };
    let name = field("name")?.ok_or_else(|| ("name".to_owned(), "missing".to_owned()))?;
    let branch = field("branch")?.ok_or_else(|| ("branch".to_owned(), "missing".to_owned()))?;
    let overlay = field("overlay")?.unwrap_or_else(|| name.clone());
    let cluster = match field("cluster")?.as_deref() {
        None => {
            if name.starts_with("prod") {
                ClusterSlot::Production
            } else {
                ClusterSlot::Testing
            }
        }
        Some("testing") => ClusterSlot::Testing,
        Some("production") => ClusterSlot::Production,
        Some(other) => {
            return Err((
                "cluster".into(),
                format!("`{other}` is not a cluster slot (expected testing or production)"),
            ));
        }
    };
    Ok(Environment { name, overlay, branch, cluster, mutable_refs })
}

/// A `remotes` mapping (global or an environment's): its `mutable-refs`, if set. Errors are
/// (key, message), the key starting at `remotes`.
fn parse_remotes(value: &Value) -> Result<Option<bool>, (String, String)> {
    let map =
        value.as_map().ok_or_else(|| ("remotes".to_owned(), "expected a mapping".to_owned()))?;
    let mut mutable_refs = None;
    for (field, item) in map {
        match field.as_str() {
            "mutable-refs" => match item {
                Value::Bool(allowed) => mutable_refs = Some(*allowed),
                other => {
                    return Err((
                        "remotes.mutable-refs".to_owned(),
                        format!("expected true or false, got {}", describe(other)),
                    ));
                }
            },
            other => {
                return Err((
                    format!("remotes.{other}"),
                    "unknown key (expected mutable-refs)".to_owned(),
                ));
            }
        }
    }
    Ok(mutable_refs)
}

/// A chart repository host as `helm.repositories` lists them: `charts.example.com`, or
/// `*.example.com` for its subdomains — a host name, not a URL.
fn check_host_pattern(pattern: &str) -> Result<(), String> {
    let host = pattern.strip_prefix("*.").unwrap_or(pattern);
    let valid = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !host.starts_with('.')
        && !host.ends_with('.');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{pattern}` is not a host name (write charts.example.com or *.example.com, without a scheme or path)"
        ))
    }
}

fn string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expected a string, got {}", describe(other))),
    }
}

fn string_list(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Seq(items) => items.iter().map(string).collect(),
        Value::String(s) => Ok(split_list(s)),
        other => Err(format!("expected a list of strings, got {}", describe(other))),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

/// A repository-relative folder: no absolute paths, no `..`, no trailing slash.
fn clean_folder(path: &str) -> Result<String, String> {
    let trimmed = path.trim().trim_end_matches('/').trim_start_matches("./");
    if trimmed.is_empty() || trimmed.starts_with('/') || trimmed.split('/').any(|part| part == "..")
    {
        return Err(format!("`{path}` must be a folder inside the repository"));
    }
    Ok(trimmed.to_owned())
}

/// A branch filter as GitHub writes them: `*` matches within one path segment, `**` across.
#[derive(Clone, PartialEq, Eq)]
pub struct BranchPattern(String);

impl fmt::Debug for BranchPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl serde::Serialize for BranchPattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl BranchPattern {
    pub fn new(pattern: &str) -> Self {
        BranchPattern(pattern.trim().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, branch: &str) -> bool {
        glob_match(self.0.as_bytes(), branch.as_bytes())
    }
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        [b'*', rest @ ..] => {
            let segment = text.iter().position(|&c| c == b'/').unwrap_or(text.len());
            (0..=segment).any(|i| glob_match(rest, &text[i..]))
        }
        [b'?', rest @ ..] => matches!(text, [c, tail @ ..] if *c != b'/' && glob_match(rest, tail)),
        [p, rest @ ..] => matches!(text, [c, tail @ ..] if c == p && glob_match(rest, tail)),
    }
}

/// Parses durations such as `72h`, `7d`, `1h30m`, `90s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("`{text}` is not a duration (examples: 30m, 72h, 7d, 1h30m)");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|_| invalid())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(invalid)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration the way `parse_duration` reads it.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, name) in [(86400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
        if rest >= unit {
            out.push_str(&format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    out
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kustomize::Map;

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map>())
    }

    fn seq(items: &[&str]) -> Value {
        Value::Seq(items.iter().map(|s| Value::from(*s)).collect())
    }

    #[test]
    fn defaults_are_the_products() {
        let config = Config::default();
        config.validate("defaults").unwrap();
        assert_eq!(config.environment_for_branch("develop").unwrap().name, "testing");
        assert_eq!(config.environment_for_branch("main").unwrap().name, "production");
        assert!(config.is_preview_branch("feat/login"));
        assert!(!config.is_preview_branch("feat/a/b"));
        assert!(!config.is_preview_branch("fix/login"));
        assert_eq!(config.integration_branch(), "develop");
        assert_eq!(
            config.root_kind("infrastructure/overlays/testing"),
            Some(RootKind::Infrastructure)
        );
        assert_eq!(config.root_kind("apps-old/x"), None);
    }

    #[test]
    fn branch_patterns_follow_github_filters() {
        assert!(BranchPattern::new("feat/**").matches("feat/a/b"));
        assert!(BranchPattern::new("*").matches("main"));
        assert!(!BranchPattern::new("*").matches("feat/x"));
        assert!(BranchPattern::new("release-?").matches("release-1"));
        assert!(BranchPattern::new("feat-*-x").matches("feat-abc-x"));
    }

    #[test]
    fn file_renames_environments_and_roots() {
        let mut config = Config::default();
        let file = map(vec![
            (
                "roots",
                map(vec![
                    ("apps", seq(&["kubernetes/apps"])),
                    ("infrastructure", seq(&["kubernetes/infra"])),
                ]),
            ),
            (
                "environments",
                Value::Seq(vec![
                    map(vec![("name", "staging".into()), ("branch", "develop".into())]),
                    map(vec![
                        ("name", "prod".into()),
                        ("branch", "main".into()),
                        ("overlay", "production".into()),
                    ]),
                ]),
            ),
            (
                "preview",
                map(vec![
                    ("environment", "staging".into()),
                    ("ttl", "7d".into()),
                    ("host", "{app}-{slug}.pr.example.com".into()),
                ]),
            ),
        ]);
        config.merge_file(&file, ".github/gitops-env.yaml").unwrap();
        assert_eq!(config.environment("prod").unwrap().cluster, ClusterSlot::Production);
        assert_eq!(config.environment("prod").unwrap().overlay, "production");
        assert_eq!(config.preview.ttl, Duration::from_secs(7 * 86400));
        assert_eq!(
            config.root_kind("kubernetes/infra/overlays/prod"),
            Some(RootKind::Infrastructure)
        );
    }

    #[test]
    fn file_errors_name_the_file_and_key() {
        let mut config = Config::default();
        let file = map(vec![("preview", map(vec![("ttl", "soon".into())]))]);
        let err = config.merge_file(&file, ".github/gitops-env.yaml").unwrap_err();
        assert_eq!(err.origin, ".github/gitops-env.yaml");
        assert_eq!(err.key, "preview.ttl");
        let file = map(vec![("enviroments", Value::Seq(vec![]))]);
        let err = Config::default().merge_file(&file, "f.yaml").unwrap_err();
        assert_eq!(err.key, "enviroments");
        assert!(err.to_string().starts_with("f.yaml: `enviroments`: unknown key"));
    }

    #[test]
    fn chart_hosts_and_mutable_refs_are_settings_with_environment_overrides() {
        let mut config = Config::default();
        assert_eq!(config.helm.repositories, None);
        assert!(config.overlays_refusing_mutable_refs().is_empty());
        let file = map(vec![
            ("helm", map(vec![("repositories", seq(&["charts.example.com", "*.corp.example"]))])),
            ("remotes", map(vec![("mutable-refs", Value::Bool(false))])),
            (
                "environments",
                Value::Seq(vec![
                    map(vec![
                        ("name", "testing".into()),
                        ("branch", "develop".into()),
                        ("remotes", map(vec![("mutable-refs", Value::Bool(true))])),
                    ]),
                    map(vec![("name", "production".into()), ("branch", "main".into())]),
                ]),
            ),
        ]);
        config.merge_file(&file, "f.yaml").unwrap();
        assert_eq!(
            config.helm.repositories.as_deref(),
            Some(&["charts.example.com".to_owned(), "*.corp.example".to_owned()][..])
        );
        assert_eq!(
            config.overlays_refusing_mutable_refs().into_iter().collect::<Vec<_>>(),
            ["production"]
        );
        let bad = |file: Value| Config::default().merge_file(&file, "f.yaml").unwrap_err();
        let err = bad(map(vec![("helm", map(vec![("repositories", seq(&["https://x.io/c"]))]))]));
        assert_eq!(err.key, "helm.repositories");
        assert!(err.message.contains("not a host name"), "{err}");
        let err = bad(map(vec![("remotes", map(vec![("mutable-refs", "no".into())]))]));
        assert_eq!(err.key, "remotes.mutable-refs");
        let err = bad(map(vec![(
            "environments",
            Value::Seq(vec![map(vec![
                ("name", "testing".into()),
                ("branch", "develop".into()),
                ("remotes", map(vec![("pinned", Value::Bool(true))])),
            ])]),
        )]));
        assert_eq!(err.key, "environments[0].remotes.pinned");
    }

    #[test]
    fn preview_environment_must_exist() {
        let mut config = Config::default();
        let file = map(vec![("preview", map(vec![("environment", "qa".into())]))]);
        let err = config.merge_file(&file, "f.yaml").unwrap_err();
        assert_eq!(err.key, "preview.environment");
        assert!(err.message.contains("testing, production"));
    }

    #[test]
    fn inputs_override_file_and_defaults() {
        let mut config = Config::default();
        let inputs = Inputs::with(&[
            ("testing-environment", "staging"),
            ("production-branch", "release"),
            ("app-roots", "k8s/apps"),
            ("preview-branches", "feature/**, fix/*"),
            ("preview-ttl", "1h30m"),
        ]);
        config.merge_inputs(&inputs).unwrap();
        assert_eq!(config.preview.environment, "staging");
        assert_eq!(config.environment_for_branch("release").unwrap().name, "production");
        assert!(config.is_preview_branch("feature/a/b"));
        assert_eq!(config.preview.ttl, Duration::from_secs(5400));
        assert_eq!(
            config.roots.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
            ["k8s/apps", "infrastructure"]
        );
        let err =
            Config::default().merge_inputs(&Inputs::with(&[("preview-ttl", "x")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `preview-ttl`: `preview-ttl`: `x` is not a duration (examples: 30m, 72h, 7d, 1h30m)"
        );
    }

    #[test]
    fn durations_round_trip() {
        for text in ["72h", "7d", "1h30m", "90s", "1d2h3m4s"] {
            let parsed = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(parsed)).unwrap(), parsed);
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn templates_must_separate_previews() {
        let mut config = Config::default();
        let err = config
            .merge_inputs(&Inputs::with(&[("preview-namespace-template", "previews")]))
            .unwrap_err();
        assert!(err.message.contains("{slug}"));
    }

    #[test]
    fn config_file_is_read_through_the_file_system_and_inputs_win() {
        let fs = kustomize::MemoryFs::new()
            .with(".github/gitops-env.yaml", "preview:\n  ttl: 7d\n  branches: [feature/*]\n");
        let inputs = Inputs::with(&[("preview-ttl", "1h")]);
        let config = Config::load(&fs, ".github/gitops-env.yaml", &inputs).unwrap();
        assert!(config.is_preview_branch("feature/x"));
        assert_eq!(config.preview.ttl.as_secs(), 3600);
    }

    #[test]
    fn a_missing_config_file_means_defaults_and_a_broken_one_names_itself() {
        let fs = kustomize::MemoryFs::new().with("README.md", "hi");
        assert_eq!(
            Config::load(&fs, ".github/gitops-env.yaml", &Inputs::default()).unwrap(),
            Config::default()
        );
        let fs = kustomize::MemoryFs::new().with(".github/gitops-env.yaml", "preview: [\n");
        let err = Config::load(&fs, ".github/gitops-env.yaml", &Inputs::default()).unwrap_err();
        assert_eq!(err.origin, ".github/gitops-env.yaml");
    }

    #[test]
    fn folders_outside_the_repository_are_refused() {
        assert!(clean_folder("../etc").is_err());
        assert!(clean_folder("/abs").is_err());
        assert_eq!(clean_folder("./apps/").unwrap(), "apps");
    }
}
