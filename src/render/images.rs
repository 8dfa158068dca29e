//! Image overrides in kustomize's `images` form, applied to rendered objects.
//!
//! A workflow that has just built and pushed an image passes it in (`web=ghcr.io/me/web:sha`);
//! this module parses such overrides with errors that quote the offending text, and rewrites the
//! `image` of every container and init container, wherever a pod spec sits (Pods, every workload's
//! pod template, CronJobs' job template, custom resources with the same shape), exactly the way
//! kustomize's `images:` field would. It does not choose which units get the overrides.

use kustomize::Value;

/// One override: containers whose image is `name` (with any tag or digest) get the new parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageOverride {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
}

/// A malformed override; `input` is the exact text given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "image override `{input}`: {problem} (expected `name=newName:newTag`, `name=newName@sha256:<hex>`, `name:newTag` or `name@sha256:<hex>`)"
)]
pub struct ImageOverrideError {
    pub input: String,
    pub problem: String,
}

impl std::str::FromStr for ImageOverride {
    type Err = ImageOverrideError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |problem: String| ImageOverrideError { input: input.to_owned(), problem };
        let text = input.trim();
        if text.is_empty() {
            return Err(fail("it is empty".into()));
        }
        let (name, new_name, new_tag, digest) = match text.split_once('=') {
            Some((name, target)) => {
                let name_ref = split_reference(name).map_err(fail)?;
                if name_ref.tag.is_some() || name_ref.digest.is_some() {
                    return Err(fail(format!(
                        "the name before `=` must be an image name without tag or digest, got `{name}`"
                    )));
                }
                if target.is_empty() {
                    return Err(fail("nothing after `=`".into()));
                }
                let target = split_reference(target).map_err(fail)?;
                (name_ref.name, Some(target.name), target.tag, target.digest)
            }
            None => {
                let reference = split_reference(text).map_err(fail)?;
                if reference.tag.is_none() && reference.digest.is_none() {
                    return Err(fail(
                        "it changes nothing: give `=newName`, `:newTag` or `@digest`".into(),
                    ));
                }
                (reference.name, None, reference.tag, reference.digest)
            }
        };
        Ok(ImageOverride { name, new_name, new_tag, digest })
    }
}

/// Parses a list of overrides separated by commas, spaces or newlines (the form an action input
/// takes). Two overrides for the same name are an error: which one wins would be a guess.
pub fn parse_image_overrides(text: &str) -> Result<Vec<ImageOverride>, ImageOverrideError> {
    let mut overrides: Vec<ImageOverride> = Vec::new();
    for item in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()) {
        let parsed: ImageOverride = item.parse()?;
        if overrides.iter().any(|o| o.name == parsed.name) {
            return Err(ImageOverrideError {
                input: item.to_owned(),
                problem: format!("`{}` is overridden twice", parsed.name),
            });
        }
        overrides.push(parsed);
    }
    Ok(overrides)
}

struct Reference {
    name: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// Splits `name[:tag][@digest]`, validating each part. A `:` before the last `/` is a registry
/// port (`localhost:5000/web`), not a tag.
fn split_reference(text: &str) -> Result<Reference, String> {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => {
            validate_digest(digest)?;
            (rest, Some(digest.to_owned()))
        }
        None => (text, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let tag = &rest[last_slash + i + 1..];
            validate_tag(tag)?;
            (&rest[..last_slash + i], Some(tag.to_owned()))
        }
        None => (rest, None),
    };
    validate_name(name)?;
    Ok(Reference { name: name.to_owned(), tag, digest })
}

fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the image name is empty".into());
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Err(format!("`{name}` has an empty path component"));
    }
    let (host, path) = match name.split_once('/') {
        Some((host, path)) => (host, path),
        None => ("", name),
    };
    // The registry host may have upper case letters and a port; the repository path may not.
    if let Some(bad) = host.chars().find(|c| !(c.is_ascii_alphanumeric() || ".-:".contains(*c))) {
        return Err(format!("`{bad}` is not allowed in the registry `{host}`"));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(*c)))
    {
        return Err(format!(
            "`{bad}` is not allowed in the image name `{name}` (lower case letters, digits, `.`, `_`, `-`, `/`)"
        ));
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{tag}` is not a valid tag (up to 128 letters, digits, `_`, `.`, `-`, not starting with `.` or `-`)"
        ))
    }
}

fn validate_digest(digest: &str) -> Result<(), String> {
    let valid = digest.split_once(':').is_some_and(|(algorithm, hex)| {
        !algorithm.is_empty()
            && algorithm
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
            && hex.len() >= 32
            && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    if valid {
        Ok(())
    } else {
        Err(format!("`{digest}` is not a digest (`sha256:` and at least 32 lower-case hex digits)"))
    }
}

/// What applying overrides did: how often each override matched, by its position in the input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageOverrideReport {
    pub matches: Vec<usize>,
}

impl ImageOverrideReport {
    /// Overrides that matched no container (a typo in a workflow would otherwise go unnoticed).
    pub fn unused<'a>(&self, overrides: &'a [ImageOverride]) -> Vec<&'a ImageOverride> {
        overrides.iter().zip(&self.matches).filter(|(_, n)| **n == 0).map(|(o, _)| o).collect()
    }
}

/// Rewrites the images of every `containers`/`initContainers` entry in `objects`.
pub fn apply_image_overrides(
    objects: &mut [Value],
    overrides: &[ImageOverride],
) -> ImageOverrideReport {
    let mut report = ImageOverrideReport { matches: vec![0; overrides.len()] };
    if overrides.is_empty() {
        return report;
    }
    for object in objects {
        visit_containers(object, &mut |container| {
            let Some(Value::String(image)) = container.get_mut("image") else { return };
            if let Some(i) = overrides.iter().position(|o| image_matches(image, &o.name)) {
                *image = overridden(image, &overrides[i]);
                report.matches[i] += 1;
            }
        });
    }
    report
}

/// Walks the whole object, as kustomize's legacy image filter does: every sequence under a
/// `containers` or `initContainers` key, at any depth, so custom resources with pod templates
/// are covered too.
fn visit_containers(value: &mut Value, visit: &mut dyn FnMut(&mut kustomize::Map)) {
    match value {
        Value::Map(map) => {
            for (key, child) in map.iter_mut() {
                if (key == "containers" || key == "initContainers")
                    && let Value::Seq(items) = child
                {
                    items.iter_mut().filter_map(Value::as_map_mut).for_each(&mut *visit);
                    continue;
                }
                visit_containers(child, visit);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|item| visit_containers(item, visit)),
        _ => {}
    }
}

/// kustomize's rule: the image is exactly `name`, or `name` followed by a tag or digest.
fn image_matches(image: &str, name: &str) -> bool {
    image
        .strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':') || rest.starts_with('@'))
}

/// The new image string; a new tag or digest replaces both the old tag and digest (kustomize v5).
fn overridden(image: &str, with: &ImageOverride) -> String {
    let (rest, mut digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest.to_owned())),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (mut name, mut tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (rest[..last_slash + i].to_owned(), Some(rest[last_slash + i + 1..].to_owned())),
        None => (rest.to_owned(), None),
    };
    if let Some(new_name) = &with.new_name {
        name = new_name.clone();
    }
    if with.new_tag.is_some() || with.digest.is_some() {
        tag = with.new_tag.clone();
        digest = with.digest.clone();
    }
    let mut out = name;
    if let Some(tag) = tag {
        out.push(':');
        out.push_str(&tag);
    }
    if let Some(digest) = digest {
        out.push('@');
        out.push_str(&digest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(text: &str) -> ImageOverride {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_each_kustomize_form() {
        assert_eq!(
            parse("web=ghcr.io/me/web:abc123"),
            ImageOverride {
                name: "web".into(),
                new_name: Some("ghcr.io/me/web".into()),
                new_tag: Some("abc123".into()),
                digest: None
            }
        );
        assert_eq!(parse(&format!("web=ghcr.io/me/web@{DIGEST}")).digest.as_deref(), Some(DIGEST));
        assert_eq!(
            parse("ghcr.io/me/web:1.2.3"),
            ImageOverride {
                name: "ghcr.io/me/web".into(),
                new_name: None,
                new_tag: Some("1.2.3".into()),
                digest: None
            }
        );
        assert_eq!(parse(&format!("nginx@{DIGEST}")).new_tag, None);
        assert_eq!(parse("web=registry.local/web").new_tag, None);
    }

    #[test]
    fn a_registry_port_is_not_a_tag() {
        let o = parse("localhost:5000/web=localhost:5000/web-dev:pr-7");
        assert_eq!(o.name, "localhost:5000/web");
        assert_eq!(o.new_name.as_deref(), Some("localhost:5000/web-dev"));
        assert_eq!(o.new_tag.as_deref(), Some("pr-7"));
    }

    #[test]
    fn malformed_overrides_are_rejected_with_the_input_quoted() {
        for (input, needle) in [
            ("", "empty"),
            ("web", "changes nothing"),
            ("web=", "nothing after"),
            ("=ghcr.io/me/web:1", "image name is empty"),
            ("web:1=other:2", "without tag or digest"),
            ("web:", "not a valid tag"),
            ("web:-bad", "not a valid tag"),
            ("Web:1", "not allowed in the image name"),
            ("web@sha256:xyz", "not a digest"),
            ("web@md5", "not a digest"),
            ("ghcr.io//web:1", "empty path component"),
        ] {
            let err = input.parse::<ImageOverride>().expect_err(input);
            let message = err.to_string();
            assert!(message.contains(needle), "{input}: {message}");
            assert!(message.contains(&format!("`{input}`")), "{message}");
        }
    }

    #[test]
    fn lists_split_on_commas_and_newlines_and_refuse_duplicates() {
        let list = parse_image_overrides("web=a/web:1, api=a/api:2\n\n worker:3").unwrap();
        assert_eq!(list.len(), 3);
        assert!(parse_image_overrides("").unwrap().is_empty());
        let err = parse_image_overrides("web:1 web:2").unwrap_err();
        assert!(err.to_string().contains("overridden twice"), "{err}");
    }

    fn yaml_pod_template(kind: &str, path: &[&str], images: &[&str]) -> Value {
        let containers = Value::Seq(
            images
                .iter()
                .map(|image| {
                    let mut c = kustomize::Map::new();
                    c.insert("name".into(), "c".into());
                    c.insert("image".into(), (*image).into());
                    Value::Map(c)
                })
                .collect(),
        );
        let mut spec = kustomize::Map::new();
        spec.insert("containers".into(), containers.clone());
        spec.insert("initContainers".into(), containers);
        let mut value = Value::Map(spec);
        for key in path.iter().rev() {
            let mut m = kustomize::Map::new();
            m.insert((*key).into(), value);
            value = Value::Map(m);
        }
        let mut object = value.as_map().cloned().unwrap_or_default();
        object.insert("kind".into(), kind.into());
        Value::Map(object)
    }

    fn images_of(object: &Value) -> Vec<String> {
        let mut found = Vec::new();
        let mut object = object.clone();
        visit_containers(&mut object, &mut |c| {
            found.push(c.get("image").and_then(Value::as_str).unwrap_or_default().to_owned())
        });
        found
    }

    #[test]
    fn overrides_reach_containers_and_init_containers_of_every_workload_shape() {
        let overrides = parse_image_overrides("ghcr.io/me/web=ghcr.io/me/web-ci:sha-1").unwrap();
        let mut objects = vec![
            yaml_pod_template("Pod", &["spec"], &["ghcr.io/me/web:1.0"]),
            yaml_pod_template("Deployment", &["spec", "template", "spec"], &["ghcr.io/me/web"]),
            yaml_pod_template(
                "CronJob",
                &["spec", "jobTemplate", "spec", "template", "spec"],
                &[&format!("ghcr.io/me/web@{DIGEST}")],
            ),
            yaml_pod_template(
                "StatefulSet",
                &["spec", "template", "spec"],
                &["ghcr.io/me/web-other:1", "ghcr.io/me/webx"],
            ),
        ];
        let report = apply_image_overrides(&mut objects, &overrides);
        assert_eq!(images_of(&objects[0]), ["ghcr.io/me/web-ci:sha-1"; 2]);
        assert_eq!(images_of(&objects[1]), ["ghcr.io/me/web-ci:sha-1"; 2]);
        assert_eq!(images_of(&objects[2]), ["ghcr.io/me/web-ci:sha-1"; 2]);
        // Prefix look-alikes are not the same image.
        assert_eq!(
            images_of(&objects[3]),
            [
                "ghcr.io/me/web-other:1",
                "ghcr.io/me/webx",
                "ghcr.io/me/web-other:1",
                "ghcr.io/me/webx"
            ]
        );
        assert_eq!(report.matches, [6]);
    }

    #[test]
    fn a_digest_replaces_the_tag_and_a_new_name_keeps_it() {
        let mut objects = vec![yaml_pod_template("Pod", &["spec"], &["nginx:1.25", "redis:7"])];
        let overrides =
            parse_image_overrides(&format!("nginx@{DIGEST} redis=mirror.local/redis")).unwrap();
        apply_image_overrides(&mut objects, &overrides);
        assert_eq!(
            images_of(&objects[0])[..2],
            [format!("nginx@{DIGEST}"), "mirror.local/redis:7".to_owned()]
        );
    }

    #[test]
    fn unused_overrides_are_reported() {
        let mut objects = vec![yaml_pod_template("Pod", &["spec"], &["nginx:1"])];
        let overrides = parse_image_overrides("nginx:2 typo:3").unwrap();
        let report = apply_image_overrides(&mut objects, &overrides);
        let unused: Vec<&str> = report.unused(&overrides).iter().map(|o| o.name.as_str()).collect();
        assert_eq!(unused, ["typo"]);
    }
}
