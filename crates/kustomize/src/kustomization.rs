//! The kustomization file model: every field kustomize v5 accepts, deprecated ones included,
//! read strictly from the parsed YAML.
//!
//! As kustomize decodes with unknown fields disallowed, an unknown field anywhere in the parts we
//! model is an error naming the field and the file. Deprecated fields are folded into their
//! replacements the way kustomize's `FixKustomization` does (`bases` after `resources`,
//! `imageTags` after `images`, `env` after `envs`). Patch, replacement and var entries are kept
//! as raw values: their meaning belongs to the patch module.
//!
//! This module reads and validates; it touches no file other than the one it is given.

use crate::error::BuildError;
use crate::field_specs::FieldSpec;
use crate::resource::scalar_text;
use crate::value::{Map, Value};

/// `Kustomization` or `Component`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KustomizationKind {
    #[default]
    Kustomization,
    Component,
}

/// One entry of `labels`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelEntry {
    pub pairs: Vec<(String, String)>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<FieldSpec>,
}

/// One entry of `images`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageEntry {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub tag_suffix: String,
    pub digest: String,
}

/// One entry of `replicas`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaEntry {
    pub name: String,
    pub count: i64,
}

/// `generatorOptions`, or a generator's own `options`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeneratorOptions {
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub disable_name_suffix_hash: bool,
    pub immutable: bool,
}

impl GeneratorOptions {
    /// kustomize's `MergeGlobalOptionsIntoLocal`: the generator's own keys win, flags add up.
    pub fn merged_with_global(
        local: Option<&GeneratorOptions>,
        global: Option<&GeneratorOptions>,
    ) -> Option<GeneratorOptions> {
        let Some(global) = global else { return local.cloned() };
        let mut merged = local.cloned().unwrap_or_default();
        for (key, value) in &global.labels {
            if !merged.labels.iter().any(|(k, _)| k == key) {
                merged.labels.push((key.clone(), value.clone()));
            }
        }
        for (key, value) in &global.annotations {
            if !merged.annotations.iter().any(|(k, _)| k == key) {
                merged.annotations.push((key.clone(), value.clone()));
            }
        }
        merged.disable_name_suffix_hash |= global.disable_name_suffix_hash;
        merged.immutable |= global.immutable;
        Some(merged)
    }
}

/// One `configMapGenerator` or `secretGenerator` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeneratorArgs {
    pub name: String,
    pub namespace: String,
    pub behavior: String,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub options: Option<GeneratorOptions>,
    /// Secrets only: the `type`.
    pub secret_type: String,
}

/// `sortOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SortOptions {
    pub order: String,
    pub legacy_order_first: Option<Vec<String>>,
    pub legacy_order_last: Option<Vec<String>>,
    pub has_legacy_options: bool,
}

/// `helmGlobals`: settings shared by every chart of a kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelmGlobals {
    /// Where charts live, relative to the kustomization (kustomize's default: `charts`).
    pub chart_home: String,
    /// `HELM_CONFIG_HOME` for the helm process (default: a fresh temporary directory).
    pub config_home: String,
}

/// One `helmCharts` entry, with every field kustomize v5.5 accepts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HelmChart {
    pub name: String,
    pub version: String,
    /// A chart repository URL (`https://…`) or an OCI repository (`oci://…`).
    pub repo: String,
    pub release_name: String,
    pub namespace: String,
    pub name_template: String,
    /// Values to use instead of the chart's own `values.yaml`.
    pub values_file: String,
    pub additional_values_files: Vec<String>,
    /// `valuesInline`: a mapping (kept as read; may hold secrets, never print it).
    pub values_inline: Option<Map>,
    /// `override` (default), `merge` or `replace`.
    pub values_merge: String,
    pub include_crds: bool,
    pub skip_hooks: bool,
    pub skip_tests: bool,
    pub api_versions: Vec<String>,
    pub kube_version: String,
    pub debug: bool,
}

/// The fields of a `helmCharts` entry (Go JSON names of kustomize's `HelmChart`).
pub const HELM_CHART_FIELDS: &[&str] = &[
    "name",
    "version",
    "repo",
    "releaseName",
    "namespace",
    "nameTemplate",
    "valuesFile",
    "additionalValuesFiles",
    "valuesInline",
    "valuesMerge",
    "includeCRDs",
    "skipHooks",
    "skipTests",
    "apiVersions",
    "kubeVersion",
    "debug",
];

