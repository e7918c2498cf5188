"""Tasks: the interface (Task, Split), detection tasks and COCO files."""
