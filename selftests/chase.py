#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""chase.py [--unpinned] TID...: make vCPU threads migrate the way a busy
host does. One CPU hog per thread; every 0.3 s each hog is moved onto the
CPU its thread last ran on, and the scheduler's load balancer moves the
thread away. Nothing touches the threads themselves.

--unpinned: stop a thread's hog for good once that thread's affinity is a
single CPU (autopin pinned it), so that the chase no longer follows it.

One process with no fork per step: under single-threaded TCG a shell loop
forking sed/taskset per step was too slow to make threads migrate at all.
SIGTERM/SIGINT kill the hogs too. Used by selftests/autopin_test.sh and
scripts/demo.
"""
import os
import signal
import sys
import time


def last_cpu(tid):
    """The CPU the thread last ran on (field 39 of /proc/TID/stat)."""
    try:
        with open(f"/proc/{tid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return None


def pinned(tid):
    try:
        return len(os.sched_getaffinity(tid)) == 1
    except OSError:
        return False


def spin():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    while True:
        pass


def main(argv):
    unpinned = bool(argv) and argv[0] == "--unpinned"
    tids = [int(t) for t in argv[1 if unpinned else 0:]]
    hogs = []

    def stop(*_):
        for h in hogs:
            if h:
                try:
                    os.kill(h, signal.SIGKILL)
                except OSError:
                    pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in tids:
        pid = os.fork()
        if pid == 0:
            spin()
        hogs.append(pid)
    while True:
        for i, t in enumerate(tids):
            if not hogs[i]:
                continue
            if unpinned and pinned(t):
                os.kill(hogs[i], signal.SIGKILL)
                os.waitpid(hogs[i], 0)
                hogs[i] = 0
                continue
            c = last_cpu(t)
            if c is not None:
                try:
                    os.sched_setaffinity(hogs[i], {c})
                except OSError:
                    pass
        time.sleep(0.3)


if __name__ == "__main__":
    main(sys.argv[1:])
