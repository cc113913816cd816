"""``torch.version``: what programs check before using an accelerator
(``torch.version.cuda`` is None on a CPU-only build, as axon is)."""

__version__ = "0.1.0"
cuda = None
hip = None
xpu = None
git_version = "unknown"
debug = False
