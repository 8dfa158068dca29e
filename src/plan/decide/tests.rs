//! The decision table, row by row (PRODUCT §1 and §3).

use super::*;
use crate::detect::{ChangeKind, UnitChange};
use crate::runner::event::{
    Comment, DispatchEvent, GitRef, Issue, IssueCommentEvent, Label, PullRequest, RefEvent,
    Repository, User, ZERO_SHA,
};

/// The event rows of the table: what GitHub sent.
fn decide(event: &Event, config: &Config, state: &State) -> Plan {
    super::decide(&Trigger::Event(event.clone()), config, state)
}

const APP: &str = "apps/overlays/testing/web";
const INFRA: &str = "infrastructure/overlays/testing";
const PROD_APP: &str = "apps/overlays/production/web";

fn repo(name: &str) -> Repository {
    Repository { full_name: name.into(), default_branch: Some("main".into()), fork: false }
}

fn push(branch: &str, before: &str, deleted: bool) -> Event {
    Event::Push(PushEvent {
        git_ref: format!("refs/heads/{branch}"),
        before: before.into(),
        after: if deleted { ZERO_SHA.into() } else { "a".repeat(40) },
        created: before == ZERO_SHA,
        deleted,
        forced: false,
        repository: repo("me/homelab"),
    })
}

fn pull(
    action: &str,
    head: &str,
    base: &str,
    head_repo: &str,
    state: &str,
    merged: bool,
    labels: &[&str],
) -> Event {
    Event::PullRequest(Box::new(PullRequestEvent {
        action: action.into(),
        number: 42,
        pull_request: PullRequest {
            number: 42,
            state: state.into(),
            merged: Some(merged),
            draft: false,
            head: GitRef { branch: head.into(), sha: "h".repeat(40), repo: Some(repo(head_repo)) },
            base: GitRef {
                branch: base.into(),
                sha: "b".repeat(40),
                repo: Some(repo("me/homelab")),
            },
            labels: labels.iter().map(|l| Label { name: (*l).into() }).collect(),
            html_url: None,
            merge_commit_sha: None,
        },
        repository: repo("me/homelab"),
        label: labels.first().map(|l| Label { name: (*l).into() }),
    }))
}

fn changes(entries: &[(&str, &[(&str, ChangeKind)])]) -> State {
    State {
        changes: entries
            .iter()
            .map(|(env, units)| {
                (
                    env.to_string(),
                    units
                        .iter()
                        .map(|(u, c)| UnitChange { unit: u.to_string(), change: c.clone() })
                        .collect(),
                )
            })
            .collect(),
        ..State::default()
    }
}

fn feature_changes() -> State {
    changes(&[("testing", &[(APP, ChangeKind::Modified), (INFRA, ChangeKind::Modified)])])
}

/// Steps as compact strings: "target | unit | action".
fn rows(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| {
            format!(
                "{} | {} | {}",
                s.target,
                s.unit.as_deref().unwrap_or("(all)"),
                s.action.as_str()
            )
        })
        .collect()
}

#[test]
fn push_to_feature_branch_deploys_changed_apps_to_its_preview_and_diffs_infrastructure() {
    let plan =
        decide(&push("feat/login", &"c".repeat(40), false), &Config::default(), &feature_changes());
    assert_eq!(
        rows(&plan),
        [
            format!("preview of feat/login | {APP} | apply"),
            format!("testing | {INFRA} | diff-only"),
        ]
    );
    assert!(plan.steps[1].reason.contains("applied when merged"));
}

#[test]
fn new_feature_branch_is_planned_like_any_push() {
    let plan = decide(&push("feat/login", ZERO_SHA, false), &Config::default(), &feature_changes());
    assert_eq!(plan.steps.len(), 2);
}

#[test]
fn app_removed_on_feature_branch_is_torn_down_in_the_preview() {
    let state = changes(&[("testing", &[(APP, ChangeKind::Deleted)])]);
    let plan = decide(&push("feat/login", &"c".repeat(40), false), &Config::default(), &state);
    assert_eq!(rows(&plan), [format!("preview of feat/login | {APP} | teardown")]);
}

