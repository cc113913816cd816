"""``torch.nn.modules.upsampling``'s names in axon: the upsampling layers, for code that
imports them from there."""

from ..upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
