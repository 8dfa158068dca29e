//! The build stages that apply a kustomization's `patchesStrategicMerge`, `patches`,
//! `patchesJson6902` and `replacements` to the accumulated resources, as kustomize v5.5's
//! builtin transformers do: loading patch files (through the loader, so the load restrictor and
//! the read set apply), deciding strategic merge versus JSON 6902 by content, finding targets by
//! the patch's own id or by a `target` selector, and keeping resource ids (`previous_ids`) right.
//!
//! The merge and patch algorithms themselves live in `strategic_merge`, `json6902`, `selector`
//! and `transform::replacements`; this module is only their glue to the pipeline.

use crate::build::resources_from_file;
use crate::error::BuildError;
use crate::loader::{self, Loader};
use crate::patch::entry_fields::EntryFields;
use crate::patch::json6902::{self, JsonPatchError, Operation};
use crate::patch::selector::{Candidate, Selector, SelectorSpec};
use crate::patch::strategic_merge::{self, SmpOptions};
use crate::resource::{ResId, Resource};
use crate::transform::replacements::{self, Replacement, Subject};
use crate::value::Value;

/// Where the kustomization being built lives, for loading patch files and naming errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub loader: &'a Loader<'a>,
    pub dir: &'a str,
    pub file: &'a str,
}

impl Origin<'_> {
    fn read(&self, entry: &str) -> Result<(String, String), BuildError> {
        let (path, bytes) = self.loader.read_restricted(self.dir, self.file, entry)?;
        let text = String::from_utf8(bytes).map_err(|_| BuildError::not_utf8(&path))?;
        Ok((path, text))
    }

    fn fail(&self, field: &str, message: impl Into<String>) -> BuildError {
        BuildError::transform(self.file, field, message)
    }

    /// A JSON patch from `patch_file` failed on `target`: a budget refusal names the patch
    /// file and the object, anything else is the kustomization's `field` error.
    fn json_failure(
        &self,
        field: &str,
        patch_file: &str,
        target: &ResId,
        error: JsonPatchError,
    ) -> BuildError {
        match error {
            JsonPatchError::Limit { op, index, path, limit } => BuildError::LimitExceeded {
                file: patch_file.to_owned(),
                limit,
                what: format!("{op} operation {index} (path {path:?}) applied to {target}"),
            },
            other => self.fail(field, other.to_string()),
        }
    }
}

/// The content of one patch, decided as kustomize decides it.
enum Loaded {
    /// Strategic merge patch documents (possibly none: only comments).
    Strategic(Vec<Value>),
    Json(Vec<Operation>),
}

/// Parses patch text: objects with kind and name are strategic merge patches; one list of
/// operations (YAML or JSON) is a JSON 6902 patch.
fn load_patch_text(text: &str, source: &str) -> Result<Loaded, String> {
    let strategic = resources_from_file(text.as_bytes(), source);
    let json = json_operations(text, source);
    match (strategic, json) {
        (Ok(patches), Err(_)) => {
            Ok(Loaded::Strategic(patches.into_iter().map(|r| r.value).collect()))
        }
        (Err(_), Ok(operations)) => Ok(Loaded::Json(operations)),
        (Ok(_), Ok(_)) => {
            Err(format!("illegally qualifies as both an SM and JSON patch: {source}"))
        }
        (Err(_), Err(_)) => Err(format!("unable to parse SM or JSON patch from {source}")),
    }
}

fn json_operations(text: &str, source: &str) -> Result<Vec<Operation>, String> {
    if text.is_empty() {
        return Err("empty json patch operations".into());
    }
    let documents = crate::yaml::parse_documents(text, source).map_err(|e| e.to_string())?;
    match documents.as_slice() {
        [list @ Value::Seq(_)] => json6902::decode(list).map_err(|e| e.to_string()),
        _ => Err("a JSON patch is a list of operations".into()),
    }
}

fn candidate(resource: &Resource) -> (ResId, &Value) {
    (resource.original_id(), &resource.value)
}

/// kustomize's `ResMap.Select`: indexes of the resources a target selector picks.
fn select(resources: &[Resource], selector: &Selector) -> Vec<usize> {
    resources
        .iter()
        .enumerate()
        .filter(|(_, resource)| {
            let (original, value) = candidate(resource);
            selector.matches(Candidate {
                resource: value,
                original_name: Some(&original.name),
                original_namespace: Some(&original.namespace),
            })
        })
        .map(|(index, _)| index)
        .collect()
}

