"""Per-target quirks: ``targets/<key>.py`` beside ``templates/exports/<key>.toml``.

Each module offers the same interface: ``check_value(spec, value) -> str | None`` returns what
the target's importer would refuse in one exported value (None when it takes it). A target
without a module gets the generic checks of its mapping (required, length, picklist, links).
A module may also offer ``checks(spec) -> bool``: whether ``check_value`` looks at that column
at all (an export calls ``check_value`` only for the columns it looks at).
"""
