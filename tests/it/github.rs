//! The `github` module against the in-process fake GitHub, which checks every request against
//! GitHub's OpenAPI description (a violation fails the test when the fake is dropped).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fakes::github::{
    ChangedFile as FakeFile, Comparison as FakeComparison, FakeGitHub, Fault, Pull,
    PullState as FakePullState,
};
use gitops_env::github::{
    ACTIONS_BOT_LOGIN, ClientConfig, DeploymentState, DeploymentTarget, GitHubClient, GitHubError,
    GitHubToken, PullState, RepoName, RetryPolicy, StatusUpdate, StickyAction, StickyMarker,
};

const REPO: &str = "octo/shop";
const USER_TOKEN: &str = "ghp_user_token_secret";
const APP_TOKEN: &str = "ghs_app_token_secret";

/// A fake with one open pull request (#7) and both kinds of token.
fn fake() -> FakeGitHub {
    let fake = FakeGitHub::start();
    fake.add_token(USER_TOKEN, "deploy-bot");
    fake.add_app_token(APP_TOKEN, ACTIONS_BOT_LOGIN);
    fake.add_pull(REPO, Pull::open(7, "feat/cart", "a1a1a1", "develop", "b2b2b2"));
    fake
}

/// A client of `fake` whose retry waits are recorded instead of slept.
fn connect(fake: &FakeGitHub, token: &str) -> (GitHubClient, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&waits);
    let client = GitHubClient::new(ClientConfig::new(fake.url(), GitHubToken::new(token)))
        .unwrap()
        .with_sleeper(Arc::new(move |duration| {
            recorded.lock().unwrap().push(duration);
            Box::pin(async {})
        }));
    (client, waits)
}

fn repo() -> RepoName {
    REPO.parse().unwrap()
}

fn sticky(text: &str) -> String {
    format!("{}\n{text}", StickyMarker::new("diff"))
}

#[tokio::test]
async fn the_sticky_comment_is_created_once_then_updated_in_place() {
    let fake = fake();
    let (client, _) = connect(&fake, USER_TOKEN);
    let marker = StickyMarker::new("diff");
    let first = client.upsert_sticky_comment(&repo(), 7, &marker, &sticky("run 1")).await.unwrap();
    assert_eq!(first.action, StickyAction::Created);
    let again = client.upsert_sticky_comment(&repo(), 7, &marker, &sticky("run 1")).await.unwrap();
    assert_eq!((again.action, again.comment_id), (StickyAction::Unchanged, first.comment_id));
    let second = client.upsert_sticky_comment(&repo(), 7, &marker, &sticky("run 2")).await.unwrap();
    assert_eq!((second.action, second.comment_id), (StickyAction::Updated, first.comment_id));
    assert!(second.html_url.ends_with(&format!("#issuecomment-{}", first.comment_id)));
    let comments = fake.comments(REPO, 7);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].author, "deploy-bot");
    assert_eq!(comments[0].body, sticky("run 2"));
    // Another kind gets its own comment.
    let preview = StickyMarker::new("preview");
    let body = format!("{preview}\nURLs");
    let other = client.upsert_sticky_comment(&repo(), 7, &preview, &body).await.unwrap();
    assert_eq!(other.action, StickyAction::Created);
    assert_eq!(fake.comments(REPO, 7).len(), 2);
    // Requests per run: identity once per client, then one listing page plus at most one write.
    let operations: Vec<String> =
        fake.requests().into_iter().filter_map(|r| r.operation_id).collect();
    assert_eq!(
        operations,
        [
            "users/get-authenticated",
            "issues/list-comments",
            "issues/create-comment",
            "issues/list-comments",
            "issues/list-comments",
            "issues/update-comment",
            "issues/list-comments",
            "issues/create-comment",
        ]
    );
    fake.assert_no_violations();
}

