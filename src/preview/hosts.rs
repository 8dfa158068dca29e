//! Host rewriting for previews and the URLs that come out of it.
//!
//! Owns the host template (`{app}-{slug}.preview.example.com`) and the places a host lives in a
//! render: Ingress rules and TLS sections, Gateway API route `spec.hostnames`, the `Host(...)`
//! matchers inside Traefik IngressRoute match expressions, and cert-manager Certificate names.
//! Each rewrite of a route also yields the preview URLs (https when the host is served with TLS).
//! It never decides which objects are in a preview and never touches namespaces.

use std::collections::BTreeSet;

use kustomize::{Map, Value};

use super::slug::{MAX_LABEL_LEN, fit_label, sanitise_label};

/// Longest DNS name.
const MAX_HOST_LEN: usize = 253;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    App,
    Slug,
    Host,
    PullRequest,
    Branch,
}

/// A parsed host template. Placeholders: `{app}`, `{slug}`, `{host}` (first label of the original
/// host), `{pr}`, `{branch}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostTemplate {
    text: String,
    parts: Vec<Part>,
}

/// What a template's placeholders stand for in one preview.
#[derive(Clone, Copy, Debug)]
pub struct HostValues<'a> {
    pub app: &'a str,
    pub slug: &'a str,
    pub pull_request: Option<u64>,
    /// The branch name as a DNS label.
    pub branch: &'a str,
}

impl HostTemplate {
    /// Parses `text`; the error is the problem, for the caller to wrap with the template's origin.
    pub fn parse(text: &str) -> Result<HostTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(i) if rest.as_bytes()[i] == b'}' => return Err("a `}` without its `{`".into()),
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_owned()));
                    }
                    let close = rest[i..].find('}').ok_or("a `{` without its `}`")?;
                    let part = match &rest[i + 1..i + close] {
                        "app" => Part::App,
                        "slug" => Part::Slug,
                        "host" => Part::Host,
                        "pr" => Part::PullRequest,
                        "branch" => Part::Branch,
                        other => {
                            return Err(format!(
                                "unknown placeholder `{{{other}}}` (known: {{app}}, {{slug}}, {{host}}, {{pr}}, {{branch}})"
                            ));
                        }
                    };
                    parts.push(part);
                    rest = &rest[i + close + 1..];
                }
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        if !parts.iter().any(|p| matches!(p, Part::Slug | Part::PullRequest | Part::Branch)) {
            return Err("it must contain `{slug}`, `{pr}` or `{branch}`, or every preview would get the same hosts".into());
        }
        if let Some(bad) = parts.iter().find_map(|p| match p {
            Part::Literal(text) => {
                text.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
            }
            _ => None,
        }) {
            return Err(format!("`{bad}` cannot appear in a host name"));
        }
        Ok(HostTemplate { text: text.to_owned(), parts })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the template uses `{pr}` (which needs a pull request).
    pub fn uses_pull_request(&self) -> bool {
        self.parts.contains(&Part::PullRequest)
    }

    /// The preview host for `original`. A wildcard host (`*.example.com`) stays a wildcard: the
    /// template is rendered with `{host}` = `wildcard` and prefixed with `*.`. Labels longer than 63
    /// characters are shortened with a hash; the error is the problem with the result.
    pub fn render(&self, original: &str, values: &HostValues<'_>) -> Result<String, String> {
        let (wildcard, original) = match original.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, original),
        };
        let first_label =
            if wildcard { "wildcard" } else { original.split('.').next().unwrap_or("") };
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(literal) => text.push_str(literal),
                Part::App => text.push_str(values.app),
                Part::Slug => text.push_str(values.slug),
                Part::Host => text.push_str(first_label),
                Part::Branch => text.push_str(values.branch),
                Part::PullRequest => match values.pull_request {
                    Some(number) => text.push_str(&number.to_string()),
                    None => {
                        return Err(
                            "the template uses `{pr}` but this preview has no pull request".into(),
                        );
                    }
                },
            }
        }
        let mut labels = Vec::new();
        for label in text.split('.') {
            let label = sanitise_label(label);
            if label.is_empty() {
                return Err(format!("`{text}` has an empty label"));
            }
            labels.push(fit_label(&label, MAX_LABEL_LEN));
        }
        let host = labels.join(".");
        let host = if wildcard { format!("*.{host}") } else { host };
        if host.len() > MAX_HOST_LEN {
            return Err(format!("`{host}` is longer than {MAX_HOST_LEN} characters"));
        }
        Ok(host)
    }
}

