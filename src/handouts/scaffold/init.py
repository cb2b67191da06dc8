"""`handouts init`: a new project folder for a clinic, written whole or not at all.

The project holds only the clinic's own files: settings, its brand (and logo), a README of
the folder's parts and a .gitignore. Templates and the starter documents stay in the package,
so an upgrade of handouts brings their fixes; `copy_content` copies the documents in for a
clinic that wants to edit them. Everything is checked first, written into a temporary folder
next to the target and then renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from handouts.errors import OutputError, UsageError, choose
from handouts.layers import read, starter_listing
from handouts.project import CONFIG_FILE, is_project
from handouts.scaffold.brand import BrandDetails, CheckedBrand, check_brand

# What other parts of handouts keep inside a project and never belongs in version control.
GITIGNORE = """\
# Built documents: `handouts build` makes them again from the files here.
out/
# Records, staff accounts and keys that other handouts commands keep in the project.
register.sqlite*
users.json
keys/
"""


def starter_languages() -> list[str]:
    """The languages the package's starter content has messages for."""
    return sorted(source.path.stem for source in starter_listing("content/messages", "*.yaml"))


@dataclass(frozen=True)
class InitOptions:
    brand: BrandDetails
    brand_id: str | None = None
    languages: tuple[str, ...] = ()  # () = every starter language
    copy_content: bool = False
    force: bool = False


@dataclass
class InitResult:
    root: Path
    brand_id: str
    languages: tuple[str, ...]
    written: list[str] = field(default_factory=list)  # paths relative to root
    kept: list[str] = field(default_factory=list)  # files already there that were left alone


def check_target(target: Path, force: bool) -> None:
    """Refuse a file, an existing project, and (without force) a folder that is not empty."""
    if target.exists() and not target.is_dir():
        raise UsageError("{path} is a file, not a folder; give a folder for the new project", path=target)
    if target.is_dir():
        if is_project(target):
            raise UsageError(
                "{path} is already a handouts project (it has {config} or content/); "
                "edit it, or give another folder",
                code="exists",
                path=target,
                config=CONFIG_FILE,
            )
        if any(target.iterdir()) and not force:
            raise UsageError(
                "{path} is not empty; give an empty or new folder, or add {field} to add the project's "
                "files to it",
                field="force",
                code="not-empty",
                path=target,
            )
    elif not target.absolute().parent.is_dir():
        raise UsageError("{path}: its parent folder does not exist", path=target)


def check_languages(languages: tuple[str, ...]) -> tuple[str, ...]:
    """The languages to build (the first is the default); each needs the package's messages."""
    available = starter_languages()
    if not languages:
        return tuple(sorted(available, key=lambda lang: lang != "en"))
    for lang in languages:
        choose("language", lang, available, field="lang")
    if len(set(languages)) != len(languages):
        raise UsageError("{field} lists a language twice", field="lang", code="twice")
    return languages


def init_project(target: Path, options: InitOptions) -> InitResult:
    """Make a project at target for one clinic; raise before writing anything when a value is wrong."""
    check_target(target, options.force)
    target = target.absolute()
    languages = check_languages(options.languages)
    brand = check_brand(options.brand, options.brand_id)
    files = _files(brand, languages, options.copy_content)
    result = InitResult(target, brand.id, languages)
    existing = target.is_dir()
    stage = Path(tempfile.mkdtemp(prefix=".handouts-init-", dir=target if existing else target.parent))
    try:
        for rel, data in files.items():
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if not existing:
            os.rename(stage, target)  # the whole project appears at once
            result.written = list(files)
            return result
        _move_into(stage, target, result)
        return result
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot write the project: {exc.strerror or exc}; nothing was written"
        ) from exc
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def _move_into(stage: Path, target: Path, result: InitResult) -> None:
    """Rename each staged top-level entry into a non-empty folder (--force); keep what is there."""
    for entry in sorted(stage.iterdir()):
        destination = target / entry.name
        if destination.exists():
            if entry.name == ".gitignore":
                _extend_gitignore(destination, entry.read_text("utf-8"))
                result.written.append(".gitignore (lines added)")
            else:
                result.kept.append(entry.name)
            continue
        os.rename(entry, destination)
        result.written += sorted(
            p.relative_to(target).as_posix() for p in [destination, *destination.rglob("*")] if p.is_file()
        )


