"""optreg: the optimizer-config registry from Python.

    import optreg
    config = optreg.fetch(lock="optimizer.lock")          # or fetch("ns/name@prod")
    opt, sched = optreg.torch.build(model, config)        # needs PyTorch

Standard library only; optreg.torch.build needs torch. See python/README.md.
"""

from ._fetch import Config, OptregError, fetch, read_lock
from ._jcs import canonicalize, digest
from ._schedule import schedule_lr

__all__ = ["Config", "OptregError", "fetch", "read_lock", "canonicalize", "digest",
           "schedule_lr", "torch"]
__version__ = "0.1.0"


def __getattr__(name):
    # `optreg.torch` without an explicit import; torch itself is imported
    # only when build() runs.
    if name == "torch":
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError("module 'optreg' has no attribute %r" % name)
