"""Files: atomic writes, verified downloads, safe archive and pickle reading, where data lives."""
