"""The built-in theme: every template, stylesheet, font and email template a project needs.

A package folder laid out like a project's templates/ (registered as the `default` theme
under the `handouts.themes` entry points, as any other theme package is). A project file at
the same relative path below its templates/ replaces one of these files and nothing else.
"""
