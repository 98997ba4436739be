"""A started process freezes what start-up built and collects young objects less often."""

import subprocess
import sys

CHECK = """
import gc
from infra.gc_settings import YOUNG_THRESHOLD, tune_after_startup
assert gc.get_freeze_count() == 0
tune_after_startup()
assert gc.get_threshold()[0] == YOUNG_THRESHOLD, gc.get_threshold()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
print("ok")
"""


def test_start_up_objects_are_frozen_and_young_collections_spaced() -> None:
    # A process of its own: freezing is for good, and pytest's own objects are not the point.
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