#[tokio::test]
async fn a_humans_comment_that_quotes_the_marker_is_never_touched() {
    let fake = fake();
    let marker = StickyMarker::new("diff");
    let pasted = fake.add_comment(REPO, 7, "alice", &sticky("I copied the bot's comment"));
    let quoted =
        fake.add_comment(REPO, 7, "bob", &format!("> {}\n> old diff\nLooks wrong", marker));
    let (client, _) = connect(&fake, APP_TOKEN);
    let outcome =
        client.upsert_sticky_comment(&repo(), 7, &marker, &sticky("fresh")).await.unwrap();
    assert_eq!(outcome.action, StickyAction::Created);
    assert!(outcome.deleted.is_empty());
    let comments = fake.comments(REPO, 7);
    assert_eq!(comments.len(), 3);
    assert_eq!(comments[0].id, pasted);
    assert_eq!(comments[0].body, sticky("I copied the bot's comment"));
    assert_eq!(comments[1].id, quoted);
    assert_eq!((comments[2].author.as_str(), comments[2].author_is_bot), (ACTIONS_BOT_LOGIN, true));
    fake.assert_no_violations();
}

#[tokio::test]
async fn duplicates_from_a_race_collapse_into_the_oldest() {
    let fake = fake();
    let oldest = fake.add_comment(REPO, 7, ACTIONS_BOT_LOGIN, &sticky("from run A"));
    fake.add_comment(REPO, 7, "alice", "a human in between");
    let newer = fake.add_comment(REPO, 7, ACTIONS_BOT_LOGIN, &sticky("from run B"));
    let (client, _) = connect(&fake, APP_TOKEN);
    assert_eq!(client.comment_author().await.unwrap(), ACTIONS_BOT_LOGIN);
    let outcome = client
        .upsert_sticky_comment(&repo(), 7, &StickyMarker::new("diff"), &sticky("run C"))
        .await
        .unwrap();
    assert_eq!((outcome.action, outcome.comment_id), (StickyAction::Updated, oldest));
    assert_eq!(outcome.deleted, vec![newer]);
    let bodies: Vec<String> = fake.comments(REPO, 7).into_iter().map(|c| c.body).collect();
    assert_eq!(bodies, vec![sticky("run C"), "a human in between".to_string()]);
    fake.assert_no_violations();
}

#[tokio::test]
async fn our_comment_is_found_beyond_the_first_pages() {
    let fake = fake();
    for index in 0..230 {
        fake.add_comment(REPO, 7, "chatty", &format!("comment {index}"));
    }
    let ours = fake.add_comment(REPO, 7, "deploy-bot", &sticky("old"));
    let (client, _) = connect(&fake, USER_TOKEN);
    let outcome = client
        .upsert_sticky_comment(&repo(), 7, &StickyMarker::new("diff"), &sticky("new"))
        .await
        .unwrap();
    assert_eq!((outcome.action, outcome.comment_id), (StickyAction::Updated, ours));
    let pages: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.operation_id.as_deref() == Some("issues/list-comments"))
        .map(|r| r.target)
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages[2].ends_with("page=3&per_page=100"), "{pages:?}");
    fake.assert_no_violations();
}

#[tokio::test]
async fn bodies_without_the_marker_first_or_over_githubs_limit_are_refused_before_sending() {
    let fake = fake();
    let (client, _) = connect(&fake, USER_TOKEN);
    let marker = StickyMarker::new("diff");
    let err = client.upsert_sticky_comment(&repo(), 7, &marker, "no marker").await.unwrap_err();
    assert!(matches!(err, GitHubError::MarkerNotFirst { .. }), "{err}");
    let huge = sticky(&"x".repeat(65_536));
    let err = client.upsert_sticky_comment(&repo(), 7, &marker, &huge).await.unwrap_err();
    assert!(matches!(err, GitHubError::CommentTooLong { length: 65_561 }), "{err}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn pull_request_facts_include_forks_labels_and_merges() {
    let fake = fake();
    let mut fork = Pull::open(9, "patch-1", "c3c3c3", "main", "d4d4d4");
    fork.head_repo = Some("stranger/shop".to_string());
    fork.labels = vec!["deploy-preview".to_string(), "bug".to_string()];
    fake.add_pull(REPO, fork);
    let (client, _) = connect(&fake, USER_TOKEN);
    let own = client.pull_request(&repo(), 7).await.unwrap();
    assert_eq!((own.state, own.merged, own.is_fork()), (PullState::Open, false, false));
    assert_eq!((own.head.git_ref.as_str(), own.head.sha.as_str()), ("feat/cart", "a1a1a1"));
    assert_eq!((own.base.git_ref.as_str(), own.base.sha.as_str()), ("develop", "b2b2b2"));
    assert_eq!(own.head.repo.as_deref(), Some(REPO));
    let fork = client.pull_request(&repo(), 9).await.unwrap();
    assert!(fork.is_fork());
    assert!(fork.has_label("Deploy-Preview"));
    fake.update_pull(REPO, 7, |pull| {
        pull.state = FakePullState::Closed;
        pull.merged = true;
    });
    let merged = client.pull_request(&repo(), 7).await.unwrap();
    assert_eq!((merged.state, merged.merged), (PullState::Closed, true));
    let err = client.pull_request(&repo(), 404).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("GET /repos/octo/shop/pulls/404 answered 404"), "{err}");
    fake.assert_no_violations();
}

