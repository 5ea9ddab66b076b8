"""optreg.torch: a PyTorch optimizer and learning-rate scheduler from a config.

    opt, sched = optreg.torch.build(model, config)
    for batch in data:
        loss = model(batch).loss
        opt.zero_grad()
        loss.backward()
        optreg.torch.clip(opt)        # spec.grad_clip_norm, when the config has one
        opt.step()
        sched.step()

What the runner does (runner/workloads.h, docs/config.md), in PyTorch:
- spec.optimizer adam -> torch.optim.Adam (weight_decay is L2 added to the
  gradient), adamw -> torch.optim.AdamW (decoupled decay); lr, betas, eps,
  weight_decay, amsgrad and maximize are passed as they are.
- spec.param_groups: each parameter takes the first entry, in document order,
  whose `match` (a POSIX extended regular expression, searched anywhere in the
  parameter's name, byte by byte as glibc in the C locale; see _ere.py) finds
  its name, and that entry's lr, betas, eps and weight_decay replace the
  config's. optimizer.param_groups[0] holds the parameters no entry matches,
  param_groups[i + 1] those of spec.param_groups[i] (empty groups are kept so
  the indexes never shift); each group carries "optreg_group" (None or i),
  "optreg_match" and "optreg_names".
- The scheduler is a torch.optim.lr_scheduler.LambdaLR whose rates are
  schedule_lr(config, t, group) exactly: the lr of the t-th optimizer.step()
  (t = 1, 2, ...) is the config's rate at step t, so call sched.step() after
  each opt.step(). (LambdaLR's own base_lr * factor would round differently;
  this one sets the rate itself.) Resuming: load the optimizer's state_dict,
  then the scheduler's (which sets the rate of the next step and keeps the
  config build() was given), or build(..., last_step=k).
- spec.grad_clip_norm: clip(optimizer) calls
  torch.nn.utils.clip_grad_norm_ over every parameter, in the model's order,
  with that max_norm; it does nothing without one. The value is also
  optimizer.optreg_grad_clip_norm (None without clipping).
"""

import numbers
import warnings

from . import _ere, _jcs
from ._schedule import group_lr, schedule_lr, spec_of

__all__ = ["build", "schedule_lr", "clip", "grad_clip_norm", "match_groups"]


# validator/config.c's check_spec and check_group
SPEC_FIELDS = ("optimizer", "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
               "grad_clip_norm", "schedule", "param_groups")
GROUP_FIELDS = ("match", "lr", "betas", "eps", "weight_decay")


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("optreg.torch.build needs PyTorch (import torch failed); "
                          "install torch, e.g. Debian's python3-torch") from None
    return torch


def grad_clip_norm(config):
    """spec.grad_clip_norm as a float, or None when the config has none."""
    v = spec_of(config).get("grad_clip_norm")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > 0:
        raise ValueError("spec.grad_clip_norm must be a number > 0 (got %r)" % (v,))
    return float(v)


def match_groups(config, names):
    """For each parameter name, the index of the spec.param_groups entry the
    runner gives it (the first whose pattern is found in the name), or None.
    A pattern that cannot be carried over exactly raises ValueError naming
    spec.param_groups[i].match."""
    groups = spec_of(config).get("param_groups") or []
    compiled = []
    for i, g in enumerate(groups):
        if not isinstance(g, dict) or not isinstance(g.get("match"), str):
            raise ValueError("spec.param_groups[%d].match must be a string" % i)
        try:
            compiled.append(_ere.compile(g["match"]))
        except _ere.PatternError as e:
            raise ValueError("spec.param_groups[%d].match: %s" % (i, e)) from None
    out = []
    for name in names:
        b = _ere.name_bytes(name)
        out.append(next((i for i, rx in enumerate(compiled) if rx.search(b)), None))
    return out


def _named(model_or_params, torch):
    if isinstance(model_or_params, torch.nn.Module):
        items = list(model_or_params.named_parameters())
    elif isinstance(model_or_params, dict):
        items = list(model_or_params.items())
    elif isinstance(model_or_params, torch.Tensor):
        items = [(None, model_or_params)]
    else:
        items = []
        for x in model_or_params:
            if isinstance(x, torch.Tensor):
                items.append((None, x))
            elif isinstance(x, (tuple, list)) and len(x) == 2:
                items.append((x[0], x[1]))
            else:
                raise TypeError("parameters must be a torch.nn.Module, a dict of "
                                "name -> tensor, or an iterable of tensors or "
                                "(name, tensor) pairs (got an item %r)" % (type(x).__name__,))
    seen, out = set(), []
    for name, p in items:
        if not isinstance(p, torch.Tensor):
            raise TypeError("parameter %r is not a tensor (got %s)"
                            % (name, type(p).__name__))
        if name is not None and not isinstance(name, str):
            raise TypeError("parameter names must be strings (got %r)" % (name,))
        if id(p) in seen:
            continue
        seen.add(id(p))
        out.append((name, p))
    if not out:
        raise ValueError("no parameters to optimize")
    return out


