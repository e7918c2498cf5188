"""Radio astronomy: FITS images, simulated fields, pyBDSF source finding, catalogues, crops and artefact flags."""
