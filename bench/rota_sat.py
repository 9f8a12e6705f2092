#!/usr/bin/env python3
"""Offline search for a structured repeat-free rota design with a SAT solver (docs/rota.md,
"Limits and open points"): K parallel classes of triads on n points, no pair twice, the first
`intra` classes kept within blocks of the given sizes (so a trust's phases can fill whole
blocks in its first year), optionally with every class fixed by a Z_3 that turns each point
triple {3q, 3q+1, 3q+2} (a class's triads are then such triples or come in threes, which rules
out some orders: 15 is unsatisfiable that way).

    bench/rota_sat.py cnf 36 17 12,12,12 3 [--z3] > d36.cnf
    cadical -q d36.cnf > d36.model          # Debian: apt-get install cadical
    bench/rota_sat.py decode 36 17 d36.model

A pattern says, class by class, which groups of points may share a triad (instead of blocks
and `intra`), so that a trust's phase mix can be laid onto the groups term by term:

    bench/rota_sat.py pattern 36 17 A:24,B:9,C:3 "0:A-A,B-B,C-C;1-4:A-A,B-B,B-C;5:A-A,A-B,B-B,A-C" --z3

Groups are numbered in order from point 0; classes not named are free. `--fix
"1:16-19,22-16;2:..."` also makes the listed pairs meet in the given classes. `decode` also takes
`--inc NAME` to print the classes as a rota_designs.inc array.

`decode` checks the model (every class a partition into triads, no pair twice) and prints the
classes, one per line. Needs n divisible by 3 (the orders the county trust has trouble with:
36 and 60)."""
import itertools
import sys


def pair_var(K, n):
    """Variable of "i and j share a triad in class c", numbered from 1."""
    per_class = n * (n - 1) // 2

    def var(c, i, j):
        i, j = min(i, j), max(i, j)
        return 1 + c * per_class + i * n - i * (i + 1) // 2 + (j - i - 1)

    return var, K * per_class


def parse_pattern(n, K, groups, spec):
    """allowed[c] = set of frozenset group pairs for the named classes."""
    names, group = [], []
    for g in groups.split(","):
        name, size = g.split(":")
        names.append(name)
        group += [name] * int(size)
    if len(group) != n:
        sys.exit("the group sizes must add up to n")
    allowed = {}
    for part in spec.split(";") if spec else []:
        cls, pairs = part.split(":")
        lo, _, hi = cls.partition("-")
        kinds = set()
        for pr in pairs.split(","):
            a, b = pr.split("-")
            if a not in names or b not in names:
                sys.exit(f"unknown group in {pr}")
            kinds.add(frozenset((a, b)))
        for c in range(int(lo), int(hi or lo) + 1):
            if c >= K:
                sys.exit(f"class {c} is past the {K} classes")
            allowed[c] = kinds
    return group, allowed


def blocks_pattern(n, K, sizes, intra):
    """The first `intra` classes kept within blocks, as a pattern."""
    names = [f"G{b}" for b in range(len(sizes))]
    groups = ",".join(f"{g}:{s}" for g, s in zip(names, sizes))
    if intra == 0:
        return parse_pattern(n, K, groups, None)
    within = ",".join(f"{g}-{g}" for g in names)
    return parse_pattern(n, K, groups, f"0-{intra - 1}:{within}")


def parse_fixed(n, K, spec):
    """"class:i-j,i-j;class:..." as [(class, [(i, j)...])...]."""
    fixed = []
    for part in spec.split(";"):
        c, pairs = part.split(":")
        ps = [tuple(map(int, pr.split("-"))) for pr in pairs.split(",")]
        if not 0 <= int(c) < K or any(i == j or not (0 <= i < n and 0 <= j < n) for i, j in ps):
            sys.exit(f"--fix {part}: a class below {K} and pairs of two points below {n}")
        fixed.append((int(c), ps))
    return fixed


