"""Regression checks on asv results: timings against the parent commit, quality against golden values.

Two sub-commands, run after ``asv run`` has stored results for the commits (``.ci/run`` does it;
see README, "Benchmarks (asv)")::

    python benchmarks/regression.py compare PARENT HEAD [--factor 2] [--flagged FILE] [--names FILE]
    python benchmarks/regression.py quality HEAD [--update]

* ``compare``: every ``time_`` and ``peakmem_`` benchmark present for both commits; a
  regression is a result worse by more than ``--factor`` *and* statistically different (asv's
  own test: ``asv compare``'s ``+``).  Prints the table; exits 1 naming each regression.
  ``--flagged FILE`` writes the regressed benchmarks' names (one a line), ``--names FILE``
  compares only the benchmarks named in such a file: ``ci_regression.sh`` re-runs the flagged
  ones on both commits and fails only on a regression seen twice, so one burst of load on a
  shared machine cannot fail CI.  Without results for PARENT (its code did not import, or
  its benchmarks all failed) there is nothing to compare: a note, exit 0.
* ``quality``: every ``track_`` benchmark of the commit against ``golden_quality.json`` beside
  this script.  The codecs are deterministic, so the values must be equal (to 1e-9 relative:
  JSON round trips are exact; the margin only absorbs the last bit of a float sum).  A changed
  value, a missing one, or a track_ benchmark without a golden value exits 1 naming it.  After
  a deliberate change (and the codec's revision bump), ``--update`` rewrites the file; commit it
  with the change that explains it.

The golden values record the library versions they were made with.  As in tests/test_golden.py, a
codec whose bytes a library's kernels shape (gnn: torch; jpeg2000, pca_jpeg2000: imagecodecs) is
not compared when that library's version differs from the golden file's (a note names it: CI
installs the newest releases, and a new imagecodecs is not this commit's regression); other
version changes (numpy, scipy) are only named beside a difference.  A torch-trained codec's
numbers also depend on the processor (tests/golden.py, ``kernel_id``): the file's ``_machines``
pins them per machine (``--pin-machine`` adds this machine's); a value that differs from the
golden one fails on a pinned machine and, on one the file does not pin, is named, not compared.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

GOLDEN = Path(__file__).with_name("golden_quality.json")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's hsibench (library versions), whatever is installed
REL_TOL = 1e-9


def _golden_streams_module():
    """tests/golden.py (the golden-stream pins), loaded by path: its LIBRARY says which codecs a library shapes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_hsibench_tests_golden", ROOT / "tests" / "golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOLDEN_STREAMS = _golden_streams_module()
LIBRARY: dict[str, str] = GOLDEN_STREAMS.LIBRARY  # codec -> the library whose kernels shape its bytes


def _asv():
    """asv's configuration, repository and results for this project (asv is the bench extra)."""
    try:
        from asv.config import Config
    except ImportError:
        sys.exit('regression.py needs asv: pip install -e ".[bench]"')
    return Config.load(str(ROOT / "asv.conf.json"))


def _machine(conf) -> str:
    from asv.machine import iter_machine_files
    from asv.util import load_json

    machines = sorted({load_json(p)["machine"] for p in iter_machine_files(conf.results_dir)})
    if len(machines) != 1:
        sys.exit(f"expected results of exactly one machine in {conf.results_dir}, found {machines or 'none'}; "
                 "run `asv machine --yes` and `asv run` first")
    return machines[0]


def results(conf, commit: str, required: bool = True) -> dict[str, tuple]:
    """Benchmark name with parameters -> (value, (stats, samples)) for one commit, from asv's results folder.

    No results exits with a message, or (``required=False``) returns ``{}``.
    """
    from asv.repo import get_repo
    from asv.results import iter_results_for_machine_and_hash
    from asv.util import UserError

    try:
        commit = get_repo(conf).get_hash_from_name(commit)
    except UserError:
        pass
    out: dict[str, tuple] = {}
    from asv.commands.compare import unroll_result

    for res in iter_results_for_machine_and_hash(conf.results_dir, _machine(conf), commit):
        for key in res.get_all_result_keys():
            params = res.get_result_params(key)
            for name, value, stats, samples in unroll_result(key, params, res.get_result_value(key, params),
                                                               res.get_result_stats(key, params),
                                                               res.get_result_samples(key, params)):
                out[name] = (value, (stats, samples))
    if not out and required:
        sys.exit(f"no asv results for commit {commit} in {conf.results_dir}")
    return out


