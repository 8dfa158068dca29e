//! The sticky pull-request comment: one per (pull request, kind), created once and then updated
//! in place on every run.
//!
//! A comment is ours when **both** hold: its first line is the hidden marker
//! (`<!-- gitops-env:KIND -->`), and its author is the identity our token posts as. The second
//! condition is what keeps us off a human's comment that quotes the marker. The identity comes
//! from `GET /user`; Actions' `GITHUB_TOKEN` (a GitHub App installation token) cannot call it,
//! so a 403 there means "we post as `github-actions[bot]`" (a custom App's bot login can be
//! configured in [`ClientConfig::comment_author`](super::ClientConfig)).
//!
//! When two runs raced and both created one, the oldest is kept (its URL may already be linked)
//! and the others are deleted. This module posts what it is given: layout and the 65,536-char
//! budget are `report`'s job; a body over the limit is refused here before GitHub refuses it.

use std::fmt;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::GitHubError;
use super::client::GitHubClient;
use super::pulls::{RepoName, UserJson};

/// GitHub rejects comment bodies longer than this many characters.
pub const COMMENT_BODY_LIMIT: usize = 65_536;
/// The login Actions' `GITHUB_TOKEN` posts as.
pub const ACTIONS_BOT_LOGIN: &str = "github-actions[bot]";
/// Comments read per pull request at most (100 per page); a thread longer than this is not
/// searched further, which at worst adds a second sticky comment.
const MAX_COMMENT_PAGES: usize = 50;

/// The hidden first line that names a sticky comment's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickyMarker(String);

impl StickyMarker {
    /// The marker for `kind` (e.g. `diff`, `preview`); `kind` is reduced to `[a-z0-9-]` so it
    /// can never close the HTML comment.
    pub fn new(kind: &str) -> StickyMarker {
        let kind: String = kind
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        StickyMarker(format!("<!-- gitops-env:{kind} -->"))
    }

