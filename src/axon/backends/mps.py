"""``axon.backends.mps``: Apple's Metal backend, which axon does not have."""


def is_available() -> bool:
    """False: axon has no MPS backend."""
    return False


def is_built() -> bool:
    """False: axon has no MPS backend."""
    return False
