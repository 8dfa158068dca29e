//! Preview transforms on small renders written as JSON.

use serde_json::json;

use super::*;
use crate::render::images::parse_image_overrides;

fn value(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => {
            n.as_i64().map_or_else(|| Value::Float(n.as_f64().unwrap_or_default()), Value::Int)
        }
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::Seq(items.into_iter().map(value).collect()),
        serde_json::Value::Object(map) => {
            Value::Map(map.into_iter().map(|(k, v)| (k, value(v))).collect())
        }
    }
}

fn request(pull_request: Option<u64>, branch: &str) -> PreviewRequest {
    PreviewRequest {
        repository: "me/homelab".into(),
        pull_request,
        named_by_pull_request: pull_request.is_some(),
        branch: branch.into(),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        created_at: Timestamp(1_795_629_600),
    }
}

fn settings() -> PreviewSettings {
    PreviewSettings {
        host_template: Some("{app}-{slug}.preview.homelab.example".into()),
        ttl: Some(Duration::from_secs(72 * 3600)),
        ..PreviewSettings::default()
    }
}

fn preview() -> Preview {
    Preview::new(request(Some(42), "feat/login"), settings()).unwrap()
}

fn str_at<'a>(object: &'a Value, path: &[&str]) -> Option<&'a str> {
    object.get_path(path).and_then(Value::as_str)
}

fn find<'a>(unit: &'a PreviewUnit, kind: &str, name: &str) -> &'a Value {
    unit.objects
        .iter()
        .find(|o| {
            str_at(o, &["kind"]) == Some(kind) && str_at(o, &["metadata", "name"]) == Some(name)
        })
        .unwrap_or_else(|| panic!("{kind} {name} not in the preview"))
}

fn web_render() -> Vec<Value> {
    vec![
        value(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web", "labels": {
            "pod-security.kubernetes.io/enforce": "baseline", "kubernetes.io/metadata.name": "web"}}}),
        ),
        value(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "web-reader"}}),
        ),
        value(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "web"}, "spec": {"ports": [{"port": 80}]}}),
        ),
        value(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "web", "labels": {"app": "web"}},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "ghcr.io/me/web:1.4.2"}]}}}}),
        ),
        value(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "web",
            "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}},
            "spec": {"tls": [{"hosts": ["web.testing.homelab.example"], "secretName": "web-tls"}],
                     "rules": [{"host": "web.testing.homelab.example", "http": {"paths": [{"path": "/", "pathType": "Prefix"}]}}]}}),
        ),
    ]
}

#[test]
fn namespaced_objects_move_into_the_preview_namespace() {
    let unit = preview().transform("web", web_render()).unwrap();
    assert_eq!(unit.objects.len(), 3);
    for object in &unit.objects {
        assert_eq!(str_at(object, &["metadata", "namespace"]), Some("preview-pr-42"));
    }
}

#[test]
fn namespaces_are_replaced_and_cluster_scoped_objects_listed() {
    let unit = preview().transform("web", web_render()).unwrap();
    let left: Vec<(&str, LeftOutReason)> =
        unit.left_out.iter().map(|l| (l.kind.as_str(), l.reason)).collect();
    assert_eq!(
        left,
        [
            ("ClusterRole", LeftOutReason::ClusterScoped),
            ("Namespace", LeftOutReason::NamespaceReplaced)
        ]
    );
    // The dropped namespace's labels reach the preview namespace, except the server-set one.
    let namespace = preview().namespace_object(&[unit]);
    assert_eq!(str_at(&namespace, &["metadata", "name"]), Some("preview-pr-42"));
    assert_eq!(
        str_at(&namespace, &["metadata", "labels", "pod-security.kubernetes.io/enforce"]),
        Some("baseline")
    );
    assert_eq!(namespace.get_path(&["metadata", "labels", "kubernetes.io/metadata.name"]), None);
    assert_eq!(str_at(&namespace, &["metadata", "labels", LABEL_MANAGED_BY]), Some("gitops-env"));
}

