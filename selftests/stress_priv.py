#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Campaign 5: privilege and namespaces (beyond vcpustat_module_test.py's
basic probe).

Contexts: an unprivileged user (setpriv nobody, no capabilities), root in
a new user namespace, root in a new network namespace, root in a new user
+ network namespace. In each, with the family id and the events group id
learned in init_net (so that hiding the name is not the only defence):
 - every command number 0..12, 77, 255, as a do and as a dump, with and
   without attributes: nothing may succeed (EPERM for the family's ops,
   EOPNOTSUPP for undefined ones; ENOENT from other network namespaces);
 - joining the events group by setsockopt and, when its id is <= 32, by
   bind()'s nl_groups mask: EPERM without CAP_NET_ADMIN;
 - where a join is allowed (other netns: the group id is global), no event
   may arrive while VMs come and go in init_net (a listener in init_net is
   the positive control).
The unprivileged RESET/SET_CONFIG attempts must leave a held VM's counts
and the configuration unchanged. Sockets that change hands: a socket
opened by root and used after dropping to nobody, and a socket opened by
nobody and used by root (SCM_RIGHTS), must both be refused (netlink checks
both the opener and the sender).
Exit: 0 pass, 1 fail, 4 skip.
"""
import errno
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stress_lib as sl  # noqa: E402
from stress_lib import vsnl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CMDS = list(range(13)) + [77, 255]
DO_OPS = {1, 3, 4, 5}
DUMP_OPS = {1, 2}

# Runs in the target context: argv = family, group, listen seconds.
PROBE = r'''
import errno, json, os, socket, struct, sys, time
sys.path.insert(0, HERE)
import vsnl
fam, grp, listen = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
out = {"uid": os.getuid()}

def sock():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
    s.setsockopt(270, 11, 1)
    s.setsockopt(270, 10, 1)
    s.bind((0, 0))
    s.settimeout(5)
    return s

def req(s, cmd, flags, attrs=b""):
    body = struct.pack("BBH", cmd, 1, 0) + attrs
    s.send(struct.pack("IHHII", 16 + len(body), fam, flags | 1, 9, 0) + body)
    got = []
    while True:
        try:
            data = s.recv(1 << 16)
        except socket.timeout:
            return "timeout"
        off = 0
        while off + 16 <= len(data):
            ln, t, f, seq, _ = struct.unpack_from("IHHII", data, off)
            body = data[off + 16:off + ln]
            if t == 2:
                e = -struct.unpack_from("i", body)[0]
                return e if e else ("ok" if not got else "ok+data")
            if t == 3:
                return "ok-dump"
            got.append(t)
            off += (ln + 3) & ~3

try:
    g = vsnl.Genl()
    out["resolve"] = "ok"
    g.close()
except vsnl.NetlinkError as e:
    out["resolve"] = e.errno
except OSError as e:
    out["resolve"] = "oserror %d" % e.errno
s = sock()
res = {}
vmid = vsnl.nla_u64(vsnl.VCPUSTAT_A_VM_ID, 1)
cfg = vsnl.nla_nest(vsnl.VCPUSTAT_A_CONFIG,
                    vsnl.nla_u32(vsnl.VCPUSTAT_CONFIG_A_SNAPSHOT_MS, 100),
                    vsnl.nla_u8(vsnl.VCPUSTAT_CONFIG_A_TIMING, 0))
for cmd in CMDS:
    for kind, flags in (("do", 4), ("dump", 0x300)):
        for an, attrs in (("none", b""), ("vm_id", vmid), ("config", cfg)):
            res["%d/%s/%s" % (cmd, kind, an)] = req(s, cmd, flags, attrs)
out["cmds"] = res
try:
    s.setsockopt(270, 1, grp)
    out["join"] = "ok"
except OSError as e:
    out["join"] = e.errno
if grp <= 32:
    b = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
    try:
        b.bind((0, 1 << (grp - 1)))
        out["bind_groups"] = "ok"
    except OSError as e:
        out["bind_groups"] = e.errno
    b.close()
else:
    out["bind_groups"] = "n/a (group id %d > 32)" % grp
n = 0
if out["join"] == "ok" and listen:
    s.settimeout(0.2)
    end = time.time() + listen
    while time.time() < end:
        try:
            data = s.recv(1 << 16)
            if struct.unpack_from("H", data, 4)[0] == fam:
                n += 1
        except socket.timeout:
            pass
        except OSError:
            n += 1000000
    out["events"] = n
print(json.dumps(out))
'''


def run_probe(prefix, fam, grp, listen=0.0):
    code = f"HERE = {HERE!r}\nCMDS = {CMDS!r}\n" + PROBE
    r = subprocess.run(f"{prefix} python3 -c {sh_quote(code)} {fam} {grp} "
                       f"{listen}", shell=True, capture_output=True,
                       text=True, timeout=300)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"probe under '{prefix}' failed: rc "
                           f"{r.returncode} {r.stderr.strip()[-300:]}")


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def judge_cmds(res, want_defined, want_undefined=errno.EOPNOTSUPP):
    """Nothing succeeds; the family's ops answer @want_defined."""
    errs = []
    for key, v in res.items():
        cmd, kind, _ = key.split("/")
        cmd = int(cmd)
        defined = cmd in (DUMP_OPS if kind == "dump" else DO_OPS)
        if isinstance(v, str):
            errs.append(f"{key}: {v}")
            continue
        want = want_defined if defined else want_undefined
        # A command that exists only in the other flavour (GET_VCPU as a
        # do, RESET as a dump): 6.2+ split ops answer EOPNOTSUPP before the
        # permission check, 6.1 EPERM after it. Both refuse.
        other = cmd in (DO_OPS if kind == "dump" else DUMP_OPS)
        if not defined and other and v in (want_defined, want_undefined):
            continue
        if v != want:
            errs.append(f"{key}: errno {v} ({errno.errorcode.get(v)}), "
                        f"want {errno.errorcode.get(want)}")
    return errs


