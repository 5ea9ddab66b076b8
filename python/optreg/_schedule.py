"""The learning-rate schedule of docs/config.md, operation for operation as
validator/config.c (optreg_config_schedule_lr) computes it, so that the
values are the same doubles."""

import math
import numbers


def spec_of(config):
    """The `spec` of a config document, or `config` itself when it is a
    spec already (it has an `optimizer`)."""
    if not isinstance(config, dict):
        raise TypeError("config must be a dict (the document optreg.fetch "
                        "returns, or its spec), not %s" % type(config).__name__)
    if "spec" in config:
        spec = config["spec"]
        if not isinstance(spec, dict):
            raise ValueError("spec must be an object (got %r)" % (spec,))
        return spec
    if "optimizer" in config:
        return config
    raise ValueError("config has no spec: expected an OptimizerConfig "
                     "document (apiVersion, kind, metadata, spec) or its spec")


def _number(d, key, path, default=None):
    v = d.get(key, default)
    if v is None:
        raise ValueError("%s is missing" % path)
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError("%s must be a number (got %r)" % (path, v))
    v = float(v)
    if not math.isfinite(v):
        raise ValueError("%s must be a finite number (got %r)" % (path, v))
    return v


MAX_STEPS = 1000000000  # validator/config.c


def _integer(d, key, path, lo):
    v = d.get(key, 0)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) \
            or not math.isfinite(v) or v != int(v):
        raise ValueError("%s must be an integer (got %r)" % (path, v))
    v = int(v)
    if not lo <= v <= MAX_STEPS:
        raise ValueError("%s must be from %d to %d, as the validator requires (got %d)"
                         % (path, lo, MAX_STEPS, v))
    return v


KINDS = ("constant", "linear", "cosine", "inverse_sqrt")


def group_lr(spec, group):
    """The peak lr of `group`: None (the config's own lr), an index into
    spec.param_groups, or a param group entry (a dict, its lr if it has
    one)."""
    if group is None:
        return _positive(_number(spec, "lr", "spec.lr"), "spec.lr")
    if isinstance(group, dict):
        if "lr" in group:
            return _positive(_number(group, "lr", "param group lr"), "param group lr")
        return _positive(_number(spec, "lr", "spec.lr"), "spec.lr")
    if isinstance(group, bool) or not isinstance(group, int):
        raise TypeError("group must be None, an index into spec.param_groups "
                        "or a param group dict (got %r)" % (group,))
    groups = spec.get("param_groups") or []
    if not 0 <= group < len(groups):
        raise IndexError("group %d: spec.param_groups has %d entries (0 to %d)"
                         % (group, len(groups), len(groups) - 1))
    g = groups[group]
    if "lr" in g:
        path = "spec.param_groups[%d].lr" % group
        return _positive(_number(g, "lr", path), path)
    return _positive(_number(spec, "lr", "spec.lr"), "spec.lr")


def _positive(v, path):
    if not v > 0:
        raise ValueError("%s must be greater than 0 (got %r)" % (path, v))
    return v


def schedule_lr(config, step, group=None):
    """The learning rate at optimizer step `step` (1-based: the first update
    is step 1) under the config's schedule, for the config's own lr
    (group=None) or for spec.param_groups[group]'s. Past total_steps the
    rate stays at its total_steps value."""
    spec = spec_of(config)
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError("step must be an integer (got %r)" % (step,))
    t = int(step)
    if t < 1:
        raise ValueError("step must be 1 or more: the first optimizer step is "
                         "step 1 (got %d)" % t)
    if t > 2 ** 63 - 1:
        raise ValueError("step must fit in 64 bits, as the runner's step count "
                         "(got %d)" % t)
    lr = group_lr(spec, group)
    s = spec.get("schedule")
    if s is None:
        s = {}
    if not isinstance(s, dict):
        raise ValueError("spec.schedule must be an object (got %r)" % (s,))
    if spec.get("schedule") is not None and "kind" not in s:
        raise ValueError("spec.schedule.kind is missing: one of %s" % ", ".join(KINDS))
    kind = s.get("kind", "constant")
    if kind not in KINDS:
        raise ValueError("spec.schedule.kind must be one of %s (got %r)"
                         % (", ".join(KINDS), kind))
    # What validator/config.c refuses is refused here, naming the field:
    # the formula below is only the runner's for valid schedules.
    W = _integer(s, "warmup_steps", "spec.schedule.warmup_steps", 0)
    if "total_steps" in s:
        T = _integer(s, "total_steps", "spec.schedule.total_steps", 1)
        if W > T:
            raise ValueError("spec.schedule.warmup_steps must not exceed total_steps "
                             "(got %d > %d)" % (W, T))
    elif kind in ("linear", "cosine"):
        raise ValueError("spec.schedule.total_steps is missing: a %s schedule decays "
                         "over total_steps" % kind)
    else:
        T = 0
    min_lr = _number(s, "min_lr", "spec.schedule.min_lr", 0.0)
    if min_lr < 0:
        raise ValueError("spec.schedule.min_lr must be at least 0 (got %r)" % min_lr)
    spec_lr = _number(spec, "lr", "spec.lr")
    if min_lr > spec_lr:
        raise ValueError("spec.schedule.min_lr must not exceed spec.lr (got %r > %r)"
                         % (min_lr, spec_lr))
    w = float(W)
    total = float(T)

    if T > 0 and t > T:
        t = T
    if t <= W:
        return lr * float(t) / w
    p = (float(t) - w) / (total - w) if T > W else 1.0
    if kind == "constant":
        return lr
    if kind == "linear":
        return lr + (min_lr - lr) * p
    if kind == "cosine":
        return min_lr + (lr - min_lr) * (1.0 + math.cos(math.pi * p)) / 2.0
    return lr * math.sqrt((w if w > 1.0 else 1.0) / float(t))
