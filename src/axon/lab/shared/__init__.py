"""What the lab's experiments share, none of it an experiment: the protocol, printing and
backups (``base``), data, models, training helpers and schedules, one module per concern.
"""
