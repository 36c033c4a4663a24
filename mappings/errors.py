"""The errors of the mapping layer: a mapping or Fahrplan file is wrong.

:class:`MappingError` is a :class:`connector.errors.ConfigError` (exit code 3), so every
handler that catches configuration errors catches it too; its message names the file, and
``problems`` lists each line and field that is wrong.
"""

from __future__ import annotations

from connector.errors import ConfigError


class MappingError(ConfigError):
    """A mapping file (or a Fahrplan template, or a secret it names) is wrong: fix it."""
