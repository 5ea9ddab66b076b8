#!/usr/bin/python3
"""examples/pytorch/train.py: a training pipeline that takes its optimizer
from optreg, pinned by a lock file.

    optreg pin team-nlp/mlp@prod -o optimizer.lock     # once, reviewed and committed
    python3 examples/pytorch/train.py --lock optimizer.lock

It fetches the pinned config (through the optreg CLI: digest, signature,
receipt and inclusion proof checked against the lock, and served from the
local cache when the registry is down), builds torch.optim.AdamW/Adam and
its LambdaLR scheduler from it (param groups, clipping and the schedule as
the registry's runner judged them), and trains a small MLP on synthetic
regression data for a few steps, printing the step, learning rate and loss.

Options: --lock FILE (default optimizer.lock), --via cli|rest (rest: plain
HTTP from Python, digest-checked against the lock, no signature check and
no cache), --steps N (default 20), --cli PATH (the optreg program),
--checkpoint FILE (resume from FILE when it exists, run --steps more steps,
save there: the rates go on where they stopped, as in one long run).
Registry and token: $OPTREG_URL, $OPTREG_TOKEN as for the CLI.
"""

import argparse
import collections
import os
import sys

try:
    import optreg
except ImportError:  # run from a checkout without `pip install ./python`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "..", "python"))
    import optreg
import optreg.torch
import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lock", default="optimizer.lock")
    ap.add_argument("--via", choices=("cli", "rest"), default="cli")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--cli", default="optreg")
    ap.add_argument("--checkpoint")
    args = ap.parse_args()

    try:
        config = optreg.fetch(lock=args.lock, via=args.via, cli=args.cli)
    except optreg.OptregError as e:
        print("train.py: cannot load the optimizer config: %s" % e, file=sys.stderr)
        return e.exit_status or 1
    print("train.py: optimizer config %s (%s)" % (config.ref, config.digest), file=sys.stderr)

    torch.manual_seed(0)
    model = torch.nn.Sequential(collections.OrderedDict([
        ("fc1", torch.nn.Linear(8, 32)),
        ("act", torch.nn.ReLU()),
        ("norm", torch.nn.LayerNorm(32)),
        ("fc2", torch.nn.Linear(32, 1)),
    ]))
    opt, sched = optreg.torch.build(model, config)
    done = 0
    if args.checkpoint and os.path.exists(args.checkpoint):
        ck = torch.load(args.checkpoint)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])      # the optimizer first,
        sched.load_state_dict(ck["sched"])  # then the scheduler: the rate of step done + 1
        done = ck["step"]
        print("train.py: resumed from %s after step %d" % (args.checkpoint, done),
              file=sys.stderr)
    for g in opt.param_groups:
        if g["params"]:
            print("train.py: group %s: %s (peak lr %g, weight_decay %g)" % (
                "default" if g["optreg_group"] is None else "match %r" % g["optreg_match"],
                ", ".join(g["optreg_names"]), g["initial_lr"], g["weight_decay"]),
                file=sys.stderr)

    # The model was made from seed 0 whether or not it was then loaded from
    # a checkpoint, so a resumed run draws the same data.
    x = torch.randn(256, 8)
    y = x @ torch.randn(8, 1) + 0.1 * torch.randn(256, 1)
    for step in range(done + 1, done + args.steps + 1):
        lr = opt.param_groups[0]["lr"]
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        optreg.torch.clip(opt)
        opt.step()
        sched.step()
        print("step %d lr %r loss %.6f" % (step, lr, loss.item()))
    if args.checkpoint:
        tmp = args.checkpoint + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "step": done + args.steps,
                    "config": config.digest}, tmp)
        os.replace(tmp, args.checkpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
