"""Render: one output -> the HTML WeasyPrint receives (Jinja) -> PDF bytes (WeasyPrint, form repair).

Every file in this package can change an output's bytes, so its code goes into each build fingerprint
(see handouts.build.fingerprint). Modules import their heavy libraries lazily.
"""