def cnf(n, K, z3, pattern, fixed=()):
    block, allowed = pattern
    if n % 3:
        sys.exit("n must be a multiple of 3")
    if z3 and any(block[p] != block[p - p % 3] for p in range(n)):
        sys.exit("--z3 needs every group to start at a multiple of 3 and hold whole triples")
    var, nv = pair_var(K, n)
    clauses = []

    def fresh():
        nonlocal nv
        nv += 1
        return nv

    for c in range(K):
        for i, j in itertools.combinations(range(n), 2):
            if c in allowed and frozenset((block[i], block[j])) not in allowed[c]:
                clauses.append([-var(c, i, j)])
        for i, j, k in itertools.combinations(range(n), 3):  # partners form triangles
            a, b, d = var(c, i, j), var(c, j, k), var(c, i, k)
            clauses += [[-a, -b, d], [-a, -d, b], [-b, -d, a]]
        for i in range(n):  # exactly two partners
            xs = [var(c, i, j) for j in range(n) if j != i]
            clauses.append(xs)
            for t, x in enumerate(xs):
                clauses.append([-x] + xs[:t] + xs[t + 1:])
            s = [[fresh(), fresh()] for _ in xs]  # sequential counter: at most two
            for t, x in enumerate(xs):
                clauses.append([-x, s[t][0]])
                if t:
                    clauses += [[-s[t - 1][0], s[t][0]], [-s[t - 1][1], s[t][1]],
                                [-x, -s[t - 1][0], s[t][1]], [-x, -s[t - 1][1]]]
        if z3:  # fixed by p -> the next point of its triple {3q, 3q+1, 3q+2}
            sigma = lambda p: p - p % 3 + (p + 1) % 3
            for i, j in itertools.combinations(range(n), 2):
                a, b = var(c, i, j), var(c, sigma(i), sigma(j))
                if a != b:
                    clauses += [[-a, b], [a, -b]]
    for c, pairs in fixed:  # pairs given as meeting in class c
        for i, j in pairs:
            clauses.append([var(c, i, j)])
    for i, j in itertools.combinations(range(n), 2):  # no pair twice
        for a, b in itertools.combinations(range(K), 2):
            clauses.append([-var(a, i, j), -var(b, i, j)])
    print(f"p cnf {nv} {len(clauses)}")
    for cl in clauses:
        print(" ".join(map(str, cl)), 0)


def decode(n, K, model_path, inc=None):
    true = set()
    for line in open(model_path):
        if line.startswith("s ") and "UNSATISFIABLE" in line:
            sys.exit("no such design (the solver proved it)")
        if line.startswith("v "):
            true.update(int(x) for x in line.split()[1:] if int(x) > 0)
    var, _ = pair_var(K, n)
    met, rows = set(), []
    for c in range(K):
        triads = set()
        for i in range(n):
            partners = [j for j in range(n) if j != i and var(c, i, j) in true]
            if len(partners) != 2:
                sys.exit(f"class {c}: point {i} has {len(partners)} partners")
            triads.add(tuple(sorted([i] + partners)))
        if sorted(p for t in triads for p in t) != list(range(n)):
            sys.exit(f"class {c} is not a partition into triads")
        for t in triads:
            for pair in itertools.combinations(t, 2):
                if pair in met:
                    sys.exit(f"class {c}: pair {pair} meets twice")
                met.add(pair)
        rows.append(sorted(triads))
    if inc:
        flat = [p for cls in rows for t in cls for p in t]
        print(f"static const signed char {inc}[] = {{")
        for i in range(0, len(flat), 24):
            print("    " + ", ".join(map(str, flat[i:i + 24])) + ",")
        print("};")
    else:
        for cls in rows:
            print(" ".join(",".join(map(str, t)) for t in cls))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 5 and a[0] == "cnf":
        n, K = int(a[1]), int(a[2])
        cnf(n, K, "--z3" in a[5:], blocks_pattern(n, K, [int(x) for x in a[3].split(",")], int(a[4])))
    elif len(a) >= 5 and a[0] == "pattern":
        n, K = int(a[1]), int(a[2])
        fixed = parse_fixed(n, K, a[a.index("--fix") + 1]) if "--fix" in a[5:] else []
        cnf(n, K, "--z3" in a[5:], parse_pattern(n, K, a[3], a[4]), fixed)
    elif len(a) in (4, 6) and a[0] == "decode":
        decode(int(a[1]), int(a[2]), a[3], a[5] if len(a) == 6 and a[4] == "--inc" else None)
    else:
        sys.exit(__doc__)