/// The id a strategic merge patch names itself by.
fn patch_id(patch: &Value) -> ResId {
    let text = |path: &[&str]| patch.get_path(path).and_then(Value::as_str).unwrap_or("");
    ResId {
        gvk: crate::resource::Gvk::from_api_version(text(&["apiVersion"]), text(&["kind"])),
        name: text(&["metadata", "name"]).to_owned(),
        namespace: text(&["metadata", "namespace"]).to_owned(),
    }
}

/// kustomize's `GetById`: the one resource whose current or previous id is `id`.
fn find_by_id(resources: &[Resource], id: &ResId) -> Result<usize, String> {
    let matches: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, resource)| resource.answers_to(id))
        .map(|(index, _)| index)
        .collect();
    match matches.as_slice() {
        [index] => Ok(*index),
        [] => Err(format!("no matches for Id {id}; failed to find unique target for patch {id}")),
        _ => Err(format!(
            "multiple matches for Id {id}; failed to find unique target for patch {id}"
        )),
    }
}

/// Applies a strategic merge patch to the resource at `index`; `Ok(false)` when the patch
/// deleted it. Like kustomize's `ResMap.ApplySmPatch`, a patch applied through a selector takes
/// the target's apiVersion.
fn apply_strategic(
    resources: &mut [Resource],
    index: usize,
    patch: &Value,
    options: SmpOptions,
    adopt_api_version: bool,
) -> Result<bool, String> {
    let resource = &mut resources[index];
    let mut patch = patch.clone();
    if adopt_api_version
        && let (Some(map), Some(api_version)) =
            (patch.as_map_mut(), resource.value.get_path(&["apiVersion"]).cloned())
    {
        map.insert("apiVersion".to_owned(), api_version);
    }
    if options.allow_name_change || options.allow_kind_change {
        resource.store_previous_id();
    }
    let merged = strategic_merge::apply_to_resource(&resource.value, &patch, options)
        .map_err(|e| e.to_string())?;
    match merged {
        Some(value) => {
            resource.value = value;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Removes the resources marked deleted and refuses two resources with one id afterwards (a
/// rename can collide), as kustomize's re-append does.
fn keep_surviving(resources: &mut Vec<Resource>, alive: &[bool]) -> Result<(), String> {
    let mut index = 0;
    resources.retain(|_| {
        let keep = alive[index];
        index += 1;
        keep
    });
    let mut seen = std::collections::HashSet::new();
    for resource in resources.iter() {
        let id = resource.id();
        if !seen.insert((id.gvk.clone(), id.name.clone(), id.effective_namespace().to_owned())) {
            return Err(format!("may not add resource with an already registered id: {id}"));
        }
    }
    Ok(())
}

/// Applies JSON patch operations to an object as kustomize does. While kustomize builds, every
/// object carries internal annotations, so `metadata.annotations` always exists for the
/// operations to see (adding `/metadata/annotations/x` works on an object that had none); the
/// map is dropped again if the operations leave it empty.
fn apply_json_patch(object: &mut Value, operations: &[Operation]) -> Result<(), JsonPatchError> {
    let metadata = object.get_path_mut(&["metadata"]).and_then(Value::as_map_mut);
    if let Some(metadata) = metadata
        && matches!(metadata.get("annotations"), None | Some(Value::Null))
    {
        metadata.insert("annotations".to_owned(), Value::Map(crate::value::Map::new()));
    }
    let result = json6902::apply(object, operations);
    let metadata = object.get_path_mut(&["metadata"]).and_then(Value::as_map_mut);
    if let Some(metadata) = metadata
        && matches!(metadata.get("annotations"), Some(Value::Map(map)) if map.is_empty())
    {
        metadata.shift_remove("annotations");
    }
    result?;
    // kustomize re-reads the patched object as a resource, which needs a kind and a name.
    for (path, what) in [(&["kind"][..], "kind"), (&["metadata", "name"][..], "metadata.name")] {
        if object.get_path(path).and_then(Value::as_str).is_none_or(str::is_empty) {
            // The object itself is not printed: it may be a Secret.
            return Err(JsonPatchError::Invalid {
                reason: format!("missing {what} in an object after the JSON patch"),
            });
        }
    }
    Ok(())
}

/// `patchesStrategicMerge`: each entry is inline YAML or a file path; each patch finds its
/// target by its own id.
pub(crate) fn apply_patches_strategic_merge(
    origin: Origin<'_>,
    entries: &[Value],
    resources: &mut Vec<Resource>,
) -> Result<(), BuildError> {
    const FIELD: &str = "patchesStrategicMerge";
    let mut patches = Vec::new();
    for entry in entries {
        let Some(text) = entry.as_str() else {
            return Err(BuildError::invalid(origin.file, FIELD, "entries must be strings"));
        };
        match resources_from_file(text.as_bytes(), origin.file) {
            Ok(inline) if !inline.is_empty() => patches.extend(inline.into_iter().map(|r| r.value)),
            _ => {
                let (path, content) = origin.read(text)?;
                patches.extend(
                    resources_from_file(content.as_bytes(), &path)?.into_iter().map(|r| r.value),
                );
            }
        }
    }
    if patches.is_empty() && !entries.is_empty() {
        return Err(origin.fail(FIELD, "patch appears to be empty"));
    }
    for patch in &patches {
        let index = find_by_id(resources, &patch_id(patch)).map_err(|m| origin.fail(FIELD, m))?;
        let kept = apply_strategic(resources, index, patch, SmpOptions::default(), true)
            .map_err(|m| origin.fail(FIELD, m))?;
        if !kept {
            resources.remove(index);
        }
    }
    Ok(())
}

/// The fields of one entry of `field`, unknown keys refused as kustomize refuses them.
fn entry_fields<'a>(
    entry: &'a Value,
    known: &[&str],
    origin: &Origin<'_>,
    field: &str,
) -> Result<EntryFields<'a>, BuildError> {
    let map = entry
        .as_map()
        .ok_or_else(|| BuildError::invalid(origin.file, field, "entries must be maps"))?;
    EntryFields::new(map, known, true).map_err(|m| BuildError::invalid(origin.file, field, m))
}

fn text_field(
    fields: &EntryFields<'_>,
    name: &str,
    origin: &Origin<'_>,
    field: &str,
) -> Result<String, BuildError> {
    fields.text(name).map_err(|m| BuildError::invalid(origin.file, field, m))
}

/// The fields of a `patches` / `patchesJson6902` entry (kustomize's `types.Patch`).
const PATCH_FIELDS: [&str; 4] = ["path", "patch", "target", "options"];

fn selector_of(
    value: Option<&Value>,
    origin: &Origin<'_>,
    field: &str,
) -> Result<Option<Selector>, BuildError> {
    let Some(value) = value.filter(|v| !matches!(v, Value::Null)) else { return Ok(None) };
    let spec = SelectorSpec::from_value(value, true)
        .map_err(|e| BuildError::invalid(origin.file, field, e.to_string()))?;
    Selector::new(&spec)
        .map(Some)
        .map_err(|e| BuildError::invalid(origin.file, field, e.to_string()))
}

/// `patches`: each entry a `path` or inline `patch`, with an optional `target` and `options`.
pub(crate) fn apply_patches(
    origin: Origin<'_>,
    entries: &[Value],
    resources: &mut Vec<Resource>,
) -> Result<(), BuildError> {
    const FIELD: &str = "patches";
    for entry in entries {
        let map = entry_fields(entry, &PATCH_FIELDS, &origin, FIELD)?;
        let inline = text_field(&map, "patch", &origin, FIELD)?;
        let inline = inline.trim();
        let path = text_field(&map, "path", &origin, FIELD)?;
        let mut patch_file = origin.file.to_owned();
        let (text, source) = match (inline.is_empty(), path.is_empty()) {
            (true, true) => return Err(origin.fail(FIELD, "must specify one of patch and path")),
            (false, false) => {
                return Err(origin.fail(FIELD, "patch and path can't be set at the same time"));
            }
            // kustomize quotes an inline patch in its errors; we name it (it may be a Secret's).
            (false, true) => (inline.to_owned(), format!("[inline patch in {}]", origin.file)),
            (true, false) => {
                let (file, text) = origin.read(&path)?;
                patch_file = file;
                (text, format!("[path: {path:?}]"))
            }
        };
        let mut options = SmpOptions::default();
        if let Some(Value::Map(flags)) = map.get("options") {
            for (name, flag) in flags {
                let Value::Bool(flag) = flag else {
                    return Err(BuildError::invalid(
                        origin.file,
                        FIELD,
                        format!("options.{name} must be a boolean"),
                    ));
                };
                match name.as_str() {
                    "allowNameChange" => options.allow_name_change = *flag,
                    "allowKindChange" => options.allow_kind_change = *flag,
                    _ => {}
                }
            }
        }
        let target = selector_of(map.get("target"), &origin, FIELD)?;
        let loaded = load_patch_text(&text, &source).map_err(|m| origin.fail(FIELD, m))?;
        match loaded {
            Loaded::Strategic(patches) if !patches.is_empty() => {
                apply_strategic_entry(
                    origin,
                    &patches,
                    target.as_ref(),
                    options,
                    &source,
                    resources,
                )?;
            }
            Loaded::Strategic(_) => {
                // Nothing but comments: kustomize falls through to its JSON path, which needs
                // a target and then changes nothing.
                let Some(target) = target else {
                    return Err(origin
                        .fail(FIELD, format!("must specify a target for JSON patch {source}")));
                };
                for index in select(resources, &target) {
                    resources[index].store_previous_id();
                }
            }
            Loaded::Json(operations) => {
                let Some(target) = target else {
                    return Err(origin
                        .fail(FIELD, format!("must specify a target for JSON patch {source}")));
                };
                for index in select(resources, &target) {
                    let resource = &mut resources[index];
                    resource.store_previous_id();
                    let id = resource.id();
                    apply_json_patch(&mut resource.value, &operations)
                        .map_err(|e| origin.json_failure(FIELD, &patch_file, &id, e))?;
                }
            }
        }
    }
    Ok(())
}

fn apply_strategic_entry(
    origin: Origin<'_>,
    patches: &[Value],
    target: Option<&Selector>,
    options: SmpOptions,
    source: &str,
    resources: &mut Vec<Resource>,
) -> Result<(), BuildError> {
    const FIELD: &str = "patches";
    let Some(target) = target else {
        let mut deleted = false;
        for patch in patches {
            if deleted {
                // kustomize v5.5 leaves the deleted object in place as a nil node and crashes
                // (nil pointer dereference) looking up the next patch's target.
                return Err(origin.fail(
                    FIELD,
                    format!("kustomize v5.5 crashes on a patch that follows a `$patch: delete` in the same entry: {source}"),
                ));
            }
            let id = patch_id(patch);
            let index = find_by_id(resources, &id).map_err(|m| {
                origin
                    .fail(FIELD, format!("no resource matches strategic merge patch \"{id}\": {m}"))
            })?;
            let kept = apply_strategic(resources, index, patch, options, false)
                .map_err(|m| origin.fail(FIELD, m))?;
            if !kept {
                resources.remove(index);
                deleted = true;
            }
        }
        return Ok(());
    };
    let [patch] = patches else {
        return Err(origin.fail(
            FIELD,
            format!(
                "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {source}"
            ),
        ));
    };
    let selected = select(resources, target);
    let mut alive = vec![true; resources.len()];
    for index in selected {
        alive[index] = apply_strategic(resources, index, patch, options, true)
            .map_err(|m| origin.fail(FIELD, m))?;
    }
    keep_surviving(resources, &alive).map_err(|m| origin.fail(FIELD, m))
}

/// `patchesJson6902`: each entry a `target` (name required) and a `path` or inline `patch`.
pub(crate) fn apply_patches_json6902(
    origin: Origin<'_>,
    entries: &[Value],
    resources: &mut [Resource],
) -> Result<(), BuildError> {
    const FIELD: &str = "patchesJson6902";
    for entry in entries {
        let map = entry_fields(entry, &PATCH_FIELDS, &origin, FIELD)?;
        let target_value = map.get("target");
        let target_name =
            target_value.and_then(|t| t.get_path(&["name"])).and_then(Value::as_str).unwrap_or("");
        if target_name.is_empty() {
            return Err(origin.fail(FIELD, "must specify the target name"));
        }
        let inline = text_field(&map, "patch", &origin, FIELD)?;
        let path = text_field(&map, "path", &origin, FIELD)?;
        let (text, source) = match (inline.is_empty(), path.is_empty()) {
            (true, true) => return Err(origin.fail(FIELD, "empty file path and empty jsonOp")),
            (false, false) => {
                return Err(origin.fail(FIELD, "must specify a file path or jsonOp, not both"));
            }
            (false, true) => (inline, origin.file.to_owned()),
            (true, false) => {
                let (file, text) = origin.read(&path)?;
                (text, file)
            }
        };
        // The patch text is not shown: it may carry Secret data.
        let operations = json_operations(&text, &source)
            .map_err(|m| origin.fail(FIELD, format!("decoding the patch of {source}: {m}")))?;
        if operations.is_empty() {
            return Err(origin.fail(FIELD, format!("patch appears to be empty; file={path}")));
        }
        let target = selector_of(target_value, &origin, FIELD)?.expect("a target with a name");
        for index in select(resources, &target) {
            let id = resources[index].id();
            apply_json_patch(&mut resources[index].value, &operations)
                .map_err(|e| origin.json_failure(FIELD, &source, &id, e))?;
        }
    }
    Ok(())
}

/// `replacements`: inline entries or `path:` files of one or more replacements.
pub(crate) fn apply_replacements(
    origin: Origin<'_>,
    entries: &[Value],
    resources: &mut [Resource],
) -> Result<(), BuildError> {
    const FIELD: &str = "replacements";
    let mut replacements = Vec::new();
    for entry in entries {
        let map = entry_fields(entry, &["source", "targets", "path"], &origin, FIELD)?;
        let path = text_field(&map, "path", &origin, FIELD)?;
        if path.is_empty() {
            replacements.push(
                Replacement::from_value(entry).map_err(|e| origin.fail(FIELD, e.to_string()))?,
            );
            continue;
        }
        if map.get("source").is_some() || map.get("targets").is_some() {
            return Err(origin.fail(FIELD, "cannot specify both path and inline replacement"));
        }
        let (file, text) = origin.read(&path)?;
        let value = loader::parse_single(text.as_bytes(), &file)?;
        replacements.extend(
            Replacement::from_file_content(&value)
                .map_err(|e| BuildError::transform(&file, FIELD, e.to_string()))?,
        );
    }
    let mut subjects: Vec<Subject<'_>> = resources
        .iter_mut()
        .map(|resource| Subject {
            resource: &mut resource.value,
            previous_ids: &resource.previous_ids,
        })
        .collect();
    replacements::apply(&mut subjects, &replacements).map_err(|e| origin.fail(FIELD, e.to_string()))
}

#[cfg(test)]
mod tests {
    use crate::fs::MemoryFs;
    use crate::{BuildError, BuildOptions, build_yaml};

    const CONFIG_MAPS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  x: \"2\"\n";

    fn build(kustomization: &str, extra: &[(&str, &str)]) -> Result<String, BuildError> {
        let mut fs = MemoryFs::new().with("app/kustomization.yaml", kustomization);
        fs.insert("app/r.yaml", CONFIG_MAPS);
        for (path, contents) in extra {
            fs.insert(format!("app/{path}"), *contents);
        }
        build_yaml(&fs, "app", &BuildOptions::default())
    }

    #[test]
    fn a_strategic_merge_patch_finds_its_target_by_its_own_id() {
        let out = build(
            "resources: [r.yaml]\nnamePrefix: p-\npatches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n    data: {y: \"3\"}\n",
            &[],
        )
        .expect("builds");
        assert!(
            out.contains("  x: \"1\"\n  \"y\": \"3\"\nkind: ConfigMap\nmetadata:\n  name: p-a\n"),
            "{out}"
        );
    }

    #[test]
    fn json_patches_need_a_target_and_apply_to_every_selected_object() {
        let ops = "- op: add\n  path: /data/z\n  value: \"9\"\n";
        let no_target =
            build("resources: [r.yaml]\npatches:\n- path: ops.yaml\n", &[("ops.yaml", ops)]);
        assert!(
            no_target.unwrap_err().to_string().contains("must specify a target for JSON patch")
        );
        let out = build(
            "resources: [r.yaml]\npatches:\n- path: ops.yaml\n  target: {kind: ConfigMap, name: \"a|b\"}\n",
            &[("ops.yaml", ops)],
        )
        .expect("builds");
        assert_eq!(out.matches("z: \"9\"").count(), 2, "{out}");
    }

    #[test]
    fn json_patches_see_an_annotations_map_and_must_leave_a_name() {
        // Pinned against kubectl kustomize v5.5.0: kustomize's internal annotations make
        // `/metadata/annotations/x` addable on an object without annotations.
        let add = "- op: add\n  path: /metadata/annotations/note\n  value: hi\n";
        let out = build(
            "resources: [r.yaml]\npatches:\n- path: ops.yaml\n  target: {name: a}\n",
            &[("ops.yaml", add)],
        )
        .expect("builds");
        assert!(out.contains("metadata:\n  annotations:\n    note: hi\n  name: a\n"), "{out}");
        let unname = "- op: remove\n  path: /metadata/name\n";
        let err = build(
            "resources: [r.yaml]\npatches:\n- path: ops.yaml\n  target: {name: a}\n",
            &[("ops.yaml", unname)],
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing metadata.name"), "{err}");
    }

    #[test]
    fn a_delete_patch_removes_the_object_and_later_patches_no_longer_find_it() {
        let delete = "- patch: |\n    $patch: delete\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n";
        let out = build(&format!("resources: [r.yaml]\npatches:\n{delete}"), &[]).expect("builds");
        assert!(!out.contains("name: a\n") && out.contains("name: b\n"), "{out}");
        let again = "- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n    data: {y: \"3\"}\n";
        let err =
            build(&format!("resources: [r.yaml]\npatches:\n{delete}{again}"), &[]).unwrap_err();
        assert!(err.to_string().contains("no resource matches strategic merge patch"), "{err}");
    }

    #[test]
    fn two_deletions_in_one_entry_fail_as_kustomize_crashes() {
        let both = "- patch: |\n    $patch: delete\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n    ---\n    $patch: delete\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: b}\n";
        let err = build(&format!("resources: [r.yaml]\npatches:\n{both}"), &[]).unwrap_err();
        assert!(err.to_string().contains("crashes"), "{err}");
    }

    #[test]
    fn unknown_fields_in_entries_and_targets_are_refused() {
        let target =
            "resources: [r.yaml]\npatches:\n- patch: '[]'\n  target: {kind: ConfigMap, foo: bar}\n";
        assert!(build(target, &[]).unwrap_err().to_string().contains("unknown field \"foo\""));
        let entry = "resources: [r.yaml]\npatches:\n- patch: '[]'\n  bogus: 1\n";
        assert!(build(entry, &[]).unwrap_err().to_string().contains("unknown field \"bogus\""));
    }

    #[test]
    fn legacy_fields_and_replacement_files_work() {
        // Pinned against kubectl kustomize v5.5.0: SMP, then JSON 6902, then replacements.
        let kustomization = "resources: [r.yaml]\npatchesStrategicMerge:\n- smp.yaml\npatchesJson6902:\n- target: {version: v1, kind: ConfigMap, name: b}\n  path: ops.json\nreplacements:\n- path: repl.yaml\n";
        let smp = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: from-smp\n";
        let ops = "[{\"op\": \"replace\", \"path\": \"/data/x\", \"value\": \"from-json\"}]";
        let replacement = "source: {kind: ConfigMap, name: a, fieldPath: data.x}\ntargets:\n- select: {name: b}\n  fieldPaths: [data.copied]\n  options: {create: true}\n";
        let out = build(
            kustomization,
            &[("smp.yaml", smp), ("ops.json", ops), ("repl.yaml", replacement)],
        )
        .expect("builds");
        assert!(out.contains("  x: from-smp\n"), "{out}");
        assert!(out.contains("  copied: from-smp\n  x: from-json\n"), "{out}");
    }

    #[test]
    fn patch_files_obey_the_load_restrictor() {
        let mut fs = MemoryFs::new().with(
            "app/kustomization.yaml",
            "resources: [r.yaml]\npatches:\n- path: ../outside.yaml\n",
        );
        fs.insert("app/r.yaml", CONFIG_MAPS);
        fs.insert("outside.yaml", "[]");
        let err = build_yaml(&fs, "app", &BuildOptions::default()).unwrap_err();
        assert!(matches!(err, BuildError::Restricted { .. }), "{err}");
    }

    #[test]
    fn a_json_patch_bomb_fails_naming_the_patch_file_and_the_object() {
        let copy = "- op: copy\n  from: /data/x\n  path: /data/y\n- op: copy\n  from: /data\n  path: /data/x\n";
        let big = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  x: [a]\n";
        let mut fs = MemoryFs::new().with(
            "app/kustomization.yaml",
            "resources: [big.yaml]\npatches:\n- path: bomb.yaml\n  target: {kind: ConfigMap}\n",
        );
        fs.insert("app/big.yaml", big);
        fs.insert("app/bomb.yaml", copy.repeat(40));
        match build_yaml(&fs, "app", &BuildOptions::default()) {
            Err(BuildError::LimitExceeded { file, limit, what }) => {
                assert_eq!(file, "app/bomb.yaml");
                assert_eq!(limit, crate::Limit::ObjectBytes);
                assert!(what.contains("ConfigMap.v1.[noGrp]/big"), "{what}");
            }
            other => panic!("{other:?}"),
        }
    }
}