def _hparams(spec, d, path, base=None):
    """lr, betas, eps, weight_decay of `d` (a spec or a param group entry),
    over `base` when given."""
    h = dict(base or {})
    for key in ("lr", "eps", "weight_decay"):
        if key in d:
            v = d[key]
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise ValueError("%s.%s must be a number (got %r)" % (path, key, v))
            h[key] = float(v)
        elif base is None:
            raise ValueError("%s.%s is missing" % (path, key))
    if "betas" in d:
        b = d["betas"]
        if (not isinstance(b, (list, tuple)) or len(b) != 2
                or not all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in b)):
            raise ValueError("%s.betas must be two numbers (got %r)" % (path, b))
        h["betas"] = (float(b[0]), float(b[1]))
    elif base is None:
        raise ValueError("%s.betas is missing" % path)
    return h


def build(model_or_params, config, *, foreach=None, last_step=0):
    """(optimizer, scheduler) for `model_or_params` (a torch.nn.Module, a
    dict name -> tensor, or an iterable of (name, tensor) pairs; plain
    tensors only when the config has no param_groups) under `config` (the
    document optreg.fetch returns, or its spec). The optimizer is
    torch.optim.Adam or torch.optim.AdamW, the scheduler a LambdaLR.

    last_step: the optimizer steps already taken (resuming without the
    scheduler's state_dict): the next opt.step() runs at the rate of step
    last_step + 1."""
    torch = _torch()
    spec = spec_of(config)
    if isinstance(last_step, bool) or not isinstance(last_step, numbers.Integral) \
            or last_step < 0:
        raise ValueError("last_step must be an integer >= 0: the optimizer steps "
                         "already taken (got %r)" % (last_step,))
    # A field this package does not know may change what the runner did:
    # refuse it rather than build something else (the validator refuses
    # unknown fields too).
    for k in spec:
        if k not in SPEC_FIELDS:
            raise ValueError("spec.%s is not a field this optreg package knows (it "
                             "knows %s): the optimizer it would build may not be the "
                             "one the runner judged; upgrade optreg"
                             % (k, ", ".join(SPEC_FIELDS)))
    for i, e in enumerate(spec.get("param_groups") or []):
        for k in (e if isinstance(e, dict) else {}):
            if k not in GROUP_FIELDS:
                raise ValueError("spec.param_groups[%d].%s is not a field this optreg "
                                 "package knows (it knows %s); upgrade optreg"
                                 % (i, k, ", ".join(GROUP_FIELDS)))
    kind = spec.get("optimizer")
    if kind not in ("adam", "adamw"):
        raise ValueError("spec.optimizer must be adam or adamw (got %r)" % (kind,))
    base = _hparams(spec, spec, "spec")
    flags = {}
    for key in ("amsgrad", "maximize"):
        v = spec.get(key, False)
        if not isinstance(v, bool):
            raise ValueError("spec.%s must be true or false (got %r)" % (key, v))
        flags[key] = v
    clip_norm = grad_clip_norm(spec)
    entries = spec.get("param_groups") or []
    if not isinstance(entries, list):
        raise ValueError("spec.param_groups must be an array (got %r)" % (entries,))

    named = _named(model_or_params, torch)
    if entries and any(n is None for n, _ in named):
        raise ValueError("the config has param_groups, which match parameter names: "
                         "pass the model, or (name, parameter) pairs, not bare tensors")
    which = match_groups(spec, [n for n, _ in named]) if entries else [None] * len(named)

    groups = [{"params": [], "optreg_group": None, "optreg_match": None,
               "optreg_names": []}]
    for i, e in enumerate(entries):
        g = {"params": [], "optreg_group": i, "optreg_match": e["match"],
             "optreg_names": []}
        g.update(_hparams(spec, e, "spec.param_groups[%d]" % i, base))
        groups.append(g)
    for (name, p), w in zip(named, which):
        g = groups[0 if w is None else w + 1]
        g["params"].append(p)
        g["optreg_names"].append(name)

    cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
    kwargs = dict(base)
    kwargs.update(flags)
    if foreach is not None:
        kwargs["foreach"] = foreach
    opt = cls(groups, **kwargs)
    opt.optreg_grad_clip_norm = clip_norm
    opt.optreg_params = [p for _, p in named]
    sched = _scheduler_class(torch)(opt, spec, int(last_step) - 1)
    return opt, sched