def _codec_of(name: str) -> str | None:
    """The codec name of a benchmark whose first parameter is a codec spec (``'gnn[epochs=30]'`` -> gnn)."""
    m = re.search(r"\('([A-Za-z_][A-Za-z0-9_]*)", name)
    return m.group(1) if m else None


def _kind(name: str) -> str:
    """``time``, ``peakmem``, ``track``, ... of ``suite.Class.time_x('param', 1.0)``."""
    return name.split("(")[0].split(".")[-1].split("_")[0]


def compare(parent: str, head: str, factor: float, only: str = ".", names: set[str] | None = None,
            flagged: list[str] | None = None, label: str = "REGRESSION") -> list[str]:
    """The time_/peakmem_ benchmarks of ``head`` worse than ``parent``'s by more than ``factor`` (asv's test).

    ``names``: compare only these benchmarks; ``flagged``: a list that receives the regressed names;
    ``label`` marks them in the printed table.
    """
    from asv.commands.compare import _is_result_better

    conf = _asv()
    old, new = results(conf, parent, required=False), results(conf, head)
    if not old:
        print(f"note: no asv results for the parent {parent} (its code did not import or its benchmarks failed): "
              "timings not compared")
        return []
    rows, worse = [], []
    for name in sorted(set(old) & set(new)):
        if _kind(name) not in ("time", "peakmem") or not re.search(only, name):
            continue
        if names is not None and name not in names:
            continue
        (a, a_ss), (b, b_ss) = old[name], new[name]
        if a is None or b is None or a != a or b != b:  # failed or skipped on one side
            if a is not None and b is None:
                worse.append(f"{name}: worked on the parent, fails now")
                if flagged is not None:
                    flagged.append(name)
            continue
        flag = _is_result_better(a, b, a_ss, b_ss, factor)  # the parent is better by the factor: a regression
        rows.append((name, a, b, b / a if a else math.inf, label if flag else ""))
        if flag:
            worse.append(f"{name}: {a:.4g} -> {b:.4g} ({b / a:.2f}x, beyond the factor {factor:g})")
            if flagged is not None:
                flagged.append(name)
    width = max((len(r[0]) for r in rows), default=10)
    print(f"{'benchmark':<{width}}  {'parent':>10}  {'head':>10}  ratio")
    for name, a, b, ratio, flag in rows:
        print(f"{name:<{width}}  {a:>10.4g}  {b:>10.4g}  {ratio:5.2f}  {flag}")
    print(f"{len(rows)} timing/memory benchmarks compared at factor {factor:g}: {len(worse)} {label.lower()}(s)")
    return worse


def _versions() -> dict[str, str | None]:
    """The versions of the libraries that shape the numbers (what every record carries)."""
    from hsibench.environment import versions

    return {k: v for k, v in versions().items() if k not in ("hsibench", "python")}


def _same(want, got) -> bool:
    return (want is None and got is None) or (
        want is not None and got is not None and math.isclose(want, got, rel_tol=REL_TOL, abs_tol=0.0))


def _per_machine(name: str) -> bool:
    """Whether benchmark ``name``'s value depends on the processor (a torch-trained codec)."""
    return GOLDEN_STREAMS.per_machine(_codec_of(name))


