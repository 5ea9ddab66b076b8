#!/usr/bin/python3
"""tests/python/schedule_test.py: optreg.torch.schedule_lr and the LambdaLR
that optreg.torch.build returns give, at every step, the same double as
validator/config.c's optreg_config_schedule_lr (printed by tests/tools/pyref
with %.17g), bit for bit: every schedule kind, warmup 0, warmup only, steps
past total_steps, min_lr, and param groups with and without their own lr.

usage: tests/python/schedule_test.py  (from the repository root; TAP)
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pytap import Tap, bits, pyref  # noqa: E402

import optreg  # noqa: E402
import optreg.torch  # noqa: E402

tap = Tap()
TMP = tempfile.mkdtemp(prefix="optreg-pyschedule.")

GROUPS = [{"match": "bias", "lr": 0.02}, {"match": "norm", "weight_decay": 0.0},
          {"match": "^emb\\.", "lr": 7.77e-5}]


def doc(lr, schedule=None, groups=None, optimizer="adamw"):
    spec = {"optimizer": optimizer, "lr": lr, "betas": [0.9, 0.999], "eps": 1e-8,
            "weight_decay": 0.01}
    if schedule is not None:
        spec["schedule"] = schedule
    if groups:
        spec["param_groups"] = groups
    return {"apiVersion": "optreg/v1", "kind": "OptimizerConfig",
            "metadata": {"namespace": "team-nlp", "name": "sched"}, "spec": spec}


def S(kind, W=None, T=None, min_lr=None):
    s = {"kind": kind}
    if W is not None:
        s["warmup_steps"] = W
    if T is not None:
        s["total_steps"] = T
    if min_lr is not None:
        s["min_lr"] = min_lr
    return s


# (description, config, steps): every kind, warmup 0, warmup only (W = T),
# past total_steps, min_lr; awkward rates so that rounding shows.
CASES = [
    ("no schedule", doc(3e-4), 12),
    ("constant, no warmup", doc(1e-3, S("constant")), 10),
    ("constant, warmup 5, no total", doc(3e-4, S("constant", W=5)), 12),
    ("constant, warmup 5, total 10, past total", doc(3e-4, S("constant", 5, 10)), 15),
    ("constant, warmup only (W = T = 7)", doc(7.77e-5, S("constant", 7, 7)), 12),
    ("linear, warmup 0", doc(1e-3, S("linear", 0, 20)), 25),
    ("linear, warmup 5, min_lr, past total", doc(3e-4, S("linear", 5, 20, 1e-5)), 26),
    ("linear, warmup only (W = T = 10)", doc(0.1, S("linear", 10, 10, 0.01)), 14),
    ("linear, total 1", doc(0.1, S("linear", 0, 1, 0.05)), 4),
    ("cosine, warmup 0", doc(1e-3, S("cosine", 0, 20)), 25),
    ("cosine, warmup 5, min_lr, past total", doc(3e-4, S("cosine", 5, 20, 1e-5)), 26),
    ("cosine, warmup only (W = T = 10)", doc(3e-4, S("cosine", 10, 10)), 13),
    ("cosine, long (W 37, T 1000)", doc(6.1e-4, S("cosine", 37, 1000, 3.3e-6)), 1010),
    ("inverse_sqrt, warmup 0", doc(1e-3, S("inverse_sqrt")), 30),
    ("inverse_sqrt, warmup 1", doc(3e-4, S("inverse_sqrt", 1)), 30),
    ("inverse_sqrt, warmup 4, total 20, past total", doc(2e-2, S("inverse_sqrt", 4, 20)), 26),
    ("inverse_sqrt, warmup 10, min_lr (unused)", doc(7.77e-5, S("inverse_sqrt", 10, None, 1e-6)), 40),
    ("cosine with param groups", doc(3e-4, S("cosine", 5, 30, 1e-6), GROUPS), 35),
    ("linear with param groups", doc(1e-3, S("linear", 3, 12), GROUPS, "adam"), 15),
    ("inverse_sqrt with param groups", doc(1e-3, S("inverse_sqrt", 6), GROUPS), 20),
    ("no schedule with param groups", doc(1e-3, None, GROUPS), 5),
]


def c_rates(cfg, steps):
    path = os.path.join(TMP, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    rows = []
    for line in pyref("lr", path, str(steps)):
        parts = line.split()
        rows.append([float(x) for x in parts[1:]])
    assert len(rows) == steps, "pyref printed %d rows, not %d" % (len(rows), steps)
    return rows


def t_schedule_lr(cfg, steps):
    rows = c_rates(cfg, steps)
    ngroups = len(cfg["spec"].get("param_groups") or [])
    for t in range(1, steps + 1):
        want = rows[t - 1]
        assert len(want) == 1 + ngroups, "pyref row %d: %r" % (t, want)
        for gi, w in zip([None] + list(range(ngroups)), want):
            got = optreg.schedule_lr(cfg, t, gi)
            assert bits(got) == bits(w), (
                "step %d, group %r: schedule_lr gives %r (%s), C gives %r (%s)"
                % (t, gi, got, bits(got), w, bits(w)))
            # the spec alone works too, and optreg.torch.schedule_lr is the same
            assert bits(optreg.torch.schedule_lr(cfg["spec"], t, gi)) == bits(w)


def t_scheduler(cfg, steps):
    """The rate the t-th opt.step() runs at, per param group, from the
    LambdaLR that build() returns (sched.step() after every opt.step())."""
    import torch
    rows = c_rates(cfg, steps)
    names = ["emb.weight", "fc.weight", "fc.bias", "norm.weight"]
    params = [(n, torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))) for n in names]
    opt, sched = optreg.torch.build(params, cfg)
    assert isinstance(sched, torch.optim.lr_scheduler.LambdaLR), type(sched)
    for t in range(1, steps + 1):
        for g in opt.param_groups:
            gi = g["optreg_group"]
            w = rows[t - 1][0 if gi is None else gi + 1]
            assert bits(g["lr"]) == bits(w), (
                "step %d, param group %r: the optimizer runs at %r, C gives %r"
                % (t, gi, g["lr"], w))
        for _, p in params:
            p.grad = torch.ones_like(p)
        opt.step()
        sched.step()
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]


def t_step_zero_refused():
    cfg = doc(1e-3, S("linear", 0, 10))
    for bad in (0, -1):
        try:
            optreg.schedule_lr(cfg, bad)
        except ValueError as e:
            assert "step must be 1 or more" in str(e), str(e)
        else:
            raise AssertionError("schedule_lr(step=%d) did not raise" % bad)
    try:
        optreg.schedule_lr(cfg, 1, 3)
    except IndexError as e:
        assert "param_groups" in str(e), str(e)
    else:
        raise AssertionError("schedule_lr(group=3) without groups did not raise")


# Schedules the validator refuses: schedule_lr refuses them too, naming the
# field (its formula is the runner's only for valid ones).
INVALID = [
    ("total_steps < warmup_steps", S("linear", 10, 5), "warmup_steps"),
    ("cosine without total_steps", S("cosine", 5), "total_steps"),
    ("linear without total_steps", S("linear"), "total_steps"),
    ("negative warmup_steps", S("constant", -3), "warmup_steps"),
    ("total_steps 0", S("inverse_sqrt", 0, 0), "total_steps"),
    ("warmup_steps 2.5", S("constant", 2.5), "warmup_steps"),
    ("warmup_steps over 1e9", S("constant", 10 ** 9 + 1), "warmup_steps"),
    ("min_lr above lr", S("linear", 0, 10, 0.5), "min_lr"),
    ("negative min_lr", S("cosine", 0, 10, -1e-4), "min_lr"),
    ("no kind", {"warmup_steps": 3}, "kind"),
    ("unknown kind", S("exponential", 0, 10), "kind"),
]


def t_invalid_refused(schedule, field):
    import subprocess
    from pytap import PYREF
    cfg = doc(1e-3, schedule)
    path = os.path.join(TMP, "invalid.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    p = subprocess.run([PYREF, "lr", path, "3"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1, "the C validator accepts %r (exit %d)" % (schedule, p.returncode)
    assert field.encode() in p.stderr, p.stderr
    for t in (1, 4, 20):
        try:
            optreg.schedule_lr(cfg, t)
        except ValueError as e:
            assert "spec.schedule." + field in str(e), str(e)
        else:
            raise AssertionError("schedule_lr(%r, %d) did not raise" % (schedule, t))


def t_huge_steps():
    """Steps far past total_steps stay at the total_steps rate; without
    total_steps, inverse_sqrt and constant go on; a step that does not fit
    the runner's 64-bit count is refused."""
    for cfg, T in ((doc(3e-4, S("cosine", 5, 20, 1e-5)), 20),
                   (doc(3e-4, S("linear", 0, 7)), 7)):
        for t in (10 ** 6, 10 ** 12, 2 ** 63 - 1):
            assert bits(optreg.schedule_lr(cfg, t)) == bits(optreg.schedule_lr(cfg, T))
    cfg = doc(1e-3, S("inverse_sqrt", 4))
    big = 10 ** 12
    assert optreg.schedule_lr(cfg, big) == 1e-3 * (4.0 / float(big)) ** 0.5 or \
        abs(optreg.schedule_lr(cfg, big) / (1e-3 * (4.0 / big) ** 0.5) - 1) < 1e-15
    assert optreg.schedule_lr(doc(1e-3, S("constant", 2)), 2 ** 62) == 1e-3
    for bad in (2 ** 63, 10 ** 400):
        try:
            optreg.schedule_lr(cfg, bad)
        except ValueError as e:
            assert "64 bits" in str(e), str(e)
        else:
            raise AssertionError("step %d was accepted" % bad)