def _extend_gitignore(path: Path, ours: str) -> None:
    from handouts.atomic import atomic_write

    theirs = path.read_text("utf-8")
    missing = [
        line
        for line in ours.splitlines()
        if line and not line.startswith("#") and line not in theirs.splitlines()
    ]
    if missing:
        text = theirs + ("" if theirs.endswith("\n") or not theirs else "\n") + "\n".join(missing) + "\n"
        atomic_write(path, text.encode("utf-8"))


def _files(brand: CheckedBrand, languages: tuple[str, ...], copy_content: bool) -> dict[str, bytes]:
    files = {
        CONFIG_FILE: _settings(languages).encode("utf-8"),
        f"content/brands/{brand.file_name}": brand.text.encode("utf-8"),
        "README.md": readme(brand, languages, copy_content).encode("utf-8"),
        ".gitignore": GITIGNORE.encode("utf-8"),
    }
    if brand.logo is not None and brand.logo_name is not None:
        files[f"content/brands/assets/{brand.logo_name}"] = brand.logo.data
    if copy_content:
        for folder, pattern in (("documents", "*/*.yaml"), ("contraindications", "*.yaml")):
            for source in starter_listing(f"content/{folder}", pattern):
                if source.path.stem in languages:
                    files[source.rel] = read(source)
    return files


def _settings(languages: tuple[str, ...]) -> str:
    return (
        "# handouts settings (README.md in this folder says what each part of the folder is for).\n"
        f"default_language: {languages[0]}\n"
        f"languages: [{', '.join(languages)}]\n"
        "# theme: default            # a theme package's name (see `handouts list`)\n"
        "# out: out                  # where `handouts build` writes the PDFs\n"
        "# starter_documents: false  # build only this project's own documents\n"
    )


def readme(brand: CheckedBrand, languages: tuple[str, ...], copy_content: bool) -> str:
    """The clinic's guide to its project folder."""
    logo = f"content/brands/assets/{brand.logo_name}" if brand.logo_name else "content/brands/assets/"
    documents = (
        "content/documents/      the documents, copied from the package to edit here (see below)\n"
        "content/contraindications/  the health questions the consent form asks\n"
        if copy_content
        else ""
    )
    return f"""\
# Patient documents

This folder is a [handouts](https://pypi.org/project/handouts/) project. It holds only what is
this clinic's own; the templates, the stylesheets and the starter documents (dry needling:
information, aftercare, consent) come from the handouts package, so upgrading handouts brings
their fixes.

```sh
handouts build             # every document, for every language, into out/ (only what changed)
handouts list              # documents, outputs, and which files come from here or the package
handouts validate -v       # check everything; list every file used and where it is
handouts lint --strict     # plain-language check of every section
```

Run them in this folder, or from anywhere with `handouts --project PATH ...`.

## What is here

```
handouts.yaml              settings: languages ({", ".join(languages)}), theme, output folder, email
content/brands/{brand.file_name:<14} the clinic: name, address, phone, logo, colours, page size
{logo:<26} the logo (SVG, PNG or JPEG)
{documents}out/                       the built PDFs (not kept in version control)
```

## Changing a file from the package

Every template, stylesheet, font, message file, list and document has a path, and a file at the
same path here replaces the package's file, and nothing else:

1. `handouts validate -v` lists each file with the place it comes from.
2. Copy the package's file to the same path in this folder, e.g. the stylesheet to
   `templates/styles/handout.css`, or a document's folder to `content/documents/<id>/`.
3. Edit the copy, then `handouts build`: only the documents that use it are rebuilt.

A document is replaced as a whole: a folder `content/documents/<id>/` here hides every language
of the package's document `<id>`. Delete the copy to go back to the package's file.

## Adding documents and clinics

```sh
handouts new document shoulder-exercises --kind aftercare   # a skeleton to fill in
handouts new brand second-site --clinic "Second Site Physio"
```

The starter documents are a starting point, not medical advice: have a clinician read and
approve every document before you give it to patients. Until then each is a draft: every page's
footer says "Draft: not yet approved by a clinician". Once approved, write the clinician's role
in the document's copy (`approved_by: Clinical lead`) and the next `review_by` date;
`handouts validate --strict` passes when no draft and no overdue review is left.
"""
