#!/usr/bin/python3
"""tests/python/resume_test.py: a pipeline that resumes from a checkpoint
gets the runner's rate at every step: the optimizer and scheduler that
optreg.torch.build returns, saved after k steps (torch.save of their
state_dicts) and loaded into a fresh build(), continue exactly as an
uninterrupted run (rates, parameters and moments bit for bit, each rate
equal to schedule_lr's, which schedule_test.py checks against the C
function); so does build(..., last_step=k) without a scheduler state, and
the scheduler class constructed with PyTorch's last_epoch. Loading the
scheduler's state alone sets the rate of the next step; a state saved
under another config keeps the built config's schedule, with a warning.

usage: tests/python/resume_test.py  (from the repository root; TAP)
"""

import io
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pytap import Tap, bits  # noqa: E402

import optreg  # noqa: E402
import optreg.torch  # noqa: E402

tap = Tap()

SPEC = {"optimizer": "adamw", "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
        "weight_decay": 0.01,
        "schedule": {"kind": "cosine", "warmup_steps": 4, "total_steps": 20,
                     "min_lr": 1e-5},
        "param_groups": [{"match": "bias$", "lr": 3e-3, "weight_decay": 0.0},
                         {"match": "^nothing", "lr": 5e-4}]}
DOC = {"apiVersion": "optreg/v1", "kind": "OptimizerConfig",
       "metadata": {"namespace": "team-nlp", "name": "resume"}, "spec": SPEC}
STEPS = 24  # past total_steps too


def model():
    import torch
    torch.manual_seed(7)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(),
                               torch.nn.Linear(3, 1)).double()


def batch(t):
    import torch
    g = torch.Generator().manual_seed(1000 + t)
    return torch.randn(5, 4, generator=g, dtype=torch.float64)


def train(m, opt, sched, first, last, rates):
    """Steps first..last; records the rate each group ran at."""
    for t in range(first, last + 1):
        rates.append((t, [g["lr"] for g in opt.param_groups]))
        opt.zero_grad()
        m(batch(t)).pow(2).sum().backward()
        opt.step()
        sched.step()


def want_rates(t, opt, cfg=DOC):
    return [optreg.schedule_lr(cfg, t, g["optreg_group"]) for g in opt.param_groups]


def snapshot(m, opt):
    out = [p.detach().clone() for p in m.parameters()]
    for p in m.parameters():
        st = opt.state[p]
        out += [st["exp_avg"].clone(), st["exp_avg_sq"].clone()]
    return out


def same(a, b, what):
    import torch
    assert len(a) == len(b), what
    for i, (x, y) in enumerate(zip(a, b)):
        assert torch.equal(x, y), "%s: tensor %d differs" % (what, i)


def reference():
    m = model()
    opt, sched = optreg.torch.build(m, DOC)
    rates = []
    train(m, opt, sched, 1, STEPS, rates)
    for t, r in rates:
        assert [bits(x) for x in r] == [bits(x) for x in want_rates(t, opt)], \
            "uninterrupted run, step %d: %r" % (t, r)
    return snapshot(m, opt), rates


def checkpoint(k, cfg=DOC):
    import torch
    m = model()
    opt, sched = optreg.torch.build(m, cfg)
    train(m, opt, sched, 1, k, [])
    buf = io.BytesIO()
    torch.save({"model": m.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict()}, buf)
    return buf.getvalue()


def load(raw):
    import torch
    if int(torch.__version__.split(".")[0]) >= 2:
        # what a careful pipeline does (and torch >= 2.6's default): the
        # state must be plain data
        return torch.load(io.BytesIO(raw), weights_only=True)
    return torch.load(io.BytesIO(raw))  # 1.x's weights_only refuses floats


def t_round_trip(k):
    ref_state, ref_rates = reference()
    ck = load(checkpoint(k))
    m = model()
    m.load_state_dict(ck["model"])
    opt, sched = optreg.torch.build(m, DOC)
    opt.load_state_dict(ck["opt"])
    sched.load_state_dict(ck["sched"])
    assert sched.last_epoch == k, sched.last_epoch
    assert sched.get_last_lr() == want_rates(k + 1, opt), sched.get_last_lr()
    rates = []
    train(m, opt, sched, k + 1, STEPS, rates)
    assert rates == ref_rates[k:], "resumed after %d: %r\nuninterrupted: %r" % (
        k, rates[:3], ref_rates[k:k + 3])
    same(snapshot(m, opt), ref_state, "resumed after %d steps" % k)


def t_state_has_no_config():
    ck = load(checkpoint(3))
    sd = ck["sched"]
    assert "optreg_spec" not in sd, sorted(sd)
    assert sd["optreg_spec_digest"] == optreg.digest(optreg.canonicalize(SPEC)), sd
    assert sd["last_epoch"] == 3, sd


def t_scheduler_state_alone(order):
    """The optimizer's groups still hold step 1's rate (a fresh build) or
    the checkpoint's; loading the scheduler's state sets step k+1's."""
    k = 9
    ck = load(checkpoint(k))
    m = model()
    m.load_state_dict(ck["model"])
    opt, sched = optreg.torch.build(m, DOC)
    if order == "optimizer first":
        opt.load_state_dict(ck["opt"])
    sched.load_state_dict(ck["sched"])
    got = [g["lr"] for g in opt.param_groups]
    assert got == want_rates(k + 1, opt), "after load: %r, step %d: %r" % (
        got, k + 1, want_rates(k + 1, opt))
    assert sched.get_last_lr() == got
    opt.step()
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == want_rates(k + 2, opt)