#[tokio::test]
async fn pull_files_are_read_across_pages_and_githubs_limit_is_flagged() {
    let fake = fake();
    let files = |count: usize| -> Vec<FakeFile> {
        (0..count)
            .map(|i| FakeFile::new(&format!("apps/web/file-{i:04}.yaml"), "modified"))
            .collect()
    };
    fake.update_pull(REPO, 7, |pull| {
        pull.files = files(250);
        pull.files.push(FakeFile {
            previous_filename: Some("apps/old.yaml".to_string()),
            ..FakeFile::new("apps/new.yaml", "renamed")
        });
    });
    let (client, _) = connect(&fake, USER_TOKEN);
    let listed = client.pull_request_files(&repo(), 7).await.unwrap();
    assert_eq!((listed.files.len(), listed.truncated), (251, false));
    assert_eq!(listed.files[250].previous_path.as_deref(), Some("apps/old.yaml"));
    assert_eq!(fake.requests().len(), 3);
    fake.update_pull(REPO, 7, |pull| pull.files = files(3500));
    let listed = client.pull_request_files(&repo(), 7).await.unwrap();
    assert_eq!((listed.files.len(), listed.truncated), (3000, true));
    fake.assert_no_violations();
}

#[tokio::test]
async fn comparisons_give_the_merge_base_and_flag_githubs_300_file_limit() {
    let fake = fake();
    let comparison = |files: usize| FakeComparison {
        status: "diverged".to_string(),
        ahead_by: 2,
        behind_by: 1,
        merge_base_sha: "base0".to_string(),
        commits: vec!["c1".to_string(), "c2".to_string()],
        files: (0..files).map(|i| FakeFile::new(&format!("f{i}"), "added")).collect(),
    };
    fake.add_comparison(REPO, "main", "feat/cart", comparison(2));
    fake.add_comparison(REPO, "b2b2b2", "a1a1a1", comparison(400));
    let (client, _) = connect(&fake, USER_TOKEN);
    let small = client.compare(&repo(), "main", "feat/cart").await.unwrap();
    assert_eq!((small.status.as_str(), small.ahead_by, small.behind_by), ("diverged", 2, 1));
    assert_eq!(small.merge_base_sha, "base0");
    assert_eq!((small.files.files.len(), small.files.truncated), (2, false));
    let large = client.compare(&repo(), "b2b2b2", "a1a1a1").await.unwrap();
    assert_eq!((large.files.files.len(), large.files.truncated), (300, true));
    fake.assert_no_violations();
}

#[tokio::test]
async fn a_primary_rate_limit_waits_until_its_reset() {
    let fake = fake();
    fake.inject(Fault::RateLimit { reset_in: Duration::from_secs(20) });
    let (client, waits) = connect(&fake, USER_TOKEN);
    client.pull_request(&repo(), 7).await.unwrap();
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 1);
    // reset - now + 1 s of slack, give or take the second that may tick during the test.
    assert!((20..=22).contains(&waits[0].as_secs()), "{waits:?}");
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![403, 200]);
    fake.assert_no_violations();
}