#[test]
fn unknown_kinds_count_as_namespaced_unless_their_crd_says_cluster() {
    let render = vec![
        value(
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "web"}}),
        ),
        value(json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}})),
        value(
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "gadgets.example.com"},
            "spec": {"group": "example.com", "scope": "Cluster", "names": {"kind": "Gadget"}}}),
        ),
    ];
    let unit = preview().transform("web", render).unwrap();
    let kept: Vec<&str> = unit.objects.iter().filter_map(|o| str_at(o, &["kind"])).collect();
    assert_eq!(kept, ["Widget"]);
    let left: Vec<&str> = unit.left_out.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(left, ["CustomResourceDefinition", "Gadget"]);
}

#[test]
fn role_binding_subjects_follow_like_kustomize() {
    let render = vec![
        value(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "web"}}),
        ),
        value(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb", "namespace": "web"},
            "subjects": [
                {"kind": "ServiceAccount", "name": "app", "namespace": "web"},
                {"kind": "ServiceAccount", "name": "other", "namespace": "web"},
                {"kind": "ServiceAccount", "name": "default"},
                {"kind": "User", "name": "bob", "namespace": "web"}]}),
        ),
    ];
    let unit = preview().transform("web", render).unwrap();
    let binding = find(&unit, "RoleBinding", "rb");
    let namespaces: Vec<Option<&str>> = binding
        .get_path(&["subjects"])
        .and_then(Value::as_seq)
        .unwrap()
        .iter()
        .map(|s| str_at(s, &["namespace"]))
        .collect();
    // Same result as `kubectl kustomize` with `namespace: preview-pr-42` on this input.
    assert_eq!(
        namespaces,
        [Some("preview-pr-42"), Some("web"), Some("preview-pr-42"), Some("web")]
    );
}

#[test]
fn route_backends_in_absorbed_namespaces_follow_and_others_stay() {
    let render = vec![
        value(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "api"}}),
        ),
        value(
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "whoami", "namespace": "whoami"},
            "spec": {"parentRefs": [{"name": "homelab", "namespace": "gateway", "sectionName": "https"}],
                     "hostnames": ["whoami.testing.homelab.example"],
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                                "backendRefs": [{"name": "api", "namespace": "api", "port": 80}]}]}}),
        ),
    ];
    let unit = preview().transform("whoami", render).unwrap();
    let route = find(&unit, "HTTPRoute", "whoami");
    let parent = &route.get_path(&["spec", "parentRefs"]).and_then(Value::as_seq).unwrap()[0];
    assert_eq!(str_at(parent, &["namespace"]), Some("gateway"));
    let backend = &route.get_path(&["spec", "rules"]).and_then(Value::as_seq).unwrap()[0]
        .get_path(&["backendRefs"])
        .and_then(Value::as_seq)
        .unwrap()[0];
    assert_eq!(str_at(backend, &["namespace"]), Some("preview-pr-42"));
    assert_eq!(
        route.get_path(&["spec", "hostnames"]),
        Some(&value(json!(["whoami-pr-42.preview.homelab.example"])))
    );
    assert_eq!(unit.urls[0].url, "https://whoami-pr-42.preview.homelab.example/api");
}

#[test]
fn ingress_hosts_are_rewritten_and_urls_are_https_under_tls() {
    let unit = preview().transform("web", web_render()).unwrap();
    let ingress = find(&unit, "Ingress", "web");
    assert_eq!(
        str_at(
            &ingress.get_path(&["spec", "rules"]).and_then(Value::as_seq).unwrap()[0],
            &["host"]
        ),
        Some("web-pr-42.preview.homelab.example")
    );
    let tls = &ingress.get_path(&["spec", "tls"]).and_then(Value::as_seq).unwrap()[0];
    assert_eq!(
        tls.get_path(&["hosts"]),
        Some(&value(json!(["web-pr-42.preview.homelab.example"])))
    );
    // cert-manager issues the certificate for the new host in the preview namespace.
    assert_eq!(str_at(tls, &["secretName"]), Some("web-tls"));
    let urls: Vec<&str> = unit.urls.iter().map(|u| u.url.as_str()).collect();
    assert_eq!(urls, ["https://web-pr-42.preview.homelab.example/"]);
    assert!(unit.notes.is_empty(), "{:?}", unit.notes);
}

#[test]
fn an_ingress_without_tls_gives_http_urls() {
    let render = vec![value(
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
        "spec": {"rules": [{"host": "web.testing.homelab.example", "http": {"paths": [{"path": "/app"}]}}]}}),
    )];
    let unit = preview().transform("web", render).unwrap();
    assert_eq!(unit.urls[0].url, "http://web-pr-42.preview.homelab.example/app");
}