def t_docs_example():
    # docs/config.md: cosine, lr 1e-3, W 100, T 1000, min_lr 0: step 50 runs
    # at 5e-4, step 100 at 1e-3, step 550 at 5e-4, step 1000 and after at 0.
    cfg = doc(1e-3, S("cosine", 100, 1000, 0))
    for t, want in ((50, 5e-4), (100, 1e-3), (1000, 0.0), (5000, 0.0)):
        got = optreg.schedule_lr(cfg, t)
        assert got == want, "step %d: %r, docs/config.md says %r" % (t, got, want)
    assert abs(optreg.schedule_lr(cfg, 550) - 5e-4) < 1e-18


for desc, cfg, steps in CASES:
    tap.run("schedule_lr equals optreg_config_schedule_lr bit for bit: %s (%d steps)"
            % (desc, steps), t_schedule_lr, cfg, steps)
for desc, cfg, steps in CASES:
    tap.run_torch("the LambdaLR from build() runs every step at the C rate: %s" % desc,
                  t_scheduler, cfg, steps)
tap.run("schedule_lr refuses step < 1 and a group that does not exist", t_step_zero_refused)
tap.run("schedule_lr gives docs/config.md's cosine example", t_docs_example)
for desc, schedule, field in INVALID:
    tap.run("schedule_lr refuses what the validator refuses: %s" % desc,
            t_invalid_refused, schedule, field)
tap.run("huge steps: held at total_steps, inverse_sqrt goes on, past 64 bits refused",
        t_huge_steps)
sys.exit(tap.finish())