#[tokio::test]
async fn secondary_rate_limits_wait_for_retry_after() {
    let fake = fake();
    fake.inject(Fault::SecondaryRateLimit { status: 429, retry_after_secs: 7 });
    fake.inject(Fault::SecondaryRateLimit { status: 403, retry_after_secs: 3 });
    let (client, waits) = connect(&fake, USER_TOKEN);
    let marker = StickyMarker::new("diff");
    let outcome = client.upsert_sticky_comment(&repo(), 7, &marker, &sticky("x")).await.unwrap();
    assert_eq!(outcome.action, StickyAction::Created);
    assert_eq!(*waits.lock().unwrap(), vec![Duration::from_secs(7), Duration::from_secs(3)]);
    assert_eq!(fake.comments(REPO, 7).len(), 1);
    fake.assert_no_violations();
}

#[tokio::test]
async fn server_errors_back_off_exponentially() {
    let fake = fake();
    fake.inject(Fault::ServerError(502));
    fake.inject(Fault::ServerError(503));
    fake.inject(Fault::ServerError(500));
    let (client, waits) = connect(&fake, USER_TOKEN);
    client.pull_request(&repo(), 7).await.unwrap();
    let expected: Vec<Duration> = [1, 2, 4].map(Duration::from_secs).to_vec();
    assert_eq!(*waits.lock().unwrap(), expected);
    fake.assert_no_violations();
}

