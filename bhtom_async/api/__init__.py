"""Endpoint groups, one module per resource. Reach them through `Client` (`bh.targets`, ...)."""
