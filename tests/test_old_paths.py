"""The 0.1 module paths keep working for one release: same module objects, with a warning naming the new home."""

import subprocess
import sys

import pytest

from radiobench.old_paths import MOVED


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_an_old_module_path_is_the_moved_module_and_says_where_it_went(old, new):
    code = (f"import importlib, warnings\nwarnings.simplefilter('always')\n"
            f"with warnings.catch_warnings(record=True) as seen:\n    a = importlib.import_module({old!r})\n"
            f"b = importlib.import_module({new!r})\nassert a is b and b.__spec__.name == {new!r}\n"
            f"assert any({new!r} in str(w.message) and w.category is DeprecationWarning for w in seen)\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.slow
def test_a_plugin_written_against_the_old_paths_still_runs(tmp_path):
    code = ("import warnings; warnings.simplefilter('ignore')\n"
            "from radiobench.runner import Hooks, RunOptions, run_pair\n"
            "from radiobench.backbone import Backbone\nfrom radiobench.task import Split, Task\n"
            "from radiobench.testing import registry_with\n"
            f"(o,) = run_pair(registry_with(), 'fake_backbone', 'fake_task', RunOptions(results_dir={str(tmp_path)!r}, "
            f"cache_dir={str(tmp_path)!r}, device='cpu', seeds=1), Hooks())\nprint(o.status)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "done", done.stderr
