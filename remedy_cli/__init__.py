"""Process entry points (the composition root): the `remedy` CLI, the embedded runtime, the console.

This package wires ``bot/``, ``workers/`` and ``remedy/`` together; ``remedy/`` itself imports
neither edge.
"""
