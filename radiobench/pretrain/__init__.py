"""Self-supervised pretraining of radio backbones: ``radiobench pretrain`` (DINO, Caron et al. 2021).

The method follows Lastufka et al. (2024, A&A 690, A310): DINO on crops of radio images with no
cutout selection. ``dino`` holds the loss, head and schedules (the published facebookresearch/dino
formulation), ``augment`` the radio multi-crop, ``data`` turns sources into [0, 1] images with their
identity, ``train`` the loop with per-epoch atomic checkpoints and exact resume, ``card`` the
torch-free reading of a finished run (what the registry and leaderboard need).
"""