def t_last_step(k):
    ref_state, ref_rates = reference()
    ck = load(checkpoint(k))
    m = model()
    m.load_state_dict(ck["model"])
    opt, sched = optreg.torch.build(m, DOC, last_step=k)
    assert sched.last_epoch == k, sched.last_epoch
    assert [g["lr"] for g in opt.param_groups] == want_rates(k + 1, opt)
    opt.load_state_dict(ck["opt"])
    rates = []
    train(m, opt, sched, k + 1, STEPS, rates)
    assert rates == ref_rates[k:], "last_step=%d: %r" % (k, rates[:3])
    same(snapshot(m, opt), ref_state, "build(last_step=%d)" % k)


def t_last_epoch_torch_meaning():
    """type(sched)(opt, config, last_epoch=e) follows PyTorch: it steps once
    on construction, so the next opt.step() runs at step e + 2's rate; and
    it needs no initial_lr in the groups (a fresh torch.optim.AdamW)."""
    import torch
    m = model()
    cls = type(optreg.torch.build(m, DOC)[1])
    for e in (0, 5, 30):
        opt = torch.optim.AdamW(m.parameters(), lr=1.0)
        sched = cls(opt, DOC, last_epoch=e)
        assert sched.last_epoch == e + 1
        assert opt.param_groups[0]["lr"] == optreg.schedule_lr(DOC, e + 2)
    for bad in (-2, 1.5, True):
        try:
            cls(torch.optim.AdamW(m.parameters()), DOC, last_epoch=bad)
        except ValueError as e:
            assert "last_epoch" in str(e), str(e)
        else:
            raise AssertionError("last_epoch=%r was accepted" % (bad,))
    for bad in (-1, 2.0, "3"):
        try:
            optreg.torch.build(m, DOC, last_step=bad)
        except ValueError as e:
            assert "last_step" in str(e), str(e)
        else:
            raise AssertionError("last_step=%r was accepted" % (bad,))


def t_other_config():
    """A checkpoint saved under config A, resumed with config B (a longer
    schedule): the rates are B's from the next step on, with a warning."""
    k = 6
    ck = load(checkpoint(k))
    spec_b = dict(SPEC, schedule=dict(SPEC["schedule"], total_steps=200))
    doc_b = dict(DOC, spec=spec_b)
    m = model()
    opt, sched = optreg.torch.build(m, doc_b)
    opt.load_state_dict(ck["opt"])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sched.load_state_dict(ck["sched"])
    msgs = [str(x.message) for x in w if "optreg" in str(x.message)]
    assert len(msgs) == 1 and "another config" in msgs[0], msgs
    for t in range(k + 1, k + 5):
        got = [g["lr"] for g in opt.param_groups]
        assert got == want_rates(t, opt, doc_b), "step %d: %r, B gives %r" % (
            t, got, want_rates(t, opt, doc_b))
        assert got != want_rates(t, opt, DOC)
        opt.step()
        sched.step()
    # the same config: no warning
    opt, sched = optreg.torch.build(model(), DOC)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sched.load_state_dict(load(checkpoint(k))["sched"])
    assert not [x for x in w if "optreg" in str(x.message)], [str(x.message) for x in w]


def t_old_state_with_spec():
    """A state_dict from optreg 0.1.0 carried the spec itself: loading it
    must not replace the config the scheduler was built with."""
    ck = load(checkpoint(4))
    sd = dict(ck["sched"])
    del sd["optreg_spec_digest"]
    sd["optreg_spec"] = dict(SPEC, lr=9.0)
    opt, sched = optreg.torch.build(model(), DOC)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        sched.load_state_dict(sd)
    assert sched.optreg_spec is not sd["optreg_spec"]
    assert [g["lr"] for g in opt.param_groups] == want_rates(5, opt)


for k in (1, 4, 11, 20, 22):
    tap.run_torch("save after %d steps, build() and load both state_dicts: the rest "
                  "of the run equals an uninterrupted one bit for bit" % k, t_round_trip, k)
tap.run_torch("the scheduler's state_dict holds the step and the config's digest, "
              "not the config", t_state_has_no_config)
for order in ("scheduler alone", "optimizer first"):
    tap.run_torch("loading the scheduler's state (%s) sets the rate of the next step"
                  % order, t_scheduler_state_alone, order)
for k in (1, 4, 13):
    tap.run_torch("build(last_step=%d) resumes at step %d's rate, then as an "
                  "uninterrupted run" % (k, k + 1), t_last_step, k)
tap.run_torch("the scheduler class takes PyTorch's last_epoch, without initial_lr",
              t_last_epoch_torch_meaning)
tap.run_torch("a state saved under another config: the built config's rates, and a "
              "warning", t_other_config)
tap.run_torch("an old state_dict carrying a spec does not replace the built config",
              t_old_state_with_spec)
sys.exit(tap.finish())