#[test]
fn pr_from_feature_branch_opened_or_synchronized_updates_the_preview_and_comments() {
    for action in ["opened", "synchronize", "reopened", "ready_for_review"] {
        let plan = decide(
            &pull(action, "feat/login", "develop", "me/homelab", "open", false, &[]),
            &Config::default(),
            &feature_changes(),
        );
        assert_eq!(plan.pull_request, Some(42), "{action}");
        assert_eq!(
            rows(&plan),
            [
                format!("preview of feat/login | {APP} | apply"),
                format!("testing | {INFRA} | diff-only")
            ],
            "{action}"
        );
    }
}

#[test]
fn unrelated_pr_actions_do_nothing() {
    let plan = decide(
        &pull("assigned", "feat/login", "develop", "me/homelab", "open", false, &[]),
        &Config::default(),
        &feature_changes(),
    );
    assert!(plan.steps.is_empty());
    let plan = decide(
        &pull("labeled", "feat/login", "develop", "me/homelab", "open", false, &["bug"]),
        &Config::default(),
        &feature_changes(),
    );
    assert!(plan.steps.is_empty());
}

#[test]
fn pr_merged_into_develop_tears_the_preview_down_and_leaves_testing_to_the_push() {
    let plan = decide(
        &pull("closed", "feat/login", "develop", "me/homelab", "closed", true, &[]),
        &Config::default(),
        &feature_changes(),
    );
    assert_eq!(rows(&plan), ["preview of feat/login | (all) | teardown".to_owned()]);
    assert!(plan.notes[0].contains("deployed by the push"), "{:?}", plan.notes);
}

#[test]
fn push_to_develop_deploys_testing_and_tears_down_deleted_units() {
    let state =
        changes(&[("testing", &[(APP, ChangeKind::Modified), (INFRA, ChangeKind::Deleted)])]);
    let plan = decide(&push("develop", &"c".repeat(40), false), &Config::default(), &state);
    assert_eq!(
        rows(&plan),
        [format!("testing | {APP} | apply"), format!("testing | {INFRA} | teardown")]
    );
}

#[test]
fn pr_from_develop_to_main_is_a_production_diff_only() {
    let state = changes(&[("production", &[(PROD_APP, ChangeKind::Modified)])]);
    let plan = decide(
        &pull("opened", "develop", "main", "me/homelab", "open", false, &[]),
        &Config::default(),
        &state,
    );
    assert_eq!(rows(&plan), [format!("production | {PROD_APP} | diff-only")]);
    assert!(plan.summary.contains("production diff"));
}

#[test]
fn push_to_main_deploys_production_only_for_affected_units() {
    let state = changes(&[
        ("production", &[(PROD_APP, ChangeKind::Modified)]),
        ("testing", &[(APP, ChangeKind::Modified)]),
    ]);
    let plan = decide(&push("main", &"c".repeat(40), false), &Config::default(), &state);
    assert_eq!(rows(&plan), [format!("production | {PROD_APP} | apply")]);
}

#[test]
fn pr_closed_without_merge_tears_the_preview_down_and_deploys_nothing() {
    let plan = decide(
        &pull("closed", "feat/login", "develop", "me/homelab", "closed", false, &[]),
        &Config::default(),
        &feature_changes(),
    );
    assert_eq!(rows(&plan), ["preview of feat/login | (all) | teardown"]);
}