def quality(head: str, update: bool, only: str = ".", pin_machine: bool = False) -> list[str]:
    """Every track_ result of ``head`` (matching ``only``) against the golden file (``update``: rewrite it;
    ``pin_machine``: add this machine's values of the torch-trained codecs)."""
    conf = _asv()
    # skipped benchmarks (NaN: a codec that cannot reach the rate) have no value to pin
    tracked = {name: value for name, (value, _) in results(conf, head).items()
               if _kind(name) == "track" and not (isinstance(value, float) and value != value)}
    if update or pin_machine:  # the values ``only`` selects are replaced; the others stay as they are
        old = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}
        values, machines = old.get("values", {}), old.get("_machines", {})
        new = {k: v for k, v in tracked.items() if re.search(only, k) and (update or _per_machine(k))}
        if update:
            values = {k: v for k, v in values.items() if not re.search(only, k)}
            values.update(new)
            machines = {m: {k: v for k, v in pinned.items() if not re.search(only, k)}
                        for m, pinned in machines.items()}
        mine = {k: v for k, v in new.items() if _per_machine(k)}
        if mine:
            machines.setdefault(GOLDEN_STREAMS.kernel_id(), {}).update(mine)
        out = {"_versions": _versions() if update else old.get("_versions", {}),
               "values": dict(sorted(values.items()))}
        machines = {m: dict(sorted(p.items())) for m, p in machines.items() if p}
        if machines:
            out["_machines"] = machines
        GOLDEN.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote the {len(new)} golden values matching {only!r} to {GOLDEN} ({len(values)} in all"
              + (f"; machines pinned: {', '.join(machines)}" if machines else "") + ")")
        return []
    if not GOLDEN.is_file():
        return [f"no golden values ({GOLDEN} is missing): create it with regression.py quality HEAD --update"]
    golden = json.loads(GOLDEN.read_text())
    values, versions = golden["values"], golden.get("_versions", {})
    values = {k: v for k, v in values.items() if re.search(only, k)}
    tracked = {k: v for k, v in tracked.items() if re.search(only, k)}
    now = _versions()
    moved = {codec: lib for codec, lib in LIBRARY.items() if lib in versions and versions[lib] != now.get(lib)}
    problems, uncompared, unpinned = [], [], []
    machine = None
    for name in sorted(set(values) | set(tracked)):
        codec = _codec_of(name)
        if codec in moved:  # its library's kernels shape its numbers: not this commit's change
            uncompared.append(name)
        elif name not in tracked:
            problems.append(f"{name}: golden value {values[name]!r}, no result now (failed, skipped or removed)")
        elif name not in values:
            problems.append(f"{name}: {tracked[name]!r} has no golden value (add it: regression.py quality HEAD --update)")
        else:
            want, got = values[name], tracked[name]
            same = _same(want, got)
            if not same and _per_machine(name):  # the golden value of this machine, if pinned
                machine = machine or GOLDEN_STREAMS.kernel_id()
                pinned = golden.get("_machines", {}).get(machine)
                if pinned is None:
                    unpinned.append(name)
                    continue
                if name in pinned:
                    want = pinned[name]
                    same = _same(want, got)
            if not same:
                problems.append(f"{name}: {got!r}, golden {want!r}")
    changed = {k: (versions.get(k), v) for k, v in now.items() if versions.get(k) != v}
    if uncompared:
        libs = sorted({moved[_codec_of(n)] for n in uncompared})
        print(f"note: {len(uncompared)} track_ results not compared ("
              + ", ".join(f"{lib} {versions[lib]} in {GOLDEN.name}, {now.get(lib)} installed" for lib in libs)
              + "): " + ", ".join(sorted({_codec_of(n) for n in uncompared})))
    if unpinned:
        print(f"note: {len(unpinned)} track_ results of torch-trained codecs differ from {GOLDEN.name} on this "
              f"machine, whose float kernels ({machine}) it does not pin: not compared (if the code did not change, "
              f"pin them: regression.py quality HEAD --pin-machine): " + ", ".join(unpinned))
    print(f"{len(tracked) - len([n for n in uncompared + unpinned if n in tracked])} track_ results compared with "
          f"{GOLDEN.name}: {len(problems)} differ")
    if problems and changed:
        print("note: library versions differ from the golden file's: "
              + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items()))
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare", help="time_/peakmem_ of HEAD against PARENT")
    c.add_argument("parent")
    c.add_argument("head")
    c.add_argument("--factor", type=float, default=2.0)
    c.add_argument("--flagged", type=Path, help="write the regressed benchmarks' names to this file, one a line")
    c.add_argument("--names", type=Path, help="compare only the benchmarks named in this file (as --flagged writes)")
    q = sub.add_parser("quality", help="track_ results of HEAD against golden_quality.json")
    q.add_argument("head")
    q.add_argument("--update", action="store_true")
    q.add_argument("--pin-machine", action="store_true",
                   help="add this machine's values of the torch-trained codecs (their numbers depend on the processor)")
    for sp in (c, q):
        sp.add_argument("--bench", default=".", help="only benchmarks whose name matches this regular expression")
    args = p.parse_args(argv)
    if args.cmd == "compare":
        names = set(args.names.read_text().splitlines()) - {""} if args.names else None
        flagged: list[str] = []
        # with --flagged the caller confirms each one by a re-run before it counts
        label = "FLAGGED" if args.flagged else "REGRESSION"
        problems = compare(args.parent, args.head, args.factor, args.bench, names, flagged, label)
        if args.flagged:
            args.flagged.write_text("".join(f"{n}\n" for n in flagged))
        for line in problems:
            print(f"{label} {line}", file=sys.stderr)
        return 1 if problems else 0
    problems = quality(args.head, args.update, args.bench, args.pin_machine)
    for line in problems:
        print(f"REGRESSION {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