#[test]
fn a_tls_secret_that_will_not_exist_in_the_preview_is_dropped_with_a_note() {
    let ingress = |name: &str, secret_in_render: bool| {
        let mut render = vec![value(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
            "spec": {"tls": [{"hosts": ["web.example"], "secretName": "wildcard-tls"}], "rules": [{"host": "web.example"}]}}),
        )];
        if secret_in_render {
            render.push(value(
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wildcard-tls"}}),
            ));
        }
        render
    };
    let unit = preview().transform("web", ingress("copied", false)).unwrap();
    let tls = &find(&unit, "Ingress", "copied")
        .get_path(&["spec", "tls"])
        .and_then(Value::as_seq)
        .unwrap()[0];
    assert_eq!(tls.get_path(&["secretName"]), None);
    assert_eq!(unit.notes.len(), 1);
    assert!(unit.notes[0].contains("wildcard-tls"), "{}", unit.notes[0]);
    // Still https: the controller's default certificate serves it.
    assert!(unit.urls[0].url.starts_with("https://"));

    let unit = preview().transform("web", ingress("shipped", true)).unwrap();
    let tls = &find(&unit, "Ingress", "shipped")
        .get_path(&["spec", "tls"])
        .and_then(Value::as_seq)
        .unwrap()[0];
    assert_eq!(str_at(tls, &["secretName"]), Some("wildcard-tls"));
}

#[test]
fn traefik_ingress_routes_with_several_hosts_are_rewritten() {
    let render = vec![value(
        json!({"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "uptime", "namespace": "uptime"},
        "spec": {"routes": [{"match": "Host(`status.testing.homelab.example`) || Host(`uptime.testing.homelab.example`)",
                              "services": [{"name": "uptime", "port": 3001, "namespace": "uptime"}]}],
                 "tls": {"secretName": "uptime-tls"}}}),
    )];
    let settings = PreviewSettings {
        host_template: Some("{host}-{slug}.preview.homelab.example".into()),
        ..settings()
    };
    let unit = Preview::new(request(Some(7), "feat/x"), settings)
        .unwrap()
        .transform("uptime", render)
        .unwrap();
    let route = find(&unit, "IngressRoute", "uptime");
    let first = &route.get_path(&["spec", "routes"]).and_then(Value::as_seq).unwrap()[0];
    assert_eq!(
        str_at(first, &["match"]),
        Some(
            "Host(`status-pr-7.preview.homelab.example`) || Host(`uptime-pr-7.preview.homelab.example`)"
        )
    );
    assert_eq!(
        str_at(&first.get_path(&["services"]).and_then(Value::as_seq).unwrap()[0], &["namespace"]),
        Some("preview-pr-7")
    );
    let urls: Vec<&str> = unit.urls.iter().map(|u| u.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://status-pr-7.preview.homelab.example/",
            "https://uptime-pr-7.preview.homelab.example/"
        ]
    );
}

#[test]
fn a_malformed_traefik_match_names_the_object() {
    let render = vec![value(
        json!({"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "broken"},
        "spec": {"routes": [{"match": "Host(`status.example"}]}}),
    )];
    let err = preview().transform("uptime", render).unwrap_err();
    assert!(err.to_string().starts_with("IngressRoute `broken`:"), "{err}");
}

#[test]
fn every_object_and_the_namespace_carry_ownership_labels_and_annotations() {
    let unit = preview().transform("web", web_render()).unwrap();
    let namespace = preview().namespace_object(std::slice::from_ref(&unit));
    for object in unit.objects.iter().chain([&namespace]) {
        assert_eq!(str_at(object, &["metadata", "labels", LABEL_MANAGED_BY]), Some("gitops-env"));
        assert_eq!(str_at(object, &["metadata", "labels", LABEL_PREVIEW]), Some("pr-42"));
        for (key, expected) in [
            (ANNOTATION_REPOSITORY, "me/homelab"),
            (ANNOTATION_PULL_REQUEST, "42"),
            (ANNOTATION_BRANCH, "feat/login"),
            (ANNOTATION_CREATED_AT, "2026-11-25T18:00:00Z"),
            (ANNOTATION_TTL, "3d"),
            (ANNOTATION_EXPIRES_AT, "2026-11-28T18:00:00Z"),
        ] {
            assert_eq!(str_at(object, &["metadata", "annotations", key]), Some(expected), "{key}");
        }
    }
    // The commit is the namespace's alone: on every object it would change them all per push.
    let sha = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(str_at(&namespace, &["metadata", "annotations", ANNOTATION_SHA]), Some(sha));
    assert!(
        unit.objects
            .iter()
            .all(|o| str_at(o, &["metadata", "annotations", ANNOTATION_SHA]).is_none())
    );
    // Existing labels and annotations are kept.
    assert_eq!(
        str_at(find(&unit, "Deployment", "web"), &["metadata", "labels", "app"]),
        Some("web")
    );
    assert_eq!(
        str_at(
            find(&unit, "Ingress", "web"),
            &["metadata", "annotations", "cert-manager.io/cluster-issuer"]
        ),
        Some("letsencrypt")
    );
}