/// A URL where a preview answers, and the object it comes from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PreviewUrl {
    pub url: String,
    pub kind: String,
    pub name: String,
}

/// Rewrites hosts through `rewrite` (original host → new host, or the problem).
pub type Rewrite<'a> = dyn FnMut(&str) -> Result<String, String> + 'a;

/// The hosts of an Ingress: `tls[].hosts[]` and `rules[].host`. Returns the URLs, https for hosts
/// listed in a TLS section.
pub fn rewrite_ingress(
    spec: &mut Map,
    rewrite: &mut Rewrite<'_>,
) -> Result<Vec<(String, String)>, String> {
    let mut tls_hosts = BTreeSet::new();
    if let Some(Value::Seq(entries)) = spec.get_mut("tls") {
        for entry in entries.iter_mut().filter_map(Value::as_map_mut) {
            if let Some(Value::Seq(hosts)) = entry.get_mut("hosts") {
                rewrite_string_list(hosts, rewrite)?;
                tls_hosts.extend(hosts.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    let mut urls = Vec::new();
    if let Some(Value::Seq(rules)) = spec.get_mut("rules") {
        for rule in rules.iter_mut().filter_map(Value::as_map_mut) {
            let Some(Value::String(host)) = rule.get_mut("host") else { continue };
            *host = rewrite(host)?;
            let host = host.clone();
            let tls =
                tls_hosts.contains(&host) || tls_hosts.iter().any(|t| wildcard_covers(t, &host));
            let paths: Vec<String> = rule
                .get("http")
                .and_then(|http| http.get_path(&["paths"]))
                .and_then(Value::as_seq)
                .map(|paths| {
                    paths
                        .iter()
                        .filter_map(|p| {
                            p.get_path(&["path"]).and_then(Value::as_str).map(str::to_owned)
                        })
                        .collect()
                })
                .unwrap_or_default();
            urls.extend(urls_for(&host, tls, &paths));
        }
    }
    Ok(urls)
}

/// The hostnames of a Gateway API route. The route itself does not say whether its Gateway
/// terminates TLS; a parent reference to port 443 or to a listener whose name mentions https/tls
/// is taken as TLS (the usual naming), anything else as plain http.
pub fn rewrite_route(
    spec: &mut Map,
    with_urls: bool,
    rewrite: &mut Rewrite<'_>,
) -> Result<Vec<(String, String)>, String> {
    let Some(Value::Seq(hostnames)) = spec.get_mut("hostnames") else { return Ok(Vec::new()) };
    rewrite_string_list(hostnames, rewrite)?;
    if !with_urls {
        return Ok(Vec::new());
    }
    let hosts: Vec<String> =
        hostnames.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    let tls = spec.get("parentRefs").and_then(Value::as_seq).is_some_and(|refs| {
        refs.iter().any(|r| {
            let port = matches!(r.get_path(&["port"]), Some(Value::Int(443)));
            let section = r
                .get_path(&["sectionName"])
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            port || section.contains("https") || section.contains("tls") || section.contains("443")
        })
    });
    let mut paths = Vec::new();
    for rule in spec.get("rules").and_then(Value::as_seq).unwrap_or_default() {
        for matcher in rule.get_path(&["matches"]).and_then(Value::as_seq).unwrap_or_default() {
            if let Some(path) = matcher.get_path(&["path", "value"]).and_then(Value::as_str) {
                paths.push(path.to_owned());
            }
        }
    }
    Ok(hosts
        .iter()
        .filter(|h| !h.starts_with('*'))
        .flat_map(|h| urls_for(h, tls, &paths))
        .collect())
}

/// The `Host(...)` matchers in a Traefik IngressRoute's `spec.routes[].match`; https when the
/// route has a `tls` section.
pub fn rewrite_ingress_route(
    spec: &mut Map,
    rewrite: &mut Rewrite<'_>,
) -> Result<Vec<(String, String)>, String> {
    let tls = spec.contains_key("tls");
    let mut urls = Vec::new();
    if let Some(Value::Seq(routes)) = spec.get_mut("routes") {
        for route in routes.iter_mut().filter_map(Value::as_map_mut) {
            let Some(Value::String(expression)) = route.get_mut("match") else { continue };
            let (rewritten, hosts) = rewrite_traefik_match(expression, rewrite)?;
            *expression = rewritten;
            let paths: Vec<String> = traefik_path(expression).into_iter().collect();
            for host in hosts {
                urls.extend(urls_for(&host, tls, &paths));
            }
        }
    }
    Ok(urls)
}

/// The names of a cert-manager Certificate: `spec.dnsNames[]` and `spec.commonName`.
pub fn rewrite_certificate(spec: &mut Map, rewrite: &mut Rewrite<'_>) -> Result<(), String> {
    if let Some(Value::Seq(names)) = spec.get_mut("dnsNames") {
        rewrite_string_list(names, rewrite)?;
    }
    if let Some(Value::String(name)) = spec.get_mut("commonName") {
        *name = rewrite(name)?;
    }
    Ok(())
}

/// Rewrites every quoted argument of every `Host(...)` call in a Traefik rule (v2 allows several
/// hosts per call, v3 one; both quote with backticks or double quotes). Returns the new rule and
/// the new hosts. `HostRegexp` and `HostSNI` are different matchers and are left alone.
pub fn rewrite_traefik_match(
    expression: &str,
    rewrite: &mut Rewrite<'_>,
) -> Result<(String, Vec<String>), String> {
    let mut out = String::with_capacity(expression.len());
    let mut hosts = Vec::new();
    let mut rest = expression;
    while let Some(start) = find_call(rest, "Host") {
        let open = start + rest[start..].find('(').unwrap_or(0) + 1;
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        loop {
            let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            out.push_str(&rest[..rest.len() - trimmed.len()]);
            rest = trimmed;
            match rest.chars().next() {
                Some(')') => break,
                Some(quote @ ('`' | '"')) => {
                    let end = rest[1..]
                        .find(quote)
                        .ok_or_else(|| format!("unterminated {quote} in `{expression}`"))?;
                    let host = &rest[1..1 + end];
                    let new_host = rewrite(host)?;
                    out.push(quote);
                    out.push_str(&new_host);
                    out.push(quote);
                    hosts.push(new_host);
                    rest = &rest[end + 2..];
                }
                _ => return Err(format!("cannot read the Host(...) matcher in `{expression}`")),
            }
        }
    }
    out.push_str(rest);
    hosts.dedup();
    Ok((out, hosts))
}

/// Where `name(` starts in `text` as a whole identifier (not `XHost(` nor `HostRegexp(`).
fn find_call(text: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(name) {
        let start = from + i;
        let before_ok = !text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let after = text[start + name.len()..].trim_start();
        if before_ok && after.starts_with('(') {
            return Some(start);
        }
        from = start + name.len();
    }
    None
}

/// The first `PathPrefix(...)`/`Path(...)` argument in a Traefik rule, for the preview URL.
fn traefik_path(expression: &str) -> Option<String> {
    let start = find_call(expression, "PathPrefix").or_else(|| find_call(expression, "Path"))?;
    let args = &expression[start + expression[start..].find('(')? + 1..];
    let args = args.trim_start();
    let quote = args.chars().next().filter(|c| *c == '`' || *c == '"')?;
    let end = args[1..].find(quote)?;
    Some(args[1..1 + end].to_owned())
}

/// Rewrites a list of host strings in place, dropping duplicates the rewrite may create.
fn rewrite_string_list(items: &mut Vec<Value>, rewrite: &mut Rewrite<'_>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    let mut rewritten = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        match item {
            Value::String(host) => {
                let new_host = rewrite(&host)?;
                if seen.insert(new_host.clone()) {
                    rewritten.push(Value::String(new_host));
                }
            }
            other => rewritten.push(other),
        }
    }
    *items = rewritten;
    Ok(())
}

fn wildcard_covers(pattern: &str, host: &str) -> bool {
    pattern
        .strip_prefix("*.")
        .is_some_and(|suffix| host.split_once('.').is_some_and(|(_, rest)| rest == suffix))
}

/// `(url, host)` pairs for `host` with each path (`/` when none), paths kept as written.
fn urls_for(host: &str, tls: bool, paths: &[String]) -> Vec<(String, String)> {
    let scheme = if tls { "https" } else { "http" };
    let mut urls: Vec<(String, String)> = paths
        .iter()
        .map(|path| if path.starts_with('/') { path.clone() } else { format!("/{path}") })
        .map(|path| (format!("{scheme}://{host}{path}"), host.to_owned()))
        .collect();
    if urls.is_empty() {
        urls.push((format!("{scheme}://{host}/"), host.to_owned()));
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> HostValues<'static> {
        HostValues { app: "web", slug: "pr-42", pull_request: Some(42), branch: "feat-x" }
    }

    fn template(text: &str) -> HostTemplate {
        HostTemplate::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn templates_substitute_every_placeholder() {
        let t = template("{app}-{slug}.preview.homelab.example");
        assert_eq!(
            t.render("web.testing.homelab.example", &values()).unwrap(),
            "web-pr-42.preview.homelab.example"
        );
        let t = template("{host}-{pr}-{branch}.preview.example.com");
        assert_eq!(
            t.render("status.homelab.example", &values()).unwrap(),
            "status-42-feat-x.preview.example.com"
        );
    }

    #[test]
    fn bad_templates_are_rejected() {
        for (text, needle) in [
            ("{app}.preview.example.com", "must contain"),
            ("{ap}-{slug}.example.com", "unknown placeholder"),
            ("{slug.example.com", "without its `}`"),
            ("slug}.example.com", "without its `{`"),
            ("{slug}_x.example.com", "cannot appear"),
        ] {
            let err = HostTemplate::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn pr_placeholder_without_a_pull_request_is_an_error() {
        let t = template("{app}-{pr}.example.com");
        let no_pr = HostValues { pull_request: None, ..values() };
        assert!(t.render("web.example.com", &no_pr).unwrap_err().contains("no pull request"));
    }

    #[test]
    fn long_labels_are_shortened_with_a_hash_and_wildcards_stay_wildcards() {
        let long_slug = "a".repeat(60);
        let v = HostValues { slug: &long_slug, ..values() };
        let host = template("{app}-{slug}.example.com").render("web.example.com", &v).unwrap();
        let first = host.split('.').next().unwrap();
        assert_eq!(first.len(), 63, "{host}");
        let host = template("{slug}.example.com").render("*.apps.example.com", &values()).unwrap();
        assert_eq!(host, "*.pr-42.example.com");
    }

    fn map(yaml_like: Vec<(&str, Value)>) -> Map {
        yaml_like.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    fn seq(items: Vec<Value>) -> Value {
        Value::Seq(items)
    }

    fn rewrite_with_template() -> impl FnMut(&str) -> Result<String, String> {
        let t = template("{host}-{slug}.preview.example.com");
        move |host: &str| t.render(host, &values())
    }

    #[test]
    fn ingress_hosts_and_tls_are_rewritten_and_urls_follow_tls() {
        let rule = |host: &str, path: &str| {
            Value::Map(map(vec![
                ("host", host.into()),
                (
                    "http",
                    Value::Map(map(vec![(
                        "paths",
                        seq(vec![Value::Map(map(vec![("path", path.into())]))]),
                    )])),
                ),
            ]))
        };
        let mut spec = map(vec![
            (
                "tls",
                seq(vec![Value::Map(map(vec![
                    ("hosts", seq(vec!["web.example.com".into()])),
                    ("secretName", "web-tls".into()),
                ]))]),
            ),
            ("rules", seq(vec![rule("web.example.com", "/"), rule("api.example.com", "/v1")])),
        ]);
        let urls = rewrite_ingress(&mut spec, &mut rewrite_with_template()).unwrap();
        let urls: Vec<&str> = urls.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(
            urls,
            ["https://web-pr-42.preview.example.com/", "http://api-pr-42.preview.example.com/v1"]
        );
        assert_eq!(
            spec.get("tls").unwrap().as_seq().unwrap()[0].get_path(&["hosts"]),
            Some(&seq(vec!["web-pr-42.preview.example.com".into()]))
        );
    }

    #[test]
    fn routes_rewrite_hostnames_and_guess_tls_from_the_parent_listener() {
        let mut spec = map(vec![
            ("hostnames", seq(vec!["whoami.example.com".into()])),
            (
                "parentRefs",
                seq(vec![Value::Map(map(vec![
                    ("name", "gw".into()),
                    ("sectionName", "https".into()),
                ]))]),
            ),
        ]);
        let urls = rewrite_route(&mut spec, true, &mut rewrite_with_template()).unwrap();
        assert_eq!(urls[0].0, "https://whoami-pr-42.preview.example.com/");
        let mut plain = map(vec![("hostnames", seq(vec!["whoami.example.com".into()]))]);
        let urls = rewrite_route(&mut plain, true, &mut rewrite_with_template()).unwrap();
        assert_eq!(urls[0].0, "http://whoami-pr-42.preview.example.com/");
    }

    #[test]
    fn traefik_matches_with_several_hosts_are_all_rewritten() {
        let mut rewrite = rewrite_with_template();
        let (rule, hosts) = rewrite_traefik_match(
            "Host(`status.example.com`) || Host(`uptime.example.com`) && PathPrefix(`/app`)",
            &mut rewrite,
        )
        .unwrap();
        assert_eq!(
            rule,
            "Host(`status-pr-42.preview.example.com`) || Host(`uptime-pr-42.preview.example.com`) && PathPrefix(`/app`)"
        );
        assert_eq!(hosts.len(), 2);
        // Traefik v2: several hosts in one call, either quote style.
        let (rule, hosts) =
            rewrite_traefik_match("Host(`a.example.com`, \"b.example.com\")", &mut rewrite)
                .unwrap();
        assert_eq!(rule, "Host(`a-pr-42.preview.example.com`, \"b-pr-42.preview.example.com\")");
        assert_eq!(hosts.len(), 2);
        // Other matchers that start with "Host" are not host matchers.
        let (rule, hosts) =
            rewrite_traefik_match("HostRegexp(`{sub:[a-z]+}.example.com`)", &mut rewrite).unwrap();
        assert_eq!(rule, "HostRegexp(`{sub:[a-z]+}.example.com`)");
        assert!(hosts.is_empty());
        assert!(rewrite_traefik_match("Host(`a.example.com`", &mut rewrite).is_err());
        assert!(rewrite_traefik_match("Host(a.example.com)", &mut rewrite).is_err());
    }

    #[test]
    fn ingress_route_urls_are_https_with_tls_and_keep_the_path() {
        let mut spec = map(vec![
            (
                "routes",
                seq(vec![Value::Map(map(vec![(
                    "match",
                    "Host(`status.example.com`) && PathPrefix(`/dash`)".into(),
                )]))]),
            ),
            ("tls", Value::Map(Map::new())),
        ]);
        let urls = rewrite_ingress_route(&mut spec, &mut rewrite_with_template()).unwrap();
        assert_eq!(urls[0].0, "https://status-pr-42.preview.example.com/dash");
    }
}