    /// A marker given as its whole line (e.g. `report::comment_marker`'s), when it is a
    /// one-line HTML comment that cannot be confused with visible text.
    pub fn from_line(line: &str) -> Option<StickyMarker> {
        let valid = line.starts_with("<!-- gitops-env:")
            && line.ends_with(" -->")
            && !line.contains(['\n', '\r'])
            && line.matches("-->").count() == 1;
        valid.then(|| StickyMarker(line.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `body`'s first line is exactly this marker.
    pub fn is_first_line_of(&self, body: &str) -> bool {
        body.lines().next().map(str::trim_end) == Some(self.0.as_str())
    }
}

impl fmt::Display for StickyMarker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`GitHubClient::upsert_sticky_comment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickyAction {
    Created,
    Updated,
    /// The comment already had this body; nothing was sent.
    Unchanged,
}

/// The outcome of an upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickyOutcome {
    pub comment_id: u64,
    pub html_url: String,
    pub action: StickyAction,
    /// Duplicates (from racing runs) that were deleted.
    pub deleted: Vec<u64>,
}

#[derive(Debug, Deserialize)]
struct CommentJson {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    user: Option<UserJson>,
    html_url: String,
    created_at: String,
}

impl GitHubClient {
    /// The login our comments are authored by: the configured one, else `GET /user`, else (for
    /// an App/Actions token, which gets 403 there) `github-actions[bot]`. Asked once per client.
    pub async fn comment_author(&self) -> Result<String, GitHubError> {
        if let Some(login) = &self.comment_author {
            return Ok(login.clone());
        }
        if let Some(login) = self.login.get() {
            return Ok(login.clone());
        }
        let login = match self.get_json::<UserJson>("/user").await {
            Ok(user) => user.login,
            Err(err) if err.status() == Some(403) => ACTIONS_BOT_LOGIN.to_string(),
            Err(err) => return Err(err),
        };
        Ok(self.login.get_or_init(|| login).clone())
    }

    /// Creates the sticky comment marked `marker` on pull request `number`, or updates ours in
    /// place; deletes duplicates of ours. `body` must start with the marker line.
    pub async fn upsert_sticky_comment(
        &self,
        repo: &RepoName,
        number: u64,
        marker: &StickyMarker,
        body: &str,
    ) -> Result<StickyOutcome, GitHubError> {
        if !marker.is_first_line_of(body) {
            return Err(GitHubError::MarkerNotFirst { marker: marker.to_string() });
        }
        let length = body.chars().count();
        if length > COMMENT_BODY_LIMIT {
            return Err(GitHubError::CommentTooLong { length });
        }
        let author = self.comment_author().await?;
        let mut ours = self.sticky_comments(repo, number, marker, &author).await?;
        if ours.is_empty() {
            let created: CommentJson = self
                .send_json(
                    Method::POST,
                    &format!("{}/issues/{number}/comments", repo.api_path()),
                    &json!({ "body": body }),
                )
                .await?;
            return Ok(StickyOutcome {
                comment_id: created.id,
                html_url: created.html_url,
                action: StickyAction::Created,
                deleted: Vec::new(),
            });
        }
        // Oldest first; ids break ties between comments created in the same second.
        ours.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        let keep = ours.remove(0);
        let mut deleted = Vec::new();
        for duplicate in &ours {
            match self
                .delete(&format!("{}/issues/comments/{}", repo.api_path(), duplicate.id))
                .await
            {
                Ok(()) => deleted.push(duplicate.id),
                // Another run deleted it first.
                Err(err) if err.status() == Some(404) => {}
                Err(err) => return Err(err),
            }
        }
        if keep.body.as_deref() == Some(body) {
            return Ok(StickyOutcome {
                comment_id: keep.id,
                html_url: keep.html_url,
                action: StickyAction::Unchanged,
                deleted,
            });
        }
        let updated: CommentJson = self
            .send_json(
                Method::PATCH,
                &format!("{}/issues/comments/{}", repo.api_path(), keep.id),
                &json!({ "body": body }),
            )
            .await?;
        Ok(StickyOutcome {
            comment_id: updated.id,
            html_url: updated.html_url,
            action: StickyAction::Updated,
            deleted,
        })
    }

    /// Our comments on pull request `number` that carry `marker` first, in GitHub's order.
    async fn sticky_comments(
        &self,
        repo: &RepoName,
        number: u64,
        marker: &StickyMarker,
        author: &str,
    ) -> Result<Vec<CommentJson>, GitHubError> {
        let path = format!("{}/issues/{number}/comments?per_page=100", repo.api_path());
        let listing = self.get_pages::<CommentJson>(&path, MAX_COMMENT_PAGES).await?;
        Ok(listing
            .items
            .into_iter()
            .filter(|comment| {
                comment.user.as_ref().is_some_and(|user| user.login.eq_ignore_ascii_case(author))
                    && comment.body.as_deref().is_some_and(|body| marker.is_first_line_of(body))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_hidden_first_lines() {
        let marker = StickyMarker::new("Diff");
        assert_eq!(marker.as_str(), "<!-- gitops-env:diff -->");
        assert!(marker.is_first_line_of("<!-- gitops-env:diff -->\n## Diff"));
        assert!(marker.is_first_line_of("<!-- gitops-env:diff -->\r\nbody"));
        assert!(!marker.is_first_line_of("> <!-- gitops-env:diff -->\nquoted"));
        assert!(!marker.is_first_line_of("text\n<!-- gitops-env:diff -->"));
        assert!(!StickyMarker::new("diff").is_first_line_of("<!-- gitops-env:diff-2 -->"));
        assert_eq!(StickyMarker::new("a -->b").as_str(), "<!-- gitops-env:a----b -->");
    }

    #[test]
    fn markers_from_whole_lines_must_be_one_line_comments() {
        let line = "<!-- gitops-env:diff:preview -->";
        assert_eq!(StickyMarker::from_line(line).unwrap().as_str(), line);
        assert!(StickyMarker::from_line("<!-- gitops-env:x --> visible").is_none());
        assert!(StickyMarker::from_line("<!-- other -->").is_none());
        assert!(StickyMarker::from_line("<!-- gitops-env:a\n -->").is_none());
    }
}
