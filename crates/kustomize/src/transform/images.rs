//! `images`: rewrites container image references (name, tag, digest).
//!
//! kustomize runs two passes per entry and so do we: a legacy walk over every `containers` and
//! `initContainers` list anywhere in the object, then the images field specs. An image matches
//! an entry when it is the entry's name (a regular expression, as in kustomize) followed by an
//! optional tag and digest. CRDs are left alone.

use regex::Regex;

use crate::field_specs::{FieldSpec, Leaf, visit_all};
use crate::kustomization::ImageEntry;
use crate::resource::Resource;
use crate::value::Value;

/// One `images` entry, ready to apply.
#[derive(Debug)]
pub struct ImageRewrite<'a> {
    entry: &'a ImageEntry,
    pattern: Option<Regex>,
}

impl<'a> ImageRewrite<'a> {
    /// Compiles the entry; a name that is not a valid regular expression is an error (kustomize
    /// crashes on it).
    pub fn new(entry: &'a ImageEntry) -> Result<ImageRewrite<'a>, String> {
        let pattern = Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{{}}-]*)?$",
            entry.name
        ))
        .map_err(|err| {
            format!("image name '{}' is not a valid regular expression: {err}", entry.name)
        })?;
        Ok(ImageRewrite { entry, pattern: Some(pattern) })
    }

    /// The rewritten reference, or `None` when `image` is not this entry's image.
    pub fn rewrite(&self, image: &str) -> Option<String> {
        if !self.pattern.as_ref()?.is_match(image) {
            return None;
        }
        let (mut name, mut tag, mut digest) = split_image(image);
        let entry = self.entry;
        if !entry.new_name.is_empty() {
            name = entry.new_name.clone();
        }
        if !entry.new_tag.is_empty() && !entry.digest.is_empty() {
            tag = entry.new_tag.clone();
            digest = entry.digest.clone();
        } else if !entry.new_tag.is_empty() {
            tag = entry.new_tag.clone();
            digest.clear();
        } else if !entry.digest.is_empty() {
            tag.clear();
            digest = entry.digest.clone();
        } else if !entry.tag_suffix.is_empty() {
            tag.push_str(&entry.tag_suffix);
            digest.clear();
        }
        if !tag.is_empty() {
            name = format!("{name}:{tag}");
        }
        if !digest.is_empty() {
            name = format!("{name}@{digest}");
        }
        Some(name)
    }

    fn rewrite_node(&self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::String(image) => {
                if let Some(new) = self.rewrite(image) {
                    *image = new;
                }
                Ok(())
            }
            Value::Map(_) | Value::Seq(_) => Err("an image field must be a scalar".into()),
            _ => Ok(()),
        }
    }

    /// Applies this entry to every resource.
    pub fn apply(&self, resources: &mut [Resource], specs: &[FieldSpec]) -> Result<(), String> {
        for resource in resources.iter_mut() {
            if resource.kind() == "CustomResourceDefinition" {
                continue;
            }
            self.legacy_walk(&mut resource.value)?;
            visit_all(&mut resource.value, specs, Leaf::Existing, &mut |node| {
                self.rewrite_node(node)
            })?;
        }
        Ok(())
    }

    /// Every `containers`/`initContainers` list anywhere, depth first (children before the
    /// field itself, as kustomize's walker does).
    fn legacy_walk(&self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::Map(map) => {
                for (key, value) in map.iter_mut() {
                    self.legacy_walk(value)?;
                    if (key == "containers" || key == "initContainers")
                        && let Value::Seq(items) = value
                    {
                        for item in items.iter_mut() {
                            if let Some(image) = item.as_map_mut().and_then(|c| c.get_mut("image"))
                            {
                                self.rewrite_node(image)?;
                            }
                        }
                    }
                }
                Ok(())
            }
            Value::Seq(items) => items.iter_mut().try_for_each(|item| self.legacy_walk(item)),
            _ => Ok(()),
        }
    }
}

/// Splits an image reference into name, tag and digest, as kustomize's `image.Split`.
pub fn split_image(image: &str) -> (String, String, String) {
    // The search starts at the first slash so a registry port (`host:5000/x`) is not a tag.
    let slash = match image.find('/') {
        Some(index) if index > 0 => index,
        _ => 0,
    };
    let search = &image[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    let digest_only = |at: usize| {
        let at = at + slash;
        (image[..at].to_owned(), String::new(), image[at + 1..].to_owned())
    };
    match (at, colon) {
        (None, None) => (image.to_owned(), String::new(), String::new()),
        (Some(at), None) => digest_only(at),
        (Some(at), Some(colon)) if at < colon => digest_only(at),
        (Some(at), Some(colon)) => {
            let (at, colon) = (at + slash, colon + slash);
            (image[..colon].to_owned(), image[colon + 1..at].to_owned(), image[at + 1..].to_owned())
        }
        (None, Some(colon)) => {
            let colon = colon + slash;
            (image[..colon].to_owned(), image[colon + 1..].to_owned(), String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_handles_ports_tags_and_digests() {
        assert_eq!(split_image("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(split_image("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(
            split_image("host:5000/app:v1"),
            ("host:5000/app".into(), "v1".into(), "".into())
        );
        assert_eq!(split_image("app@sha256:abc"), ("app".into(), "".into(), "sha256:abc".into()));
        assert_eq!(
            split_image("app:v1@sha256:abc"),
            ("app".into(), "v1".into(), "sha256:abc".into())
        );
    }

    #[test]
    fn rewrite_sets_name_and_tag_only_for_matching_images() {
        let entry = ImageEntry {
            name: "nginx".into(),
            new_name: "reg/nginx".into(),
            new_tag: "1.25".into(),
            ..ImageEntry::default()
        };
        let rewrite = ImageRewrite::new(&entry).unwrap();
        assert_eq!(rewrite.rewrite("nginx:1.0").as_deref(), Some("reg/nginx:1.25"));
        assert_eq!(rewrite.rewrite("nginx-other:1.0"), None);
    }
}
