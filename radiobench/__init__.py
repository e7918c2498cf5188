"""radiobench: which vision backbone gives the best representations for radio images.

Importing this package must stay cheap (no torch, timm or bdsf): the CLI's listing
commands run on it alone. Heavy modules are imported where features are computed.
"""

__version__ = "0.2.0"

from radiobench.specs import BackboneSpec, InputContract, TaskSpec, WeightsSpec  # noqa: E402
from radiobench.hookspecs import hookimpl  # noqa: E402
from radiobench import old_paths  # noqa: E402

old_paths.install()

__all__ = ["BackboneSpec", "InputContract", "TaskSpec", "WeightsSpec", "hookimpl", "__version__"]
