"""mathdistill: distil math reasoning from a teacher LLM into small student LMs.

Library first: every stage is a function here; `python -m mathdistill <stage>` and the
Snakemake rules are thin wrappers around these functions.
"""

__version__ = "0.1.0"
