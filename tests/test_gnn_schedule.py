"""The GNN's schedule policy (gnn/schedule.py): pure functions, so every rule is checked exactly."""

from __future__ import annotations

import pytest

from hsibench.codecs.neural import schedule as shared_schedule
from hsibench.codecs.neural.gnn import schedule as S
from hsibench.codecs.neural.gnn.structure import Geometry, Structure, macs_per_image

GEO = Geometry(100, 100, 198)
SMALL = Geometry(16, 16, 8)
BIG = Structure(4, 64, 0.0, "float32")
TINY = Structure(2, 1, 0.0, "float32")


def cfg(**kw):
    base = {"schedule": "auto", "lr": None, "epochs": None, "time_budget_s": None, "amp": True, "threads": None,
            "prune_rounds": 3, "p": 1.5, "seed": 0, "tile_batch": 4}
    return {**base, **kw}


def test_auto_is_the_paper_on_cuda_and_quick_on_the_cpu():
    cuda, cpu = S.policy(cfg(), "cuda"), S.policy(cfg(), "cpu", cores=2)
    assert (cuda.name, cuda.lr, cuda.main_epochs, cuda.time_budget_s, cuda.amp) == ("paper", 5e-4, 15000, None, True)
    assert (cpu.name, cpu.lr, cpu.main_epochs, cpu.time_budget_s, cpu.amp) == ("quick", 5e-3, None, 20.0, False)
    assert cpu.threads == "auto:2" and cuda.threads is None


def test_paper_on_the_cpu_runs_15000_main_epochs_with_pruning_and_finetune_on_top():
    t = S.resolve(cfg(schedule="paper"), GEO, Structure(4, 16, 0.67, "int8"), "cpu", cores=2)
    assert (t.policy, t.lr, t.main_epochs, t.time_budget_s) == ("paper", 5e-4, 15000, None)
    assert t.prune_epochs == 3000 and t.finetune_epochs == 2250 and t.total_epochs == 20250
    assert t.finetune_lr == pytest.approx(1e-4)
    plain = S.resolve(cfg(schedule="paper"), GEO, BIG, "cpu", cores=2)
    assert (plain.prune_epochs, plain.finetune_epochs, plain.total_epochs) == (0, 0, 15000)  # folds exactly


def test_explicit_values_override_the_policy():
    t = S.resolve(cfg(schedule="paper", epochs=100, lr=1e-3, time_budget_s=5.0), GEO, BIG, "cpu", cores=2)
    assert (t.main_epochs, t.lr, t.time_budget_s, t.policy) == (100, 1e-3, 5.0, "paper")


def test_quick_epochs_come_from_the_compute_budget_and_are_clamped():
    big = S.resolve(cfg(), GEO, BIG, "cpu", cores=2)
    step = 3 * macs_per_image(GEO, BIG)
    lo, hi = S.QUICK_EPOCHS_RANGE
    assert big.main_epochs == int(min(max(S.QUICK_WORK_MACS / step, lo), hi))
    assert S.resolve(cfg(), SMALL, TINY, "cpu", cores=2).main_epochs == hi


def test_threads_every_core_even_for_tiny_networks_and_fixed_threads_win():
    assert S.resolve(cfg(), GEO, BIG, "cpu", cores=8).threads == 8
    assert S.resolve(cfg(), SMALL, TINY, "cpu", cores=8).threads == 8  # measured faster (gnn_threads.py)
    assert S.resolve(cfg(), SMALL, TINY, "cpu", cores=1).threads == 1


def test_shared_rule_keeps_one_thread_below_a_codecs_threshold():
    p = shared_schedule.Policy("quick", "cpu", 1e-3, None, None, False, "auto:4")
    assert shared_schedule.cpu_threads(p, 1e6) == 1
    assert shared_schedule.cpu_threads(p, 1e6, small_step_macs=0) == 4
    assert shared_schedule.cpu_threads(p, 1e9) == 4
    assert S.resolve(cfg(threads=3), SMALL, TINY, "cpu", cores=8).threads == 3
    assert S.resolve(cfg(), GEO, BIG, "cuda").threads is None


def test_finetune_only_where_the_stored_network_differs_from_the_trained_one():
    assert not S.needs_finetune(GEO, BIG, amp=False)
    assert S.needs_finetune(GEO, Structure(4, 8, 0.0, "float16"), amp=False)
    assert S.needs_finetune(Geometry(32, 32, 8, n_tiles=4), BIG, amp=False)
    assert S.needs_finetune(GEO, BIG, amp=True)
    assert S.resolve(cfg(), GEO, BIG, "cuda").finetune_epochs == 2250  # bfloat16 training on CUDA


def test_search_cap_only_for_the_quick_cpu_policy():
    assert S.search_cap(S.policy(cfg(), "cpu", cores=2), 1) == S.QUICK_WORK_MACS / S.QUICK_EPOCHS_RANGE[0]
    assert S.search_cap(S.policy(cfg(schedule="paper"), "cpu", cores=2), 1) is None
    assert S.search_cap(S.policy(cfg(epochs=50), "cpu", cores=2), 1) is None
    assert S.search_cap(S.policy(cfg(), "cuda"), 1) is None


def test_unknown_policy_is_an_error():
    with pytest.raises(ValueError):
        S.policy(cfg(schedule="fast"), "cpu")
