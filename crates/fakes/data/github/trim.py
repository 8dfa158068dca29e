#!/usr/bin/env python3
"""Writes openapi.json: GitHub's REST API description trimmed to the operations fake-github serves.

Usage: trim.py API_GITHUB_COM_JSON > openapi.json
where API_GITHUB_COM_JSON is `generated/api.github.com.json` of the npm package
`@octokit/openapi@23.0.2` (`npm pack @octokit/openapi@23.0.2`; see README.md for checksums).

Keeps the operations in OPERATIONS and every `#/components/...` they reference, transitively;
drops prose (`description`/`summary` strings) outside examples and defaults, the top-level
`tags`, `x-webhooks` and the `x-octokit` extension; writes compact JSON. Example values stay
whole: the fake shapes its responses from them.
"""

import json
import sys

OPERATIONS = [
    "users/get-authenticated", "rate-limit/get", "pulls/get", "pulls/list", "pulls/list-files",
    "repos/list-pull-requests-associated-with-commit", "repos/compare-commits-with-basehead",
    "issues/list-comments", "issues/create-comment", "issues/update-comment",
    "issues/delete-comment", "repos/create-deployment", "repos/list-deployments",
    "repos/delete-deployment", "repos/create-deployment-status",
    "repos/list-deployment-statuses",
    # Added for collaborator checks (comment commands), branch existence (the sweep) and labels.
    "repos/get-collaborator-permission-level", "repos/get-branch", "issues/add-labels",
    "issues/remove-label", "issues/list-labels-on-issue", "issues/get-comment",
]
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def strip(value, keep_prose=False):
    """Drops prose and the Octokit extension; example values and defaults are kept as they are."""
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            if key == "x-octokit":
                continue
            if key in ("description", "summary") and isinstance(child, str) and not keep_prose:
                continue
            out[key] = strip(child, keep_prose or key in ("value", "default", "example", "examples"))
        return out
    if isinstance(value, list):
        return [strip(item, keep_prose) for item in value]
    return value


def refs(value, found):
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(tuple(ref[len("#/components/"):].split("/", 1)))
        for child in value.values():
            refs(child, found)
    elif isinstance(value, list):
        for item in value:
            refs(item, found)


def main():
    source = json.load(open(sys.argv[1]))
    paths = {}
    for template, item in source["paths"].items():
        kept = {}
        for method, operation in item.items():
            if method in METHODS and operation.get("operationId") in OPERATIONS:
                kept[method] = operation
        if kept:
            if "parameters" in item:
                kept["parameters"] = item["parameters"]
            paths[template] = kept
    found_ids = {op["operationId"] for item in paths.values() for m, op in item.items() if m in METHODS}
    missing = set(OPERATIONS) - found_ids
    if missing:
        raise SystemExit(f"operations not in the description: {sorted(missing)}")
    wanted, pending = set(), set()
    refs(paths, pending)
    while pending:
        entry = pending.pop()
        if entry in wanted:
            continue
        wanted.add(entry)
        section, name = entry
        refs(source["components"][section][name], pending)
    components = {}
    for section in source["components"]:
        names = sorted(name for (s, name) in wanted if s == section)
        if names:
            components[section] = {name: source["components"][section][name] for name in names}
    out = {
        "openapi": source["openapi"],
        "info": source["info"],
        "tags": [],
        "servers": source["servers"],
        "externalDocs": source["externalDocs"],
        "paths": strip(dict(sorted(paths.items()))),
        "components": strip(components),
    }
    json.dump(out, sys.stdout, separators=(",", ":"), ensure_ascii=False)


if __name__ == "__main__":
    main()