/// A parsed kustomization file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Kustomization {
    /// The file this was read from.
    pub file: String,
    pub kind: KustomizationKind,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    pub common_labels: Vec<(String, String)>,
    pub labels: Vec<LabelEntry>,
    pub common_annotations: Vec<(String, String)>,
    /// Raw `patchesStrategicMerge` entries (paths or inline patches).
    pub patches_strategic_merge: Vec<Value>,
    /// Raw `patchesJson6902` entries.
    pub patches_json6902: Vec<Value>,
    /// Raw `patches` entries.
    pub patches: Vec<Value>,
    pub images: Vec<ImageEntry>,
    /// Raw `replacements` entries.
    pub replacements: Vec<Value>,
    pub replicas: Vec<ReplicaEntry>,
    /// Raw `vars` entries.
    pub vars: Vec<Value>,
    pub sort_options: Option<SortOptions>,
    /// `resources` followed by the deprecated `bases`.
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub crds: Vec<String>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub generator_options: Option<GeneratorOptions>,
    pub configurations: Vec<String>,
    pub generators: Vec<String>,
    pub transformers: Vec<String>,
    pub validators: Vec<String>,
    pub build_metadata: Vec<String>,
    /// `openapi`: only kustomize's built-in schema (`version: v1.21.2`, or no `path`) is
    /// accepted (`check_openapi`); other keys are ignored, as kustomize ignores them.
    pub openapi: Vec<(String, String)>,
    pub helm_globals: Option<HelmGlobals>,
    /// `helmCharts` followed by the deprecated `helmChartInflationGenerator` entries.
    pub helm_charts: Vec<HelmChart>,
}

/// The OpenAPI schema kustomize v5.5 has built in (`openapi: {version: …}`).
const BUILTIN_OPENAPI_VERSION: &str = "v1.21.2";

