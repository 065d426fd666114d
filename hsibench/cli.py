"""The ``hsibench`` command: run | report | datasets | codecs.

Results and paths go to stdout, progress bars to stderr; an hsibench error is one line on
stderr.  Exit status: 0 success; 2 a usage error (bad arguments, an unknown codec or dataset,
a bad rate: :class:`~hsibench.errors.UsageError`, or argparse's own errors); 1 a runtime
failure (a task failed, a file is missing or unreadable, any other hsibench error); 130 an
interrupt.  ``python -m hsibench`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from . import __version__, claims, codecs, datasets, executors, presets, report
from .errors import HsibenchError, InvalidParameterError, InvalidRateError, UsageError
from .results import load_records
from .runner import CHECKPOINTS, DEFAULT_DATASET, DEFAULT_RATES, parse_seeds, parse_shard, plan, run


def _rates(text: str) -> list[float]:
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise InvalidRateError(f"--rates takes comma-separated numbers, e.g. 0.1,0.5,1; got {text!r}") from None
    return rates


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hsibench", description="Benchmark lossy hyperspectral-image codecs.")
    p.add_argument("--version", action="version", version=f"hsibench {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run codecs x datasets x rates and record the results")
    r.add_argument("--codecs", default=None,
                   help="comma-separated codec specs, e.g. 'pca,speck,gnn[blocks=4]' (default: every codec that "
                        "reaches the default rates; `hsibench codecs list` says which do not); "
                        "'|' separates alternatives to sweep: 'gnn[blocks=2|3|4,prune=0|0.67]' runs all 6")
    r.add_argument("--dataset", default=DEFAULT_DATASET,
                   help="comma-separated dataset names, specs or file paths (default: synthetic)")
    r.add_argument("--rates", default=",".join(f"{x:g}" for x in DEFAULT_RATES), help="target bpppb, comma-separated")
    r.add_argument("--out", default=None, help="run directory (default: results/<dataset>)")
    r.add_argument("--force", action="store_true", help="re-run tasks that are already recorded")
    r.add_argument("--seed", type=int, default=0, help="seed for stochastic codecs (default 0)")
    r.add_argument("--seeds", default=None,
                   help="several seeds for stochastic codecs, e.g. 0,1,2 or 0-4 (replaces --seed; "
                        "deterministic codecs run once, with the first)")
    r.add_argument("--jobs", "-j", type=int, default=None,
                   help="local executor: run CPU codecs in N worker processes (default 1; GPU-capable codecs stay "
                        "in the main process; timings then include contention); dask executor: the local "
                        "cluster's worker processes (default: one per usable core)")
    r.add_argument("--executor", default="local", choices=sorted(executors.EXECUTORS),
                   help="where tasks run: local processes (default) or a Dask cluster (needs the dask extra); "
                        "the driver writes every record either way")
    r.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="--executor dask: a running Dask scheduler, e.g. tcp://HOST:8786 (default: start a "
                        "local cluster sized to this machine, with one GPU worker per visible GPU)")
    r.add_argument("--no-warmup", action="store_true",
                   help="time each codec's first task cold (by default an untimed warm-up on a small crop first "
                        "takes JIT compilation and library start-up out of the timings)")
    r.add_argument("--no-streams", action="store_true",
                   help="do not keep the stream bytes in RUN/streams/ (figures then cannot show reconstructions)")
    r.add_argument("--data-dir", default=None, help="dataset cache folder (default: $HSIBENCH_DATA, else the per-user cache, e.g. ~/.cache/hsibench)")
    r.add_argument("--download", action="store_true", help="download registered datasets that are missing")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--preset", default=None, choices=sorted(presets.PRESETS),
                   help="run a documented study instead of --codecs/--rates: " + "; ".join(
                       f"{p.name}: {p.doc}" for p in presets.PRESETS.values()))
    r.add_argument("--match-rate", default=None, metavar="CODEC",
                   help="after the other tasks, run every other codec at the exact achieved rate of each record of "
                        "CODEC (e.g. gnn), so reports compare at equal bytes")
    r.add_argument("--shard", default=None, metavar="I/N",
                   help="run only the I-th of N deterministic slices of the task list (array jobs sharing --out)")
    r.add_argument("--dry-run", action="store_true",
                   help="list the tasks the command would run and which are already recorded; run nothing, write nothing")

    rep = sub.add_parser("report", help="tables (and figures) from the records of a run")
    rep.add_argument("run", help="run directory or records .jsonl file")
    rep.add_argument("--format", choices=("markdown", "csv"), default="markdown",
                     help="what to print when no --out is given: the whole markdown report, or the results as CSV")
    rep.add_argument("--anchor", default="speck", help="codec (or spec) the BD metrics are computed against (default speck)")
    rep.add_argument("--bd-method", default="cubic",
                     help="Bjøntegaard interpolation: cubic (VCEG-M33 polynomial, default) or pchip")
    rep.add_argument("--out", default=None,
                     help="write report.md, results.csv, bd.csv, table1-4.csv (and figures/) into this folder")
    rep.add_argument("--figures", action="store_true",
                     help="also draw the figures (PNG and PDF) into OUT/figures (default OUT: RUN/report)")
    rep.add_argument("--dataset", default=None, help="figures: only this dataset (default: every dataset)")
    rep.add_argument("--rate", type=float, default=None,
                     help="figures: target bpppb of the visual comparison (default: the one closest to 1)")
    rep.add_argument("--pixel", default=None, help="figures: ROW,COL of the spectrum figure (default: the centre)")
    rep.add_argument("--data-dir", default=None, help="dataset folder to reload originals for the visual figures")
    rep.add_argument("--match-rate", default=None, metavar="CODEC",
                     help="add a table (and match_CODEC.csv) with every other codec at the exact size of each CODEC "
                          "stream (records run with `run --match-rate CODEC`, or kept embedded streams truncated)")

    d = sub.add_parser("datasets", help="list, describe or download datasets")
    dsub = d.add_subparsers(dest="action", required=True)
    dsub.add_parser("list", help="registered datasets and whether they are downloaded")
    di = dsub.add_parser("info", help="everything known about one dataset")
    di.add_argument("name")
    di.add_argument("--json", action="store_true", help="print it as one JSON object")
    dd = dsub.add_parser("download", help="download and verify one dataset")
    dd.add_argument("name")
    for q in (d, di, dd):
        q.add_argument("--data-dir", default=None,
                       help="dataset cache folder (default: $HSIBENCH_DATA, else the per-user cache, e.g. ~/.cache/hsibench)")

    c = sub.add_parser("codecs", help="list codecs (built in and plugins) or check one against the contract")
    csub = c.add_subparsers(dest="action", required=True)
    csub.add_parser("list", help="every codec, its parameters, and where plugin codecs come from")
    cc = csub.add_parser("check", help="run the codec contract checks on one spec (e.g. a plugin codec)")
    cc.add_argument("spec", help="codec spec, e.g. mycodec or 'pca[components=4]'")
    cc.add_argument("--rates", default="0.5,1,2", help="increasing target bpppb (default 0.5,1,2)")
    return p


def _executor(args) -> executors.Executor:
    """The executor the run options ask for (``--executor``, ``--jobs``, ``--scheduler``)."""
    if args.executor == "local":
        if args.scheduler is not None:
            raise InvalidParameterError("--scheduler is for --executor dask")
        return executors.make("local", jobs=1 if args.jobs is None else args.jobs)
    return executors.make(args.executor, scheduler=args.scheduler, workers=args.jobs)


def _cmd_dry_run(args, dataset_specs: list[str], codec_specs: list[str] | None) -> int:
    """``run --dry-run``: the task list as a markdown table, each task marked recorded or to run."""
    if args.executor == "local" and args.scheduler is not None:
        raise InvalidParameterError("--scheduler is for --executor dask")
    p = plan(dataset_specs=dataset_specs, codec_specs=codec_specs, rates=_rates(args.rates), out=args.out,
             seed=args.seed, seeds=parse_seeds(args.seeds) if args.seeds is not None else None,
             data_dir=args.data_dir, download=False, preset=args.preset, match_rate=args.match_rate,
             shard_of=parse_shard(args.shard))
    print("| key | dataset | codec | bpppb | seed | status |\n|---|---|---|---:|---:|---|")
    for t in p.tasks:
        state = "to run" if args.force or t.key not in p.done else "recorded"
        owner = claims.holder(p.out / CHECKPOINTS / t.key) if state == "to run" else None
        if owner is not None:
            state = f"running (pid {owner.get('pid')} on {owner.get('host')})"
        print(f"| {t.key} | {t.scene.name} | {t.spec} | {t.rate:g} | {t.seed} | {state} |")
    todo = len(p.tasks) if args.force else len(p.pending())
    print(f"dry run: {len(p.tasks)} tasks, {todo} to run, {len(p.tasks) - todo} already recorded in {p.out}"
          + (f"; tasks at the sizes of {p.match_rate}'s streams come after these (--match-rate)" if p.match_rate else ""))
    return 0


def _cmd_run(args) -> int:
    dataset_specs = codecs.split_specs(args.dataset)
    codec_specs = codecs.split_specs(args.codecs) if args.codecs else None
    if args.dry_run:
        return _cmd_dry_run(args, dataset_specs, codec_specs)
    with _executor(args) as executor:
        summary = run(
            dataset_specs=dataset_specs,
            codec_specs=codec_specs,
            rates=_rates(args.rates),
            out=args.out,
            seed=args.seed,
            seeds=parse_seeds(args.seeds) if args.seeds is not None else None,
            executor=executor,
            force=args.force,
            keep_streams=not args.no_streams,
            warmup=not args.no_warmup,
            data_dir=args.data_dir,
            download=args.download,
            progress=not args.no_progress,
            preset=args.preset,
            match_rate=args.match_rate,
            shard_of=parse_shard(args.shard),
        )
    if codec_specs is None and args.preset is None:
        for name in codecs.names():
            cls = codecs.codec_class(name)
            if not cls.in_default_run:
                print(f"note: {name} is not in the default run: {cls.default_excluded}", file=sys.stderr)
    records = load_records(summary.out)
    print(report.markdown(records))
    elsewhere = f", {summary.elsewhere} left to other processes sharing the folder" if summary.elsewhere else ""
    print(f"records: {summary.out / 'records.jsonl'} ({summary.ran} run, {summary.skipped} already recorded, "
          f"{len(summary.failed)} failed{elsewhere})")
    for rec in summary.failed:
        print(f"failed: {rec['dataset']['name']} {rec['codec']['spec']} @ {rec['target_bpppb']:g}: "
              f"{rec['error']['type']}: {rec['error']['message']}", file=sys.stderr)
    return 1 if summary.failed else 0


def _cmd_report(args) -> int:
    records = load_records(args.run)
    run_dir = Path(args.run) if Path(args.run).is_dir() else Path(args.run).parent
    if args.match_rate is not None:
        codecs.codec_class(args.match_rate)  # an unknown codec is an error, not an empty table
    extra = dict(run_dir=run_dir, data_dir=args.data_dir, match_rate=args.match_rate)
    if args.bd_method not in report.bd.METHODS:
        raise InvalidParameterError(f"unknown --bd-method {args.bd_method!r}; use one of: {', '.join(report.bd.METHODS)}")
    out = Path(args.out) if args.out else None
    if out is None and args.figures:
        run_dir = Path(args.run)
        out = (run_dir if run_dir.is_dir() else run_dir.parent) / "report"
    if out is None:
        text = report.render(records, anchor=args.anchor, method=args.bd_method, **extra) \
            if args.format == "markdown" else report.csv(records)
        print(text, end="" if text.endswith("\n") else "\n")
        return 0
    for path in report.write(records, out, anchor=args.anchor, method=args.bd_method, **extra):
        print(path)
    if args.figures:
        from . import plots

        pixel = None
        if args.pixel:
            try:
                pixel = tuple(int(v) for v in args.pixel.split(","))
                assert len(pixel) == 2
            except (ValueError, AssertionError):
                raise InvalidParameterError(f"--pixel takes ROW,COL (two integers); got {args.pixel!r}") from None
        made = plots.figures(args.run, out / "figures", dataset=args.dataset, rate=args.rate, pixel=pixel,
                             data_dir=args.data_dir)
        report.write(records, out, anchor=args.anchor, method=args.bd_method,  # report.md links the figures
                     figures=made.paths, figure_notes=made.notes, **extra)
        for path in made.paths:
            print(path)
        for note in made.notes:
            print(f"note: {note}", file=sys.stderr)
    return 0


def _cmd_datasets(args) -> int:
    root = args.data_dir
    if args.action == "list":
        print("| name | title | shape | downloaded |\n|---|---|---|---|")
        for name in datasets.names():
            entry = datasets.info(name)
            shape = "×".join(map(str, entry.shape))
            print(f"| {name} | {entry.title} | {shape} | {'yes' if datasets.is_downloaded(name, root) else 'no'} |")
    elif args.action == "info":
        entry = datasets.info(args.name)
        about = {key: dict(value) if key == "crops" else value for key, value in vars(entry).items()}
        if entry.filename:
            about["path"] = str(datasets.path(entry.name, root))
        about["downloaded"] = datasets.is_downloaded(entry.name, root)
        if args.json:
            print(json.dumps(about, indent=2, default=list))
        else:
            for key, value in about.items():
                print(f"{key}: {value}")
    else:
        print(datasets.download(args.name, root))
    return 0


def _cmd_codecs(args) -> int:
    if args.action == "check":
        from .codecs import contract

        codecs.get(args.spec)  # an unknown codec or parameter is a usage error
        results = contract.check(args.spec, _rates(args.rates))
        for name, problem in results:
            print(f"{'ok  ' if problem is None else 'FAIL'} {name}" + ("" if problem is None else f": {problem}"))
        failed = sum(p is not None for _, p in results)
        print(f"{args.spec}: {len(results) - failed} of {len(results)} contract checks passed")
        return 1 if failed else 0
    for name in codecs.names():
        cls = codecs.codec_class(name)
        origin = codecs.plugins.source(name)
        print(f"{name}: {cls.summary}" + (f" [plugin: {origin}]" if origin else "")
              + ("" if cls.in_default_run else f" [not in the default run: {cls.default_excluded}]"))
        for key, p in cls.params.items():
            default = "auto" if p.default is None else p.default
            print(f"    {key} ({p.type.__name__}, default {default}): {p.doc}")
    for name, why in codecs.plugins.errors().items():
        print(f"{name}: [plugin left out] {why}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hsibench`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    handler = {"run": _cmd_run, "report": _cmd_report, "datasets": _cmd_datasets, "codecs": _cmd_codecs}[args.command]
    try:
        return handler(args)
    except UsageError as exc:
        print(f"hsibench: error: {exc}", file=sys.stderr)
        return 2
    except HsibenchError as exc:
        print(f"hsibench: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hsibench: interrupted; recorded results are kept, re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
