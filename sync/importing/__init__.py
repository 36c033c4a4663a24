"""Reading an office's CSV export: the file (``csvread``), its cells (``cells``), the columns
each import kind knows (``columns``), a row's values and problems (``rows``), how a row changes
a stored record (``rowmerge``) and how a row finds it (``natural_keys``).

:mod:`sync.importer` (``connector import``) puts these together and writes the store.
"""
