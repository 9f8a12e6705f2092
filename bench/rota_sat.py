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


def cnf(n, K, sizes, intra, z3):
    if n % 3 or sum(sizes) != n:
        sys.exit("n must be a multiple of 3 and the block sizes must add up to n")
    block = [b for b, s in enumerate(sizes) for _ in range(s)]
    var, nv = pair_var(K, n)
    clauses = []

    def fresh():
        nonlocal nv
        nv += 1
        return nv

    for c in range(K):
        for i, j in itertools.combinations(range(n), 2):
            if c < intra and block[i] != block[j]:
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
    for i, j in itertools.combinations(range(n), 2):  # no pair twice
        for a, b in itertools.combinations(range(K), 2):
            clauses.append([-var(a, i, j), -var(b, i, j)])
    print(f"p cnf {nv} {len(clauses)}")
    for cl in clauses:
        print(" ".join(map(str, cl)), 0)


def decode(n, K, model_path):
    true = set()
    for line in open(model_path):
        if line.startswith("s ") and "UNSATISFIABLE" in line:
            sys.exit("no such design (the solver proved it)")
        if line.startswith("v "):
            true.update(int(x) for x in line.split()[1:] if int(x) > 0)
    var, _ = pair_var(K, n)
    met = set()
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
        print(" ".join(",".join(map(str, t)) for t in sorted(triads)))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 5 and a[0] == "cnf":
        cnf(int(a[1]), int(a[2]), [int(x) for x in a[3].split(",")], int(a[4]), "--z3" in a[5:])
    elif len(a) == 4 and a[0] == "decode":
        decode(int(a[1]), int(a[2]), a[3])
    else:
        sys.exit(__doc__)