#[test]
fn branch_previews_without_ttl_have_no_pr_or_expiry_annotations() {
    let settings = PreviewSettings { ttl: None, ..settings() };
    let preview = Preview::new(request(None, "feat/Login-Page"), settings).unwrap();
    assert!(preview.slug().starts_with("feat-login-page-"), "{}", preview.slug());
    assert!(is_dns_label(preview.namespace()));
    let keys: Vec<&str> = preview.annotations().iter().map(|(k, _)| *k).collect();
    assert!(
        !keys.contains(&ANNOTATION_PULL_REQUEST) && !keys.contains(&ANNOTATION_EXPIRES_AT),
        "{keys:?}"
    );
    assert_eq!(preview.expires_at(), None);
}

#[test]
fn image_overrides_apply_to_the_preview() {
    let settings = PreviewSettings {
        image_overrides: parse_image_overrides("ghcr.io/me/web=ghcr.io/me/web:sha-0123456")
            .unwrap(),
        ..settings()
    };
    let unit = Preview::new(request(Some(42), "feat/x"), settings)
        .unwrap()
        .transform("web", web_render())
        .unwrap();
    let deployment = find(&unit, "Deployment", "web");
    let container = &deployment
        .get_path(&["spec", "template", "spec", "containers"])
        .and_then(Value::as_seq)
        .unwrap()[0];
    assert_eq!(str_at(container, &["image"]), Some("ghcr.io/me/web:sha-0123456"));
    assert_eq!(unit.images.matches, [1]);
}

#[test]
fn namespace_templates_are_validated_and_leave_room_for_the_slug() {
    for (template, needle) in [
        ("preview", "exactly once"),
        ("{slug}-{slug}", "exactly once"),
        ("pv-{slug}-{app}", "only the `{slug}`"),
        (&format!("{}-{{slug}}", "x".repeat(50)), "fewer than 16"),
        ("Preview-{slug}", "not a valid namespace name"),
    ] {
        let settings = PreviewSettings { namespace_template: template.to_owned(), ..settings() };
        let err = Preview::new(request(Some(1), "feat/x"), settings).unwrap_err();
        assert!(err.to_string().contains(needle), "{template}: {err}");
    }
    let long_branch = format!("feat/{}", "very-long-name-".repeat(8));
    let settings =
        PreviewSettings { namespace_template: "gitops-preview-{slug}".into(), ..settings() };
    let preview = Preview::new(request(None, &long_branch), settings).unwrap();
    assert!(
        preview.namespace().len() <= 63 && is_dns_label(preview.namespace()),
        "{}",
        preview.namespace()
    );
}

#[test]
fn a_pr_host_template_without_a_pull_request_is_refused_up_front() {
    let settings = PreviewSettings {
        host_template: Some("{app}-{pr}.preview.example.com".into()),
        ..settings()
    };
    let err = Preview::new(request(None, "feat/x"), settings).unwrap_err();
    assert!(matches!(err, PreviewError::HostTemplate { .. }), "{err}");
}

#[test]
fn objects_without_identity_are_a_clear_error() {
    let err = preview()
        .transform("web", vec![value(json!({"apiVersion": "v1", "metadata": {"name": "x"}}))])
        .unwrap_err();
    assert_eq!(err.to_string(), "rendered object #0 has no kind");
}

