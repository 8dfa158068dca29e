//! Typed GitHub events: what happened, parsed from `GITHUB_EVENT_NAME` and the payload file.
//!
//! Only the fields the action decides on are modelled, and none that GitHub's older payloads
//! lack is required, so real payloads of every vintage parse. Facts the plan needs are derived
//! here once (a fork PR, a new branch, a forced push, a deleted branch) so that `plan` reasons
//! about meaning, not payload shapes.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The SHA GitHub puts in `before` for a push that created the branch.
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// An event the action may be run for.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Push(PushEvent),
    PullRequest(Box<PullRequestEvent>),
    /// A branch or tag was created.
    Create(RefEvent),
    /// A branch or tag was deleted.
    Delete(RefEvent),
    WorkflowDispatch(DispatchEvent),
    /// A scheduled run: there is no payload.
    Schedule,
    IssueComment(IssueCommentEvent),
    /// An event this action does not act on.
    Other {
        name: String,
    },
}

/// A malformed or unreadable event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event payload {source_name} for `{event}` is not valid: {message}")]
    Malformed { event: String, source_name: String, message: String },
    #[error("event `{event}` needs a payload (GITHUB_EVENT_PATH), but none was given")]
    MissingPayload { event: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Repository {
    pub full_name: String,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub fork: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PushEvent {
    /// Full ref, e.g. `refs/heads/feat/x`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub before: String,
    pub after: String,
    #[serde(default)]
    pub created: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub forced: bool,
    pub repository: Repository,
}

impl PushEvent {
    /// The branch pushed to, or `None` for a tag.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    /// The push created the branch: there is no previous commit to compare with.
    pub fn is_new_branch(&self) -> bool {
        self.created || self.before == ZERO_SHA
    }

    /// The push deleted the branch or tag.
    pub fn is_deletion(&self) -> bool {
        self.deleted || self.after == ZERO_SHA
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PullRequestEvent {
    pub action: String,
    pub number: u64,
    pub pull_request: PullRequest,
    pub repository: Repository,
    /// The label added or removed, for `labeled`/`unlabeled`.
    #[serde(default)]
    pub label: Option<Label>,
}

impl PullRequestEvent {
    /// The head branch lives in another repository (a fork), or its repository is gone.
    pub fn is_fork(&self) -> bool {
        self.pull_request
            .head
            .repo
            .as_ref()
            .is_none_or(|repo| repo.full_name != self.repository.full_name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub state: String,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub draft: bool,
    pub head: GitRef,
    pub base: GitRef,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
}

impl PullRequest {
    pub fn is_merged(&self) -> bool {
        self.merged == Some(true)
    }

    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|label| label.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GitRef {
    /// Branch name (no `refs/heads/`).
    #[serde(rename = "ref")]
    pub branch: String,
    pub sha: String,
    /// `null` when the head repository was deleted.
    #[serde(default)]
    pub repo: Option<Repository>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RefEvent {
    #[serde(rename = "ref")]
    pub name: String,
    /// `branch` or `tag`.
    pub ref_type: String,
    pub repository: Repository,
}

impl RefEvent {
    pub fn branch(&self) -> Option<&str> {
        (self.ref_type == "branch").then_some(self.name.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DispatchEvent {
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    /// The workflow's inputs, as strings (booleans and numbers are shown as GitHub sends them).
    #[serde(default, deserialize_with = "string_map")]
    pub inputs: BTreeMap<String, String>,
    pub repository: Repository,
}

impl DispatchEvent {
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct IssueCommentEvent {
    pub action: String,
    pub issue: Issue,
    pub comment: Comment,
    pub repository: Repository,
}

impl IssueCommentEvent {
    /// Comments on pull requests carry `issue.pull_request`.
    pub fn is_on_pull_request(&self) -> bool {
        self.issue.pull_request.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Issue {
    pub number: u64,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Comment {
    #[serde(default)]
    pub body: Option<String>,
    pub user: User,
}

fn string_map<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

impl Event {
    /// Parses the event named `name` from its payload (`source_name` names the file in errors).
    pub fn parse(
        name: &str,
        payload: Option<&[u8]>,
        source_name: &str,
    ) -> Result<Event, EventError> {
        fn decode<T: for<'de> Deserialize<'de>>(
            name: &str,
            payload: Option<&[u8]>,
            source_name: &str,
        ) -> Result<T, EventError> {
            let bytes =
                payload.ok_or_else(|| EventError::MissingPayload { event: name.to_owned() })?;
            serde_json::from_slice(bytes).map_err(|err| EventError::Malformed {
                event: name.to_owned(),
                source_name: source_name.to_owned(),
                message: err.to_string(),
            })
        }
        Ok(match name {
            "push" => Event::Push(decode(name, payload, source_name)?),
            "pull_request" | "pull_request_target" => {
                Event::PullRequest(Box::new(decode(name, payload, source_name)?))
            }
            "create" => Event::Create(decode(name, payload, source_name)?),
            "delete" => Event::Delete(decode(name, payload, source_name)?),
            "workflow_dispatch" => Event::WorkflowDispatch(decode(name, payload, source_name)?),
            "schedule" => Event::Schedule,
            "issue_comment" => Event::IssueComment(decode(name, payload, source_name)?),
            other => Event::Other { name: other.to_owned() },
        })
    }

    /// The event's name as GitHub spells it.
    pub fn name(&self) -> &str {
        match self {
            Event::Push(_) => "push",
            Event::PullRequest(_) => "pull_request",
            Event::Create(_) => "create",
            Event::Delete(_) => "delete",
            Event::WorkflowDispatch(_) => "workflow_dispatch",
            Event::Schedule => "schedule",
            Event::IssueComment(_) => "issue_comment",
            Event::Other { name } => name,
        }
    }

    /// The repository the event belongs to (`owner/name`), when the payload says.
    pub fn repository(&self) -> Option<&str> {
        match self {
            Event::Push(e) => Some(&e.repository.full_name),
            Event::PullRequest(e) => Some(&e.repository.full_name),
            Event::Create(e) | Event::Delete(e) => Some(&e.repository.full_name),
            Event::WorkflowDispatch(e) => Some(&e.repository.full_name),
            Event::IssueComment(e) => Some(&e.repository.full_name),
            Event::Schedule | Event::Other { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr_payload(action: &str, head_repo: &str) -> String {
        format!(
            r#"{{"action":"{action}","number":7,"repository":{{"full_name":"me/repo"}},
            "pull_request":{{"number":7,"state":"open","merged":false,"draft":false,
              "head":{{"ref":"feat/x","sha":"{h}","repo":{{"full_name":"{head_repo}"}}}},
              "base":{{"ref":"develop","sha":"{b}","repo":{{"full_name":"me/repo"}}}},
              "labels":[{{"name":"deploy-preview"}}]}}}}"#,
            h = "a".repeat(40),
            b = "b".repeat(40)
        )
    }

    #[test]
    fn pull_request_from_same_repository_is_not_a_fork() {
        let event = Event::parse(
            "pull_request",
            Some(pr_payload("opened", "me/repo").as_bytes()),
            "e.json",
        )
        .unwrap();
        let Event::PullRequest(pr) = event else { panic!("not a PR") };
        assert!(!pr.is_fork());
        assert!(pr.pull_request.has_label("deploy-preview"));
        assert_eq!(pr.pull_request.head.branch, "feat/x");
    }

    #[test]
    fn pull_request_from_another_repository_is_a_fork() {
        let event = Event::parse(
            "pull_request",
            Some(pr_payload("opened", "them/repo").as_bytes()),
            "e.json",
        )
        .unwrap();
        let Event::PullRequest(pr) = event else { panic!("not a PR") };
        assert!(pr.is_fork());
    }

    #[test]
    fn malformed_payload_names_the_event_and_file() {
        let err = Event::parse("push", Some(b"{\"ref\": 3}"), "/tmp/event.json").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/tmp/event.json"), "{msg}");
        assert!(msg.contains("`push`"), "{msg}");
    }

    #[test]
    fn schedule_needs_no_payload_and_unknown_events_are_other() {
        assert_eq!(Event::parse("schedule", None, "-").unwrap(), Event::Schedule);
        assert_eq!(
            Event::parse("watch", None, "-").unwrap(),
            Event::Other { name: "watch".into() }
        );
        assert!(matches!(Event::parse("push", None, "-"), Err(EventError::MissingPayload { .. })));
    }

    #[test]
    fn push_recognises_new_branches_deletions_and_tags() {
        let payload = format!(
            r#"{{"ref":"refs/heads/feat/y","before":"{ZERO_SHA}","after":"{a}","created":true,
                "deleted":false,"forced":false,"repository":{{"full_name":"me/repo"}}}}"#,
            a = "c".repeat(40)
        );
        let Event::Push(push) = Event::parse("push", Some(payload.as_bytes()), "-").unwrap() else {
            panic!()
        };
        assert!(push.is_new_branch());
        assert!(!push.is_deletion());
        assert_eq!(push.branch(), Some("feat/y"));
    }

    #[test]
    fn dispatch_inputs_become_strings() {
        let payload = r#"{"ref":"refs/heads/main","inputs":{"environment":"production","force":true,"n":null},
            "repository":{"full_name":"me/repo"}}"#;
        let Event::WorkflowDispatch(d) =
            Event::parse("workflow_dispatch", Some(payload.as_bytes()), "-").unwrap()
        else {
            panic!()
        };
        assert_eq!(d.input("environment"), Some("production"));
        assert_eq!(d.input("force"), Some("true"));
        assert_eq!(d.input("n"), None);
    }
}
