#!/usr/bin/env python3
"""Writes schema.json: the field schema of the built-in Kubernetes kinds, as data for fake-kube.

kubectl's typed clients (`kubectl create namespace|configmap|secret|deployment|...`, `kubectl
run`, `kubectl create token`, evictions) send request bodies as
`application/vnd.kubernetes.protobuf`. fake-kube decodes them with a generic protobuf reader
driven by this table, into the JSON the API server would have decoded from `application/json`.
The same table carries each field's strategic-merge-patch strategy and merge key, which
`kubectl patch` and `kubectl edit` rely on.

Inputs, read with `git show TAG:PATH` so that no checkout is needed:
  - kubernetes/api at API_TAG: `*/*/generated.proto` (message structure: field numbers and
    types) and the Go types (`*.go`: JSON names, `,inline`, `omitempty`, pointer fields);
  - kubernetes/apimachinery at the same tag: meta/v1, runtime, resource, intstr.

Usage: schema.py API_GIT_DIR APIMACHINERY_GIT_DIR > schema.json

Output (compact JSON):
  {"version": TAG,
   "kinds": {"apps/v1/Deployment": "k8s.io.api.apps.v1.Deployment", ...},
   "messages": {"k8s.io.api.apps.v1.Deployment": [[number, json_name, type, flags], ...], ...},
   "arrays": ["k8s.io.api.authentication.v1.ExtraValue", ...]}
type is a scalar (`string`, `bytes`, `bool`, `int32`, `int64`, `double`, `float`) or a message
name; a map field's type is `map:KEY_TYPE:VALUE_TYPE`. flags: `r` repeated, `p` pointer (a
present zero value is kept), `o` omitempty (a zero value of a non-pointer field is dropped),
`i` inline (the message's fields are merged into the parent), and the strategic-merge-patch
strategy of the Go tag: `m` merge, `k` retainKeys; a fifth element is the `patchMergeKey`. `arrays` lists messages that wrap a
Go named slice (`repeated items = 1`) and are plain JSON arrays.
"""

import json
import re
import subprocess
import sys

API_TAG = "v0.33.0"

# The group versions fake-kube serves (data/kube/aggregated_v2.json and api__v1.json) that live
# in kubernetes/api; apiextensions and apiregistration live in other repositories, and kubectl's
# typed clients never send them.
API_PACKAGES = [
    "core/v1", "apps/v1", "events/v1", "authentication/v1", "authorization/v1",
    "autoscaling/v1", "autoscaling/v2", "batch/v1", "certificates/v1", "certificates/v1beta1",
    "certificates/v1alpha1", "networking/v1", "networking/v1beta1", "policy/v1", "rbac/v1",
    "storage/v1", "storage/v1beta1", "storage/v1alpha1", "admissionregistration/v1",
    "admissionregistration/v1beta1", "admissionregistration/v1alpha1", "scheduling/v1",
    "coordination/v1", "coordination/v1beta1", "coordination/v1alpha2", "node/v1",
    "discovery/v1", "resource/v1beta2", "resource/v1beta1", "resource/v1alpha3",
    "flowcontrol/v1", "apiserverinternal/v1alpha1", "storagemigration/v1alpha1",
]
MACHINERY_PACKAGES = [
    "pkg/apis/meta/v1", "pkg/runtime", "pkg/api/resource", "pkg/util/intstr",
    "pkg/runtime/schema",
]
SCALARS = {"string", "bytes", "bool", "int32", "int64", "double", "float", "uint32", "uint64"}


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout


def files(repo, package):
    names = git(repo, "ls-tree", "--name-only", f"{API_TAG}:{package}").split()
    return [n for n in names if n.endswith(".go") and not n.endswith("_test.go")
            and not n.startswith("zz_generated") and n != "generated.pb.go"]


def parse_proto(text):
    """{message: [(number, proto_name, type, repeated)]} and the package name."""
    package = re.search(r"^package ([\w.]+);", text, re.M).group(1)
    messages = {}
    current = None
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if m := re.match(r"message (\w+) \{$", line):
            current = messages.setdefault(m.group(1), [])
        elif line == "}":
            current = None
        elif current is not None:
            if m := re.match(r"map<(\w+), ?([\w.]+)> (\w+) = (\d+);", line):
                key, value, name, number = m.groups()
                current.append((int(number), name, f"map:{key}:{qualify(value, package)}", False))
            elif m := re.match(r"(optional|repeated) ([\w.]+) (\w+) = (\d+);", line):
                label, typ, name, number = m.groups()
                current.append((int(number), name, qualify(typ, package), label == "repeated"))
            else:
                raise SystemExit(f"unparsed line in {package}: {raw!r}")
    return package, messages


