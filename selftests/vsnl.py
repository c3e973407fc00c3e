#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Minimal generic netlink client for the vcpustat family, for selftests.

Independent of the C tool on purpose: the module's tests must not trust the
code they are meant to check, and they need to send malformed messages the
tool never would. Constants mirror include/uapi/linux/vcpustat.h; test_uapi
in the selftests checks them against the header.

CLI: vsnl.py dump | vms | config | reset [VM_ID] | set KEY=VAL... |
     listen SECONDS [COUNT]   (JSON on stdout)
"""
import errno
import json
import os
import re
import select
import socket
import struct
import sys
import time

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 1, 2, 4
NLM_F_DUMP = 0x300
NLM_F_DUMP_INTR = 0x10
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2
NLMSGERR_ATTR_MISS_TYPE = 5
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID = 1, 2


def _uapi():
    """Parse the enums of the uapi header: one source of truth."""
    here = os.path.dirname(os.path.abspath(__file__))
    # The repo layout first; then a kselftest install (header copied next
    # to this file) and an installed header.
    for path in (os.environ.get("VCPUSTAT_UAPI_H"),
                 os.path.join(here, "..", "include", "uapi", "linux",
                              "vcpustat.h"),
                 os.path.join(here, "vcpustat.h"),
                 "/usr/include/linux/vcpustat.h",
                 "/usr/local/include/linux/vcpustat.h"):
        if path and os.path.exists(path):
            break
    text = open(path).read()
    consts = {}
    for m in re.finditer(r"#define\s+(VCPUSTAT_\w+)\s+(0x[0-9a-fA-F]+|\d+)U?\b",
                         text):
        consts[m.group(1)] = int(m.group(2), 0)
    for m in re.finditer(r'#define\s+(VCPUSTAT_\w+)\s+"([^"]*)"', text):
        consts[m.group(1)] = m.group(2)
    for body in re.findall(r"enum \w+ \{(.*?)\};", text, re.S):
        val = 0
        for line in body.splitlines():
            m = re.match(r"\s*(\w+)\s*(?:=\s*(\w+))?,?\s*(?:/\*.*)?$", line)
            if not m:
                continue
            if m.group(2):
                val = int(m.group(2), 0)
            consts[m.group(1)] = val
            val += 1
    for m in re.finditer(r"#define\s+(VCPUSTAT_\w+)\s+\((\w+) - 1\)", text):
        consts[m.group(1)] = consts[m.group(2)] - 1
    return consts


U = _uapi()
globals().update(U)


def nla(atype, payload):
    ln = 4 + len(payload)
    return struct.pack("HH", ln, atype) + payload + b"\0" * ((4 - ln % 4) % 4)


def nla_u32(atype, v):
    return nla(atype, struct.pack("I", v))


def nla_u64(atype, v):
    return nla(atype, struct.pack("Q", v))


def nla_u8(atype, v):
    return nla(atype, struct.pack("B", v))


def nla_nest(atype, *attrs):
    return nla(atype | 0x8000, b"".join(attrs))


def parse_attrs(buf):
    """List of (type, payload) in order; repeated types kept."""
    out, off = [], 0
    while off + 4 <= len(buf):
        ln, atype = struct.unpack_from("HH", buf, off)
        if ln < 4:
            break
        out.append((atype & 0x3FFF, buf[off + 4:off + ln]))
        off += (ln + 3) & ~3
    return out


def u32(b):
    return struct.unpack("I", b[:4])[0]


def u64(b):
    return struct.unpack("Q", b[:8])[0]


def cstr(b):
    return b.split(b"\0", 1)[0].decode(errors="replace")


class NetlinkError(Exception):
    def __init__(self, err, msg=None):
        super().__init__(f"{os.strerror(err)}" + (f": {msg}" if msg else ""))
        self.errno = err
        self.extack = msg


class Genl:
    def __init__(self, family=VCPUSTAT_GENL_NAME):
        self.sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                NETLINK_GENERIC)
        self.sk.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sk.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        try:
            # Listeners in tests must not drop: as root, force 32 MiB.
            self.sk.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)
        except OSError:
            self.sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sk.bind((0, 0))
        self.seq = int(time.time()) & 0xFFFF
        self.family, self.groups = self.resolve(family)

    def close(self):
        self.sk.close()

    def send(self, ftype, flags, cmd, version, attrs=b"", raw=None):
        self.seq += 1
        payload = raw if raw is not None else \
            struct.pack("BBH", cmd, version, 0) + attrs
        hdr = struct.pack("IHHII", 16 + len(payload), ftype,
                          flags | NLM_F_REQUEST, self.seq, 0)
        self.sk.send(hdr + payload)
        return self.seq

    def recv_msgs(self, timeout=10):
        r, _, _ = select.select([self.sk], [], [], timeout)
        if not r:
            raise TimeoutError("no netlink answer")
        data = self.sk.recv(1 << 20)
        off, out = 0, []
        while off + 16 <= len(data):
            ln, mtype, flags, seq, pid = struct.unpack_from("IHHII", data, off)
            out.append((mtype, flags, seq, data[off + 16:off + ln]))
            off += (ln + 3) & ~3
        return out

    @staticmethod
    def parse_error(body):
        err = -struct.unpack_from("i", body)[0]
        msg = None
        if err:
            # With NETLINK_CAP_ACK only the request's header follows.
            for t, p in parse_attrs(body[4 + 16:]):
                if t == NLMSGERR_ATTR_MSG:
                    msg = cstr(p)
                elif t == NLMSGERR_ATTR_MISS_TYPE and not msg:
                    msg = f"missing attribute {u32(p)}"
        return err, msg

    def request(self, cmd, attrs=b"", dump=False, family=None, version=None,
                flags=None, raw=None):
        """Send one request; return the list of reply payloads (after genl
        header) or raise NetlinkError. Dumps also return the INTR flag."""
        fam = self.family if family is None else family
        ver = VCPUSTAT_GENL_VERSION if version is None else version
        fl = (NLM_F_DUMP if dump else NLM_F_ACK) if flags is None else flags
        seq = self.send(fam, fl, cmd, ver, attrs, raw)
        replies, intr = [], False
        while True:
            for mtype, mflags, mseq, body in self.recv_msgs():
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    err, msg = self.parse_error(body)
                    if err:
                        raise NetlinkError(err, msg)
                    return (replies, intr) if dump else replies
                if mtype == NLMSG_DONE:
                    return replies, intr
                if mflags & NLM_F_DUMP_INTR:
                    intr = True
                replies.append((body[0], body[4:]))
                if not dump and not (mflags & NLM_F_MULTI) and \
                        not (fl & NLM_F_ACK):
                    return replies

    def resolve(self, name):
        replies = self.request(CTRL_CMD_GETFAMILY,
                               nla(CTRL_ATTR_FAMILY_NAME,
                                   name.encode() + b"\0"),
                               family=GENL_ID_CTRL, version=1,
                               flags=NLM_F_ACK)
        fam, groups = None, {}
        for _, body in replies:
            for t, p in parse_attrs(body):
                if t == CTRL_ATTR_FAMILY_ID:
                    fam = struct.unpack("H", p[:2])[0]
                elif t == CTRL_ATTR_MCAST_GROUPS:
                    for _, g in parse_attrs(p):
                        d = dict(parse_attrs(g))
                        groups[cstr(d[CTRL_ATTR_MCAST_GRP_NAME])] = \
                            u32(d[CTRL_ATTR_MCAST_GRP_ID])
        return fam, groups

    def join(self, group=VCPUSTAT_MCGRP_EVENTS):
        self.sk.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
                           self.groups[group])


def decode_reason(b):
    d = {}
    for t, p in parse_attrs(b):
        if t == VCPUSTAT_REASON_A_ISA:
            d["isa"] = u32(p)
        elif t == VCPUSTAT_REASON_A_CODE:
            d["code"] = u32(p)
        elif t == VCPUSTAT_REASON_A_COUNT:
            d["count"] = u64(p)
        elif t == VCPUSTAT_REASON_A_TIMED:
            d["timed"] = u64(p)
        elif t == VCPUSTAT_REASON_A_TIME_SUM_NS:
            d["time_sum_ns"] = u64(p)
        elif t == VCPUSTAT_REASON_A_TIME_MIN_NS:
            d["time_min_ns"] = u64(p)
        elif t == VCPUSTAT_REASON_A_TIME_MAX_NS:
            d["time_max_ns"] = u64(p)
        elif t == VCPUSTAT_REASON_A_HANDLE_NS:
            d["handle_ns"] = u64(p)
    return d


STATE_NAMES = {VCPUSTAT_STATE_GUEST: "guest", VCPUSTAT_STATE_EXIT: "exit",
               VCPUSTAT_STATE_USER: "user", VCPUSTAT_STATE_POLL: "poll",
               VCPUSTAT_STATE_HALT: "halt", VCPUSTAT_STATE_WAIT: "wait",
               VCPUSTAT_STATE_OUT: "out"}


def decode_budget(b):
    """The budget nest: "<state>_ns" per state, state, open_ns, at_ns and
    user: [{exit_reason, count, ns}]."""
    d = {"user": []}
    for t, p in parse_attrs(b):
        s = t - VCPUSTAT_BUDGET_A_GUEST_NS + VCPUSTAT_STATE_GUEST
        if VCPUSTAT_BUDGET_A_GUEST_NS <= t <= VCPUSTAT_BUDGET_A_OUT_NS:
            d[STATE_NAMES[s] + "_ns"] = u64(p)
        elif t == VCPUSTAT_BUDGET_A_STATE:
            d["state"] = STATE_NAMES.get(u32(p))
        elif t == VCPUSTAT_BUDGET_A_OPEN_NS:
            d["open_ns"] = u64(p)
        elif t == VCPUSTAT_BUDGET_A_AT_NS:
            d["at_ns"] = u64(p)
        elif t == VCPUSTAT_BUDGET_A_USER:
            for _, e in parse_attrs(p):
                ed = dict(parse_attrs(e))
                d["user"].append({
                    "exit_reason": u32(ed[VCPUSTAT_USER_A_EXIT_REASON]),
                    "count": u64(ed[VCPUSTAT_USER_A_COUNT]),
                    "ns": u64(ed[VCPUSTAT_USER_A_NS])})
    return d


VCPU_U64 = {
    VCPUSTAT_VCPU_A_EXITS: "exits",
    VCPUSTAT_VCPU_A_MIGRATIONS: "migrations",
    VCPUSTAT_VCPU_A_MIGR_SMT: "migr_smt", VCPUSTAT_VCPU_A_MIGR_LLC: "migr_llc",
    VCPUSTAT_VCPU_A_MIGR_NODE: "migr_node",
    VCPUSTAT_VCPU_A_MIGR_REMOTE: "migr_remote",
    VCPUSTAT_VCPU_A_EXIT_TIME_NS: "exit_time_ns",
    VCPUSTAT_VCPU_A_TIMED_EXITS: "timed_exits",
    VCPUSTAT_VCPU_A_INTERVAL_NS: "interval_ns",
}
VCPU_U32 = {
    VCPUSTAT_VCPU_A_ID: "vcpu_id", VCPUSTAT_VCPU_A_IDX: "idx",
    VCPUSTAT_VCPU_A_TID: "tid", VCPUSTAT_VCPU_A_PCPU: "pcpu",
    VCPUSTAT_VCPU_A_ISA: "isa",
}


def decode_vcpu(b):
    d = {"reasons": [], "hist": [0] * VCPUSTAT_HIST_BUCKETS, "residency": {}}
    for t, p in parse_attrs(b):
        if t in VCPU_U64:
            d[VCPU_U64[t]] = u64(p)
        elif t in VCPU_U32:
            d[VCPU_U32[t]] = u32(p)
        elif t == VCPUSTAT_VCPU_A_REASONS:
            d["reasons"] = [decode_reason(r) for _, r in parse_attrs(p)]
        elif t == VCPUSTAT_VCPU_A_HIST:
            for bt, bp in parse_attrs(p):
                if bt:
                    d["hist"][bt - 1] = u64(bp)
        elif t == VCPUSTAT_VCPU_A_RESIDENCY:
            for _, e in parse_attrs(p):
                ed = dict(parse_attrs(e))
                d["residency"][u32(ed[VCPUSTAT_RESIDENCY_A_CPU])] = \
                    u64(ed[VCPUSTAT_RESIDENCY_A_EXITS])
        elif t == VCPUSTAT_VCPU_A_CONTINUED:
            d["continued"] = True
        elif t == VCPUSTAT_VCPU_A_BUDGET:
            d["budget"] = decode_budget(p)
    return d


def join_parts(msgs):
    """Decoded GET_VCPU messages with each split vCPU joined into one: a
    part flagged continued appends its residency to the vCPU before it
    (same VM and idx, CPUs ascending). Returns (vCPUs, parts joined)."""
    out, joined = [], 0
    for m in msgs:
        v = m.get("vcpu", {})
        if not v.get("continued"):
            # A copy: the parts are appended to it, @msgs stays as it was.
            out.append(dict(m, vcpu=dict(v, residency=dict(
                v.get("residency", {})))) if "vcpu" in m else m)
            continue
        prev = out[-1] if out else None
        if prev is None or prev.get("vm_id") != m.get("vm_id") or \
                prev["vcpu"].get("idx") != v.get("idx"):
            raise ValueError(f"continued part without its vCPU: {m}")
        res = prev["vcpu"]["residency"]
        if res and v["residency"] and min(v["residency"]) <= max(res):
            raise ValueError(f"continued part goes back in CPUs: {m}")
        res.update(v["residency"])
        joined += 1
    return out, joined


VM_U64 = {VCPUSTAT_VM_A_ID: "vm_id", VCPUSTAT_VM_A_EXITS: "exits",
          VCPUSTAT_VM_A_MIGRATIONS: "migrations",
          VCPUSTAT_VM_A_EXIT_TIME_NS: "exit_time_ns",
          VCPUSTAT_VM_A_AGE_NS: "age_ns",
          VCPUSTAT_VM_A_UNTRACKED_EXITS: "untracked_exits"}


def decode_vm(b):
    d = {}
    for t, p in parse_attrs(b):
        if t in VM_U64:
            d[VM_U64[t]] = u64(p)
        elif t == VCPUSTAT_VM_A_PID:
            d["pid"] = u32(p)
        elif t == VCPUSTAT_VM_A_NR_VCPUS:
            d["nr_vcpus"] = u32(p)
        elif t == VCPUSTAT_VM_A_COMM:
            d["comm"] = cstr(p)
        elif t == VCPUSTAT_VM_A_STATS_ID:
            d["stats_id"] = cstr(p)
    return d


MIGR = {VCPUSTAT_MIGRATION_A_VCPU_ID: ("vcpu_id", u32),
        VCPUSTAT_MIGRATION_A_TID: ("tid", u32),
        VCPUSTAT_MIGRATION_A_FROM: ("from", u32),
        VCPUSTAT_MIGRATION_A_TO: ("to", u32),
        VCPUSTAT_MIGRATION_A_DISTANCE: ("distance", u32),
        VCPUSTAT_MIGRATION_A_TOTAL: ("total", u64),
        VCPUSTAT_MIGRATION_A_SUPPRESSED: ("suppressed", u64)}


def decode_top(cmd, body):
    d = {"cmd": cmd}
    for t, p in parse_attrs(body):
        if t == VCPUSTAT_A_SEQ:
            d["seq"] = u64(p)
        elif t == VCPUSTAT_A_VM_ID:
            d["vm_id"] = u64(p)
        elif t == VCPUSTAT_A_PID:
            d["pid"] = u32(p)
        elif t == VCPUSTAT_A_VM:
            d["vm"] = decode_vm(p)
        elif t == VCPUSTAT_A_VCPU:
            d["vcpu"] = decode_vcpu(p)
        elif t == VCPUSTAT_A_MIGRATION:
            d["migration"] = {MIGR[mt][0]: MIGR[mt][1](mp)
                              for mt, mp in parse_attrs(p) if mt in MIGR}
        elif t in (VCPUSTAT_A_CONFIG, VCPUSTAT_A_STATUS):
            key = "config" if t == VCPUSTAT_A_CONFIG else "status"
            d[key] = {}
            for ct, cp in parse_attrs(p):
                if len(cp) == 8:
                    d[key][ct] = u64(cp)
                elif len(cp) == 4:
                    d[key][ct] = u32(cp)
                elif len(cp) == 1:
                    d[key][ct] = cp[0]
                else:
                    d[key][ct] = cstr(cp)
    return d


def dump_vcpus(g, attrs=b"", retries=20):
    for _ in range(retries):
        replies, intr = g.request(VCPUSTAT_CMD_GET_VCPU, attrs, dump=True)
        if not intr:
            return join_parts([decode_top(c, b) for c, b in replies])[0]
    raise RuntimeError("dump kept being interrupted")


def dump_vms(g, attrs=b""):
    replies, _ = g.request(VCPUSTAT_CMD_GET_VM, attrs, dump=True)
    return [decode_top(c, b)["vm"] for c, b in replies]


def get_config(g):
    (c, b), = g.request(VCPUSTAT_CMD_GET_CONFIG, flags=0)
    return decode_top(c, b)


# SET_CONFIG keys by name, with the attribute and its encoder.
CONFIG_KEYS = {
    "snapshot_ms": (VCPUSTAT_CONFIG_A_SNAPSHOT_MS, nla_u32),
    "timing": (VCPUSTAT_CONFIG_A_TIMING, nla_u8),
    "migr_rate": (VCPUSTAT_CONFIG_A_MIGR_RATE, nla_u32),
    "timing_every": (VCPUSTAT_CONFIG_A_TIMING_EVERY, nla_u32),
    "heartbeat_ms": (VCPUSTAT_CONFIG_A_HEARTBEAT_MS, nla_u32),
    "budget": (VCPUSTAT_CONFIG_A_BUDGET, nla_u8),
    "detail": (VCPUSTAT_CONFIG_A_DETAIL, nla_u8),
    "detail_k": (VCPUSTAT_CONFIG_A_DETAIL_K, nla_u32),
}


def set_config(g, **kv):
    """SET_CONFIG with the given keys (CONFIG_KEYS) only."""
    inner = b"".join(CONFIG_KEYS[k][1](CONFIG_KEYS[k][0], int(v))
                     for k, v in kv.items())
    g.request(VCPUSTAT_CMD_SET_CONFIG, nla_nest(VCPUSTAT_A_CONFIG, inner))


def listen(g, seconds, count=None):
    """Collect events for up to @seconds (or until @count)."""
    g.join()
    out, end = [], time.time() + seconds
    while time.time() < end and (count is None or len(out) < count):
        try:
            msgs = g.recv_msgs(timeout=max(0.0, end - time.time()))
        except TimeoutError:
            break
        for mtype, _, _, body in msgs:
            if mtype == g.family:
                out.append(decode_top(body[0], body[4:]))
    return out


def main(argv):
    g = Genl()
    cmd = argv[1] if len(argv) > 1 else "dump"
    if cmd == "dump":
        res = dump_vcpus(g)
    elif cmd == "vms":
        res = dump_vms(g)
    elif cmd == "config":
        res = get_config(g)
    elif cmd == "reset":
        a = nla_u64(VCPUSTAT_A_VM_ID, int(argv[2])) if len(argv) > 2 else b""
        g.request(VCPUSTAT_CMD_RESET, a)
        res = {"ok": True}
    elif cmd == "set":
        set_config(g, **dict(kv.split("=") for kv in argv[2:]))
        res = {"ok": True}
    elif cmd == "listen":
        cnt = int(argv[3]) if len(argv) > 3 else None
        res = listen(g, float(argv[2]), cnt)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    json.dump(res, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except NetlinkError as e:
        print(f"vsnl: {e}", file=sys.stderr)
        sys.exit(1)
