//! Name-reference fix-up: after prefixes, suffixes, namespaces and hashes renamed objects,
//! rewrite the fields that refer to them (a Deployment's `configMapRef.name`, a RoleBinding's
//! `roleRef`, a StatefulSet's `serviceName`...), as listed in kustomize's `nameReference` table.
//!
//! The candidate selection follows kustomize's name-reference filter step by step: a referral
//! is an object of the target kind that once had the referenced name, in a namespace the
//! referrer can see; ties are broken by equal prefixes and suffixes; remaining ties are an error
//! unless all candidates now have the same name.

use std::collections::HashMap;

use crate::field_specs::{FieldSpec, Leaf, NameBackReference, visit};
use crate::resource::{Gvk, ResId, Resource};
use crate::value::Value;

/// What the filter needs to know about a possible referral; names do not change during the
/// fix-up, so this is taken once.
#[derive(Debug, Clone)]
struct Candidate {
    id: ResId,
    original_id: ResId,
    previous_ids: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Candidate {
    fn of(resource: &Resource) -> Candidate {
        Candidate {
            id: resource.id(),
            original_id: resource.original_id(),
            previous_ids: resource.previous_ids.clone(),
            prefixes: resource.prefixes.clone(),
            suffixes: resource.suffixes.clone(),
        }
    }
}

/// The referrer's side of one selection.
struct Referrer<'a> {
    id: ResId,
    prefixes: &'a [String],
    suffixes: &'a [String],
    role_ref: Option<Gvk>,
}

/// The possible referrals, indexed so that each reference looks only at the objects that
/// once had its name: the fix-up stays O(n) in the number of objects (comparing every
/// reference with every object made rendering 10,000 objects quadratic).
struct Candidates {
    all: Vec<Candidate>,
    /// Every name a candidate had before a rename → candidates, in resource order.
    by_previous_name: HashMap<String, Vec<usize>>,
    /// Effective namespace of the original id → namespaced candidates, in resource order.
    by_original_namespace: HashMap<String, Vec<usize>>,
}

impl Candidates {
    fn of(resources: &[Resource]) -> Candidates {
        let all: Vec<Candidate> = resources.iter().map(Candidate::of).collect();
        let mut by_previous_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_original_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, candidate) in all.iter().enumerate() {
            for id in &candidate.previous_ids {
                let entry = by_previous_name.entry(id.name.clone()).or_default();
                if entry.last() != Some(&index) {
                    entry.push(index);
                }
            }
            if !candidate.original_id.gvk.is_cluster_scoped() {
                let namespace = candidate.original_id.effective_namespace().to_owned();
                by_original_namespace.entry(namespace).or_default().push(index);
            }
        }
        Candidates { all, by_previous_name, by_original_namespace }
    }

    /// The candidates that once were named `name`, in resource order.
    fn once_named(&self, name: &str) -> impl Iterator<Item = &Candidate> {
        let indexes = self.by_previous_name.get(name).map(Vec::as_slice).unwrap_or(&[]);
        indexes.iter().map(|&index| &self.all[index])
    }
}

/// Which objects a referrer can see (kustomize's `SubsetThatCouldBeReferencedByResource`).
struct Visibility {
    everything: bool,
    namespace: String,
    binding_namespaces: Vec<String>,
}

impl Visibility {
    fn of(referrer: &Resource) -> Result<Visibility, String> {
        let id = referrer.id();
        Ok(Visibility {
            everything: id.gvk.is_cluster_scoped(),
            namespace: id.effective_namespace().to_owned(),
            binding_namespaces: role_binding_namespaces(referrer)?,
        })
    }

    fn sees(&self, candidate: &Candidate) -> bool {
        self.everything
            || candidate.id.gvk.is_cluster_scoped()
            || candidate.id.effective_namespace() == self.namespace
            || self.binding_namespaces.contains(&candidate.id.namespace)
    }
}