def held_state(g, pid):
    out = []
    for m in vsnl.dump_vcpus(g, vsnl.nla_u32(vsnl.VCPUSTAT_A_PID, pid)):
        v = m["vcpu"]
        out.append((m["vm_id"], v["idx"], v["exits"],
                    len(v["reasons"])))
    return sorted(out)


def resets_of(g, vm_id):
    replies, _ = g.request(vsnl.VCPUSTAT_CMD_GET_VCPU,
                           vsnl.nla_u64(vsnl.VCPUSTAT_A_VM_ID, vm_id),
                           dump=True)
    out = []
    for _, body in replies:
        for t, p in vsnl.parse_attrs(body):
            if t == vsnl.VCPUSTAT_A_VCPU:
                for t2, p2 in vsnl.parse_attrs(p):
                    if t2 == vsnl.VCPUSTAT_VCPU_A_RESETS:
                        out.append(vsnl.u32(p2))
    return out


class Priv:
    def __init__(self):
        self.g = sl.genl()
        self.fam = self.g.family
        self.grp = self.g.groups[vsnl.VCPUSTAT_MCGRP_EVENTS]

    def unpriv(self, prefix, label):
        """Nobody / userns root: EPERM for everything, state unchanged."""
        errs = []
        held = sl.Driver("--vcpus", 2, "--cpuid", 50, "--io", 10)
        try:
            vm_id = [vm["vm_id"] for vm in vsnl.dump_vms(self.g)
                     if vm["pid"] == held.pid][0]
            before = (held_state(self.g, held.pid), resets_of(self.g, vm_id),
                      sl.config(self.g))
            out = run_probe(prefix, self.fam, self.grp)
            after = (held_state(self.g, held.pid), resets_of(self.g, vm_id),
                     sl.config(self.g))
        finally:
            held.stop()
        errs += judge_cmds(out["cmds"], errno.EPERM)
        if out["join"] != errno.EPERM:
            errs.append(f"join: {out['join']}, want EPERM")
        if out["bind_groups"] not in (errno.EPERM,) and \
                not str(out["bind_groups"]).startswith("n/a"):
            errs.append(f"bind(nl_groups): {out['bind_groups']}, want EPERM")
        if before != after:
            errs.append(f"state changed by {label}: {before} -> {after}")
        return errs, (f"{label}: uid {out['uid']}, resolve "
                      f"{out['resolve']}, {len(out['cmds'])} requests all "
                      f"refused, join {out['join']}, bind(nl_groups) "
                      f"{out['bind_groups']}")

    def other_netns(self, prefix, label):
        """Family absent; a join by id (global ids) must hear nothing."""
        errs = []
        churn = sl.Driver("--churn", 100000, "--vcpus", 1, "--cpuid", 10,
                          hold=False)     # until killed below
        try:
            # No listener in init_net while the probe listens: whatever
            # the module sends now, it builds for the other netns' socket
            # (netlink's listener bitmap is not per namespace).
            sent0 = sl.status(self.g)["events_sent"]
            out = run_probe(prefix, self.fam, self.grp, listen=4.0)
            sent1 = sl.status(self.g)["events_sent"]
            ctl = sl.Listener(32 << 20)      # positive control
            end = time.time() + 3
            while time.time() < end:
                ctl.recv(timeout=0.2)
            heard = len(ctl.events)
            ctl.close()
        finally:
            churn.kill()
        sl.drained({churn.pid}, 60)
        if out["resolve"] != errno.ENOENT:
            errs.append(f"resolve: {out['resolve']}, want ENOENT")
        errs += judge_cmds(out["cmds"], errno.ENOENT, errno.ENOENT)
        if out.get("events"):
            errs.append(f"{out['events']} events leaked into {label}")
        if not heard:
            errs.append("control listener in init_net heard nothing: "
                        "the leak check proves nothing")
        return errs, (f"{label}: resolve {out['resolve']}, "
                      f"{len(out['cmds'])} requests to the family id all "
                      f"ENOENT, join by id {out['join']}, bind(nl_groups) "
                      f"{out['bind_groups']}, events heard "
                      f"{out.get('events', 0)} (init_net listener then heard"
                      f" {heard}); events the module built while its only "
                      f"listener was in {label}: {sent1 - sent0}")

    def handover(self):
        """Sockets crossing the privilege boundary are refused."""
        errs = []

        def raw():
            s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
            s.setsockopt(270, 11, 1)
            s.setsockopt(270, 10, 1)
            s.bind((0, 0))
            s.settimeout(5)
            return s

        def get_config(s):
            body = struct.pack("BBH", vsnl.VCPUSTAT_CMD_GET_CONFIG, 1, 0)
            s.send(struct.pack("IHHII", 20, self.fam, 5, 1, 0) + body)
            while True:
                data = s.recv(1 << 16)
                t = struct.unpack_from("H", data, 4)[0]
                if t == 2:
                    return -struct.unpack_from("i", data, 16)[0]

        def drop():
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)

        # (a) opened by root, used by nobody.
        s = raw()
        pid = os.fork()
        if pid == 0:
            try:
                drop()
                os._exit(min(get_config(s), 255))
            except BaseException:  # noqa: BLE001
                os._exit(254)
        _, st = os.waitpid(pid, 0)
        a = os.WEXITSTATUS(st)
        s.close()
        if a != errno.EPERM:
            errs.append(f"root's socket used by nobody: {a}, want EPERM")
        # (b) opened by nobody, used by root.
        p, c = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        pid = os.fork()
        if pid == 0:
            try:
                drop()
                s = raw()
                socket.send_fds(c, [b"x"], [s.fileno()])
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        _, fds, _, _ = socket.recv_fds(p, 16, 1)
        os.waitpid(pid, 0)
        s = socket.socket(fileno=fds[0])
        s.settimeout(5)
        b = get_config(s)
        s.close()
        p.close()
        c.close()
        if b != errno.EPERM:
            errs.append(f"nobody's socket used by root: {b}, want EPERM")
        # Control: root's own socket works.
        s = raw()
        ok = get_config(s)
        s.close()
        if ok != 0:
            errs.append(f"control: root's own GET_CONFIG failed: {ok}")
        return errs, (f"root-opened socket used by nobody: {a}; "
                      f"nobody-opened socket used by root: {b}; control "
                      f"{ok}")


