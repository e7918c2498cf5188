"""The built-in evaluation protocols, registered through the same hook a third-party protocol uses.

Specs only: nothing here imports the protocols' code (numpy, scikit-learn, torch), which the core
imports when a run needs a protocol. Each spec's ``version``, ``kinds`` and ``kind_versions`` are
the class's (``tests/test_protocols.py`` holds them equal); the version history is in each class.
The options are the settings a user may change with ``--protocol-option``; the classes record
more (fixed descriptions of the head, the grids) in ``protocol.params``.
"""

from __future__ import annotations

from collections.abc import Callable

from radiobench.api import ProtocolOption, ProtocolSpec, hookimpl

VECTOR_METRICS = ("cosine", "euclidean", "manhattan")

SPECS = (
    ProtocolSpec(
        name="linear",
        factory="radiobench.protocols.linear:Linear",
        version="4",
        kind_versions={"regression": "4", "ranking": "3"},
        kinds=("classification", "regression", "ranking"),
        description="logistic regression (classification) or ridge (regression, ranking) on standardised features, "
                    "its penalty chosen by 5-fold cross-validation on the training split (or on its validation part)",
        options={
            "class_weight": ProtocolOption("balanced", choices=("balanced", None),
                                           help="logistic class weights: balanced (inverse training frequency) or none"),
            "max_iter": ProtocolOption(2000, help="iterations of each logistic fit"),
        },
    ),
    ProtocolSpec(
        name="knn",
        factory="radiobench.protocols.knn:KNN",
        version="1",
        kinds=("classification", "regression"),
        description="k-nearest-neighbour vote (classification) or mean (regression), DINO's check of feature geometry",
        options={
            "k": ProtocolOption(20, help="neighbours (capped at the training-set size)"),
            "metric": ProtocolOption("cosine", choices=VECTOR_METRICS, help="distance between features"),
            "weights": ProtocolOption("uniform", choices=("uniform", "distance"), help="how neighbours are weighted"),
        },
    ),
    ProtocolSpec(
        name="knn-distance",
        factory="radiobench.protocols.anomaly:KNNDistance",
        version="1",
        kinds=("ranking",),
        description="unsupervised anomaly score: mean distance to the k nearest other items of the pool",
        options={
            "k": ProtocolOption(10, help="neighbours"),
            "metric": ProtocolOption("cosine", choices=VECTOR_METRICS, help="distance between features"),
        },
    ),
    ProtocolSpec(
        name="iforest",
        factory="radiobench.protocols.anomaly:IsolationForestScore",
        version="1",
        kinds=("ranking",),
        description="unsupervised anomaly score: a seeded isolation forest on standardised features",
        options={"n_estimators": ProtocolOption(200, help="trees")},
    ),
    ProtocolSpec(
        name="detect",
        factory="radiobench.protocols.detect:Detect",
        version="4",
        kinds=("detection",),
        description="a light FCOS head trained on the backbone's frozen feature maps (AdamW, cosine schedule)",
        options={
            "channels": ProtocolOption(64, help="adapter and head channels"),
            "head_convs": ProtocolOption(2, help="convolutions in each head tower"),
            "head_stride": ProtocolOption(8, help="input pixels per head cell"),
            "epochs": ProtocolOption(24, help="training epochs"),
            "batch_size": ProtocolOption(16, help="images per step"),
            "lr": ProtocolOption(2e-3, help="AdamW learning rate (cosine decay to 0)"),
            "weight_decay": ProtocolOption(1e-4, help="AdamW weight decay"),
            "score_thresh": ProtocolOption(0.05, help="lowest score kept"),
            "nms_thresh": ProtocolOption(0.6, help="IoU of non-maximum suppression"),
            "detections_per_img": ProtocolOption(100, help="boxes kept per image"),
            "box_bias_init": ProtocolOption(1.0, help="initial box regression bias, in cells"),
        },
    ),
)


@hookimpl
def radiobench_register_protocols(register: Callable[..., None]) -> None:
    for spec in SPECS:
        register(spec)