#[test]
fn deleted_feature_branch_tears_its_preview_down() {
    let delete = Event::Delete(RefEvent {
        name: "feat/login".into(),
        ref_type: "branch".into(),
        repository: repo("me/homelab"),
    });
    assert_eq!(
        rows(&decide(&delete, &Config::default(), &State::default())),
        ["preview of feat/login | (all) | teardown"]
    );
    let pushed_deletion = push("feat/login", &"c".repeat(40), true);
    assert_eq!(
        rows(&decide(&pushed_deletion, &Config::default(), &State::default())),
        ["preview of feat/login | (all) | teardown"]
    );
    let tag = Event::Delete(RefEvent {
        name: "v1".into(),
        ref_type: "tag".into(),
        repository: repo("me/homelab"),
    });
    assert!(decide(&tag, &Config::default(), &State::default()).steps.is_empty());
}

#[test]
fn fork_pr_is_diff_only_unless_a_maintainer_added_the_label() {
    let config = Config::default();
    let plan = decide(
        &pull("opened", "feat/login", "develop", "them/homelab", "open", false, &[]),
        &config,
        &feature_changes(),
    );
    assert_eq!(
        rows(&plan),
        [
            format!("preview of PR #42 | {APP} | diff-only"),
            format!("testing | {INFRA} | diff-only")
        ]
    );
    assert!(plan.notes[0].contains("deploy-preview"));

    let plan = decide(
        &pull(
            "labeled",
            "feat/login",
            "develop",
            "them/homelab",
            "open",
            false,
            &["deploy-preview"],
        ),
        &config,
        &feature_changes(),
    );
    assert_eq!(
        rows(&plan),
        [format!("preview of PR #42 | {APP} | apply"), format!("testing | {INFRA} | diff-only")]
    );
    let Target::Preview(preview) = &plan.steps[0].target else { panic!() };
    assert_eq!(preview.pr, Some(42));
}

#[test]
fn removing_the_fork_label_tears_the_fork_preview_down() {
    let mut event = pull("unlabeled", "feat/login", "develop", "them/homelab", "open", false, &[]);
    if let Event::PullRequest(pr) = &mut event {
        pr.label = Some(Label { name: "deploy-preview".into() });
    }
    let plan = decide(&event, &Config::default(), &feature_changes());
    assert!(rows(&plan).contains(&"preview of PR #42 | (all) | teardown".to_owned()));
    assert!(!rows(&plan).iter().any(|r| r.ends_with("| apply")));
}

#[test]
fn pr_closed_while_the_run_waited_gets_no_new_preview() {
    let mut state = feature_changes();
    state.pull_request = Some(PullRequestState {
        number: 42,
        open: false,
        merged: false,
        head_branch: "feat/login".into(),
        base_branch: "develop".into(),
        ..Default::default()
    });
    let plan = decide(
        &pull("synchronize", "feat/login", "develop", "me/homelab", "open", false, &[]),
        &Config::default(),
        &state,
    );
    assert_eq!(rows(&plan), ["preview of feat/login | (all) | teardown"]);
}

#[test]
fn render_failures_block_their_steps_and_are_never_deletes() {
    let state = changes(&[(
        "testing",
        &[(APP, ChangeKind::Failed("apps/base/web/kustomization.yaml: bad".into()))],
    )]);
    let plan = decide(&push("develop", &"c".repeat(40), false), &Config::default(), &state);
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].action, Action::Apply);
    assert!(plan.steps[0].blocked.as_deref().unwrap().contains("render failed"));
    assert!(plan.has_blocked_steps());
}

#[test]
fn schedule_sweeps_expired_and_orphaned_previews_and_keeps_the_rest() {
    let preview = |branch: &str| PreviewRef { branch: branch.into(), pr: None, fork: false };
    let state = State {
        now: 1_000,
        previews: vec![
            ExistingPreview {
                preview: preview("feat/old"),
                slug: "feat-old".into(),
                expires_at: Some(999),
                pr_open: None,
                branch_exists: Some(true),
            },
            ExistingPreview {
                preview: preview("feat/closed"),
                slug: "feat-closed".into(),
                expires_at: Some(5_000),
                pr_open: Some(false),
                branch_exists: Some(true),
            },
            ExistingPreview {
                preview: preview("feat/gone"),
                slug: "feat-gone".into(),
                expires_at: None,
                pr_open: None,
                branch_exists: Some(false),
            },
            ExistingPreview {
                preview: preview("feat/live"),
                slug: "feat-live".into(),
                expires_at: Some(5_000),
                pr_open: Some(true),
                branch_exists: Some(true),
            },
        ],
        ..State::default()
    };
    let plan = decide(&Event::Schedule, &Config::default(), &state);
    assert_eq!(
        rows(&plan),
        [
            "preview of feat/closed | (all) | teardown",
            "preview of feat/gone | (all) | teardown",
            "preview of feat/old | (all) | teardown",
        ]
    );
    assert_eq!(plan.notes, ["kept preview of feat/live"]);
}

