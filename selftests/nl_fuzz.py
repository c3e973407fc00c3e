#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Campaign 1: netlink fuzzing of the "vcpustat" generic netlink family.

Sends random and mutated requests to the family (quick: >= 10 000
messages, VCPUSTAT_STRESS=1: >= 100 000): every command number including
undefined ones and the *_NTF ones, random attribute types, lengths and
nesting, truncated nlmsg/genl headers, wrong versions, bad and reserved
flags, reserved header bits, several messages per datagram, trailing
garbage; then dumps aborted halfway and sockets closed mid-dump.

Oracle: every message's fate is *predicted from its bytes* by a model of
the kernel's path (netlink_rcv_skb -> genl_family_rcv_msg header/flag/op
checks -> strict policy validation of the op's policy -> the module's own
checks). For every message the answer must match the prediction:
 - predicted error   -> exactly one NLMSG_ERROR with an error (never an
                        accepted message); an extack message wherever the
                        kernel or the module sets one;
 - predicted success -> the reply/ack/dump the request asks for;
 - silently dropped  -> nothing (a bad nlmsg_len, no NLM_F_REQUEST).
State: GET_CONFIG's config and the full dump of two held VMs are compared
with a model at checkpoints; RESET and SET_CONFIG that the model predicts
as accepted are applied to the model (a RESET of a held VM must zero its
counters and bump its RESETS count, a rejected one must change nothing).