def qualify(typ, package):
    if typ in SCALARS:
        return typ
    if typ.startswith("."):
        return typ[1:]
    return f"{package}.{typ}"


FIELD = re.compile(r'^\s+(?:(\w+)\s+)?(\*?)([\w.\[\]*]+)\s+`([^`]*)`')


def parse_go(text):
    """{struct: {number: (json_name, pointer, omitempty, inline)}} and named slice types."""
    structs, slices = {}, set()
    current = None
    for line in text.splitlines():
        if m := re.match(r"^type (\w+) struct \{", line):
            current = structs.setdefault(m.group(1), {})
            continue
        if m := re.match(r"^type (\w+) \[\]", line):
            slices.add(m.group(1))
        if line.startswith("}"):
            current = None
            continue
        if current is None:
            continue
        m = FIELD.match(line)
        if not m:
            continue
        _, pointer, _, tag = m.groups()
        proto = re.search(r'protobuf:"([^"]*)"', tag)
        if not proto or "," not in proto.group(1):
            continue
        number = int(proto.group(1).split(",")[1])
        json_tag = re.search(r'json:"([^"]*)"', tag)
        parts = json_tag.group(1).split(",") if json_tag else [""]
        strategy = re.search(r'patchStrategy:"([^"]*)"', tag)
        strategies = strategy.group(1).split(",") if strategy else []
        merge_key = re.search(r'patchMergeKey:"([^"]*)"', tag)
        current[number] = (parts[0], pointer == "*", "omitempty" in parts[1:], "inline" in parts[1:],
                           "merge" in strategies, "retainKeys" in strategies,
                           merge_key.group(1) if merge_key else None)
    return structs, slices


def main():
    api, machinery = sys.argv[1], sys.argv[2]
    messages, kinds, arrays = {}, {}, []
    sources = [(api, p, True) for p in API_PACKAGES] + [(machinery, p, False) for p in MACHINERY_PACKAGES]
    for repo, package, is_api in sources:
        package_name, parsed = parse_proto(git(repo, "show", f"{API_TAG}:{package}/generated.proto"))
        go_structs, go_slices = {}, set()
        for name in files(repo, package):
            structs, slices = parse_go(git(repo, "show", f"{API_TAG}:{package}/{name}"))
            go_structs.update(structs)
            go_slices |= slices
        group = ""
        if is_api:
            register = git(repo, "show", f"{API_TAG}:{package}/register.go")
            group = re.search(r'GroupName = "([^"]*)"', register).group(1)
        version = package.rsplit("/", 1)[1]
        api_version = f"{group}/{version}" if group else version
        for message, fields in sorted(parsed.items()):
            full = f"{package_name}.{message}"
            go = go_structs.get(message, {})
            if message in go_slices and [f[1] for f in fields] == ["items"]:
                arrays.append(full)
            entries = []
            for number, proto_name, typ, repeated in fields:
                json_name, pointer, omitempty, inline, merge, retain, merge_key = go.get(
                    number, (proto_name, False, True, False, False, False, None))
                flags = ("r" if repeated else "") + ("p" if pointer else "") \
                    + ("o" if omitempty else "") + ("i" if inline else "") \
                    + ("m" if merge else "") + ("k" if retain else "")
                entry = [number, json_name or proto_name, typ, flags]
                if merge_key:
                    entry.append(merge_key)
                entries.append(entry)
            messages[full] = entries
            # A kind is a top-level message with object metadata, or a known request body.
            names = [e[1] for e in entries]
            if is_api and ("metadata" in names or message in ("Eviction", "TokenRequest")):
                kinds[f"{api_version}/{message}"] = full
    for kind in ("DeleteOptions", "CreateOptions", "PatchOptions", "UpdateOptions", "Status"):
        kinds[f"meta.k8s.io/v1/{kind}"] = f"k8s.io.apimachinery.pkg.apis.meta.v1.{kind}"
        kinds[f"v1/{kind}"] = f"k8s.io.apimachinery.pkg.apis.meta.v1.{kind}"
    json.dump({"version": API_TAG, "kinds": dict(sorted(kinds.items())), "messages": messages,
               "arrays": sorted(arrays)}, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
