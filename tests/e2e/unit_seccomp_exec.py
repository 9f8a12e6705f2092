#!/usr/bin/python3
"""Runs a command under the system-call filter of a systemd unit, as systemd would.

Usage: unit_seccomp_exec.py [--strict] UNIT_FILE COMMAND [ARGS...]

Reads the unit's SystemCallFilter= lines in order (the first decides allow-list or
deny-list; later lines add, or remove with "~"), expands the @groups with
`systemd-analyze syscall-filter`, installs the filter (the action for anything else is
SystemCallErrorNumber= if set, else killing the process, systemd's default; --strict kills
whatever the unit says) and execs the command. The packaging test runs matd this way and
strict, so a system call the shipped unit forbids kills matd in the test rather than
failing quietly with EPERM.

Needs Debian's python3-seccomp, hence /usr/bin/python3 (scripts/dev.sh installs it).
"""
import errno
import os
import subprocess
import sys

import seccomp


def group_members(name, cache={}):
    """The system calls of a @group, nested groups expanded."""
    if name not in cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                             text=True, check=True).stdout
        members = set()
        for line in out.splitlines()[1:]:
            word = line.strip()
            if not word or word.startswith("#"):
                continue
            members |= group_members(word) if word.startswith("@") else {word}
        cache[name] = members
    return cache[name]


def unit_filter(path):
    """(allow_list, names, errno or None) from the unit's [Service] section."""
    allow, names, err = None, set(), None
    for raw in open(path):
        line = raw.strip()
        if line.startswith("SystemCallErrorNumber="):
            err = getattr(errno, line.split("=", 1)[1].strip())
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.split("=", 1)[1].strip()
        invert = value.startswith("~")
        words = set()
        for word in value.lstrip("~").split():
            words |= group_members(word) if word.startswith("@") else {word}
        if allow is None:
            allow = not invert
        if allow != invert:  # an allow-list adding, or a deny-list adding
            names |= words
        else:
            names -= words
    return allow, names, err


def main():
    args = sys.argv[1:]
    strict = args[0] == "--strict"
    unit, argv = args[strict], args[strict + 1:]
    allow, names, err = unit_filter(unit)
    if strict:
        err = None
    if allow is None:
        os.execv(argv[0], argv)
    other = seccomp.ERRNO(err) if err is not None else seccomp.KILL_PROCESS
    f = seccomp.SyscallFilter(other if allow else seccomp.ALLOW)
    for name in sorted(names):
        try:
            f.add_rule(seccomp.ALLOW if allow else other, name)
        except (RuntimeError, ValueError):
            pass  # a name this architecture does not have
    f.load()
    # LeakSanitizer checks at exit from a ptrace()ing helper process, which the filter
    # kills (ptrace is @privileged) while the process waits for it forever: test builds
    # run without the leak check here (the rest of the suite keeps it).
    opts = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