fn dispatch(inputs: &[(&str, &str)], git_ref: &str) -> Event {
    Event::WorkflowDispatch(DispatchEvent {
        git_ref: git_ref.into(),
        inputs: inputs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        repository: repo("me/homelab"),
    })
}

#[test]
fn workflow_dispatch_deploys_tears_down_or_plans_on_demand() {
    let state = changes(&[
        ("production", &[(PROD_APP, ChangeKind::Added)]),
        ("testing", &[(APP, ChangeKind::Added)]),
    ]);
    let config = Config::default();
    let plan =
        decide(&dispatch(&[("environment", "production")], "refs/heads/main"), &config, &state);
    assert_eq!(rows(&plan), [format!("production | {PROD_APP} | apply")]);
    let plan = decide(&dispatch(&[], "refs/heads/main"), &config, &state);
    assert_eq!(rows(&plan), [format!("production | {PROD_APP} | apply")]);
    let plan = decide(
        &dispatch(&[("operation", "plan"), ("environment", "testing")], "refs/heads/develop"),
        &config,
        &state,
    );
    assert_eq!(rows(&plan), [format!("testing | {APP} | diff-only")]);
    let plan = decide(
        &dispatch(
            &[("operation", "teardown"), ("environment", "preview"), ("branch", "feat/x")],
            "refs/heads/main",
        ),
        &config,
        &state,
    );
    assert_eq!(rows(&plan), ["preview of feat/x | (all) | teardown"]);
    let plan = decide(
        &dispatch(&[("operation", "teardown"), ("environment", "production")], "refs/heads/main"),
        &config,
        &state,
    );
    assert!(plan.steps.is_empty());
    assert!(plan.summary.contains("refusing"));
    let plan = decide(&dispatch(&[("environment", "qa")], "refs/heads/main"), &config, &state);
    assert!(plan.summary.contains("unknown environment `qa`"));
}

#[test]
fn comment_commands_redeploy_or_tear_down_a_preview() {
    let event = |body: &str| {
        Event::IssueComment(IssueCommentEvent {
            action: "created".into(),
            issue: Issue { number: 42, pull_request: Some(serde_json::json!({})) },
            comment: Comment { body: Some(body.into()), user: User { login: "me".into() } },
            repository: repo("me/homelab"),
        })
    };
    let mut state = feature_changes();
    state.pull_request = Some(PullRequestState {
        number: 42,
        open: true,
        head_branch: "feat/login".into(),
        base_branch: "develop".into(),
        ..Default::default()
    });
    let config = Config::default();
    assert_eq!(rows(&decide(&event("/gitops-env preview"), &config, &state)).len(), 2);
    assert_eq!(
        rows(&decide(&event("/gitops-env teardown"), &config, &state)),
        ["preview of feat/login | (all) | teardown"]
    );
    assert!(decide(&event("looks good"), &config, &state).steps.is_empty());
}

#[test]
fn unknown_events_say_nothing_to_do() {
    let plan =
        decide(&Event::Other { name: "watch".into() }, &Config::default(), &State::default());
    assert_eq!(plan.summary, "nothing to do for watch");
    assert!(plan.to_table().contains("nothing to do"));
}

