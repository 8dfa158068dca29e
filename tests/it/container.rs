//! The container and the workflows agree with `action.yml`: the image runs what the action asks
//! for, the release pushes the image the action points at, and the example workflows only pass
//! inputs the action declares (a renamed input would otherwise be silently ignored by GitHub).

use std::collections::BTreeSet;

use kustomize::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(testsupport::workspace_root().join(path))
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn yaml(path: &str) -> Value {
    kustomize::yaml::parse_document(&read(path), path).unwrap_or_else(|e| panic!("{e}"))
}

/// The exec-form (JSON array) argument of `instruction` in the Dockerfile's final stage.
fn final_stage_exec_form(instruction: &str) -> Vec<String> {
    let dockerfile = read("Dockerfile");
    let final_stage = dockerfile.rsplit("\nFROM ").next().expect("a FROM line");
    let line = final_stage
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("no {instruction} in the final stage"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{instruction} is not exec form: {e}"))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

#[test]
fn the_image_runs_the_action_subcommand_with_or_without_action_yml_args() {
    let entrypoint = final_stage_exec_form("ENTRYPOINT");
    let cmd = final_stage_exec_form("CMD");
    let args = strings(yaml("action.yml").get_path(&["runs", "args"]));
    assert_eq!(entrypoint, ["/gitops-env"]);
    // GitHub replaces CMD with runs.args; `docker run IMAGE` keeps CMD: both must be `action`.
    assert_eq!(cmd, args);
    assert_eq!([entrypoint, args].concat(), ["/gitops-env", "action"]);
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("--bin gitops-env"), "the Dockerfile builds the gitops-env binary");
    assert!(dockerfile.contains("COPY --from=builder /gitops-env /gitops-env"));
}

#[test]
fn the_release_pushes_the_image_action_yml_runs() {
    let image = yaml("action.yml")
        .get_path(&["runs", "image"])
        .and_then(Value::as_str)
        .expect("runs.image")
        .to_owned();
    let release = yaml(".github/workflows/release.yml");
    let pushed = release.get_path(&["env", "IMAGE"]).and_then(Value::as_str).expect("env.IMAGE");
    let tag = image
        .strip_prefix(&format!("docker://{pushed}:"))
        .unwrap_or_else(|| panic!("action.yml runs {image}, the release pushes {pushed}"));
    assert!(tag.starts_with('v'), "image tags are v-prefixed like the git tags: {tag}");
}

/// The steps of `job` that run this action.
fn gitops_env_steps(job: &Value) -> Vec<&Value> {
    job.get_path(&["steps"])
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .filter(|step| {
            step.get_path(&["uses"])
                .and_then(Value::as_str)
                .is_some_and(|uses| uses.starts_with("gitops-env/gitops-env@"))
        })
        .collect()
}

#[test]
fn example_workflows_pass_only_declared_inputs_and_never_cancel_a_deploy() {
    let action = yaml("action.yml");
    let declared: BTreeSet<&str> = action
        .get_path(&["inputs"])
        .and_then(Value::as_map)
        .expect("inputs")
        .keys()
        .map(String::as_str)
        .collect();
    for name in ["feature", "develop", "main", "sweep"] {
        let path = format!("examples/workflows/{name}.yml");
        let workflow = yaml(&path);
        // The top-level permissions grant nothing; jobs ask for what they need.
        assert_eq!(
            workflow.get_path(&["permissions"]),
            Some(&Value::Map(Default::default())),
            "{path}"
        );
        let jobs = workflow.get_path(&["jobs"]).and_then(Value::as_map).expect("jobs");
        let mut uses = 0;
        for (job_name, job) in jobs {
            assert!(
                job.get_path(&["permissions"]).is_some(),
                "{path}: job {job_name} sets permissions"
            );
            let steps = gitops_env_steps(job);
            if steps.is_empty() {
                continue;
            }
            uses += steps.len();
            for step in &steps {
                for input in step.get_path(&["with"]).and_then(Value::as_map).expect("with").keys()
                {
                    assert!(
                        declared.contains(input.as_str()),
                        "{path}: input `{input}` is not in action.yml"
                    );
                }
            }
            let checkout = job
                .get_path(&["steps"])
                .and_then(Value::as_seq)
                .unwrap_or_default()
                .iter()
                .find(|s| {
                    s.get_path(&["uses"])
                        .and_then(Value::as_str)
                        .is_some_and(|u| u.starts_with("actions/checkout@"))
                })
                .unwrap_or_else(|| panic!("{path}: job {job_name} checks out the repository"));
            assert_eq!(
                checkout.get_path(&["with", "fetch-depth"]),
                Some(&Value::Int(0)),
                "{path}: {job_name}"
            );
            let dry_run =
                job.get_path(&["steps"]).and_then(Value::as_seq).unwrap_or_default().iter().any(
                    |s| s.get_path(&["with", "dry-run"]).and_then(Value::as_str) == Some("true"),
                );
            // Every job that can change a cluster is in a concurrency group that never cancels.
            let concurrency =
                job.get_path(&["concurrency"]).or_else(|| workflow.get_path(&["concurrency"]));
            let cancels = concurrency.and_then(|c| c.get_path(&["cancel-in-progress"]));
            if !dry_run {
                assert!(concurrency.is_some(), "{path}: {job_name} has a concurrency group");
                assert_eq!(
                    cancels,
                    Some(&Value::Bool(false)),
                    "{path}: {job_name} must not cancel in progress"
                );
            }
        }
        assert!(uses > 0, "{path} uses the action");
    }
}