/// kustomize's `openapi` field: `path` loads a custom schema that changes how strategic-merge
/// patches merge the kinds it describes, which our renderer (kustomize's built-in schema only)
/// would silently get wrong, so it is refused by name; `version` must be the built-in one, as
/// in kustomize.
fn check_openapi(openapi: &[(String, String)], file: &str) -> Result<(), BuildError> {
    for (key, value) in openapi {
        match key.as_str() {
            "path" => {
                return Err(BuildError::Unsupported {
                    file: file.to_owned(),
                    field: "openapi.path".into(),
                    what: "a custom OpenAPI schema (it changes how strategic-merge patches merge \
                           the kinds it describes; gitops-env renders with kustomize's built-in \
                           schema only)"
                        .into(),
                });
            }
            "version" if value != BUILTIN_OPENAPI_VERSION => {
                return Err(BuildError::invalid(
                    file,
                    "openapi.version",
                    "the specified OpenAPI version is not built in",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Reads a kustomization from its parsed YAML; `file` names it in errors.
pub fn parse(value: &Value, file: &str) -> Result<Kustomization, BuildError> {
    let mut k = Kustomization { file: file.to_owned(), ..Kustomization::default() };
    let map = match value {
        Value::Map(map) => map,
        Value::Null => {
            return Err(BuildError::invalid(file, "", "kustomization.yaml is empty"));
        }
        _ => return Err(BuildError::invalid(file, "", "a kustomization must be a mapping")),
    };
    let reader = Reader { file };
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut bases = Vec::new();
    let mut image_tags = Vec::new();
    let mut legacy_helm = Vec::new();
    let mut meaningful = false;
    for (key, field) in map {
        let key = canonical(key, TOP_LEVEL_FIELDS);
        if !matches!(key, "apiVersion" | "kind") && !matches!(field, Value::Null) {
            meaningful = true;
        }
        match key {
            "apiVersion" => api_version = reader.string(field, key)?,
            "kind" => kind = reader.string(field, key)?,
            "metadata" => reader.check_metadata(field)?,
            "openapi" => {
                k.openapi = reader.string_map(field, key)?;
                check_openapi(&k.openapi, file)?;
            }
            "namePrefix" => k.name_prefix = reader.string(field, key)?,
            "nameSuffix" => k.name_suffix = reader.string(field, key)?,
            "namespace" => k.namespace = reader.string(field, key)?,
            "commonLabels" => k.common_labels = reader.string_map(field, key)?,
            "labels" => {
                for item in reader.list(field, key)? {
                    k.labels.push(reader.label(item)?);
                }
            }
            "commonAnnotations" => k.common_annotations = reader.string_map(field, key)?,
            "patchesStrategicMerge" => {
                k.patches_strategic_merge = reader.list(field, key)?.to_vec()
            }
            "patchesJson6902" => k.patches_json6902 = reader.list(field, key)?.to_vec(),
            "patches" => k.patches = reader.list(field, key)?.to_vec(),
            "images" => {
                for item in reader.list(field, key)? {
                    k.images.push(reader.image(item, key)?);
                }
            }
            "imageTags" => {
                for item in reader.list(field, key)? {
                    image_tags.push(reader.image(item, key)?);
                }
            }
            "replacements" => k.replacements = reader.list(field, key)?.to_vec(),
            "replicas" => {
                for item in reader.list(field, key)? {
                    k.replicas.push(reader.replica(item)?);
                }
            }
            "vars" => k.vars = reader.list(field, key)?.to_vec(),
            "sortOptions" => k.sort_options = reader.sort_options(field)?,
            "resources" => k.resources = reader.strings(field, key)?,
            "components" => k.components = reader.strings(field, key)?,
            "crds" => k.crds = reader.strings(field, key)?,
            "bases" => bases = reader.strings(field, key)?,
            "configMapGenerator" => {
                for item in reader.list(field, key)? {
                    k.config_map_generator.push(reader.generator(item, key, false)?);
                }
            }
            "secretGenerator" => {
                for item in reader.list(field, key)? {
                    k.secret_generator.push(reader.generator(item, key, true)?);
                }
            }
            "helmGlobals" => k.helm_globals = reader.helm_globals(field)?,
            "helmCharts" => {
                for item in reader.list(field, key)? {
                    k.helm_charts.push(reader.helm_chart(item, key, Strictness::Strict)?);
                }
            }
            "helmChartInflationGenerator" => {
                for item in reader.list(field, key)? {
                    legacy_helm.push(reader.legacy_helm_chart(item)?);
                }
            }
            "generatorOptions" => k.generator_options = reader.generator_options(field, key)?,
            "configurations" => k.configurations = reader.strings(field, key)?,
            "generators" => k.generators = reader.strings(field, key)?,
            "transformers" => k.transformers = reader.strings(field, key)?,
            "validators" => k.validators = reader.strings(field, key)?,
            "buildMetadata" => k.build_metadata = reader.strings(field, key)?,
            other => {
                return Err(BuildError::UnknownField {
                    file: file.to_owned(),
                    field: other.to_owned(),
                });
            }
        }
    }
    // kustomize refuses a kustomization holding nothing but its type.
    if !meaningful {
        return Err(BuildError::invalid(file, "", "kustomization.yaml is empty"));
    }
    k.kind = match kind.as_str() {
        "" | "Kustomization" => KustomizationKind::Kustomization,
        "Component" => KustomizationKind::Component,
        _ => {
            return Err(BuildError::invalid(
                file,
                "kind",
                "kind should be Kustomization or Component",
            ));
        }
    };
    let required_version = match k.kind {
        KustomizationKind::Kustomization => "kustomize.config.k8s.io/v1beta1",
        KustomizationKind::Component => "kustomize.config.k8s.io/v1alpha1",
    };
    if !api_version.is_empty() && api_version != required_version {
        return Err(BuildError::invalid(
            file,
            "apiVersion",
            format!("apiVersion for {kind} should be {required_version}"),
        ));
    }
    k.resources.extend(bases);
    k.images.extend(image_tags);
    fold_legacy_helm(&mut k, legacy_helm);
    Ok(k)
}

/// One deprecated `helmChartInflationGenerator` entry, as kustomize's `HelmChartArgs`.
#[derive(Clone, Debug, Default, PartialEq)]
struct LegacyHelmChart {
    chart: HelmChart,
    chart_home: String,
    helm_home: String,
}

/// kustomize's `SplitHelmParameters`: legacy entries become charts after `helmCharts`; their
/// last non-empty `chartHome` / `helmHome` become `helmGlobals` when there are none.
fn fold_legacy_helm(k: &mut Kustomization, legacy: Vec<LegacyHelmChart>) {
    let mut globals = HelmGlobals::default();
    for entry in legacy {
        if !entry.helm_home.is_empty() {
            globals.config_home = entry.helm_home;
        }
        if !entry.chart_home.is_empty() {
            globals.chart_home = entry.chart_home;
        }
        k.helm_charts.push(entry.chart);
    }
    if k.helm_globals.is_none()
        && (!globals.chart_home.is_empty() || !globals.config_home.is_empty())
    {
        k.helm_globals = Some(globals);
    }
}

/// Whether unknown keys are an error (kustomization files) or ignored (plugin configurations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    Strict,
    Lenient,
}

/// Reads the configuration of the builtin `HelmChartInflationGenerator` plugin named by a
/// `generators` entry: the fields of `helmGlobals` and of one chart, side by side.
pub fn plugin_helm_chart(
    value: &Value,
    file: &str,
) -> Result<(HelmGlobals, HelmChart), BuildError> {
    let reader = Reader { file };
    let chart = reader.helm_chart(value, "generators", Strictness::Lenient)?;
    let mut globals = HelmGlobals::default();
    for (key, field) in value.as_map().into_iter().flatten() {
        match canonical(key, &["chartHome", "configHome"]) {
            "chartHome" => globals.chart_home = reader.string(field, "generators.chartHome")?,
            "configHome" => globals.config_home = reader.string(field, "generators.configHome")?,
            _ => {}
        }
    }
    Ok((globals, chart))
}

/// Every top-level field kustomize v5 knows.
const TOP_LEVEL_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// The field name a key stands for: Go's JSON decoding (which kustomize uses for
/// kustomizations) matches field names exactly first, then ignoring case (`nameprefix` is
/// `namePrefix`).
fn canonical<'k>(key: &'k str, known: &[&'static str]) -> &'k str {
    if known.contains(&key) {
        return key;
    }
    known.iter().find(|name| name.eq_ignore_ascii_case(key)).copied().unwrap_or(key)
}

/// The fields of a `configMapGenerator` / `secretGenerator` entry.
const GENERATOR_FIELDS: &[&str] =
    &["name", "namespace", "behavior", "literals", "files", "envs", "env", "options", "type"];

/// Reads the configuration of a builtin generator plugin (`apiVersion: builtin`,
/// `kind: ConfigMapGenerator` or `SecretGenerator`) named by a `generators` entry: the
/// generator fields plus `metadata`, whose name and namespace fill in missing ones.
pub fn plugin_generator_args(
    value: &Value,
    file: &str,
    is_secret: bool,
) -> Result<GeneratorArgs, BuildError> {
    let reader = Reader { file };
    let mut own = Map::new();
    let mut metadata = (String::new(), String::new());
    for (key, field) in value.as_map().into_iter().flatten() {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                let text =
                    |k: &str| field.get_path(&[k]).and_then(Value::as_str).unwrap_or("").to_owned();
                metadata = (text("name"), text("namespace"));
            }
            // Plugin configurations are decoded leniently: unknown keys are ignored.
            known if GENERATOR_FIELDS.contains(&known) => {
                own.insert(key.clone(), field.clone());
            }
            _ => {}
        }
    }
    let mut args = reader.generator(&Value::Map(own), "generators", is_secret)?;
    if args.name.is_empty() {
        args.name = metadata.0;
    }
    if args.namespace.is_empty() {
        args.namespace = metadata.1;
    }
    Ok(args)
}

/// Reads typed fields out of values, naming the file in every error.
struct Reader<'a> {
    file: &'a str,
}

impl Reader<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> BuildError {
        BuildError::invalid(self.file, field, message)
    }

    fn unknown(&self, field: &str) -> BuildError {
        BuildError::UnknownField { file: self.file.to_owned(), field: field.to_owned() }
    }

    fn string(&self, value: &Value, field: &str) -> Result<String, BuildError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Null => Ok(String::new()),
            _ => Err(self.error(field, "expected a string")),
        }
    }

    fn bool(&self, value: &Value, field: &str) -> Result<bool, BuildError> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Null => Ok(false),
            _ => Err(self.error(field, "expected true or false")),
        }
    }

    fn list<'v>(&self, value: &'v Value, field: &str) -> Result<&'v [Value], BuildError> {
        match value {
            Value::Seq(items) => Ok(items),
            Value::Null => Ok(&[]),
            _ => Err(self.error(field, "expected a list")),
        }
    }

    fn strings(&self, value: &Value, field: &str) -> Result<Vec<String>, BuildError> {
        self.list(value, field)?.iter().map(|item| self.string(item, field)).collect()
    }

    fn mapping<'v>(&self, value: &'v Value, field: &str) -> Result<Option<&'v Map>, BuildError> {
        match value {
            Value::Map(map) => Ok(Some(map)),
            Value::Null => Ok(None),
            _ => Err(self.error(field, "expected a mapping")),
        }
    }

    /// A `map[string]string`: kustomize's JSON decoding refuses non-string values.
    fn string_map(&self, value: &Value, field: &str) -> Result<Vec<(String, String)>, BuildError> {
        let Some(map) = self.mapping(value, field)? else { return Ok(Vec::new()) };
        map.iter()
            .map(|(key, value)| match value {
                Value::String(s) => Ok((key.clone(), s.clone())),
                Value::Null => Ok((key.clone(), String::new())),
                Value::Seq(_) | Value::Map(_) => {
                    Err(self.error(field, format!("the value of '{key}' must be a string")))
                }
                other => Err(self.error(
                    field,
                    format!(
                        "the value of '{key}' must be a string, not {}",
                        scalar_text(other).unwrap_or_default()
                    ),
                )),
            })
            .collect()
    }

    fn check_metadata(&self, value: &Value) -> Result<(), BuildError> {
        let Some(map) = self.mapping(value, "metadata")? else { return Ok(()) };
        for (key, field) in map {
            match key.as_str() {
                "name" | "namespace" => {
                    self.string(field, "metadata")?;
                }
                "labels" | "annotations" => {
                    self.string_map(field, "metadata")?;
                }
                other => return Err(self.unknown(&format!("metadata.{other}"))),
            }
        }
        Ok(())
    }

    fn label(&self, value: &Value) -> Result<LabelEntry, BuildError> {
        let Some(map) = self.mapping(value, "labels")? else { return Ok(LabelEntry::default()) };
        let mut entry = LabelEntry::default();
        let known = &[
            "pairs",
            "includeSelectors",
            "includeTemplates",
            "includeVolumeClaimTemplates",
            "fields",
        ];
        for (key, field) in map {
            match canonical(key, known) {
                "pairs" => entry.pairs = self.string_map(field, "labels.pairs")?,
                "includeSelectors" => {
                    entry.include_selectors = self.bool(field, "labels.includeSelectors")?
                }
                "includeTemplates" => {
                    entry.include_templates = self.bool(field, "labels.includeTemplates")?
                }
                "fields" => {
                    for item in self.list(field, "labels.fields")? {
                        entry.fields.push(
                            FieldSpec::from_value(item)
                                .map_err(|m| self.error("labels.fields", m))?,
                        );
                    }
                }
                other => return Err(self.unknown(&format!("labels.{other}"))),
            }
        }
        Ok(entry)
    }

    fn image(&self, value: &Value, field: &str) -> Result<ImageEntry, BuildError> {
        let Some(map) = self.mapping(value, field)? else { return Ok(ImageEntry::default()) };
        let mut entry = ImageEntry::default();
        let known = &["name", "newName", "newTag", "tagSuffix", "digest"];
        for (key, item) in map {
            let key = canonical(key, known);
            // kustomize decodes through JSON into strings; a numeric tag (`newTag: 1.0`) is refused
            // by it too, so only strings are accepted.
            let text = || self.string(item, &format!("{field}.{key}"));
            match key {
                "name" => entry.name = text()?,
                "newName" => entry.new_name = text()?,
                "newTag" => entry.new_tag = text()?,
                "tagSuffix" => entry.tag_suffix = text()?,
                "digest" => entry.digest = text()?,
                other => return Err(self.unknown(&format!("{field}.{other}"))),
            }
        }
        Ok(entry)
    }

    fn replica(&self, value: &Value) -> Result<ReplicaEntry, BuildError> {
        let Some(map) = self.mapping(value, "replicas")? else {
            return Ok(ReplicaEntry::default());
        };
        let mut entry = ReplicaEntry::default();
        for (key, item) in map {
            match canonical(key, &["name", "count"]) {
                "name" => entry.name = self.string(item, "replicas.name")?,
                "count" => {
                    entry.count = match item {
                        Value::Int(i) => *i,
                        Value::Null => 0,
                        _ => return Err(self.error("replicas.count", "expected an integer")),
                    }
                }
                other => return Err(self.unknown(&format!("replicas.{other}"))),
            }
        }
        Ok(entry)
    }

    fn sort_options(&self, value: &Value) -> Result<Option<SortOptions>, BuildError> {
        let Some(map) = self.mapping(value, "sortOptions")? else { return Ok(None) };
        let mut options = SortOptions::default();
        for (key, item) in map {
            match canonical(key, &["order", "legacySortOptions"]) {
                "order" => options.order = self.string(item, "sortOptions.order")?,
                "legacySortOptions" => {
                    let Some(legacy) = self.mapping(item, "sortOptions.legacySortOptions")? else {
                        continue;
                    };
                    options.has_legacy_options = true;
                    for (key, list) in legacy {
                        let field = format!("sortOptions.legacySortOptions.{key}");
                        match key.as_str() {
                            "orderFirst" => {
                                options.legacy_order_first = Some(self.strings(list, &field)?)
                            }
                            "orderLast" => {
                                options.legacy_order_last = Some(self.strings(list, &field)?)
                            }
                            _ => return Err(self.unknown(&field)),
                        }
                    }
                }
                other => return Err(self.unknown(&format!("sortOptions.{other}"))),
            }
        }
        Ok(Some(options))
    }

    fn generator_options(
        &self,
        value: &Value,
        field: &str,
    ) -> Result<Option<GeneratorOptions>, BuildError> {
        let Some(map) = self.mapping(value, field)? else { return Ok(None) };
        let mut options = GeneratorOptions::default();
        let known = &["labels", "annotations", "disableNameSuffixHash", "immutable"];
        for (key, item) in map {
            let name = format!("{field}.{key}");
            match canonical(key, known) {
                "labels" => options.labels = self.string_map(item, &name)?,
                "annotations" => options.annotations = self.string_map(item, &name)?,
                "disableNameSuffixHash" => {
                    options.disable_name_suffix_hash = self.bool(item, &name)?
                }
                "immutable" => options.immutable = self.bool(item, &name)?,
                _ => return Err(self.unknown(&name)),
            }
        }
        Ok(Some(options))
    }

    fn helm_globals(&self, value: &Value) -> Result<Option<HelmGlobals>, BuildError> {
        let Some(map) = self.mapping(value, "helmGlobals")? else { return Ok(None) };
        let mut globals = HelmGlobals::default();
        for (key, item) in map {
            let name = format!("helmGlobals.{key}");
            match canonical(key, &["chartHome", "configHome"]) {
                "chartHome" => globals.chart_home = self.string(item, &name)?,
                "configHome" => globals.config_home = self.string(item, &name)?,
                _ => return Err(self.unknown(&name)),
            }
        }
        Ok(Some(globals))
    }

    fn helm_chart(
        &self,
        value: &Value,
        field: &str,
        strictness: Strictness,
    ) -> Result<HelmChart, BuildError> {
        let Some(map) = self.mapping(value, field)? else { return Ok(HelmChart::default()) };
        let mut chart = HelmChart::default();
        for (key, item) in map {
            let name = format!("{field}.{key}");
            match canonical(key, HELM_CHART_FIELDS) {
                "name" => chart.name = self.string(item, &name)?,
                "version" => chart.version = self.string(item, &name)?,
                "repo" => chart.repo = self.string(item, &name)?,
                "releaseName" => chart.release_name = self.string(item, &name)?,
                "namespace" => chart.namespace = self.string(item, &name)?,
                "nameTemplate" => chart.name_template = self.string(item, &name)?,
                "valuesFile" => chart.values_file = self.string(item, &name)?,
                "additionalValuesFiles" => {
                    chart.additional_values_files = self.strings(item, &name)?
                }
                "valuesInline" => chart.values_inline = self.mapping(item, &name)?.cloned(),
                "valuesMerge" => chart.values_merge = self.string(item, &name)?,
                "includeCRDs" => chart.include_crds = self.bool(item, &name)?,
                "skipHooks" => chart.skip_hooks = self.bool(item, &name)?,
                "skipTests" => chart.skip_tests = self.bool(item, &name)?,
                "apiVersions" => chart.api_versions = self.strings(item, &name)?,
                "kubeVersion" => chart.kube_version = self.string(item, &name)?,
                "debug" => chart.debug = self.bool(item, &name)?,
                _ if strictness == Strictness::Lenient => {}
                _ => return Err(self.unknown(&name)),
            }
        }
        Ok(chart)
    }

    fn legacy_helm_chart(&self, value: &Value) -> Result<LegacyHelmChart, BuildError> {
        let field = "helmChartInflationGenerator";
        let Some(map) = self.mapping(value, field)? else { return Ok(LegacyHelmChart::default()) };
        let mut entry = LegacyHelmChart::default();
        let known = &[
            "chartName",
            "chartVersion",
            "chartRepoUrl",
            "chartHome",
            "chartRepoName",
            "helmBin",
            "helmHome",
            "values",
            "valuesLocal",
            "valuesMerge",
            "releaseName",
            "releaseNamespace",
            "extraArgs",
        ];
        for (key, item) in map {
            let name = format!("{field}.{key}");
            let chart = &mut entry.chart;
            match canonical(key, known) {
                "chartName" => chart.name = self.string(item, &name)?,
                "chartVersion" => chart.version = self.string(item, &name)?,
                "chartRepoUrl" => chart.repo = self.string(item, &name)?,
                "chartHome" => entry.chart_home = self.string(item, &name)?,
                "helmHome" => entry.helm_home = self.string(item, &name)?,
                "values" => chart.values_file = self.string(item, &name)?,
                "valuesLocal" => chart.values_inline = self.mapping(item, &name)?.cloned(),
                "valuesMerge" => chart.values_merge = self.string(item, &name)?,
                "releaseName" => chart.release_name = self.string(item, &name)?,
                // Read (and type-checked) by kustomize, but not passed on to helm.
                "chartRepoName" | "helmBin" | "releaseNamespace" => {
                    self.string(item, &name)?;
                }
                "extraArgs" => {
                    self.strings(item, &name)?;
                }
                _ => return Err(self.unknown(&name)),
            }
        }
        Ok(entry)
    }

    fn generator(
        &self,
        value: &Value,
        field: &str,
        is_secret: bool,
    ) -> Result<GeneratorArgs, BuildError> {
        let Some(map) = self.mapping(value, field)? else { return Ok(GeneratorArgs::default()) };
        let mut args = GeneratorArgs::default();
        let mut env = String::new();
        let known = &[
            "name",
            "namespace",
            "behavior",
            "literals",
            "files",
            "envs",
            "env",
            "options",
            "type",
        ];
        for (key, item) in map {
            let name = format!("{field}.{key}");
            match canonical(key, known) {
                "name" => args.name = self.string(item, &name)?,
                "namespace" => args.namespace = self.string(item, &name)?,
                "behavior" => args.behavior = self.string(item, &name)?,
                "literals" => args.literals = self.strings(item, &name)?,
                "files" => args.files = self.strings(item, &name)?,
                "envs" => args.envs = self.strings(item, &name)?,
                "env" => env = self.string(item, &name)?,
                "options" => args.options = self.generator_options(item, &name)?,
                "type" if is_secret => args.secret_type = self.string(item, &name)?,
                _ => return Err(self.unknown(&name)),
            }
        }
        if !env.is_empty() {
            args.envs.push(env);
        }
        Ok(args)
    }
}
