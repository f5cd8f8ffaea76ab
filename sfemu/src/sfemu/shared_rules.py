"""The permission rules sfemu shares with the sfops.salesforce collection, read from the collection's own file.

``plugins/module_utils/permissions.py`` holds the one table of system-permission dependencies, version-gated
permissions and ObjectPermissions flag rules, each entry with its source (see the comment above the tables there).
The emulator enforces exactly that table. It reads the literals with ``ast.literal_eval`` instead of importing the
module: the file belongs to an Ansible collection (relative imports of other module_utils), and reading plain
literals keeps sfemu free of any collection or Ansible code.

sfemu lives in the same repository and is installed from it in editable mode (Makefile ``venv``), so the file is
found relative to this package.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["COLLECTION_RULES_FILE", "load"]

COLLECTION_RULES_FILE = Path(__file__).resolve().parents[3] / "plugins" / "module_utils" / "permissions.py"
_NAMES = ("SYSTEM_DEPENDENCIES", "INTRODUCED_IN", "OBJECT_FLAGS", "OBJECT_REQUIRES")


def load(path: Path = COLLECTION_RULES_FILE) -> dict:
    """``{name: value}`` for the four tables; raises RuntimeError naming the file when one is missing."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except OSError as exc:
        raise RuntimeError(f"sfemu reads its permission rules from the collection file {path}, which is not "
                           f"there ({exc}); install sfemu from the repository checkout "
                           "(pip install -e sfemu).") from exc
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in _NAMES:
                found[name] = ast.literal_eval(node.value)
    missing = [n for n in _NAMES if n not in found]
    if missing:
        raise RuntimeError(f"{path} does not define {', '.join(missing)} as plain literals")
    return found
