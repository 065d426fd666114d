"""Regenerate ``results/reference/``: the tables and figures of one canonical CPU run.

    python benchmarks/make_reference.py            # the committed reference (minutes on 2 cores)
    python benchmarks/make_reference.py --quick    # a tiny scene, to check the script works

What it runs (everything on the CPU, one task at a time so the timings are not contended):

1. every registered codec on the synthetic default scene (128 x 128 x 64, uint16) at 0.1, 0.25,
   0.5, 1 and 2 bpppb; the GNN (stochastic) with seeds 0 and 1, at its CPU defaults;
2. two short GNN sweeps at 1 bpppb, seed 0, each task limited to 20 s of training
   (``time_budget_s=20``): loss powers p = 1, 1.5, 2, 3 (the paper's Table 1) and fixed
   structures, blocks 3/4 with 8 channels and 8-bit weights, without and with pruning 0.67
   (its Tables 2 and 4; fixed so that pruning shrinks the network instead of the rate search
   spending the saved bytes on more channels);
3. with ``--extra CUBE`` (repeatable), the classical codecs on that cube file too (the committed
   reference adds ``../shared/data/jasper_ridge.npy`` when present; absent files are skipped);
4. ``hsibench report`` with ``--anchor speck`` and ``--figures`` into the output folder.

The GNN here trains with the ``quick`` CPU schedule (a few hundred main-phase epochs at lr 5e-3,
a 20 s budget per encode): every table and figure says so.  The paper's own schedule on real
cubes is ``results/reference/paper/`` (``benchmarks/paper_study.sh``).

The run directory (records, config.json, env.jsonl with the machine and versions) is
``<out>/run``; its ``streams/`` are not committed (``<out>/run/.gitignore``).  ``<out>/README.md``
records the command, the machine and the date.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def key_numbers(records, specs) -> list[str]:
    """A markdown table: PSNR at 1 bpppb per dataset x codec (the main run's specs), and achieved bpppb."""
    from hsibench import report, runner

    canonical = {runner.record_spec(s, runner.configure(s, 0)) for s in specs}
    pts = report.rd_points(records)
    pts = pts[(pts["target_bpppb"] == 1.0) & pts["spec"].isin(canonical)]
    if pts.empty:
        return ["(no successful task at 1 bpppb)"]
    lines = ["| dataset | codec | bpppb | PSNR dB | seeds |", "|---|---|---:|---:|---:|"]
    for r in pts.sort_values(["dataset", "psnr"], ascending=[True, False]).itertuples():
        lines.append(f"| {r.dataset} | {r.spec} | {r.bpppb:.4f} | {r.psnr:.2f} | {r.n_seeds} |")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "results" / "reference"), help="output folder (default results/reference)")
    p.add_argument("--quick", action="store_true", help="a 32x32x16 scene and 30 GNN epochs: checks the script, not a reference")
    p.add_argument("--resume", action="store_true",
                   help="keep the tasks already recorded in <out>/run (default: delete the old run and redo "
                        "everything, since the committed run has no streams for the visual figures)")
    p.add_argument("--extra", action="append", default=[], metavar="CUBE",
                   help="also run the classical codecs (all but the GNN) on this cube file or dataset spec, "
                        "at the same rates; repeatable; a file that is absent is skipped with a note")
    args = p.parse_args(argv)

    from hsibench import codecs, plots, report, runner
    from hsibench.results import load_records

    out = Path(args.out)
    run_dir = out / "run"
    if not args.resume and run_dir.exists():
        shutil.rmtree(run_dir)
    dataset = "synthetic[rows=32,cols=32,bands=16]" if args.quick else "synthetic"
    gnn = "gnn[device=cpu,epochs=30]" if args.quick else "gnn[device=cpu]"
    sweep = ",epochs=30" if args.quick else ",time_budget_s=20"
    classical = [n for n in codecs.default_names() if n != "gnn"]
    plan = [
        dict(codec_specs=classical + ([gnn] if "gnn" in codecs.names() else []),
             rates=list(runner.DEFAULT_RATES), seeds=[0, 1]),
    ]
    if "gnn" in codecs.names():
        plan.append(dict(codec_specs=[f"gnn[device=cpu,snapshots=6{sweep}]",  # the paper's Fig. 9
                                      f"gnn[device=cpu,p=1|1.5|2|3{sweep}]",
                                      f"gnn[device=cpu,blocks=3|4,channels=8,weights=int8,prune=0|0.67{sweep}]"],
                         rates=[1.0], seeds=[0]))
    extras, skipped = [], []
    for spec in args.extra:
        path = Path(spec.split("[")[0]).expanduser()
        if path.suffix and not path.is_file():
            skipped.append(spec)
        else:
            extras.append(str(path.resolve()) + (spec[len(spec.split("[")[0]):]) if path.suffix else spec)
    for step in plan:
        runner.run(dataset_specs=[dataset], out=run_dir, jobs=1, progress=True, **step)
    if extras:
        runner.run(dataset_specs=extras, codec_specs=classical, rates=list(runner.DEFAULT_RATES), out=run_dir,
                   jobs=1, progress=True)
    run_dir.joinpath(".gitignore").write_text("# stream bytes are regenerated by the run, not committed\nstreams/\n")

    records = load_records(run_dir)
    made = plots.figures(run_dir, out / "figures")
    written = report.write(records, out, anchor="speck", figures=made.paths, figure_notes=made.notes)
    env = json.loads((run_dir / "env.jsonl").read_text().splitlines()[-1])
    cmd = "python benchmarks/make_reference.py" + (" --quick" if args.quick else "") + "".join(
        f" --extra {e}" for e in args.extra)
    lines = [
        "# Reference results",
        "",
        f"Regenerate with `{cmd}` from the repository root (it reruns every task; `--resume`",
        "keeps tasks already recorded). The run itself is in `run/` (records, `config.json`,",
        "`env.jsonl`; its stream bytes are not committed); `report.md` has every table and links",
        "every figure in `figures/` (PNG and PDF).",
        "",
        "The GNN here is trained with the `quick` CPU schedule (a few hundred main-phase epochs at lr 5e-3, "
        "at most 20 s per encode), not the paper's 15 000 epochs at lr 5e-4: its numbers say how the codec "
        "behaves, not what the paper's network reaches. The paper's schedule on real cubes is in `paper/`.",
        "",
        f"- run: first record {min(r['time'] for r in records)}, last {max(r['time'] for r in records)} (UTC); "
        f"report made {datetime.now(timezone.utc).isoformat(timespec='minutes')}",
        f"- machine: {env.get('cpu')} ({env.get('cpu_count')} logical CPUs visible, shared with other work: timings are noisy), "
        f"GPU: {env.get('gpu') or 'none used'}",
        f"- platform: {env.get('platform')}; hsibench commit (at the last invocation): {env.get('hsibench_commit')}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in (env.get("versions") or {}).items() if v),
        f"- dataset: `{dataset}`; codecs: {', '.join(f'`{c}`' for c in plan[0]['codec_specs'])}; "
        f"rates {', '.join(f'{r:g}' for r in runner.DEFAULT_RATES)} bpppb; GNN seeds 0 and 1",
        *([f"- also, classical codecs only: {', '.join(f'`{Path(e).name}`' for e in extras)}"] if extras else []),
        *([f"- skipped (file absent): {', '.join(skipped)}"] if skipped else []),
        f"- failed tasks (shown in the tables as failures): {sum(r['status'] != 'ok' for r in records)}",
        "",
        "PSNR (dB) at 1 bpppb target, mean over seeds (every table is in `report.md`):",
        "",
        *key_numbers(records, plan[0]["codec_specs"]),
        "",
        "Notes from the figure step:",
        "",
    ]
    lines += [f"- {n}" for n in made.notes] or ["- none"]
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for path in written + made.paths + [out / "README.md"]:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
