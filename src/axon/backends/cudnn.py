"""``axon.backends.cudnn``: cuDNN's flags, settable as in torch; axon has no cuDNN."""

enabled = True
deterministic = False
benchmark = False
allow_tf32 = True


def is_available() -> bool:
    """False: axon has no cuDNN."""
    return False


def version() -> None:
    """None, as torch answers without cuDNN."""
    return None