/// Rewrites references in every resource.
pub fn fix_name_references(
    resources: &mut [Resource],
    back_references: &[NameBackReference],
) -> Result<(), String> {
    let candidates = Candidates::of(resources);
    for (index, resource) in resources.iter_mut().enumerate() {
        let original_gvk = candidates.all[index].original_id.gvk.clone();
        let filters: Vec<(&FieldSpec, &Gvk)> = back_references
            .iter()
            .flat_map(|back| back.referrers.iter().map(move |spec| (spec, &back.gvk)))
            .filter(|(spec, _)| spec.selects(&original_gvk))
            .collect();
        if filters.is_empty() {
            continue;
        }
        let visibility = Visibility::of(resource)?;
        let prefixes = resource.prefixes.clone();
        let suffixes = resource.suffixes.clone();
        let role_ref = role_ref_gvk(&resource.value);
        for (spec, target) in filters {
            // The referrer was chosen by its original kind; kustomize then walks the path in
            // the object whatever its kind is now (a patch may have changed it).
            let spec = &FieldSpec { path: spec.path.clone(), ..FieldSpec::default() };
            let referrer = Referrer {
                id: resource.id(),
                prefixes: &prefixes,
                suffixes: &suffixes,
                role_ref: if spec.path.ends_with("roleRef/name") { role_ref.clone() } else { None },
            };
            let selection = Selection {
                referrer: &referrer,
                target,
                candidates: &candidates,
                visibility: &visibility,
            };
            visit(&mut resource.value, spec, Leaf::Existing, &mut |node| selection.set(node))
                .map_err(|message| {
                    format!(
                        "updating name reference in '{}' field of '{}': {message}",
                        spec.path, referrer.id
                    )
                })?;
        }
    }
    Ok(())
}

/// Namespaces of the ServiceAccount subjects of a RoleBinding; a subject whose namespace is
/// present but not a string is an error, as in kustomize.
fn role_binding_namespaces(resource: &Resource) -> Result<Vec<String>, String> {
    if resource.kind() != "RoleBinding" {
        return Ok(Vec::new());
    }
    let Some(subjects) = resource.value.get_path(&["subjects"]).and_then(Value::as_seq) else {
        return Ok(Vec::new());
    };
    let mut namespaces = Vec::new();
    for subject in subjects {
        if subject.get_path(&["kind"]).and_then(Value::as_str) != Some("ServiceAccount") {
            continue;
        }
        match subject.get_path(&["namespace"]) {
            None => {}
            Some(Value::String(namespace)) => namespaces.push(namespace.clone()),
            Some(_) => {
                return Err(format!(
                    "Invalid Input: namespace is blank for resource \"{}\"",
                    resource.id()
                ));
            }
        }
    }
    Ok(namespaces)
}

fn role_ref_gvk(object: &Value) -> Option<Gvk> {
    let group = object.get_path(&["roleRef", "apiGroup"])?.as_str()?;
    let kind = object.get_path(&["roleRef", "kind"])?.as_str()?;
    Some(Gvk { group: group.to_owned(), version: String::new(), kind: kind.to_owned() })
}

struct Selection<'a> {
    referrer: &'a Referrer<'a>,
    target: &'a Gvk,
    candidates: &'a Candidates,
    visibility: &'a Visibility,
}