def main():
    names = ["unprivileged_user", "root_in_user_namespace",
             "root_in_network_namespace", "root_in_user_and_net_namespace",
             "socket_handover_across_privilege", "dmesg_clean"]
    k = sl.Ktap("stress_priv", names)
    why = sl.preflight()
    if why:
        k.skip_rest(why)
        return 4
    for tool in ("setpriv", "unshare"):
        if sl.sh(f"command -v {tool}").returncode:
            k.skip_rest(f"{tool} (util-linux) missing")
            return 4
    dm = sl.Dmesg()
    p = Priv()
    nobody = ("setpriv --reuid=65534 --regid=65534 --clear-groups "
              "--inh-caps=-all --bounding-set=-all")
    k.run("unprivileged_user", p.unpriv, nobody, "nobody")
    k.run("root_in_user_namespace", p.unpriv,
          "unshare --user --map-root-user", "userns root")
    k.run("root_in_network_namespace", p.other_netns, "unshare --net",
          "another netns")
    k.run("root_in_user_and_net_namespace", p.other_netns,
          "unshare --user --map-root-user --net", "userns+netns root")
    k.run("socket_handover_across_privilege", p.handover)
    bad = dm.bad()
    k.result("dmesg_clean", not bad, "\n".join(bad[:20]))
    return k.finish()


if __name__ == "__main__":
    sys.exit(main())
