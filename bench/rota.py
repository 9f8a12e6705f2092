#!/usr/bin/env python3
"""Rota planner bench: for every trust size N from 6 to 60, the longest repeat-free run of
terms the planner reaches with only the no-repeat objective on (phase ignored, no balance,
no travel), beside the known maximum / SPEC §7 target, and the time it took.
Usage: bench/rota.py [MATCTL] (default build-release/matctl)."""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATCTL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-release", "matctl")
SPEC = {7: 1, 8: 1, 10: 1, 11: 1, 13: 4, 14: 4, 16: 6, 17: 5, 19: 7, 20: 7, 22: 9, 23: 9, 25: 11,
        26: 10, 28: 12, 29: 11, 31: 14, 32: 13, 34: 15, 35: 15, 37: 17, 38: 16, 40: 18, 41: 18,
        43: 19, 44: 19, 46: 21, 47: 21, 49: 23, 50: 22, 52: 24, 53: 23, 55: 26, 56: 25, 58: 27,
        59: 27}


def target(n):
    if n % 6 == 3:
        return (n - 1) // 2
    if n % 6 == 0:
        return 1 if n == 6 else 4 if n == 12 else (n - 2) // 2
    return SPEC[n]


def years(t):
    names = ["autumn", "spring", "summer"]
    return [{"year": "%d-%02d" % (2030 + i // 3, (2031 + i // 3) % 100), "term": names[i % 3]}
            for i in range(t)]


def run(n):
    goal = target(n)
    doc = {"schools": [{"urn": "%06d" % (100000 + i), "phase": "primary"} for i in range(n)],
           "terms": years(goal), "seed": 1,
           "constraints": {"phase": "ignore", "balance": False, "travel_weight": 0}}
    start = time.time()
    out = subprocess.run([MATCTL, "rota", "plan", "--input", "-"], input=json.dumps(doc),
                         capture_output=True, text=True, check=True)
    ms = (time.time() - start) * 1000
    seen, reached = set(), 0
    for term in json.loads(out.stdout)["terms"]:
        pairs = {frozenset((a, b)) for g in term["groups"] for a in g["members"]
                 for b in g["members"] if a < b}
        if pairs & seen:
            break
        seen |= pairs
        reached += 1
    return goal, reached, ms


print("# %s planner: %s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), MATCTL))
print("%4s %8s %8s %9s" % ("N", "target", "reached", "ms"))
met = 0
for n in range(6, 61):
    goal, reached, ms = run(n)
    met += reached >= goal
    print("%4d %8d %8d %9.0f%s" % (n, goal, reached, ms, "" if reached >= goal else "   short"))
print("target met for %d of 55 sizes" % met)
