"""TensorBoard's own reader, the oracle of the TensorBoard tests: a run folder's events as
TensorBoard loads them (every event kept, none sampled away)."""

from __future__ import annotations

import io
import os

import numpy as np
from tensorboard.backend.event_processing import event_accumulator


def read_run(folder: str | os.PathLike) -> event_accumulator.EventAccumulator:
    """The events of every event file in ``folder``, read by TensorBoard's accumulator."""
    guidance = {kind: 0 for kind in event_accumulator.DEFAULT_SIZE_GUIDANCE}
    reader = event_accumulator.EventAccumulator(os.fspath(folder), size_guidance=guidance)
    return reader.Reload()


def scalars(reader, tag: str) -> tuple[list[int], list[float]]:
    """The steps and values of the scalar ``tag``, in the order they were written."""
    events = reader.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


def png_pixels(image_event) -> np.ndarray:
    """An image event's PNG decoded by PIL: ``(height, width, channels)`` uint8."""
    from PIL import Image

    with Image.open(io.BytesIO(image_event.encoded_image_string)) as picture:
        return np.asarray(picture)