#[test]
fn units_outside_every_root_are_ignored() {
    let state = changes(&[("testing", &[("other/overlays/testing", ChangeKind::Modified)])]);
    let plan = decide(&push("develop", &"c".repeat(40), false), &Config::default(), &state);
    assert!(plan.steps.is_empty());
}

#[test]
fn plan_json_is_stable_and_sorted() {
    let plan =
        decide(&push("feat/login", &"c".repeat(40), false), &Config::default(), &feature_changes());
    let json = plan.to_json();
    assert_eq!(
        json,
        decide(&push("feat/login", &"c".repeat(40), false), &Config::default(), &feature_changes())
            .to_json()
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["steps"][0]["target"]["kind"], "preview");
    assert_eq!(value["steps"][0]["action"], "apply");
    assert_eq!(value["steps"][1]["target"]["name"], "testing");
}

#[test]
fn the_plan_command_merges_the_pushes_to_every_branch() {
    let state = changes(&[
        ("testing", &[(APP, ChangeKind::Modified)]),
        ("production", &[(PROD_APP, ChangeKind::Added)]),
    ]);
    let trigger = Trigger::Push { branches: vec!["develop".into(), "main".into()] };
    let plan = super::decide(&trigger, &Config::default(), &state);
    assert_eq!(
        rows(&plan),
        [format!("production | {PROD_APP} | apply"), format!("testing | {APP} | apply")]
    );
    assert_eq!(plan.event, "plan");
    assert!(plan.summary.contains("develop") && plan.summary.contains("main"), "{}", plan.summary);
}

#[test]
fn the_diff_command_shows_every_environment_and_deploys_nothing() {
    let state = changes(&[
        ("testing", &[(APP, ChangeKind::Modified)]),
        ("production", &[(PROD_APP, ChangeKind::Deleted)]),
    ]);
    let plan = super::decide(&Trigger::Diff, &Config::default(), &state);
    assert_eq!(
        rows(&plan),
        [format!("production | {PROD_APP} | diff-only"), format!("testing | {APP} | diff-only")]
    );
}

#[test]
fn the_deploy_command_applies_an_environment_and_refuses_unknown_ones() {
    let state = changes(&[("testing", &[(APP, ChangeKind::Added), (INFRA, ChangeKind::Added)])]);
    let trigger = Trigger::Deploy { environment: "testing".into() };
    let plan = super::decide(&trigger, &Config::default(), &state);
    assert_eq!(
        rows(&plan),
        [format!("testing | {APP} | apply"), format!("testing | {INFRA} | apply")]
    );
    let unknown = Trigger::Deploy { environment: "staging".into() };
    let plan = super::decide(&unknown, &Config::default(), &state);
    assert!(plan.steps.is_empty());
    assert!(plan.summary.contains("unknown environment `staging`"), "{}", plan.summary);
}

#[test]
fn the_teardown_command_removes_the_previews_it_names() {
    let existing = |branch: &str, slug: &str, pr: Option<u64>| ExistingPreview {
        preview: PreviewRef { branch: branch.into(), pr, fork: false },
        slug: slug.into(),
        expires_at: None,
        pr_open: None,
        branch_exists: None,
    };
    let state = State {
        previews: vec![existing("feat/a", "feat-a", Some(3)), existing("feat/b", "feat-b", None)],
        ..State::default()
    };
    let by_slug = super::decide(
        &Trigger::Teardown(PreviewMatch::Slug("feat-b".into())),
        &Config::default(),
        &state,
    );
    assert_eq!(rows(&by_slug), ["preview of feat/b | (all) | teardown"]);
    let by_pr =
        super::decide(&Trigger::Teardown(PreviewMatch::PullRequest(3)), &Config::default(), &state);
    assert_eq!(rows(&by_pr), ["preview of feat/a | (all) | teardown"]);
    let none =
        super::decide(&Trigger::Teardown(PreviewMatch::PullRequest(9)), &Config::default(), &state);
    assert!(none.steps.is_empty() && none.summary.contains("nothing to tear down"));
}
