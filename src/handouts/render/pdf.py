"""Turn rendered HTML into PDF bytes with WeasyPrint: the only WeasyPrint user.

WeasyPrint is imported lazily: it costs about a second per process, and commands that
do not render (list, validate, screen, packet on a built catalogue) must not pay it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from handouts.errors import HandoutsError, RenderError, UnsafeResourceError

log = logging.getLogger(__name__)

_fetcher_class: type[Any] | None = None
# Kept for the life of the process (a build worker renders many documents): fonts are
# looked up and @font-face files loaded once, and the logo is decoded once.
_FONT_CONFIG: Any = None
_IMAGE_CACHE: dict[str, Any] = {}


def _font_config() -> Any:
    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        from weasyprint.text.fonts import FontConfiguration

        _FONT_CONFIG = FontConfiguration()
    return _FONT_CONFIG


Serve = Callable[[Path], "tuple[Path, bytes] | None"]
"""For a file a document asks for: the file serving it and its bytes, or None (Layers.serve).

It may raise a HandoutsError (a file refused by confine.py's rule): that refuses the file too,
and its message is the one the render fails with.
"""


def _project_fetcher() -> type[Any]:
    """Build (once) a URLFetcher subclass that serves only the files its resolver gives."""
    global _fetcher_class
    if _fetcher_class is not None:
        return _fetcher_class
    import mimetypes

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ProjectFetcher(URLFetcher):  # type: ignore[misc]
        """Refuse the network and any file the project's layers do not serve; read nothing itself.

        The bytes come from `serve` (the layers' one bounded, confined read), so a stylesheet,
        font or image obeys the same rule as a template or a YAML file.
        """

        def __init__(self, serve: Serve, inline: bool = False) -> None:
            protocols = {"file", "data"} if inline else {"file"}
            super().__init__(allowed_protocols=protocols, allow_redirects=False)
            self.serve = serve
            self.inline = inline
            self.refused: list[str] = []
            self.reasons: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if self.inline and parts.scheme == "data":
                return super().fetch(url, headers)
            if parts.scheme == "file" and parts.netloc in ("", "localhost"):
                try:
                    served = self.serve(Path(unquote(parts.path)))
                except HandoutsError as exc:
                    self.reasons.append(str(exc))
                    served = None
                if served is not None:
                    path, data = served
                    kind = mimetypes.guess_type(path.name)[0] or "text/plain"  # as urllib's file handler
                    fields = {"Content-Type": kind, "Content-Length": str(len(data))}
                    return URLFetcherResponse(path.as_uri(), data, fields)
            self.refused.append(url)
            raise ValueError(f"refused to load {url}: outside the project")

    _fetcher_class = ProjectFetcher
    return ProjectFetcher


def url_fetcher(serve: Serve, inline: bool = False) -> Any:
    """A WeasyPrint URL fetcher serving only the files `serve` gives (and data: URLs, if inline)."""
    return _project_fetcher()(serve, inline)


@contextlib.contextmanager
def reproducible_epoch(day: dt.date) -> Iterator[None]:
    """Within the block, SOURCE_DATE_EPOCH is the user's, else the content's date.

    WeasyPrint and fontTools read it while writing (font subset timestamps). It is put back
    afterwards, so nothing leaks into later renders or into child processes.
    """
    before = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
    os.environ["SOURCE_DATE_EPOCH"] = before or str(int(stamp))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def _finisher(forms: bool, tags: bool) -> Any:
    """WeasyPrint's finisher: the form repair and the PDF/UA finish, each when needed."""
    from handouts.render.formfix import fix_form
    from handouts.render.pdfua import finish_tags

    steps = ([fix_form] if forms else []) + ([finish_tags] if tags else [])

    def finish(document: Any, pdf: Any) -> None:
        for step in steps:
            step(document, pdf)

    return finish if steps else None


def html_to_pdf(
    html: str,
    *,
    base_url: Path,
    serve: Serve,
    identifier: bytes,
    forms: bool = False,
    tags: bool = True,
    on_layout: Callable[[list[Any]], None] | None = None,
    inline_images: bool = False,
) -> tuple[bytes, int]:
    """Render html to PDF bytes and page count; fail if it asked for anything `serve` refuses.

    on_layout, if given, sees the laid-out pages (weasyprint Page objects) before writing:
    the form map is recorded from them (render.formmap.record). inline_images: the html's
    images are data: URLs (a scan's pages in its record, intake/scan/record.py); they are
    decoded for this document only, never kept in the process's image cache.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    fetcher = url_fetcher(serve, inline_images)
    cache: dict[str, Any] = {} if inline_images else _IMAGE_CACHE
    try:
        source = weasyprint.HTML(string=html, base_url=base_url.resolve().as_uri() + "/", url_fetcher=fetcher)
        options = {
            "pdf_identifier": identifier,
            "pdf_forms": forms,
            "pdf_tags": tags,
            "custom_metadata": True,
        }
        if tags:
            # WeasyPrint's own PDF/UA-1 variant: the XMP packet with pdfuaid:part 1 and the
            # same title, author, subject, keywords and dates as the document info.
            options["pdf_variant"] = "pdf/ua-1"
        document = source.render(font_config=_font_config(), cache=cache, **options)
        if on_layout is not None:
            on_layout(document.pages)
        pdf = document.write_pdf(finisher=_finisher(forms, tags), **options)
    except FatalURLFetchingError as exc:  # derives from BaseException, not Exception
        raise UnsafeResourceError(str(exc)) from None
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(f"WeasyPrint failed: {type(exc).__name__}: {exc}") from exc
    if fetcher.reasons:  # a file of the project refused by name (a link out, a device, too large)
        raise UnsafeResourceError(fetcher.reasons[0])
    if fetcher.refused:
        refused = ", ".join(sorted(set(fetcher.refused))[:3])
        raise UnsafeResourceError(
            f"refused to load {refused}: documents may only use files in the project's "
            "templates/ and content/ folders, or the files of its theme and the package they stand in for"
        )
    assert isinstance(pdf, bytes)
    return pdf, len(document.pages)
