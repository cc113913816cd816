"""Dropout ops: zeroing random elements (Dropout) or whole feature maps (FeatureDropout).

Each keeps its mask for backward; the mask is drawn from the seeded generator.
"""

from __future__ import annotations
