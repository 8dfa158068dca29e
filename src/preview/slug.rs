//! Names for previews: the slug, the namespace and DNS labels, all RFC 1123.
//!
//! Owns the rules that turn a PR number or a branch name into a short, stable, collision-free
//! label, and that fit any label into 63 characters. Truncation always appends a short hash of the
//! full input, so two different long names never end up with the same label. Pure string work: it
//! knows nothing about objects or templates.

/// Longest DNS label (RFC 1123) and therefore longest namespace name.
pub const MAX_LABEL_LEN: usize = 63;

/// Hex digits of the hash appended to a shortened or ambiguous label.
const HASH_LEN: usize = 8;

/// Where a preview's slug comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlugSource<'a> {
    /// A pull request: slug `pr-<number>`.
    PullRequest(u64),
    /// A branch without a pull request: the branch name made into a label.
    Branch(&'a str),
}

/// The slug for `source`, at most `max_len` characters (callers pass what the namespace template
/// leaves over; at least 16).
///
/// Branch names are lowercased and every run of characters outside `[a-z0-9]` becomes one `-`.
/// A hash of the exact branch name is appended when the label had to be shortened, when the
/// name had anything but lower-case letters, digits and `-` (`Feat/X` and `feat/x`, `feat/x` and
/// `feat-x`, or `fix/a_b` and `fix/a-b`, are different branches and must not share a preview),
/// and when it would look like a pull request's slug (a branch called `pr-42`). Only a name that
/// already is a valid label is used as it is, so no two branches share a slug.
pub fn slug(source: SlugSource<'_>, max_len: usize) -> String {
    match source {
        SlugSource::PullRequest(number) => format!("pr-{number}"),
        SlugSource::Branch(branch) => branch_slug(branch, max_len),
    }
}

fn branch_slug(branch: &str, max_len: usize) -> String {
    let sanitised = sanitise_label(branch);
    let plain = branch.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let looks_like_pr = sanitised
        .strip_prefix("pr-")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()));
    let needs_hash = !plain || looks_like_pr || sanitised.is_empty() || sanitised.len() > max_len;
    if !needs_hash {
        return sanitised;
    }
    let base = if sanitised.is_empty() { "branch" } else { sanitised.as_str() };
    with_hash(base, branch, max_len)
}

/// Lowercases `text` and turns every run of characters outside `[a-z0-9]` into one `-`, without
/// leading or trailing dashes. Not length-limited.
pub fn sanitise_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// `label` when it fits in `max_len`, else its start plus `-` and a hash of `label` itself.
pub fn fit_label(label: &str, max_len: usize) -> String {
    if label.len() <= max_len { label.to_owned() } else { with_hash(label, label, max_len) }
}

/// `base` cut so that `-<hash of hash_input>` fits in `max_len`, then that suffix.
fn with_hash(base: &str, hash_input: &str, max_len: usize) -> String {
    let keep = max_len.saturating_sub(HASH_LEN + 1);
    // `base` is ASCII (sanitised), so byte slicing is on character boundaries.
    let head = base[..base.len().min(keep)].trim_end_matches('-');
    let hash = short_hash(hash_input);
    if head.is_empty() { hash } else { format!("{head}-{hash}") }
}

/// FNV-1a, 64 bit, as 8 hex digits: stable across runs, platforms and Rust versions (unlike
/// `std`'s hasher), which matters because the slug names a namespace that later runs must find.
pub fn short_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", hash >> 32)
}

/// True when `name` is a valid RFC 1123 label (what a namespace name must be).
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LABEL_LEN
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_requests_get_pr_and_their_number() {
        assert_eq!(slug(SlugSource::PullRequest(42), 55), "pr-42");
    }

    #[test]
    fn ordinary_branch_names_become_readable_labels() {
        assert_eq!(slug(SlugSource::Branch("login-page"), 55), "login-page");
        let feature = slug(SlugSource::Branch("feat/login-page"), 55);
        assert!(feature.starts_with("feat-login-page-"), "{feature}");
        assert_ne!(feature, slug(SlugSource::Branch("feat-login-page"), 55));
        let dotted = slug(SlugSource::Branch("fix/issue_12.v2"), 55);
        assert!(dotted.starts_with("fix-issue-12-v2-"), "{dotted}");
        assert_ne!(dotted, slug(SlugSource::Branch("fix/issue-12-v2"), 55));
    }

    #[test]
    fn unusual_names_get_a_hash_so_case_variants_do_not_collide() {
        let upper = slug(SlugSource::Branch("feat/Login"), 55);
        let lower = slug(SlugSource::Branch("feat/login"), 55);
        assert_ne!(upper, lower);
        assert!(upper.starts_with("feat-login-"), "{upper}");
        assert!(is_dns_label(&upper));
        let emoji = slug(SlugSource::Branch("feat/🚀"), 55);
        assert!(emoji.starts_with("feat-") && is_dns_label(&emoji), "{emoji}");
    }

    #[test]
    fn a_branch_named_like_a_pull_request_does_not_take_its_slug() {
        let branch = slug(SlugSource::Branch("pr-42"), 55);
        assert_ne!(branch, slug(SlugSource::PullRequest(42), 55));
        assert!(branch.starts_with("pr-42-"));
    }

    #[test]
    fn names_with_nothing_usable_still_get_a_valid_distinct_label() {
        let a = slug(SlugSource::Branch("///"), 55);
        let b = slug(SlugSource::Branch("___"), 55);
        assert!(is_dns_label(&a) && is_dns_label(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn long_names_are_truncated_with_a_hash_and_never_collide() {
        let prefix = "feat/".to_owned() + &"very-long-branch-name-".repeat(4);
        let a = slug(SlugSource::Branch(&(prefix.clone() + "one")), 55);
        let b = slug(SlugSource::Branch(&(prefix + "two")), 55);
        assert_ne!(a, b);
        for s in [&a, &b] {
            assert!(s.len() <= 55, "{s}");
            assert!(is_dns_label(s), "{s}");
        }
        // Stable: the same name gives the same slug on every run.
        assert_eq!(
            a,
            slug(
                SlugSource::Branch(
                    &("feat/".to_owned() + &"very-long-branch-name-".repeat(4) + "one")
                ),
                55
            )
        );
    }

    #[test]
    fn truncation_never_leaves_a_dash_before_the_hash() {
        // Cut falls right after a dash: the dash is trimmed, not doubled.
        let name = format!("{}-{}", "a".repeat(46), "b".repeat(20));
        let s = slug(SlugSource::Branch(&name), 55);
        assert!(!s.contains("--"), "{s}");
        assert!(s.len() <= 55);
    }

    #[test]
    fn fit_label_keeps_short_labels_and_hashes_long_ones() {
        assert_eq!(fit_label("web-pr-1", 63), "web-pr-1");
        let long = "x".repeat(70);
        let fitted = fit_label(&long, 63);
        assert_eq!(fitted.len(), 63);
        assert_ne!(fitted, fit_label(&"x".repeat(71), 63));
    }

    #[test]
    fn short_hash_is_fixed_for_a_given_input() {
        // Pinned: changing the hash would orphan every existing preview namespace.
        assert_eq!(short_hash("feat/x"), short_hash("feat/x"));
        assert_eq!(short_hash(""), "cbf29ce4");
    }
}
