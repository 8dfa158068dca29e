//! The bounds every build keeps, whatever a repository holds: how deep values may nest, how
//! many bytes a document, a patched object and a whole build's output may take, and the stack
//! the build runs on. Kubernetes knowledge stays elsewhere; this module only measures.
//!
//! Nesting follows kubectl (kustomize v5.5): go-yaml v3 refuses input nested deeper than
//! 10,000 levels and kustomize's JSON step refuses an object whose JSON nests deeper than
//! 10,000 (the root mapping counts as one), so `MAX_DEPTH` collections is the most kubectl
//! renders. kustomize has no byte budget at all (an alias or JSON-patch bomb exhausts its
//! memory); ours are far above any real manifest and far below the memory of a CI runner.

/// The deepest nesting of mappings and sequences a rendered object may have, the root mapping
/// counting as level 1 (kubectl renders 10,000 and fails on 10,001).
pub const MAX_DEPTH: usize = 10_000;

/// How many kustomizations may nest in one another (resources and components naming
/// kustomization directories, remote ones included). kubectl has no bound but its 1 GiB stack
/// (it builds a chain of 10,000); ours keeps the deepest chain within `BUILD_STACK_BYTES`.
pub const MAX_NESTED_KUSTOMIZATIONS: usize = 20_000;

/// The largest one document (as parsed, aliases expanded) or one object (after patches and
/// replacements) may be, in bytes as `weight` counts them. The Kubernetes API refuses objects
/// over about 1.5 MiB; the largest manifests seen in real repositories are a few MiB.
pub const MAX_OBJECT_BYTES: usize = 64 * 1024 * 1024;

/// The most all objects of one build may weigh together (every file parsed, every object made),
/// in bytes as `weight` counts them: the bound on rendered output per unit.
pub const MAX_OUTPUT_BYTES: usize = 512 * 1024 * 1024;

/// The stack the build runs on. Measured: the deepest recursion (a 10,000-deep object through
/// parse, transformers and emit; a chain of 10,000 kustomizations) uses well under half of it
/// in a debug build. Only the pages touched are ever committed.
pub const BUILD_STACK_BYTES: usize = 256 * 1024 * 1024;

use std::cell::Cell;

use crate::value::Value;

thread_local! {
    /// Set on threads made by `on_build_stack`: work there needs no other thread.
    static ON_BUILD_STACK: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread has a `BUILD_STACK_BYTES` stack.
pub fn on_deep_stack() -> bool {
    ON_BUILD_STACK.with(Cell::get)
}

/// Runs `work` on a thread with a `BUILD_STACK_BYTES` stack (the current one when it has such
/// a stack already) and waits for it. Callers that clone, compare or walk rendered objects
/// recursively need this too: an object may nest `MAX_DEPTH` levels, more than the 2 MiB stack
/// of a test or rayon thread survives. When no thread can be made (the system is out of
/// threads or address space), `work` runs on the caller's thread instead.
pub fn on_build_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    if on_deep_stack() {
        return work();
    }
    let mut work = Some(work);
    let spawned = std::thread::scope(|scope| {
        let job = &mut work;
        let handle = std::thread::Builder::new()
            .name("kustomize-build".into())
            .stack_size(BUILD_STACK_BYTES)
            .spawn_scoped(scope, move || {
                ON_BUILD_STACK.with(|flag| flag.set(true));
                job.take().map(|work| work())
            });
        match handle {
            Ok(handle) => match handle.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => None,
        }
    });
    match (spawned, work.take()) {
        (Some(result), _) => result,
        (None, Some(work)) => work(),
        (None, None) => unreachable!("the build thread returns the result of the work it took"),
    }
}

/// How deep `value` nests: mappings and sequences count one level each (a scalar none), as
/// kubectl's JSON step counts them. Iterative, so any value can be measured on any thread.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 1)];
    while let Some((value, level)) = pending.pop() {
        match value {
            Value::Seq(items) => {
                deepest = deepest.max(level);
                pending.extend(items.iter().map(|item| (item, level + 1)));
            }
            Value::Map(map) => {
                deepest = deepest.max(level);
                pending.extend(map.values().map(|item| (item, level + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// The bytes `value` counts for against the budgets: every string and key its length, and
/// every node `NODE_BYTES` (about what it takes printed, and a fraction of what it takes in
/// memory). Iterative, like `depth`.
pub fn weight(value: &Value) -> usize {
    let mut total = 0usize;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        total = total.saturating_add(NODE_BYTES);
        match value {
            Value::String(text) => total = total.saturating_add(text.len()),
            Value::Seq(items) => pending.extend(items),
            Value::Map(map) => {
                for (key, item) in map {
                    total = total.saturating_add(key.len());
                    pending.push(item);
                }
            }
            _ => {}
        }
    }
    total
}

/// What one node counts for in `weight`, besides its text.
pub const NODE_BYTES: usize = 8;
