#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks of the vcpustat YNL spec, run by scripts/ynl-check. KTAP.

argv: YNL_DIR (unpacked kernel tools/net/ynl + Documentation/netlink),
SPEC, the uapi HEADER, the module's kmod/netlink.c.

1. the spec is valid under the kernel's schema for its protocol;
2. the kernel's ynl library loads it (every nest and enum resolves);
3. every name and value the spec implies for C (commands, attributes,
   *_UNSPEC, *_MAX and __*_MAX, enums, consts, the family name, version
   and multicast group) is in the header with that value - compiled with
   gcc, so the header is read as the compiler reads it;
4. every VCPUSTAT_* enumerator and #define of the header is one of them,
   and every enum of the header holds exactly the spec's names;
5. each command's request attributes are the keys of its policy in
   kmod/netlink.c, and a command without a policy takes no attributes.
"""
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

ynl_dir, spec_path, header, netlink_c = sys.argv[1:5]
sys.path.insert(0, os.path.join(ynl_dir, "tools/net/ynl"))
from lib import nlspec  # noqa: E402  (the kernel's own spec loader)

results = []


def test(name, errs):
    results.append((name, errs))


def c(name):
    return name.upper().replace("-", "_")


spec = yaml.safe_load(open(spec_path))
proto = spec.get("protocol", "genetlink")
schema_path = os.path.join(ynl_dir, "Documentation/netlink", proto + ".yaml")
schema = yaml.safe_load(open(schema_path))
errs = [f"{'/'.join(map(str, e.path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(spec)]
test(f"spec valid under the kernel's {proto}.yaml schema", errs)

try:
    fam = nlspec.SpecFamily(spec_path, schema_path)
    errs = []
    for s in fam.attr_sets.values():
        for a in s.attrs.values():
            n = a.yaml.get("nested-attributes")
            if n and n not in fam.attr_sets:
                errs.append(f"{s.name}.{a.name}: no attribute set {n}")
            e = a.yaml.get("enum")
            if e and e not in fam.consts:
                errs.append(f"{s.name}.{a.name}: no enum {e}")
except Exception as e:  # the loader raises plain exceptions
    errs = [f"ynl cannot load the spec: {e!r}"]
test("the kernel's ynl library loads the spec", errs)

# ---- what the spec implies for C: name -> value, and enums -> names
want = {}          # C name -> int
want_str = {}      # C name -> string
enums = {}         # C enum tag -> list of C names in order
fam_name = spec["name"]
want_str[c(spec.get("c-family-name", fam_name + "-family-name"))] = fam_name
want[c(spec.get("c-version-name", fam_name + "-family-version"))] = \
    spec.get("version", 1)
for g in spec.get("mcast-groups", {}).get("list", []):
    want_str[c(g.get("c-define-name", f"{fam_name}-mcgrp-{g['name']}"))] = \
        g["name"]

for d in spec.get("definitions", []):
    if d["type"] == "const":
        want[c(f"{fam_name}-{d['name']}")] = int(d["value"])
    elif d["type"] in ("enum", "flags"):
        pfx = d.get("name-prefix", f"{fam_name}-{d['name']}-")
        v = int(d.get("value-start", 0))
        names = []
        for ent in d["entries"]:
            ent = ent if isinstance(ent, dict) else {"name": ent}
            v = ent.get("value", v)
            val = (1 << v) if d["type"] == "flags" else v
            want[c(pfx + ent["name"])] = val
            names.append(c(pfx + ent["name"]))
            v += 1
        if d.get("render-max"):
            want[c("--" + pfx + "max")] = v
            want[c(pfx + "max")] = v - 1
            names.append(c("--" + pfx + "max"))
        if d.get("enum-name"):
            enums[d["enum-name"]] = names

for s in spec["attribute-sets"]:
    pfx = s.get("name-prefix", f"{fam_name}-a-{s['name']}-")
    v = 1
    names = [c(pfx + "unspec")]
    if s.get("enum-name"):
        want[c(pfx + "unspec")] = 0
    for a in s["attributes"]:
        v = a.get("value", v)
        if s.get("enum-name") or "name-prefix" in s:
            want[c(pfx + a["name"])] = v
        names.append(c(pfx + a["name"]))
        v += 1
    if s.get("enum-name"):
        cnt = c(s.get("attr-cnt-name", "--" + pfx + "max"))
        want[cnt] = v
        want[c(s.get("attr-max-name", pfx + "max"))] = v - 1
        enums[s["enum-name"]] = names + [cnt]

ops = spec["operations"]
pfx = ops.get("name-prefix", f"{fam_name}-cmd-")
v = 1
names = [c(pfx + "unspec")]
want[c(pfx + "unspec")] = 0
for o in ops["list"]:
    v = o.get("value", v)
    want[c(pfx + o["name"])] = v
    names.append(c(pfx + o["name"]))
    v += 1
cnt = c(spec.get("cmd-cnt-name", "--" + pfx + "max"))
want[cnt] = v
want[c(spec.get("cmd-max-name", pfx + "max"))] = v - 1
enums[ops.get("enum-name", f"{fam_name}-cmd")] = names + [cnt]

# The histogram: one u64 bucket attribute per bucket, bucket i as i + 1.
hist = next((s for s in spec["attribute-sets"] if s["name"] == "hist"), None)
errs = []
if hist is None:
    errs.append("no attribute set hist")
else:
    b = [a for a in hist["attributes"] if a["type"] == "u64"]
    if len(b) != want.get(c(fam_name + "-hist-buckets")):
        errs.append(f"hist has {len(b)} buckets, hist-buckets says "
                    f"{want.get(c(fam_name + '-hist-buckets'))}")
    for i, a in enumerate(b):
        if a.get("value") != i + 1 or a["name"] != f"bucket-{i}":
            errs.append(f"hist: {a} is not bucket-{i} = {i + 1}")
test("hist set has hist-buckets buckets, bucket i as attribute i + 1", errs)

# ---- 3: values, compiled
src = "#include <linux/vcpustat.h>\n" + "".join(
    f'_Static_assert((long long)({n}) == {val}LL, "{n} != {val}");\n'
    for n, val in want.items())
with tempfile.NamedTemporaryFile("w", suffix=".c") as f:
    f.write(src)
    f.flush()
    r = subprocess.run(["gcc", "-std=c11", "-fsyntax-only",
                        "-I", os.path.dirname(os.path.dirname(header)),
                        f.name],
                       capture_output=True, text=True)
errs = [ln for ln in r.stderr.splitlines() if "error" in ln]
if r.returncode and not errs:
    errs = r.stderr.splitlines()[:10]
hsrc = open(header).read()
for n, s in want_str.items():
    m = re.search(rf'^#define\s+{n}\s+"([^"]*)"', hsrc, re.M)
    if not m or m.group(1) != s:
        errs.append(f'{n} is not "{s}" in the header')
test(f"header has the spec's {len(want) + len(want_str)} names and values",
     errs)

# ---- 4: nothing in the header the spec does not describe
code = re.sub(r"/\*.*?\*/", "", hsrc, flags=re.S)
errs = []
hdr_enums = {m.group(1): [x.split("=")[0].strip()
                          for x in m.group(2).split(",") if x.strip()]
             for m in re.finditer(r"enum\s+(\w+)\s*\{([^}]*)\}", code)}
for tag, got in hdr_enums.items():
    if tag not in enums:
        errs.append(f"enum {tag} is not in the spec")
    elif got != enums[tag]:
        errs.append(f"enum {tag}: header {got} != spec {enums[tag]}")
for tag in enums:
    if tag not in hdr_enums:
        errs.append(f"spec enum {tag} is not in the header")
defs = re.findall(r"^#define\s+(VCPUSTAT_\w+)", code, re.M)
for n in defs:
    if n not in want and n not in want_str:
        errs.append(f"#define {n} is not in the spec")
test(f"every enum ({len(hdr_enums)}) and #define ({len(defs)}) of the "
     "header is in the spec", errs)

# ---- 5: requests against the module's policies
ksrc = open(netlink_c).read()
policies = {}
for m in re.finditer(r"nla_policy\s+(\w+)\[[^\]]*\]\s*=\s*\{(.*?)\n\};",
                     ksrc, re.S):
    policies[m.group(1)] = set(re.findall(r"\[(\w+)\]\s*=", m.group(2)))
kops = {}
kbody = {}
for m in re.finditer(r"\.cmd\s*=\s*(\w+),([^}]*)\}", ksrc):
    p = re.search(r"\.policy\s*=\s*(\w+)", m.group(2))
    kops[m.group(1)] = policies.get(p.group(1), {"?"}) if p else set()
    kbody[m.group(1)] = m.group(2)
errs = []
top_pfx = next(s for s in spec["attribute-sets"]
               if s["name"] == "vcpustat").get("name-prefix")
for o in ops["list"]:
    if "event" in o:
        continue
    cn = c(pfx + o["name"])
    if cn not in kops:
        errs.append(f"{o['name']}: no op {cn} in {netlink_c}")
        continue
    req = set()
    for kind in ("do", "dump"):
        for a in o.get(kind, {}).get("request", {}).get("attributes", []):
            req.add(c(top_pfx + a))
    if req != kops[cn]:
        errs.append(f"{o['name']}: spec requests {sorted(req)}, "
                    f"policy has {sorted(kops[cn])}")
    got = {"do": ".doit" in kbody[cn], "dump": ".dumpit" in kbody[cn]}
    for kind in ("do", "dump"):
        if (kind in o) != got[kind]:
            errs.append(f"{o['name']}: spec {kind} {kind in o}, module "
                        f"{got[kind]}")
for cn in kops:
    if cn not in want:
        errs.append(f"module op {cn} is not in the spec")
test(f"requests and do/dump of the {len(kops)} ops match kmod/netlink.c",
     errs)

print("KTAP version 1")
print(f"1..{len(results)}")
fail = 0
for i, (name, errs) in enumerate(results, 1):
    for e in errs[:20]:
        print(f"# {e}")
    print(f"{'not ' if errs else ''}ok {i} {name}")
    fail |= bool(errs)
sys.exit(fail)
