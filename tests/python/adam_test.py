#!/usr/bin/python3
"""tests/python/adam_test.py: the optimizer and scheduler optreg.torch.build
makes from a config reproduce the shipped golden traces
(tests/testdata/torch-adam*, tests/testdata/README.md), which the runner's
Adam arithmetic reproduces bit for bit (runner/selftest.h,
tests/unit/runner/adam_test.c): every trace's config becomes an
OptimizerConfig document, build() gets one tensor named "theta", and each
step applies the trace's raw gradient, optreg.torch.clip, opt.step and
sched.step. The learning rate of every step must equal the trace's exactly,
and every parameter and moment after every step must equal the trace's bit
for bit, clipped cases included (clip() sums the norm in the model's
parameter order, as torch does).

usage: tests/python/adam_test.py  (from the repository root; TAP)
"""

import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pytap import HAVE_TORCH, TESTDATA, Tap, bits  # noqa: E402

import optreg  # noqa: E402
import optreg.torch  # noqa: E402

tap = Tap()


def config_of(tc):
    spec = {"optimizer": tc["optimizer"], "lr": tc["lr"], "betas": tc["betas"],
            "eps": tc["eps"], "weight_decay": tc["weight_decay"],
            "amsgrad": tc["amsgrad"], "maximize": tc["maximize"]}
    for k in ("grad_clip_norm", "schedule"):
        if k in tc:
            spec[k] = tc[k]
    return {"apiVersion": "optreg/v1", "kind": "OptimizerConfig",
            "metadata": {"namespace": "team-nlp", "name": "trace"}, "spec": spec}


def t_trace(path):
    import torch
    with open(path) as f:
        tr = json.load(f)
    f32 = tr["dtype"] == "float32"
    dtype = torch.float32 if f32 else torch.float64
    cfg = config_of(tr["config"])
    theta = torch.tensor(tr["param0"], dtype=dtype, requires_grad=True)
    opt, sched = optreg.torch.build([("theta", theta)], cfg)
    want_cls = torch.optim.AdamW if tr["config"]["optimizer"] == "adamw" else torch.optim.Adam
    assert type(opt) is want_cls, type(opt)
    assert opt.optreg_grad_clip_norm == tr["config"].get("grad_clip_norm"), \
        opt.optreg_grad_clip_norm
    for t, rec in enumerate(tr["steps"], start=1):
        lr = opt.param_groups[0]["lr"]
        assert bits(lr) == bits(tr["lr_per_step"][t - 1]), \
            "step %d: lr %r, the trace %r" % (t, lr, tr["lr_per_step"][t - 1])
        assert bits(lr) == bits(optreg.schedule_lr(cfg, t))
        theta.grad = torch.tensor(tr["grads"][t - 1], dtype=dtype)
        optreg.torch.clip(opt)
        opt.step()
        sched.step()
        state = opt.state[theta]
        for field, got in (("param", theta.detach()), ("exp_avg", state["exp_avg"]),
                           ("exp_avg_sq", state["exp_avg_sq"]),
                           ("max_exp_avg_sq", state.get("max_exp_avg_sq"))):
            if field not in rec:
                continue
            for i, (g, w) in enumerate(zip(got.double().tolist(), rec[field])):
                assert bits(g) == bits(w), (
                    "step %d, %s[%d]: %r, the trace %r" % (t, field, i, g, w))


paths = sorted(glob.glob(os.path.join(TESTDATA, "torch-adam", "*.json")) +
               glob.glob(os.path.join(TESTDATA, "torch-adam-random", "*.json")))
assert paths, "no traces under %s" % TESTDATA
for p in paths:
    desc = "build() replays %s/%s" % (os.path.basename(os.path.dirname(p)), os.path.basename(p))
    tap.run_torch(desc, t_trace, p)
if not HAVE_TORCH:
    print("# torch is missing: the traces were not replayed")
sys.exit(tap.finish())
