"""The hooks a radiobench plugin can implement.

A plugin is any module (or object) exposed under the ``radiobench`` entry-point group.
Each hook receives a ``register`` callable, the shape ``llm`` uses, so one plugin can
add any number of specs and the core learns which plugin provided each.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "radiobench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def radiobench_register_backbones(register: Callable[..., None]) -> None:
    """Call ``register(BackboneSpec(...))`` once per backbone this plugin provides.

    Must stay cheap: build specs only, never import torch or load weights here.
    """


@hookspec
def radiobench_register_tasks(register: Callable[..., None]) -> None:
    """Call ``register(TaskSpec(...))`` once per task this plugin provides (cheap, as above)."""


@hookspec
def radiobench_register_protocols(register: Callable[..., None]) -> None:
    """Call ``register(ProtocolSpec(...))`` once per evaluation protocol this plugin provides (cheap, as above).

    The spec names the protocol, its ``version``, the task ``kinds`` it applies to and its
    ``options`` (defaults, from which their types are taken), and its ``factory``: a class derived
    from ``radiobench.api.Protocol`` (feature vectors) or ``MapProtocol`` (spatial maps), imported
    only when a run needs it. Registering the class itself still works until radiobench 0.3, with
    a ``DeprecationWarning``: its code is then imported for every command.
    """