#[tokio::test]
async fn retries_are_bounded_in_count_and_in_time() {
    let fake = fake();
    for _ in 0..10 {
        fake.inject(Fault::ServerError(500));
    }
    let (client, waits) = connect(&fake, USER_TOKEN);
    let err = client.pull_request(&repo(), 7).await.unwrap_err();
    assert!(matches!(err, GitHubError::RetriesExhausted { attempts: 5, .. }), "{err}");
    assert!(err.to_string().contains("last answer: 500 Server Error"), "{err}");
    assert_eq!(waits.lock().unwrap().len(), 4);
    assert_eq!(fake.requests().len(), 5);

    // A limit that resets in an hour fails at once instead of stalling the workflow.
    let fake = self::fake();
    fake.inject(Fault::RateLimit { reset_in: Duration::from_secs(3600) });
    let (client, waits) = connect(&fake, USER_TOKEN);
    let err = client.pull_request(&repo(), 7).await.unwrap_err();
    assert!(matches!(err, GitHubError::WaitTooLong { .. }), "{err}");
    assert!(err.to_string().contains("API rate limit exceeded"), "{err}");
    assert!(waits.lock().unwrap().is_empty());
    assert_eq!(fake.requests().len(), 1);

    // The total wait is bounded too: three 50 s waits exceed a 120 s budget.
    let fake = self::fake();
    for _ in 0..3 {
        fake.inject(Fault::SecondaryRateLimit { status: 429, retry_after_secs: 50 });
    }
    let mut config = ClientConfig::new(fake.url(), GitHubToken::new(USER_TOKEN));
    config.retry =
        RetryPolicy { max_total_wait: Duration::from_secs(120), ..RetryPolicy::default() };
    let client = GitHubClient::new(config).unwrap().with_sleeper(Arc::new(|_| Box::pin(async {})));
    let err = client.pull_request(&repo(), 7).await.unwrap_err();
    assert!(matches!(err, GitHubError::WaitTooLong { .. }), "{err}");
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn errors_name_the_request_but_never_the_token() {
    let fake = fake();
    let (client, waits) = connect(&fake, "ghp_wrong_secret");
    let err = client.pull_request(&repo(), 7).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    let text = format!("{err} {err:?}");
    assert!(text.contains("Bad credentials"), "{text}");
    assert!(!text.contains("ghp_wrong_secret"), "{text}");
    assert!(waits.lock().unwrap().is_empty(), "401 is not retried");
    // A 403 that is not a rate limit is a permission problem: not retried either.
    let (client, waits) = connect(&fake, USER_TOKEN);
    let human = fake.add_comment(REPO, 7, ACTIONS_BOT_LOGIN, &sticky("posted by the app token"));
    let mut config = ClientConfig::new(fake.url(), GitHubToken::new(USER_TOKEN));
    config.comment_author = Some(ACTIONS_BOT_LOGIN.to_string());
    let impostor = GitHubClient::new(config).unwrap();
    let err = impostor
        .upsert_sticky_comment(&repo(), 7, &StickyMarker::new("diff"), &sticky("x"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(fake.comments(REPO, 7)[0].id, human);
    assert!(waits.lock().unwrap().is_empty());
    drop(client);
    fake.assert_no_violations();
}

#[tokio::test]
async fn deployments_go_in_progress_then_success_and_teardown_makes_them_inactive() {
    let fake = fake();
    let (client, _) = connect(&fake, APP_TOKEN);
    let preview = DeploymentTarget::preview("pr-7");
    let id = client.create_deployment(&repo(), &preview, "a1a1a1", "Preview of #7").await.unwrap();
    client
        .set_deployment_status(&repo(), id, &StatusUpdate::new(DeploymentState::InProgress))
        .await
        .unwrap();
    let success = StatusUpdate {
        environment_url: Some("https://web-pr-7.preview.example.com".to_string()),
        log_url: Some("https://github.com/octo/shop/actions/runs/1".to_string()),
        description: Some("Deployed 2 units".to_string()),
        ..StatusUpdate::new(DeploymentState::Success)
    };
    client.set_deployment_status(&repo(), id, &success).await.unwrap();
    let production = client
        .create_deployment(&repo(), &DeploymentTarget::production(), "e5e5e5", &"long ".repeat(60))
        .await
        .unwrap();
    client
        .set_deployment_status(&repo(), production, &StatusUpdate::new(DeploymentState::Failure))
        .await
        .unwrap();

    let deployments = fake.deployments(REPO);
    assert_eq!(deployments.len(), 2);
    let created = &deployments[0];
    assert_eq!((created.environment.as_str(), created.sha.as_str()), ("preview/pr-7", "a1a1a1"));
    assert!(created.transient_environment && !created.production_environment);
    assert!(!created.auto_merge);
    assert_eq!(created.required_contexts, Some(Vec::new()));
    assert_eq!(created.creator, ACTIONS_BOT_LOGIN);
    let states: Vec<&str> = created.statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, vec!["in_progress", "success"]);
    assert_eq!(created.statuses[1].environment_url, "https://web-pr-7.preview.example.com");
    assert_eq!(created.statuses[1].log_url, "https://github.com/octo/shop/actions/runs/1");
    let prod = &deployments[1];
    assert!(prod.production_environment && !prod.transient_environment);
    assert_eq!(prod.description.as_ref().map(|d| d.chars().count()), Some(140));
    assert_eq!(prod.statuses[0].state, "failure");

    let changed = client.deactivate_environment(&repo(), "preview/pr-7").await.unwrap();
    assert_eq!(changed, vec![id]);
    let last = fake.deployments(REPO)[0].statuses.last().cloned().unwrap();
    assert_eq!(last.state, "inactive");
    assert!(client.deactivate_environment(&repo(), "preview/pr-7").await.unwrap().is_empty());
    assert_eq!(fake.deployments(REPO)[1].statuses.len(), 1, "production untouched");
    fake.assert_no_violations();
}

#[tokio::test]
async fn every_deployment_is_deactivated_across_pages() {
    let fake = fake();
    let (client, _) = connect(&fake, USER_TOKEN);
    let testing = DeploymentTarget::testing();
    for index in 0..105 {
        let id = client
            .create_deployment(&repo(), &testing, &format!("sha{index}"), "testing")
            .await
            .unwrap();
        if index % 2 == 0 {
            client
                .set_deployment_status(&repo(), id, &StatusUpdate::new(DeploymentState::Inactive))
                .await
                .unwrap();
        }
    }
    let changed = client.deactivate_environment(&repo(), "testing").await.unwrap();
    assert_eq!(changed.len(), 52);
    let still_active = fake
        .deployments(REPO)
        .iter()
        .filter(|d| d.statuses.last().is_none_or(|s| s.state != "inactive"))
        .count();
    assert_eq!(still_active, 0);
    fake.assert_no_violations();
}

#[test]
fn requests_that_github_would_reject_fail_the_test_that_sent_them() {
    let fake = FakeGitHub::start();
    fake.add_token(USER_TOKEN, "deploy-bot");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async {
        let http = reqwest::Client::new();
        http.post(format!("{}/repos/{REPO}/deployments", fake.url()))
            .header("user-agent", "test")
            .bearer_auth(USER_TOKEN)
            .body(r#"{"ref":"a1a1a1","auto_merge":"false"}"#)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 422);
    assert_eq!(
        fake.violations(),
        vec![
            "POST /repos/octo/shop/deployments: repos/create-deployment body/auto_merge: expected boolean, found string"
        ]
    );
    // Dropping the fake with a violation recorded panics, failing the test.
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(fake)));
    let message = dropped.unwrap_err();
    let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("auto_merge: expected boolean"), "{message}");
}

#[tokio::test]
async fn a_push_finds_its_pull_request_by_branch_or_by_commit() {
    let fake = fake();
    let mut closed = Pull::open(3, "feat/cart", "old000", "develop", "b2b2b2");
    closed.state = FakePullState::Closed;
    fake.add_pull(REPO, closed);
    let mut fork = Pull::open(8, "feat/cart", "f0f0f0", "develop", "b2b2b2");
    fork.head_repo = Some("stranger/shop".to_string());
    fake.add_pull(REPO, fork);
    fake.add_pull(REPO, Pull::open(11, "feat/other", "a1a1a1", "develop", "b2b2b2"));
    let (client, _) = connect(&fake, USER_TOKEN);

    let open = client.open_pull_requests_for_branch(&repo(), "feat/cart").await.unwrap();
    let numbers: Vec<u64> = open.iter().map(|p| p.number).collect();
    assert_eq!(numbers, vec![7], "closed and fork pull requests are not ours");
    assert_eq!(open[0].head.sha, "a1a1a1");
    assert!(client.open_pull_requests_for_branch(&repo(), "feat/none").await.unwrap().is_empty());

    let by_commit = client.pull_requests_for_commit(&repo(), "a1a1a1").await.unwrap();
    let mut numbers: Vec<u64> = by_commit.iter().map(|p| p.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, vec![7, 11]);

    fake.update_pull(REPO, 11, |pull| {
        pull.state = FakePullState::Closed;
        pull.merged = true;
    });
    let merged = client.pull_requests_for_commit(&repo(), "a1a1a1").await.unwrap();
    let eleven = merged.iter().find(|p| p.number == 11).unwrap();
    assert_eq!((eleven.state, eleven.merged), (PullState::Closed, true));
    let head_filter = fake
        .requests()
        .into_iter()
        .find(|r| r.operation_id.as_deref() == Some("pulls/list"))
        .unwrap();
    assert!(head_filter.target.contains("head=octo%3Afeat%2Fcart"), "{}", head_filter.target);
    fake.assert_no_violations();
}

#[tokio::test]
async fn an_unreachable_api_is_retried_then_reported_with_its_cause() {
    // A port that was just free: nothing listens there.
    let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&waits);
    let config = ClientConfig::new(format!("http://{address}"), GitHubToken::new(USER_TOKEN));
    let client = GitHubClient::new(config).unwrap().with_sleeper(Arc::new(move |duration| {
        recorded.lock().unwrap().push(duration);
        Box::pin(async {})
    }));
    let err = client.pull_request(&repo(), 7).await.unwrap_err();
    assert!(matches!(err, GitHubError::RetriesExhausted { attempts: 5, .. }), "{err}");
    assert!(err.to_string().to_lowercase().contains("connection refused"), "{err}");
    assert!(!err.to_string().contains(USER_TOKEN));
    assert_eq!(waits.lock().unwrap().len(), 4);
}