impl Selection<'_> {
    fn set(&self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::Null => Ok(()),
            Value::Seq(items) => {
                for item in items.iter_mut() {
                    match item {
                        Value::Null => {}
                        Value::Map(_) => self.set_mapping(item)?,
                        Value::Seq(_) => {
                            return Err("expected either a string or a map of string".into());
                        }
                        _ => self.set_scalar(item)?,
                    }
                }
                Ok(())
            }
            Value::Map(_) => self.set_mapping(node),
            _ => self.set_scalar(node),
        }
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), String> {
        let Value::String(old_name) = node else { return Ok(()) };
        let named = self.visible_once_named(old_name).collect();
        let Some(referral) = self.select(old_name, named, false)? else { return Ok(()) };
        if referral.id.name != *old_name {
            *old_name = referral.id.name.clone();
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value) -> Result<(), String> {
        let map = node.as_map_mut().ok_or("expect a mapping node")?;
        let Some(name) = map.get("name") else {
            return Err("path config error; no 'name' field in node".into());
        };
        let old_name = name.as_str().unwrap_or("").to_owned();
        // kustomize filters all visible objects by namespace, then by name; the name index
        // gives the same list, as long as the choice between original and current namespace
        // is made over all visible objects, as kustomize makes it.
        let candidates: Vec<&Candidate> = match map.get("namespace").and_then(Value::as_str) {
            None if !map.contains_key("namespace") => self.visible_once_named(&old_name).collect(),
            namespace => {
                let namespace = namespace.unwrap_or("");
                let any_by_original =
                    self.candidates.by_original_namespace.get(namespace).is_some_and(|indexes| {
                        indexes.iter().any(|&i| self.visibility.sees(&self.candidates.all[i]))
                    });
                let named = self.visible_once_named(&old_name);
                if any_by_original {
                    named
                        .filter(|c| !c.original_id.gvk.is_cluster_scoped())
                        .filter(|c| c.original_id.effective_namespace() == namespace)
                        .collect()
                } else {
                    named
                        .filter(|c| !c.id.gvk.is_cluster_scoped())
                        .filter(|c| c.id.effective_namespace() == namespace)
                        .collect()
                }
            }
        };
        let Some(referral) = self.select(&old_name, candidates, true)? else { return Ok(()) };
        if referral.id.name == old_name && referral.id.namespace.is_empty() {
            return Ok(());
        }
        map.insert("name".into(), Value::String(referral.id.name.clone()));
        if !referral.id.namespace.is_empty() {
            map.insert("namespace".into(), Value::String(referral.id.namespace.clone()));
        }
        Ok(())
    }

    /// The candidates the referrer sees that once were named `name`, in resource order.
    fn visible_once_named<'c>(&'c self, name: &str) -> impl Iterator<Item = &'c Candidate> {
        self.candidates.once_named(name).filter(|c| self.visibility.sees(c))
    }

    /// kustomize's `selectReferral`.
    fn select<'c>(
        &self,
        old_name: &str,
        candidates: Vec<&'c Candidate>,
        compare_namespaces: bool,
    ) -> Result<Option<&'c Candidate>, String> {
        #[cfg(test)]
        EXAMINED.with(|count| count.set(count.get() + candidates.len()));
        let target = self.target;
        let referrer = self.referrer;
        let mut list: Vec<&Candidate> = candidates
            .into_iter()
            .filter(|c| c.previous_ids.iter().any(|id| id.name == old_name))
            .filter(|c| {
                c.previous_ids
                    .iter()
                    .any(|id| id.gvk.is_selected_by(&target.group, &target.version, &target.kind))
            })
            .filter(|c| match &referrer.role_ref {
                Some(gvk) => c
                    .previous_ids
                    .iter()
                    .any(|id| id.gvk.is_selected_by(&gvk.group, &gvk.version, &gvk.kind)),
                None => true,
            })
            .filter(|c| {
                referrer.id.gvk.is_cluster_scoped()
                    || c.id.gvk.is_cluster_scoped()
                    || c.id.gvk.kind == "ServiceAccount"
                    || referrer.id.effective_namespace() == c.id.effective_namespace()
            })
            .collect();
        if list.len() == 1 {
            return Ok(list.pop());
        }
        list.retain(|c| affixes_equal(c, referrer, true));
        if list.len() > 1 {
            list.retain(|c| affixes_equal(c, referrer, false));
        }
        match list.len() {
            0 => Ok(None),
            1 => Ok(list.pop()),
            _ => {
                let first = &list[0].id;
                let identical = list.iter().all(|c| {
                    c.id.name == first.name
                        && (!compare_namespaces || c.id.namespace == first.namespace)
                });
                if identical {
                    return Ok(Some(list[0]));
                }
                let ids: Vec<String> = list.iter().map(|c| c.id.to_string()).collect();
                Err(format!("found multiple possible referrals: {}", ids.join(", ")))
            }
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Candidates handed to `select`, counted so that a test can pin the indexed lookup.
    static EXAMINED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// kustomize's `PrefixesSuffixesEquals`.
fn affixes_equal(candidate: &Candidate, referrer: &Referrer<'_>, allow_empty: bool) -> bool {
    if allow_empty {
        let prefix_ok = candidate.prefixes.is_empty()
            || referrer.prefixes.is_empty()
            || same_ending(&candidate.prefixes, referrer.prefixes);
        let suffix_ok = candidate.suffixes.is_empty()
            || referrer.suffixes.is_empty()
            || same_ending(&candidate.suffixes, referrer.suffixes);
        prefix_ok && suffix_ok
    } else {
        same_ending(&candidate.prefixes, referrer.prefixes)
            && same_ending(&candidate.suffixes, referrer.suffixes)
    }
}

/// Whether the shorter list is the tail of the longer one (kustomize's `SameEndingSubSlice`).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (shorter, longer) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if shorter.is_empty() {
        return longer.is_empty();
    }
    longer.ends_with(shorter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_specs::TransformerConfig;
    use crate::transform::name_affix::{Affix, add_affix};
    use crate::yaml::parse_documents;

    fn resources(text: &str) -> Vec<Resource> {
        parse_documents(text, "x.yaml")
            .unwrap()
            .into_iter()
            .map(|v| Resource::new(v, "x.yaml"))
            .collect()
    }

    #[test]
    fn renamed_config_map_is_followed_but_same_named_secret_is_not_confused() {
        let mut list = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata:\n  name: cfg\n---\n\
             apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  volumes:\n  - configMap:\n      name: cfg\n  - secret:\n      secretName: cfg\n",
        );
        let config = TransformerConfig::builtin();
        add_affix(&mut list[..1], Affix::Prefix, "a-", &config.name_prefix).unwrap();
        add_affix(&mut list[1..2], Affix::Prefix, "b-", &config.name_prefix).unwrap();
        fix_name_references(&mut list, &config.name_reference).unwrap();
        let volumes = list[2].value.get_path(&["spec", "volumes"]).unwrap().as_seq().unwrap();
        assert_eq!(volumes[0].get_path(&["configMap", "name"]), Some(&Value::from("a-cfg")));
        assert_eq!(volumes[1].get_path(&["secret", "secretName"]), Some(&Value::from("b-cfg")));
    }

    #[test]
    fn role_binding_follows_role_ref_kind() {
        let mut list = resources(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: r\n",
        );
        let config = TransformerConfig::builtin();
        add_affix(&mut list[..2], Affix::Suffix, "-x", &config.name_suffix).unwrap();
        list[1].set_name("r-cluster");
        fix_name_references(&mut list, &config.name_reference).unwrap();
        assert_eq!(list[2].value.get_path(&["roleRef", "name"]), Some(&Value::from("r-cluster")));
    }

    #[test]
    fn same_ending_compares_tails() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_ending(&s(&["a", "b"]), &s(&["b"])));
        assert!(!same_ending(&s(&["a", "b"]), &s(&["a"])));
        assert!(same_ending(&[], &[]));
        assert!(!same_ending(&s(&["a"]), &[]));
    }

    #[test]
    fn each_reference_examines_only_objects_that_had_its_name() {
        // 2,000 renamed Deployments, each referring to one renamed ConfigMap: comparing every
        // reference with every object would examine 4,000,000 candidates.
        const N: usize = 2_000;
        let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n");
        for i in 0..N {
            text.push_str(&format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\nspec:\n  template:\n    spec:\n      volumes:\n      - configMap:\n          name: cfg\n"
            ));
        }
        let mut list = resources(&text);
        let config = TransformerConfig::builtin();
        add_affix(&mut list, Affix::Prefix, "p-", &config.name_prefix).unwrap();
        EXAMINED.with(|count| count.set(0));
        fix_name_references(&mut list, &config.name_reference).unwrap();
        let examined = EXAMINED.with(std::cell::Cell::get);
        assert!(examined <= 2 * N, "examined {examined} candidates for {N} references");
        let volumes = list[N].value.get_path(&["spec", "template", "spec", "volumes"]).unwrap();
        assert_eq!(
            volumes.as_seq().unwrap()[0].get_path(&["configMap", "name"]),
            Some(&Value::from("p-cfg"))
        );
    }
}
