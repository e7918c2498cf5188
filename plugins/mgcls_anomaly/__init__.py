"""Anomaly ranking of MeerKAT MGCLS extended sources (Lochner & Rudnick 2024, Astronomaly: Protege).

6161 pyBDSF islands with more than three Gaussians from MGCLS fields, published as
false-colour PNG cutouts with a catalogue. 1031 of them form an evaluation subset that
one of the authors scored 1-5 for how interesting each is. A backbone is good here if
sources that look unusual in its feature space are the ones a human found interesting:

- ``knn-distance`` (unsupervised, the task's headline protocol): anomaly score = mean cosine
  distance to the 10 nearest other sources among all 6161; ``iforest`` as the alternative.
- ``linear`` (supervised): ridge regression of the human score on the 1031 scored sources,
  5-fold cross-validated per seed; its out-of-fold predictions are the ranking.

Scores: average precision of "score >= 4" (main; chance = the share of such sources),
NDCG of the whole ranking with the human scores as graded relevance, NDCG@50, Spearman.
The human scores are one person's judgement (the catalogue's README says so); they are
what the study evaluated against, not a ground truth of anomalousness.
"""

from radiobench.api import TaskSpec, hookimpl

RECORD = "https://zenodo.org/records/14440674"
FILES = {  # name on Zenodo -> published sha256 (None: computed on first download and recorded)
    "protege_catalogue.csv": "ca93b5152de6553dae2bef6e18614a9c48c688df5e874fc85276c3ec577daea3",
    "all_images_compressed_part1.zip": None,
    "all_images_compressed_part2.zip": None,
}
CATALOGUE_SHA256 = FILES["protege_catalogue.csv"]


@hookimpl
def radiobench_register_tasks(register):
    register(TaskSpec(
        name="mgcls_anomaly",
        factory="radiobench_plugins.mgcls_anomaly.task:ProtegeAnomaly",
        version="1.0",
        kind="ranking",
        main_score="average_precision",
        splits=("all",),
        data_sha256=CATALOGUE_SHA256,
        scaling=(
            "false-colour PNG -> colour-map index 0-255 (exact inverse of the 4-node map the cutouts were rendered "
            "with) / 255; rank text (rows 0-19, cols 0-55) and scale bar (rows 209-218, cols 0-104) replaced by the "
            "median of the image's unmasked outer frame"
        ),
        source_datasets=("MGCLS", "MeerKAT"),
        citation="Lochner & Rudnick 2024, AJ (Astronomaly: Protege), doi:10.5281/zenodo.14440674; Knowles et al. 2022 (MGCLS)",
        license="BSD-3-Clause (mgcls.protege); MGCLS data-release terms",
        description=(
            "rank 6161 MGCLS extended sources by anomaly score; scored on the 1031 human-scored sources: "
            "AP of score>=4, NDCG; protocols knn-distance, iforest (unsupervised), linear (ridge, 5-fold CV)"
        ),
        data_folder="mgcls_protege",
        download_hint=RECORD,
    ))
