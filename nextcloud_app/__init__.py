"""The connector as a Nextcloud external app (AppAPI "ExApp"): a page for the council.

A thin layer like ``cli.py``: :mod:`nextcloud_app.appapi` speaks AppAPI (signatures, the
calls back into Nextcloud), :mod:`nextcloud_app.council` gathers what the page shows and
calls the same store and engine functions the CLI calls, :mod:`nextcloud_app.page` renders
it, and :mod:`nextcloud_app.server` routes the requests. Start it with
``python -m nextcloud_app`` (see the README, "Inside Nextcloud").
"""
