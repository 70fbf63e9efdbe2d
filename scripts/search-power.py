#!/usr/bin/env python3
"""Search power: for every planted bug of the given protocols, runs to the first failure from
the protocol's generic scenario (scenarios/<protocol>-generic.toml), by plain swarm sweeps and
by guided search (`faultline explore`), over several search seeds with the same run budget.

    cargo build --release -p faultline-cli
    scripts/search-power.py                       # 10 seeds, 2,000 runs each, every protocol
    scripts/search-power.py --seeds 3 --budget 1000 --protocols raft,paxos

One row per bug: the median runs to the first failure for swarm and for guided search ("not
found in N" when fewer than half the seeds found it within the budget) and their ratio; totals
at the end. Swarm seed k sweeps seeds k*budget .. (k+1)*budget with --swarm, 100 at a time; guided
seed k is `explore --seed k --runs budget`. Both count runs in seed order, so --jobs changes
neither.
"""

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

PROTOCOLS = ["raft", "paxos", "multipaxos", "lock", "ring"]


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def guided(binary, scenario, bug, seed, budget, jobs, tmp):
    out = os.path.join(tmp, f"explore-{seed}")
    shutil.rmtree(out, ignore_errors=True)
    p = run([binary, "explore", scenario, "--bug", bug, "--runs", str(budget), "--seed", str(seed), "--jobs", str(jobs), "--out", out])
    m = re.search(r"found after (\d+) runs", p.stdout)
    if p.returncode == 1 and m:
        inv = re.search(r"^FAIL \S+ seed=\d+: (\S+) after", p.stdout, re.M)
        return int(m.group(1)), inv.group(1) if inv else "?"
    if p.returncode not in (0, 1):
        sys.exit(f"explore failed ({p.returncode}): {p.stderr}")
    return None


def swarm(binary, scenario, bug, seed, budget, jobs, tmp):
    """Runs to the first failing seed, in seed order. Chunks of 100 seeds, each run whole: a
    --fail-fast sweep on several threads stops at whichever failure a thread meets first, which
    need not be the first in seed order."""
    out = os.path.join(tmp, f"swarm-{seed}")
    start = seed * budget
    for lo in range(start, start + budget, 100):
        hi = min(lo + 100, start + budget)
        shutil.rmtree(out, ignore_errors=True)
        p = run([binary, "sweep", scenario, "--bug", bug, "--swarm", "--jobs", str(jobs),
                 "--seeds", f"{lo}..{hi}", "--out", out])
        if p.returncode not in (0, 1):
            sys.exit(f"sweep failed ({p.returncode}): {p.stderr}")
        with open(os.path.join(out, "results.csv"), newline="") as f:
            failing = sorted((int(r["seed"]), r["invariant"]) for r in csv.DictReader(f) if r["verdict"] == "fail")
        if failing:
            return failing[0][0] - start + 1, failing[0][1]
    return None


def median(found, seeds, budget):
    """Median with 'not found' as infinity; None when fewer than half the seeds found it."""
    vals = sorted(v[0] if v is not None else float("inf") for v in found)
    m = statistics.median_low(vals) if len(vals) % 2 else statistics.median(vals)
    return None if m == float("inf") else m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/faultline")
    ap.add_argument("--protocols", default=",".join(PROTOCOLS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--bugs", default="", help="only these bugs (comma-separated)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="search-power-")
    only = set(filter(None, a.bugs.split(",")))
    rows = []
    print(f"| bug | swarm: runs to first failure (median of {a.seeds}) | guided | swarm / guided | other invariants hit |")
    print("|---|--:|--:|--:|---|")
    for protocol in a.protocols.split(","):
        scenario = f"scenarios/{protocol}-generic.toml"
        bugs = json.loads(run([a.binary, "bugs", "--protocol", protocol, "--format", "json"]).stdout)
        for b in bugs:
            name = b["name"]
            if only and name not in only:
                continue
            s = [swarm(a.binary, scenario, name, k, a.budget, a.jobs, tmp) for k in range(a.seeds)]
            g = [guided(a.binary, scenario, name, k, a.budget, a.jobs, tmp) for k in range(a.seeds)]
            ms, mg = median(s, a.seeds, a.budget), median(g, a.seeds, a.budget)
            fmt = lambda m: f"{m:g}" if m is not None else f"not found in {a.budget}"
            ratio = f"{ms / mg:.1f}×" if ms is not None and mg is not None else "–"
            # The invariants the failures broke, where one is not the bug's own catcher.
            other = sorted({v[1] for v in s + g if v is not None and v[1] != b["caught_by"]})
            note = f" (also: {', '.join(other)})" if other else ""
            print(f"| {name} | {fmt(ms)} | {fmt(mg)} | {ratio} |{note}", flush=True)
            rows.append((name, ms, mg, sum(v is not None for v in s), sum(v is not None for v in g)))

    found_s = sum(1 for r in rows if r[1] is not None)
    found_g = sum(1 for r in rows if r[2] is not None)
    print(f"\ntotals: {len(rows)} bugs; found (median within budget) by swarm {found_s}, by guided {found_g}; "
          f"seeds that found it: swarm {sum(r[3] for r in rows)}, guided {sum(r[4] for r in rows)} of {len(rows) * a.seeds}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
