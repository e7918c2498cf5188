"""radiobench's built-in plugins, installed as ``radiobench_plugins``.

Each subpackage is an entry point of the ``radiobench`` group in pyproject.toml, loaded
the same way as a third-party plugin. Its ``__init__`` only registers specs; the
implementation lives in a sibling module imported when a backbone or task is built.
"""
