"""Radio astronomy: FITS images, simulated fields, pyBDSF source finding, catalogues and crops."""