The kernel's own checks (no oops/WARN/BUG) are the rig's; this program
also fails on any bad dmesg line that appears while it runs.
Env: VCPUSTAT_FUZZ_SEED (default: time), VCPUSTAT_FUZZ_MSGS (override).
Exit: 0 pass, 1 fail, 4 skip.
"""
import errno
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stress_lib as sl  # noqa: E402
from stress_lib import vsnl, log  # noqa: E402

REQ, MULTI, ACK, ECHO = 0x1, 0x2, 0x4, 0x8
DUMP = 0x300
NLMSGERR_ATTR_MSG = 1

CMD_GET_VM = vsnl.VCPUSTAT_CMD_GET_VM
CMD_GET_VCPU = vsnl.VCPUSTAT_CMD_GET_VCPU
CMD_RESET = vsnl.VCPUSTAT_CMD_RESET
CMD_GET_CONFIG = vsnl.VCPUSTAT_CMD_GET_CONFIG
CMD_SET_CONFIG = vsnl.VCPUSTAT_CMD_SET_CONFIG
A_VM_ID, A_PID, A_VCPU_ID = (vsnl.VCPUSTAT_A_VM_ID, vsnl.VCPUSTAT_A_PID,
                             vsnl.VCPUSTAT_A_VCPU_ID)
A_CONFIG = vsnl.VCPUSTAT_A_CONFIG
C_SNAP, C_TIMING, C_RATE, C_EVERY = (vsnl.VCPUSTAT_CONFIG_A_SNAPSHOT_MS,
                                     vsnl.VCPUSTAT_CONFIG_A_TIMING,
                                     vsnl.VCPUSTAT_CONFIG_A_MIGR_RATE,
                                     vsnl.VCPUSTAT_CONFIG_A_TIMING_EVERY)
C_HB = vsnl.VCPUSTAT_CONFIG_A_HEARTBEAT_MS
C_BUDGET = vsnl.VCPUSTAT_CONFIG_A_BUDGET
C_DETAIL, C_DETAIL_K = (vsnl.VCPUSTAT_CONFIG_A_DETAIL,
                        vsnl.VCPUSTAT_CONFIG_A_DETAIL_K)

# The module's policies (kmod/netlink.c), as the core applies them with
# NL_VALIDATE_STRICT. Type -> (kind, min, max) or ("nest", (max, pol)).
# Types below maxattr that are absent are NLA_UNSPEC ("Unsupported
# attribute" under strict validation). GET_CONFIG has no policy: the core
# substitutes genl_policy_reject_all (maxattr 1, NLA_REJECT).
U64_MAX, U32_MAX = (1 << 64) - 1, (1 << 32) - 1
CONFIG_POLICY = (vsnl.VCPUSTAT_CONFIG_A_MAX, {
    C_SNAP: ("u32", 0, 3600000),
    C_TIMING: ("u8", 0, 1),
    C_RATE: ("u32", 0, 1000000),
    C_EVERY: ("u32", 1, 65536),
    C_HB: ("u32", 0, 3600000),
    C_BUDGET: ("u8", 0, 1),
    C_DETAIL: ("u8", 0, 1),
    C_DETAIL_K: ("u32", 1, vsnl.VCPUSTAT_DETAIL_K_MAX),
})
POLICY = {
    CMD_GET_VM: (A_PID, {A_VM_ID: ("u64", 1, U64_MAX),
                         A_PID: ("u32", 1, U32_MAX)}),
    CMD_GET_VCPU: (A_VCPU_ID, {A_VM_ID: ("u64", 1, U64_MAX),
                               A_PID: ("u32", 1, U32_MAX),
                               A_VCPU_ID: ("u32", 0, U32_MAX)}),
    CMD_RESET: (A_VM_ID, {A_VM_ID: ("u64", 1, U64_MAX)}),
    CMD_GET_CONFIG: (1, {1: ("reject",)}),
    CMD_SET_CONFIG: (A_CONFIG, {A_CONFIG: ("nest", CONFIG_POLICY)}),
}
DO_OPS = {CMD_GET_VM, CMD_RESET, CMD_GET_CONFIG, CMD_SET_CONFIG}
DUMP_OPS = {CMD_GET_VM, CMD_GET_VCPU}
FIXED = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}


class Pred:
    """What the kernel must do with one nlmsg."""
    __slots__ = ("kind", "err", "extack", "why", "cmd", "flags", "alt",
                 "vm_id", "effect")

    def __init__(self, kind, err=0, extack=False, why="", cmd=None,
                 flags=0):
        self.kind = kind        # "none" | "ack" | "err" | "do" | "dump"
        self.err = err
        self.extack = extack
        self.why = why
        self.cmd = cmd
        self.flags = flags
        self.alt = set()        # errnos also acceptable (EBUSY on dumps)
        self.vm_id = None
        self.effect = None      # ("reset", id|0) | ("config", {..})


def err(e, extack, why):
    return Pred("err", e, extack, why)


def validate(buf, maxtype, policy):
    """Mirror of __nla_validate_parse()/validate_nla() with
    NL_VALIDATE_STRICT. Returns a Pred (error) or {type: payload}."""
    tb = {}
    rem, off = len(buf), 0
    while rem >= 4:
        ln, t = struct.unpack_from("HH", buf, off)
        if ln < 4 or ln > rem:
            break
        typ = t & 0x3FFF
        payload = buf[off + 4:off + ln]
        if typ == 0 or typ > maxtype:
            return err(errno.EINVAL, True, "unknown attribute type")
        pt = policy.get(typ)
        if pt is None:
            return err(errno.EINVAL, True, "unsupported attribute")
        kind = pt[0]
        if kind in FIXED and len(payload) != FIXED[kind]:
            return err(errno.EINVAL, True, "invalid attribute length")
        if kind == "nest" and not t & 0x8000:
            return err(errno.EINVAL, True, "NLA_F_NESTED missing")
        if kind != "nest" and t & 0x8000:
            return err(errno.EINVAL, True, "NLA_F_NESTED not expected")
        if kind == "reject":
            return err(errno.EINVAL, True, "rejected attribute")
        if kind == "nest":
            if payload and len(payload) < 4:
                return err(errno.ERANGE, True, "nest shorter than a header")
            if payload:
                r = validate(payload, pt[1][0], pt[1][1])
                if isinstance(r, Pred):
                    return r
        else:
            v = int.from_bytes(payload, "little")
            if v < pt[1] or v > pt[2]:
                return err(errno.ERANGE, True, "integer out of range")
        tb[typ] = payload
        step = (ln + 3) & ~3
        rem -= step
        off += step
    if rem > 0:
        return err(errno.EINVAL, True, "bytes leftover")
    return tb


def predict(msg, model):
    """Fate of one nlmsg (bytes up to its nlmsg_len) in the current model."""
    p = _predict(msg, model)
    p.flags = struct.unpack_from("H", msg, 6)[0]
    if p.cmd is None and len(msg) >= 17:
        p.cmd = msg[16]
    return p


def _predict(msg, model):
    ln, _, flags, _, _ = struct.unpack_from("IHHII", msg)
    if not flags & REQ:
        return Pred("ack" if flags & ACK else "none", flags=flags)
    if ln < 20:
        return err(errno.EINVAL, False, "short genl header")
    cmd, ver, resv = struct.unpack_from("BBH", msg, 16)
    if resv:
        return err(errno.EINVAL, True, "genlmsghdr.reserved")
    f = flags & ~DUMP if flags & DUMP == DUMP else flags
    if f & ~(REQ | ACK | ECHO):
        return err(errno.EINVAL, True, "reserved nlmsg_flags")
    dump = flags & DUMP == DUMP
    if cmd not in (DUMP_OPS if dump else DO_OPS):
        return err(errno.EOPNOTSUPP, False, "no such op")
    maxattr, pol = POLICY[cmd]
    tb = validate(msg[20:ln], maxattr, pol)
    if isinstance(tb, Pred):
        tb.cmd = cmd
        return tb
    if ver != vsnl.VCPUSTAT_GENL_VERSION:
        # The module's message for a dump is set in ->start(); kernels
        # before 6.5 pass no extack to ->start() and it is lost.
        p = err(errno.EOPNOTSUPP, not dump or model.start_extack,
                "version")
        p.cmd = cmd
        return p
    p = Pred("dump" if dump else "do", cmd=cmd, flags=flags)
    if dump:
        return p
    vm_id = int.from_bytes(tb[A_VM_ID], "little") if A_VM_ID in tb else None
    if cmd == CMD_GET_VM:
        if vm_id is None:
            return err(errno.EINVAL, True, "GET_VM without VM_ID")
        if vm_id not in model.known:
            return err(errno.ENOENT, True, "GET_VM of unknown VM")
        p.vm_id = vm_id
    elif cmd == CMD_RESET:
        if vm_id is not None and vm_id not in model.known:
            return err(errno.ENOENT, True, "RESET of unknown VM")
        p.effect = ("reset", vm_id or 0)
    elif cmd == CMD_SET_CONFIG:
        if A_CONFIG not in tb:
            return err(errno.EINVAL, True, "SET_CONFIG without CONFIG")
        inner = validate(tb[A_CONFIG], *CONFIG_POLICY)
        snap = inner.get(C_SNAP)
        if snap is not None and 0 < int.from_bytes(snap, "little") < 100:
            return err(errno.EINVAL, True, "snapshot 1..99 ms")
        hb = inner.get(C_HB)
        if hb is not None and 0 < int.from_bytes(hb, "little") < 100:
            return err(errno.EINVAL, True, "heartbeat 1..99 ms")
        p.effect = ("config", {k: int.from_bytes(v, "little")
                               for k, v in inner.items()})
    return p


def nlmsg_types(buf):
    """nlmsg_type of each nlmsg netlink_rcv_skb() will look at."""
    out = []
    while len(buf) >= 16:
        ln, t = struct.unpack_from("IH", buf)
        if ln < 16 or len(buf) < ln:
            break
        out.append(t)
        buf = buf[min((ln + 3) & ~3, len(buf)):]
    return out


def predict_datagram(buf, model):
    """[(seq, Pred)] for each nlmsg netlink_rcv_skb() will look at."""
    out = []
    while len(buf) >= 16:
        ln, _, _, seq, _ = struct.unpack_from("IHHII", buf)
        if ln < 16 or len(buf) < ln:
            break           # the rest of the datagram is ignored
        out.append((seq, predict(buf[:ln], model)))
        step = min((ln + 3) & ~3, len(buf))
        buf = buf[step:]
    return out


# ------------------------------------------------------------------ model

class Model:
    def __init__(self, known, cfg, resets, start_extack=True):
        self.start_extack = start_extack
        self.known = set(known)
        self.cfg = dict(cfg)          # attr type -> value
        self.resets = dict(resets)    # vm id -> RESETs accepted so far

    def apply(self, p):
        if not p.effect:
            return
        what, arg = p.effect
        if what == "reset":
            for vm_id in (self.known if arg == 0 else [arg]):
                self.resets[vm_id] = self.resets.get(vm_id, 0) + 1
        else:
            self.cfg.update(arg)


# ------------------------------------------------------------------ generator

class Gen:
    def __init__(self, rng, ids, pids):
        self.r = rng
        self.ids = ids          # dict role -> vm id
        self.pids = pids

    def u64(self):
        r = self.r
        return r.choice([0, 1, 2, self.ids["victim"], self.ids["victim"],
                         self.ids["main"], self.ids.get("keeper", 3),
                         r.randrange(1, 1 << 16), r.randrange(1 << 64),
                         1 << 63, U64_MAX, self.ids["victim"] + 1000])

    def u32(self):
        r = self.r
        return r.choice([0, 1, 2, 99, 100, 101, 3600000, 3600001, 1000000,
                         1000001, 1 << 31, U32_MAX, r.randrange(1 << 32),
                         r.choice(self.pids), r.randrange(0, 64)])

    def u8(self):
        return self.r.choice([0, 1, 1, 0, 2, 255, self.r.randrange(256)])

    def config_nest(self):
        r = self.r
        inner = b""
        for t, f, gen in ((C_SNAP, vsnl.nla_u32, self.u32),
                          (C_TIMING, vsnl.nla_u8, self.u8),
                          (C_RATE, vsnl.nla_u32, self.u32),
                          (C_EVERY, vsnl.nla_u32, self.u32),
                          (C_HB, vsnl.nla_u32, self.u32),
                          (C_BUDGET, vsnl.nla_u8, self.u8)):
            if r.random() < 0.5:
                if t in (C_SNAP, C_HB) and r.random() < 0.5:
                    v = r.choice([0, 100, 250, 1000, 60000, 3600000])
                elif t == C_RATE and r.random() < 0.5:
                    v = r.choice([0, 1, 1000, 1000000])
                elif t in (C_TIMING, C_BUDGET) and r.random() < 0.6:
                    v = r.choice([0, 1])
                elif t == C_EVERY and r.random() < 0.6:
                    v = r.choice([0, 1, 2, 16, 65536, 65537])
                else:
                    v = gen()
                inner += f(t, v)
        return vsnl.nla_nest(A_CONFIG, inner)

    def valid_body(self):
        """(cmd, flags, attrs) of a plausible request."""
        r = self.r
        cmd = r.choice([CMD_GET_VM, CMD_GET_VM, CMD_GET_VCPU, CMD_RESET,
                        CMD_RESET, CMD_GET_CONFIG, CMD_SET_CONFIG,
                        CMD_SET_CONFIG])
        attrs = b""
        if cmd in (CMD_GET_VM, CMD_GET_VCPU):
            dump = cmd == CMD_GET_VCPU or r.random() < 0.4
            flags = REQ | (DUMP if dump else ACK)
            if not dump or r.random() < 0.5:
                attrs += vsnl.nla_u64(A_VM_ID, self.u64())
            if dump and r.random() < 0.3:
                attrs += vsnl.nla_u32(A_PID, self.u32())
            if cmd == CMD_GET_VCPU and r.random() < 0.3:
                attrs += vsnl.nla_u32(A_VCPU_ID, r.randrange(0, 40))
        elif cmd == CMD_RESET:
            flags = REQ | ACK
            x = r.random()
            if x < 0.45:
                vm_id = self.ids["victim"]
            elif x < 0.9:
                vm_id = r.choice([self.ids["victim"] + 1000,
                                  r.randrange(1 << 64), 0])
            elif x < 0.997:
                vm_id = r.choice([self.ids["main"],
                                  self.ids.get("keeper", 0)])
            else:
                vm_id = None    # reset all: rare, it zeroes the main VM
            if vm_id is not None:
                attrs = vsnl.nla_u64(A_VM_ID, vm_id)
        elif cmd == CMD_GET_CONFIG:
            flags = REQ | r.choice([0, ACK])
        else:
            flags = REQ | ACK
            attrs = self.config_nest()
        if r.random() < 0.1:
            flags |= ECHO
        if r.random() < 0.1:
            flags &= ~ACK
        return cmd, flags, attrs

    def rand_attr(self, depth=0):
        r = self.r
        t = r.choice([r.randrange(0, 12), r.randrange(0, 12),
                      r.randrange(0, 0x4000), A_VM_ID, A_PID, A_VCPU_ID,
                      A_CONFIG, C_SNAP, C_TIMING, C_RATE, C_EVERY])
        kind = r.choice(["u8", "u16", "u32", "u64", "u64", "bytes", "empty",
                         "nest", "nest"])
        if kind == "nest" and depth < 4:
            payload = b"".join(self.rand_attr(depth + 1)
                               for _ in range(r.randrange(0, 4)))
            if r.random() < 0.85:
                t |= 0x8000
        elif kind == "u8":
            payload = bytes([self.u8()])
        elif kind == "u16":
            payload = struct.pack("H", r.randrange(1 << 16))
        elif kind == "u32":
            payload = struct.pack("I", self.u32())
        elif kind == "u64":
            payload = struct.pack("Q", self.u64())
        elif kind == "bytes":
            payload = self.r.randbytes(r.randrange(1, 40))
        else:
            payload = b""
        if r.random() < 0.08:
            t |= 0x8000
        if r.random() < 0.04:
            t |= 0x4000         # NLA_F_NET_BYTEORDER
        a = vsnl.nla(t & 0xFFFF, payload)
        if r.random() < 0.05:   # corrupt nla_len
            bad = r.choice([0, 1, 2, 3, len(a) + r.randrange(1, 64),
                            r.randrange(0, 1 << 16)])
            a = struct.pack("H", bad & 0xFFFF) + a[2:]
        return a

    def edge_attrs(self, cmd):
        """Attributes aimed at each rule of strict policy validation."""
        r = self.r
        maxattr, pol = POLICY.get(cmd, (5, {}))
        typ = r.choice(list(pol) or [1])
        out = []
        for _ in range(r.randrange(1, 4)):
            e = r.randrange(16)
            if e == 0:
                out.append(vsnl.nla_u32(0, 1))                 # type 0
            elif e == 1:
                out.append(vsnl.nla_u32(maxattr + 1, 1))       # past max
            elif e == 2:
                out.append(vsnl.nla_u64(vsnl.VCPUSTAT_A_PAD, 0))  # PAD
            elif e == 3:                                       # bad length
                out.append(vsnl.nla(typ, self.r.randbytes(r.choice(
                    [0, 1, 2, 3, 5, 7, 9, 12]))))
            elif e == 4:                                       # NESTED flag
                out.append(vsnl.nla(typ | 0x8000, struct.pack("Q", 1)[
                    :FIXED.get(pol.get(typ, ("u32",))[0], 4)]))
            elif e == 5:                                       # byteorder
                out.append(vsnl.nla(A_VM_ID | 0x4000,
                                    struct.pack("Q", self.u64())))
            elif e == 6:                                       # no NESTED
                out.append(vsnl.nla(A_CONFIG, vsnl.nla_u32(C_SNAP, 1000)))
            elif e == 7:                                       # short nest
                out.append(vsnl.nla(A_CONFIG | 0x8000,
                                    self.r.randbytes(r.randrange(1, 4))))
            elif e == 8:                                       # deep nest
                inner = vsnl.nla_u32(C_SNAP, 1000)
                for _ in range(r.randrange(1, 8)):
                    inner = vsnl.nla_nest(r.choice([C_SNAP, 1, 4, 5]), inner)
                out.append(vsnl.nla_nest(A_CONFIG, inner))
            elif e == 9:                                       # empty nest
                out.append(vsnl.nla_nest(A_CONFIG))
            elif e == 10:                                      # nested junk
                junk = self.r.randbytes(r.randrange(1, 4))
                out.append(vsnl.nla_nest(A_CONFIG,
                                         vsnl.nla_u32(C_SNAP, 200) + junk))
            elif e == 11:                                      # len past end
                a = vsnl.nla_u64(A_VM_ID, self.u64())
                out.append(struct.pack("H", len(a) + r.randrange(1, 9)) +
                           a[2:])
            elif e == 12:                                      # 1-3 leftover
                out.append(self.r.randbytes(r.randrange(1, 4)))
            elif e == 13:                                      # config edges
                out.append(vsnl.nla_nest(A_CONFIG, vsnl.nla(
                    r.choice([C_SNAP, C_TIMING, C_RATE, C_EVERY, C_HB,
                              C_BUDGET, 1, vsnl.VCPUSTAT_CONFIG_A_MAX + 1]),
                    self.r.randbytes(r.choice([0, 1, 2, 4, 8])))))
            elif e == 14:                                      # valid value
                out.append(vsnl.nla_u64(A_VM_ID, self.u64()) if typ == A_VM_ID
                           else vsnl.nla_u32(typ, self.u32()))
            else:                                              # nla_len < 4
                out.append(struct.pack("HH", r.randrange(4), typ))
        return b"".join(out)

    def mutate(self, body):
        """Byte-level mutations of a genl header + attributes."""
        r = self.r
        b = bytearray(body)
        for _ in range(r.randrange(1, 4)):
            m = r.randrange(12)
            if m <= 1 and len(b) > 4:                 # flip an attr byte
                i = r.randrange(4, len(b))
                b[i] ^= 1 << r.randrange(8)
            elif m == 2 and b:                        # flip any byte
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
            elif m == 3 and len(b) > 4:               # truncate
                del b[r.randrange(4, len(b)):]
            elif m == 4:                              # version
                b[1] = r.randrange(256)
            elif m == 5 and r.random() < 0.3:         # reserved
                b[2:4] = struct.pack("H", r.randrange(1, 1 << 16))
            elif m == 6:                              # other command
                b[0] = r.choice([0, 6, 7, 8, 9, 10, r.randrange(256)])
            elif m == 7:                              # append an attribute
                b += self.rand_attr()
            elif m == 8:                              # trailing junk
                b += self.r.randbytes(r.randrange(1, 8))
            elif m == 9 and len(b) > 4:               # duplicate attrs
                b += b[4:]
            elif m == 10 and len(b) >= 8:             # clobber a nla_len
                i = 4 + 4 * r.randrange((len(b) - 4) // 4)
                b[i:i + 2] = struct.pack("H", r.randrange(0, 64))
            else:                                     # edge attributes
                b += self.edge_attrs(b[0])
        return bytes(b)

    def flags(self):
        r = self.r
        x = r.random()
        if x < 0.6:
            return REQ | r.choice([0, ACK, ECHO, ACK | ECHO, DUMP,
                                   DUMP | ACK, ACK, DUMP])
        if x < 0.75:
            return REQ | (1 << r.randrange(1, 16))
        if x < 0.82:
            return r.randrange(1 << 16) & ~REQ        # not a request
        return r.randrange(1 << 16) | REQ

    def body(self):
        """(flags, genl header + attributes) of one request."""
        r = self.r
        x = r.random()
        if x < 0.25:
            cmd, flags, attrs = self.valid_body()
            return flags, struct.pack("BBH", cmd, 1, 0) + attrs
        if x < 0.50:
            cmd, flags, attrs = self.valid_body()
            if r.random() < 0.2:
                flags = self.flags()
            return flags, self.mutate(struct.pack("BBH", cmd, 1, 0) + attrs)
        if x < 0.68:
            cmd, flags, attrs = self.valid_body()
            return flags, struct.pack("BBH", cmd, 1, 0) + \
                self.edge_attrs(cmd)
        if x < 0.90:
            cmd = r.choice([r.randrange(0, 12), r.randrange(256),
                            CMD_GET_VM, CMD_GET_VCPU, CMD_RESET,
                            CMD_GET_CONFIG, CMD_SET_CONFIG])
            ver = r.choice([1, 1, 1, 0, 2, r.randrange(256)])
            resv = 0 if r.random() < 0.95 else r.randrange(1 << 16)
            attrs = b"".join(self.rand_attr()
                             for _ in range(r.randrange(0, 5)))
            return self.flags(), struct.pack("BBH", cmd, ver, resv) + attrs
        if x < 0.96:
            hdr = struct.pack("BBH", r.randrange(12), 1, 0) \
                if r.random() < 0.5 else b""
            return self.flags(), hdr + self.r.randbytes(r.randrange(4, 200))
        # A genl header shorter than 4 bytes.
        return self.flags(), self.r.randbytes(r.randrange(0, 4))


def nlmsg(ftype, flags, seq, body, length=None, pid=0):
    ln = 16 + len(body) if length is None else length
    return struct.pack("IHHII", ln & U32_MAX, ftype, flags & 0xFFFF, seq,
                       pid) + body


# ------------------------------------------------------------------ session

class Session:
    """One socket; sends datagrams, collects every answer by sequence."""

    def __init__(self, family):
        self.family = family
        self.sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                vsnl.NETLINK_GENERIC)
        self.sk.setsockopt(vsnl.SOL_NETLINK, vsnl.NETLINK_EXT_ACK, 1)
        self.sk.setsockopt(vsnl.SOL_NETLINK, vsnl.NETLINK_CAP_ACK, 1)
        self.sk.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)
        self.sk.bind((0, 0))
        self.answers = {}
        self.stray = []

    def close(self):
        self.sk.close()

    def recv_some(self, timeout):
        self.sk.settimeout(timeout)
        try:
            data = self.sk.recv(1 << 20)
        except socket.timeout:
            return False
        off = 0
        while off + 16 <= len(data):
            ln, mtype, flags, seq, _ = struct.unpack_from("IHHII", data, off)
            if ln < 16:
                break
            body = data[off + 16:off + ln]
            if mtype == vsnl.NLMSG_ERROR:
                e = -struct.unpack_from("i", body)[0]
                msg = None
                for t, p in vsnl.parse_attrs(body[4 + 16:]):
                    if t == NLMSGERR_ATTR_MSG:
                        msg = vsnl.cstr(p)
                ans = ("error", e, msg)
            elif mtype == vsnl.NLMSG_DONE:
                ans = ("done", -struct.unpack_from("i", body)[0]
                       if len(body) >= 4 else 0, None)
            else:
                ans = ("data", body[0] if body else None, body)
            self.answers.setdefault(seq, []).append(ans)
            off += (ln + 3) & ~3
        return True


# ------------------------------------------------------------------ state

def decode_vcpu_raw(b):
    d = vsnl.decode_vcpu(b)
    for t, p in vsnl.parse_attrs(b):
        if t == vsnl.VCPUSTAT_VCPU_A_RESETS:
            d["resets"] = vsnl.u32(p)
    return d


def vm_state(g, vm_id):
    """(vm dict without age, [vcpu dicts]) of a held VM."""
    vms = [vm for vm in vsnl.dump_vms(g) if vm["vm_id"] == vm_id]
    if len(vms) != 1:
        return None, None
    vm = dict(vms[0])
    vm.pop("age_ns", None)
    out = []
    for _ in range(20):
        replies, intr = g.request(CMD_GET_VCPU, vsnl.nla_u64(A_VM_ID, vm_id),
                                  dump=True)
        if not intr:
            break
    for _, body in replies:
        for t, p in vsnl.parse_attrs(body):
            if t == vsnl.VCPUSTAT_A_VCPU:
                v = decode_vcpu_raw(p)
                # The time budget of a parked vCPU moves with the clock
                # (its open interval), and a reset pending leaves it out.
                v.pop("budget", None)
                out.append(v)
    return vm, sorted(out, key=lambda v: v["idx"])


ZEROED = ("exits", "migrations", "migr_smt", "migr_llc",
          "migr_node", "migr_remote", "exit_time_ns", "timed_exits")


def expected_after_resets(vm0, vcpus0, n):
    """What a held (parked) VM must show after n accepted RESETs."""
    vm, vcpus = dict(vm0), [dict(v) for v in vcpus0]
    for v in vcpus:
        v["resets"] = v["resets"] + n
    if n:
        vm["exits"] = vm["migrations"] = vm["exit_time_ns"] = 0
        for v in vcpus:
            for k in ZEROED:
                v[k] = 0
            v["reasons"] = []
            v["hist"] = [0] * vsnl.VCPUSTAT_HIST_BUCKETS
            v["residency"] = {}
    return vm, vcpus


def diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += diff(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


class Campaign:
    def __init__(self):
        seed = os.environ.get("VCPUSTAT_FUZZ_SEED")
        self.seed = int(seed) if seed else int(time.time() * 1000) & U32_MAX
        self.rng = random.Random(self.seed)
        n = os.environ.get("VCPUSTAT_FUZZ_MSGS")
        self.target = int(n) if n else (100000 if sl.LONG else 10000)
        # Quick mode is bounded in time (make check); long mode must reach
        # its message count.
        self.budget = float(os.environ.get("VCPUSTAT_FUZZ_SECONDS") or
                            (2400 if sl.LONG else 45))
        self.budget_hit = False
        self.g = sl.genl()
        self.stats = {"msgs": 0, "datagrams": 0, "sentinels": 0,
                      "pred": {}, "errors": 0, "errors_extack": 0,
                      "by_errno": {}, "dumps": 0, "busy": 0,
                      "resets_ok": 0, "configs_ok": 0, "dropped": 0}
        self.fail = []
        self.seq = 0x100000

    def next_seq(self):
        self.seq += 1
        return self.seq

    # ---- setup / state

    def setup(self):
        # VMs of processes that are gone may still be draining.
        def settled():
            vms = vsnl.dump_vms(self.g)
            return all(os.path.exists(f"/proc/{vm['pid']}") for vm in vms)
        sl.wait_until(settled, 60)
        self.main = sl.Driver("--vcpus", 24, "--io", 30, "--cpuid", 40,
                              "--hlt", 3, "--rdmsr", 4, "--wrmsr", 2,
                              "--mmio", 2)
        self.victim = sl.Driver("--vcpus", 2, "--cpuid", 25, "--io", 5)
        vms = vsnl.dump_vms(self.g)
        ids = {}
        for vm in vms:
            if vm["pid"] == self.main.pid:
                ids["main"] = vm["vm_id"]
            elif vm["pid"] == self.victim.pid:
                ids["victim"] = vm["vm_id"]
            else:
                ids.setdefault("keeper", vm["vm_id"])
        self.ids = ids
        self.gen = Gen(self.rng, ids, [self.main.pid, self.victim.pid,
                                       os.getpid(), 1])
        self.state0 = {r: vm_state(self.g, ids[r]) for r in ("main",
                                                             "victim")}
        cfg = {k: v for k, v in vsnl.get_config(self.g)["config"].items()}
        self.cfg0 = cfg
        # Does this kernel carry extack into a dump's ->start() (6.5+)?
        try:
            self.g.request(CMD_GET_VCPU, dump=True, version=2)
            start_extack = None
        except vsnl.NetlinkError as e:
            start_extack = bool(e.extack)
        self.model = Model([vm["vm_id"] for vm in vms], cfg, {},
                           bool(start_extack))
        self.start_extack = start_extack
        log(f"seed {self.seed}; held VMs {ids}; config {sl.config(self.g)}; "
            f"extack from dump ->start(): {start_extack}")

    def check_state(self, where):
        errs = []
        cfg = vsnl.get_config(self.g)["config"]
        if cfg != self.model.cfg:
            errs.append(f"{where}: config {cfg} != model {self.model.cfg}")
        for role in ("main", "victim"):
            vm0, v0 = self.state0[role]
            n = self.model.resets.get(self.ids[role], 0)
            want = expected_after_resets(vm0, v0, n)
            got = vm_state(self.g, self.ids[role])
            d = diff(want, got)
            if d:
                errs.append(f"{where}: {role} VM (resets {n}) changed: "
                            + "; ".join(d[:6]))
        st = sl.status(self.g)
        if st["vms"] != len(self.model.known):
            errs.append(f"{where}: VMS {st['vms']} != "
                        f"{len(self.model.known)}")
        return errs

    def restore(self):
        c = self.cfg0
        sl.set_config(self.g, snapshot_ms=c[C_SNAP], timing=c[C_TIMING],
                      migr_rate=c[C_RATE], timing_every=c[C_EVERY],
                      heartbeat_ms=c[C_HB], budget=c[C_BUDGET],
                      detail=c[C_DETAIL], detail_k=c[C_DETAIL_K])

    # ---- the fuzz loop

    def datagram(self):
        """One datagram of 1-6 nlmsgs (and maybe a tail too short to be
        one). Sub-messages that a bad nlmsg_len makes the kernel find
        inside another message's body must still be addressed to the
        family: anything else would fuzz other families. Returns
        (bytes, [(seq, Pred)])."""
        r = self.rng
        fam = self.g.family
        while True:
            parts = []
            for _ in range(1 if r.random() < 0.4 else r.randrange(2, 7)):
                flags, body = self.gen.body()
                length = None
                x = r.random()
                if x < 0.03:
                    length = r.randrange(0, 20)        # truncated header
                elif x < 0.05:
                    length = 16 + len(body) + r.randrange(1, 64)  # overlong
                elif x < 0.07 and body:
                    length = 16 + r.randrange(len(body))  # shorter
                m = nlmsg(fam, flags, self.next_seq(), body, length,
                          pid=r.choice([0, 0, 0, r.randrange(1 << 32)]))
                parts.append(m + b"\0" * ((4 - len(m) % 4) % 4))
            dg = b"".join(parts)
            if r.random() < 0.05:
                dg += r.randbytes(r.randrange(1, 16))   # < one nlmsghdr
            if all(t == fam for t in nlmsg_types(dg)):
                return dg, predict_datagram(dg, self.model)

    def run_batch(self, sess, size):
        """Send @size datagrams and a sentinel; check every answer."""
        preds = {}
        ambiguous = set()
        running_dump = False
        for _ in range(size):
            dg, pl = self.datagram()
            for seq, p in pl:
                if running_dump and p.flags & DUMP == DUMP and \
                        p.cmd in DUMP_OPS:
                    p.alt.add(errno.EBUSY)     # before the op's start()
                if seq in preds:
                    ambiguous.add(seq)
                preds[seq] = p
                self.stats["msgs"] += 1
                key = p.kind if p.kind != "err" else f"err:{p.why}"
                self.stats["pred"][key] = self.stats["pred"].get(key, 0) + 1
                if p.kind == "dump":
                    running_dump = True
            sess.sk.send(dg)
            self.stats["datagrams"] += 1
        for seq in ambiguous:
            del preds[seq]
        sentinel = self.next_seq()
        sess.sk.send(nlmsg(self.g.family, REQ | ACK, sentinel,
                           struct.pack("BBH", CMD_GET_CONFIG, 1, 0)))
        self.stats["sentinels"] += 1
        deadline = time.time() + 20

        def complete():
            if not any(a[0] == "error" for a in
                       sess.answers.get(sentinel, [])):
                return False
            for s, p in preds.items():
                if p.kind == "dump":
                    a = sess.answers.get(s, [])
                    if not any(x[0] in ("done", "error") for x in a):
                        return False
            return True
        while not complete():
            if time.time() > deadline:
                self.fail.append("timeout waiting for answers "
                                 f"(batch of {len(preds)})")
                break
            sess.recv_some(0.5)
        self.judge(preds, sess.answers)
        sess.answers.pop(sentinel, None)
        stray = set(sess.answers) - set(preds) - ambiguous
        if stray:
            self.fail.append(f"answers to unknown sequence numbers {stray}")
        sess.answers.clear()

    def judge(self, preds, answers):
        for seq, p in preds.items():
            a = answers.get(seq, [])
            errs = [x for x in a if x[0] == "error" and x[1]]
            acks = [x for x in a if x[0] == "error" and not x[1]]
            data = [x for x in a if x[0] == "data"]
            done = [x for x in a if x[0] == "done"]
            for e in errs:
                self.stats["errors"] += 1
                self.stats["errors_extack"] += bool(e[2])
                k = errno.errorcode.get(e[1], str(e[1]))
                ok_ext = self.stats["by_errno"].setdefault(k, [0, 0])
                ok_ext[0] += 1
                ok_ext[1] += bool(e[2])
            bad = None
            if p.kind == "none":
                if a:
                    bad = f"answered a non-request: {a[:2]}"
            elif p.kind == "ack":
                if len(acks) != 1 or errs or data or done:
                    bad = f"want a bare ack, got {a[:3]}"
            elif p.kind == "err":
                if len(errs) != 1 or data or done or acks:
                    bad = f"want error {p.err} ({p.why}), got {a[:3]}"
                elif errs[0][1] != p.err and errs[0][1] not in p.alt:
                    if errs[0][1] == errno.EBUSY:
                        self.stats["busy"] += 1
                    else:
                        bad = (f"want errno {p.err} ({p.why}), got "
                               f"{errs[0][1]} {errs[0][2]!r}")
                elif p.extack and errs[0][1] == p.err and not errs[0][2]:
                    bad = f"no extack message for {p.why} ({p.err})"
            elif p.kind == "do":
                want_reply = p.cmd in (CMD_GET_VM, CMD_GET_CONFIG)
                if errs:
                    bad = f"valid {p.cmd} rejected: {errs[0]}"
                elif len(data) != int(want_reply) or \
                        len(acks) != int(bool(p.flags & ACK)) or done:
                    bad = f"do {p.cmd} flags {p.flags:#x}: got {a[:3]}"
                elif p.cmd == CMD_GET_VM:
                    ids = [vsnl.decode_top(x[1], x[2][4:]).get("vm", {})
                           .get("vm_id") for x in data]
                    if ids != [p.vm_id]:
                        bad = f"GET_VM {p.vm_id} answered {ids}"
                if not bad:
                    self.model.apply(p)
                    if p.effect and p.effect[0] == "reset":
                        self.stats["resets_ok"] += 1
                    elif p.effect:
                        self.stats["configs_ok"] += 1
            elif p.kind == "dump":
                self.stats["dumps"] += 1
                if errs and errs[0][1] in p.alt:
                    self.stats["busy"] += 1
                elif errs or acks or len(done) != 1 or done[0][1]:
                    bad = f"valid dump {p.cmd}: got {a[-2:]}"
            if bad:
                self.fail.append(f"seq {seq}: {bad}")

    def fuzz(self):
        sess = Session(self.g.family)
        t0 = time.time()
        next_check = 2000
        try:
            while self.stats["msgs"] < self.target:
                self.run_batch(sess, self.rng.randrange(1, 24))
                if self.stats["msgs"] >= next_check:
                    self.fail += self.check_state(
                        f"after {self.stats['msgs']} msgs")
                    next_check += 2000 if not sl.LONG else 20000
                if len(self.fail) > 50:
                    self.fail.append("too many failures; stopped")
                    break
                if time.time() - t0 > self.budget:
                    self.budget_hit = True
                    if sl.LONG:
                        self.fail.append(f"time budget {self.budget} s "
                                         f"spent at {self.stats['msgs']} "
                                         "messages")
                    break
        finally:
            sess.close()
        self.fail += self.check_state("end of fuzz")
        return time.time() - t0

    # ---- aborted dumps

    def aborted_dumps(self, n):
        """GET_VCPU dumps of all VMs (> one skb: 24 + 2 + keeper vCPUs),
        abandoned in every way; the module must end unpinned."""
        errs = []
        ref0 = sl.module_refcnt()
        counts = {}
        total = len(vsnl.dump_vcpus(self.g))
        fam = self.g.family
        for i in range(n):
            how = self.rng.choice(["close_now", "close_after_one",
                                   "second_dump", "interleave", "trunc",
                                   "child_exit"])
            counts[how] = counts.get(how, 0) + 1
            s = Session(fam)
            seq = self.next_seq()
            s.sk.send(nlmsg(fam, REQ | DUMP, seq,
                            struct.pack("BBH", CMD_GET_VCPU, 1, 0)))
            self.stats["msgs"] += 1
            if how == "close_now":
                s.close()
                continue
            if how == "trunc":
                s.sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                select.select([s.sk], [], [], 5)
                s.sk.recv(64, socket.MSG_TRUNC)
                s.close()
                continue
            s.recv_some(5)
            if how == "close_after_one":
                s.close()
                continue
            if how == "child_exit":
                # The dump's socket dies with its (only) process.
                s.close()
                pid = os.fork()
                if pid == 0:
                    c = Session(fam)
                    c.sk.send(nlmsg(fam, REQ | DUMP, 1,
                                    struct.pack("BBH", CMD_GET_VCPU, 1, 0)))
                    c.recv_some(5)
                    os._exit(0)
                os.waitpid(pid, 0)
                continue
            seq2 = self.next_seq()
            if how == "second_dump":
                s.sk.send(nlmsg(fam, REQ | DUMP, seq2,
                                struct.pack("BBH", CMD_GET_VM, 1, 0)))
            else:
                s.sk.send(nlmsg(fam, REQ | ACK, seq2,
                                struct.pack("BBH", CMD_GET_CONFIG, 1, 0)))
            self.stats["msgs"] += 1
            deadline = time.time() + 10
            while time.time() < deadline:
                a1 = s.answers.get(seq, [])
                a2 = s.answers.get(seq2, [])
                if any(x[0] == "done" for x in a1) and \
                        any(x[0] in ("error", "done") for x in a2):
                    break
                s.recv_some(0.5)
            a1, a2 = s.answers.get(seq, []), s.answers.get(seq2, [])
            got = [x for x in a1 if x[0] == "data"]
            if how == "interleave":
                done = any(x[0] == "done" for x in a1)
                if len(got) != total or not done:
                    errs.append(f"interleaved dump: {len(got)} of {total} "
                                f"vCPUs, done={done}")
                if not any(x[0] == "data" for x in a2):
                    errs.append("GET_CONFIG during a dump: no reply")
            elif how == "second_dump":
                e2 = [x for x in a2 if x[0] == "error" and x[1]]
                fine = (e2 and e2[0][1] == errno.EBUSY) or \
                    any(x[0] == "done" for x in a2)
                if not fine:
                    errs.append(f"second dump during a dump: {a2[:2]}")
            s.close()
        # Closing a socket mid-dump releases the dump's module reference
        # (possibly after an RCU grace period): the count must come back.
        ok, waited = sl.wait_until(lambda: sl.module_refcnt() == ref0, 10)
        if not ok:
            errs.append(f"module refcnt {sl.module_refcnt()} != {ref0} "
                        f"after {n} aborted dumps")
        errs += sl.consistency(self.g)
        errs += self.check_state("after aborted dumps")
        return errs, (f"{n} aborted dumps of {total} vCPUs each: {counts}; "
                      f"refcnt back in {waited:.1f} s")


def main():
    names = ["setup_held_vms", "fuzz_answers_match_model",
             "extack_on_rejections", "state_unchanged_by_rejections",
             "aborted_dumps_release_module", "config_restored",
             "dmesg_clean"]
    k = sl.Ktap("nl_fuzz", names)
    why = sl.preflight()
    if why:
        k.skip_rest(why)
        return 4
    dm = sl.Dmesg()
    c = Campaign()
    try:
        c.setup()
    except Exception as e:  # noqa: BLE001
        k.result("setup_held_vms", False, repr(e))
        k.skip_rest("no held VMs")
        return 1
    k.result("setup_held_vms", True, f"held VMs {c.ids}")
    try:
        dt = c.fuzz()
        s = c.stats
        rate = s["msgs"] / dt if dt else 0
        kinds = ", ".join(f"{k_}={v}" for k_, v in
                          sorted(s["pred"].items(), key=lambda kv: -kv[1]))
        note = (f"seed {c.seed}: {s['msgs']} messages in {s['datagrams']} "
                f"datagrams (+{s['sentinels']} sentinels) in {dt:.1f} s "
                f"({rate:.0f}/s); accepted: {s['dumps']} dumps, "
                f"{s['resets_ok']} resets, {s['configs_ok']} config changes; "
                f"EBUSY {s['busy']}\npredicted: {kinds}")
        fuzz_fail = [f for f in c.fail if "extack" not in f and
                     "changed" not in f and "config {" not in f]
        if c.budget_hit:
            note += (f"\nstopped by the {c.budget:.0f} s budget before "
                     f"{c.target} messages")
        k.result("fuzz_answers_match_model", not fuzz_fail,
                 "\n".join(fuzz_fail[:30]) + "\n" + note)
        frac = s["errors_extack"] / s["errors"] if s["errors"] else 0
        per = ", ".join(f"{e}: {w}/{n}" for e, (n, w) in
                        sorted(s["by_errno"].items()))
        ext_fail = [f for f in c.fail if "extack" in f]
        if not c.start_extack:
            note_k = ("\nthis kernel drops extack set in a dump's ->start() "
                      "(before 6.5): the module's version error on dumps "
                      "comes without its message")
        else:
            note_k = ""
        k.result("extack_on_rejections", not ext_fail,
                 "\n".join(ext_fail[:10]) + note_k +
                 f"\n{s['errors']} errors, {s['errors_extack']} with an "
                 f"extack message ({100 * frac:.1f}%); by errno (with msg/"
                 f"all): {per}")
        st_fail = [f for f in c.fail if "changed" in f or "config {" in f]
        k.result("state_unchanged_by_rejections", not st_fail,
                 "\n".join(st_fail[:10]) +
                 f"\nmodel: {s['resets_ok']} accepted RESETs, "
                 f"{s['configs_ok']} accepted SET_CONFIGs accounted for; "
                 f"resets per VM {c.model.resets}")
    except Exception as e:  # noqa: BLE001
        import traceback
        k.result("fuzz_answers_match_model", False,
                 repr(e) + "\n" + traceback.format_exc()[-800:])
        k.result("extack_on_rejections", False, "fuzz did not finish")
        k.result("state_unchanged_by_rejections", False,
                 "fuzz did not finish")
    k.run("aborted_dumps_release_module", c.aborted_dumps,
          2000 if sl.LONG else 100)

    def restored():
        c.restore()
        got = vsnl.get_config(c.g)["config"]
        return [] if got == c.cfg0 else [f"config {got} != {c.cfg0}"]
    k.run("config_restored", restored)
    for d in (c.main, c.victim):
        try:
            d.stop()
        except Exception as e:  # noqa: BLE001
            log(f"driver stop: {e}")
    bad = dm.bad()
    k.result("dmesg_clean", not bad, "\n".join(bad[:20]) +
             f"\n{len(dm.new())} new kernel log lines")
    log(f"total messages sent: {c.stats['msgs']}")
    return k.finish()


if __name__ == "__main__":
    sys.exit(main())