#[test]
fn a_unit_of_several_apps_takes_app_from_each_object() {
    let render = vec![value(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "recipes-ingress", "labels": {"app.kubernetes.io/name": "recipes"}},
        "spec": {"rules": [{"host": "recipes.testing.homelab.example"}]}}))];
    let unit = preview().transform("", render).unwrap();
    assert_eq!(unit.urls[0].url, "http://recipes-pr-42.preview.homelab.example/");
}

#[test]
fn without_a_host_template_hosts_stay_and_the_user_is_told() {
    let settings = PreviewSettings { host_template: None, ..settings() };
    let unit = Preview::new(request(Some(42), "feat/x"), settings)
        .unwrap()
        .transform("web", web_render())
        .unwrap();
    assert_eq!(unit.urls[0].url, "https://web.testing.homelab.example/");
    assert!(unit.notes.iter().any(|n| n.contains("no preview host template")), "{:?}", unit.notes);
}

#[test]
fn certificates_follow_the_hosts_and_keep_their_ingress_secret() {
    let render = vec![
        value(
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "web"},
            "spec": {"secretName": "web-cert", "commonName": "web.testing.homelab.example",
                     "dnsNames": ["web.testing.homelab.example"], "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt"}}}),
        ),
        value(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
            "spec": {"tls": [{"hosts": ["web.testing.homelab.example"], "secretName": "web-cert"}],
                     "rules": [{"host": "web.testing.homelab.example"}]}}),
        ),
    ];
    let unit = preview().transform("web", render).unwrap();
    let certificate = find(&unit, "Certificate", "web");
    assert_eq!(
        str_at(certificate, &["spec", "commonName"]),
        Some("web-pr-42.preview.homelab.example")
    );
    assert_eq!(
        certificate.get_path(&["spec", "dnsNames"]),
        Some(&value(json!(["web-pr-42.preview.homelab.example"])))
    );
    // The Certificate in the render issues the Ingress's secret in the preview namespace.
    let tls =
        &find(&unit, "Ingress", "web").get_path(&["spec", "tls"]).and_then(Value::as_seq).unwrap()
            [0];
    assert_eq!(str_at(tls, &["secretName"]), Some("web-cert"));
    assert!(unit.notes.is_empty(), "{:?}", unit.notes);
}

#[test]
fn a_preview_namespace_reads_back_what_was_written() {
    let namespace = preview().namespace_object(&[]);
    let record = PreviewRecord::from_namespace(&namespace).expect("ours");
    assert_eq!(record.namespace, "preview-pr-42");
    assert_eq!(record.slug, "pr-42");
    assert_eq!(record.pull_request, Some(42));
    assert_eq!(record.branch.as_deref(), Some("feat/login"));
    assert_eq!(record.repository.as_deref(), Some("me/homelab"));
    assert_eq!(record.created_at, Some(Timestamp(1_795_629_600)));
    assert!(record.problems.is_empty());
    assert!(!record.expired(Timestamp(1_795_629_600 + 72 * 3600 - 1)));
    assert!(record.expired(Timestamp(1_795_629_600 + 72 * 3600)));
}

#[test]
fn namespaces_without_our_labels_are_not_previews_and_bad_annotations_never_expire() {
    let foreign = value(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "preview-pr-1", "labels": {LABEL_PREVIEW: "pr-1"}}}));
    assert_eq!(PreviewRecord::from_namespace(&foreign), None);
    let edited =
        value(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "preview-pr-1",
        "labels": {LABEL_MANAGED_BY: MANAGER, LABEL_PREVIEW: "pr-1"},
        "annotations": {ANNOTATION_EXPIRES_AT: "tomorrow", ANNOTATION_PULL_REQUEST: "one"}}}));
    let record = PreviewRecord::from_namespace(&edited).expect("ours");
    assert_eq!(record.expires_at, None);
    assert_eq!(record.pull_request, None);
    assert_eq!(record.problems.len(), 2, "{:?}", record.problems);
    assert!(!record.expired(Timestamp(i64::MAX)));
}

#[test]
fn a_branch_of_this_repository_keeps_its_branch_name_when_its_pr_opens() {
    let mut with_pr = request(Some(42), "feat/login");
    with_pr.named_by_pull_request = false;
    let named = Preview::new(with_pr, settings()).unwrap();
    let before_pr = Preview::new(request(None, "feat/login"), settings()).unwrap();
    assert_eq!(named.slug(), before_pr.slug());
    assert!(named.slug().starts_with("feat-login-"), "{}", named.slug());
}