_SCHED = None


def _scheduler_class(torch):
    global _SCHED
    if _SCHED is not None:
        return _SCHED
    LambdaLR = torch.optim.lr_scheduler.LambdaLR

    class OptregLR(LambdaLR):
        """LambdaLR whose rate for optimizer step t (last_epoch + 1) is
        schedule_lr(config, t, group) exactly.

        last_epoch has PyTorch's meaning: the scheduler steps once on
        construction, so OptregLR(opt, config, last_epoch=k - 1) (which
        build(..., last_step=k) makes) sets the rate of step k + 1. The
        rates do not depend on the groups' initial_lr, so resuming needs
        none in the optimizer. state_dict() holds the step count and a
        digest of the config, not the config: load_state_dict() keeps the
        config this scheduler was made with, warns when the checkpoint was
        saved under another one, and sets every group's lr to the rate of
        the next step."""

        def __init__(self, optimizer, config, last_epoch=-1):
            spec = spec_of(config)
            if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) \
                    or last_epoch < -1:
                raise ValueError("last_epoch must be an integer >= -1 (got %r)"
                                 % (last_epoch,))
            self.optreg_spec = spec
            lambdas = []
            for g in optimizer.param_groups:
                gi = g.get("optreg_group")
                peak = group_lr(spec, gi)
                lambdas.append(_factor(spec, gi, peak))
                # LRScheduler wants initial_lr in every group when
                # last_epoch >= 0; these rates never read it.
                g.setdefault("initial_lr", peak)
            super().__init__(optimizer, lambdas, last_epoch)

        def get_lr(self):
            t = self.last_epoch + 1
            return [schedule_lr(self.optreg_spec, t, g.get("optreg_group"))
                    for g in self.optimizer.param_groups]

        def state_dict(self):
            sd = super().state_dict()
            sd.pop("optreg_spec", None)
            sd["optreg_spec_digest"] = _spec_digest(self.optreg_spec)
            return sd

        def load_state_dict(self, state_dict):
            sd = dict(state_dict)
            saved = sd.pop("optreg_spec_digest", None)
            old_spec = sd.pop("optreg_spec", None)  # optreg 0.1.0 saved the spec
            if saved is None and old_spec is not None:
                saved = _spec_digest(old_spec)
            last = sd.get("last_epoch")
            if isinstance(last, bool) or not isinstance(last, int) or last < 0:
                raise ValueError("the scheduler state has no valid last_epoch "
                                 "(got %r)" % (last,))
            super().load_state_dict(sd)
            mine = _spec_digest(self.optreg_spec)
            if saved is not None and mine is not None and saved != mine:
                warnings.warn("optreg: the scheduler state was saved under another "
                              "config (spec %s); from step %d on, the rates follow "
                              "the config this scheduler was built with (spec %s). "
                              "The optimizer's load_state_dict brings back the "
                              "checkpoint's betas, eps and weight_decay: see "
                              "python/README.md, \"Resuming\""
                              % (saved, last + 1, mine), stacklevel=2)
            # The next opt.step() runs at the rate of step last_epoch + 1,
            # whatever the optimizer's groups held before.
            self._last_lr = self.get_lr()
            for g, lr in zip(self.optimizer.param_groups, self._last_lr):
                g["lr"] = lr

    _SCHED = OptregLR
    return OptregLR


def _spec_digest(spec):
    try:
        return _jcs.digest(_jcs.canonicalize(spec))
    except (TypeError, ValueError):
        return None


def _factor(spec, group, peak):
    return lambda epoch: schedule_lr(spec, epoch + 1, group) / peak


def clip(optimizer, max_norm=None):
    """Clips the gradients of every parameter `optimizer` was built with by
    their total norm (torch.nn.utils.clip_grad_norm_), with max_norm or the
    config's grad_clip_norm. Returns the total norm before clipping, or
    None when there is nothing to clip by."""
    torch = _torch()
    if max_norm is None:
        max_norm = getattr(optimizer, "optreg_grad_clip_norm", None)
    if max_norm is None:
        return None
    params = getattr(optimizer, "optreg_params", None)
    if params is None:
        params = [p for g in optimizer.param_groups for p in g["params"]]
    return torch.nn.utils.clip_grad_norm_(params, max_norm)
