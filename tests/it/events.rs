//! Every real webhook payload GitHub documents parses into a typed event.

use gitops_env::runner::event::{Event, PushEvent};

/// Parses every payload in `../shared/fixtures/github/webhooks/<event>/*.json`; new files are
/// covered automatically.
#[test]
fn every_webhook_fixture_parses() {
    let Some(shared) = testsupport::shared_dir("webhook payload fixtures") else { return };
    let root = shared.join("fixtures/github/webhooks");
    let mut parsed = 0;
    for event_dir in std::fs::read_dir(&root).unwrap() {
        let event_dir = event_dir.unwrap().path();
        let name = event_dir.file_name().unwrap().to_str().unwrap().to_owned();
        for file in std::fs::read_dir(&event_dir).unwrap() {
            let path = file.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let event = Event::parse(&name, Some(&bytes), &path.display().to_string())
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            assert_eq!(
                event.name(),
                if name == "pull_request" { "pull_request" } else { name.as_str() }
            );
            parsed += 1;
        }
    }
    assert!(parsed >= 40, "only {parsed} payloads found");
}

fn fixture(shared: &std::path::Path, event: &str, file: &str) -> Event {
    let path = shared.join("fixtures/github/webhooks").join(event).join(file);
    Event::parse(event, Some(&std::fs::read(&path).unwrap()), file).unwrap()
}

#[test]
fn fixtures_expose_the_facts_the_plan_needs() {
    let Some(shared) = testsupport::shared_dir("webhook payload fixtures") else { return };
    let Event::Push(new_branch) = fixture(&shared, "push", "with-new-branch.json") else {
        panic!()
    };
    assert!(new_branch.is_new_branch());
    assert_eq!(new_branch.branch(), Some("master"));
    let Event::Push(deleted) = fixture(&shared, "push", "branch-deleted.derived.json") else {
        panic!()
    };
    assert!(deleted.is_deletion());
    assert_eq!(deleted.branch(), Some("feature/simple-branch"));
    let Event::PullRequest(merged) = fixture(&shared, "pull_request", "closed.merged.derived.json")
    else {
        panic!()
    };
    assert!(merged.pull_request.is_merged());
    assert!(!merged.is_fork());
    let Event::Delete(branch) = fixture(&shared, "delete", "branch.derived.json") else { panic!() };
    assert_eq!(branch.branch(), Some("feature/simple-branch"));
    let Event::Delete(tag) = fixture(&shared, "delete", "payload.json") else { panic!() };
    assert_eq!(tag.branch(), None);
    let Event::WorkflowDispatch(dispatch) = fixture(&shared, "workflow_dispatch", "payload.json")
    else {
        panic!()
    };
    assert_eq!(dispatch.input("name"), Some("Mona the Octocat"));
    let Event::IssueComment(comment) = fixture(&shared, "issue_comment", "created.json") else {
        panic!()
    };
    assert!(!comment.is_on_pull_request());
}

#[test]
fn a_forced_push_is_recognised() {
    let payload = br#"{"ref":"refs/heads/feat/x","before":"1111111111111111111111111111111111111111",
        "after":"2222222222222222222222222222222222222222","forced":true,"repository":{"full_name":"me/r"}}"#;
    let Event::Push(PushEvent { forced, .. }) = Event::parse("push", Some(payload), "-").unwrap()
    else {
        panic!()
    };
    assert!(forced);
}
