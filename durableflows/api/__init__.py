"""The REST API of durableflows (DRF): mount ``durableflows.api.urls`` under any prefix, e.g. ``/api/``.

Built on the client (``df.start``, ``df.get_handle``) like the admin; see docs/guides/operations.md.
"""
