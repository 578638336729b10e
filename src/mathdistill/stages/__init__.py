"""One function per workflow stage; the Snakemake scripts (workflow/scripts/) call these.

    from mathdistill.stages import log_to
    from mathdistill.stages.data import prepare
    with log_to("results/logs/prepare_data/gsm8k.log"):
        prepare({"dataset": "gsm8k", "split": "test", "limit": 40}, "results/data/gsm8k.jsonl")

Modules: data (prepare, tokenizer corpus), teacher (teach, filter), students (build, train),
rounds (a method's round data), predict. Metrics and tables live in `mathdistill.metrics`
and `mathdistill.report`. A rule's `code` param digests the modules its script runs
(mathdistill.workflow.closure), so editing one reruns only the rules that import it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

__all__ = ["log_to"]


@contextlib.contextmanager
def log_to(path, level: int = logging.INFO):
    """Send logging, stderr (tqdm) and an exception's traceback to the file `path`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        old = sys.stderr
        sys.stderr = f
        logging.basicConfig(stream=f, level=level, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            yield
        except BaseException:
            logging.getLogger("mathdistill").exception("stage failed")
            raise
        finally:
            f.flush()
            sys.stderr = old
            logging.basicConfig(stream=old, force=True)
