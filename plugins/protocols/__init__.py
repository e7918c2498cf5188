"""The built-in evaluation protocols, registered through the same hook a third-party protocol uses."""

from __future__ import annotations

from collections.abc import Callable

from radiobench.hookspecs import hookimpl


@hookimpl
def radiobench_register_protocols(register: Callable[..., None]) -> None:
    from radiobench.protocols.anomaly import IsolationForestScore, KNNDistance
    from radiobench.protocols.detect import Detect
    from radiobench.protocols.knn import KNN
    from radiobench.protocols.linear import Linear

    for protocol in (Linear, KNN, KNNDistance, IsolationForestScore, Detect):
        register(protocol)
