"""Test helpers: the tiny project's files, writing and building it, running the CLI, reading PDFs."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The package's own layers (src/handouts/layers.py): the built-in theme and the starter content.
THEME = REPO / "src" / "handouts" / "theme"
STARTER = REPO / "src" / "handouts" / "starter"

CONTRAINDICATIONS = """\
version: "1.0"
items:
  - id: pregnancy
    label: Pregnancy
    question: Are you pregnant, or could you be?
    severity: check-with-therapist
    therapist_note: Take care, most of all in the first trimester.
  - id: metal-allergy
    label: Metal allergy
    question: Are you allergic to metal?
    severity: do-not-treat
    therapist_note: Do not needle.
"""

# The tiny documents' record: approved, and due for review long after any run of the suite.
RECORD = """\
review_by: 2040-11-01
approved_by: Clinical lead
sources:
  - A tiny source
"""

INFO = f"""\
id: tiny-info
kind: info
title: Tiny information sheet
version: "1.0"
effective: 2026-11-01
summary: A small sheet for tests.
sections:
  - heading: What it is
    paragraphs:
      - Thin needles go into tight muscles.
  - heading: Who should not have it
    paragraphs:
      - The consent form asks about each of these.
    contraindications: true
{RECORD}"""

AFTERCARE = f"""\
id: tiny-aftercare
kind: aftercare
title: Tiny aftercare sheet
version: "1.0"
effective: 2026-11-01
sections:
  - heading: After your session
    bullets:
      - Soreness is normal.
  - heading: Your exercises
    paragraphs:
      - Your therapist writes them here.
    write_in_lines: 3
  - heading: Get help now
    urgent: true
    paragraphs:
      - Chest pain after needling near the chest needs emergency care.
{RECORD}summary: What to expect after a session.
"""


def _consent_section(name: str) -> str:
    return f"  {name}:\n    heading: {name.title()} heading\n    paragraphs:\n      - {name.title()} text.\n"


CONSENT = (
    """\
id: tiny-consent
kind: consent
title: Tiny consent form
version: "1.0"
effective: 2026-11-01
sections:
"""
    + "".join(
        _consent_section(n)
        for n in ("treatment", "benefits", "risks", "alternatives", "questions", "withdrawal")
    )
    + """\
checklist:
  heading: Health questions
  intro: Tick yes or no.
signatures:
  statement: I agree to treatment.
"""
    + RECORD
    + "summary: Read this before you agree.\n"
)

BRAND = """\
name: Tiny Clinic
city: Testville
colors:
  primary: "#112233"
  accent: "#445566"
font: DejaVu Sans
"""


def tiny_settings(*lines: str, langs: tuple[str, ...] = ("en",)) -> str:
    """The tiny project's handouts.yaml: its languages, none of the starter documents, plus lines."""
    return f"languages: [{', '.join(langs)}]\nstarter_documents: false\n" + "".join(
        f"{line}\n" for line in lines
    )


def starter_text(rel: str) -> str:
    """A file of the package's starter content (rel below content/, e.g. 'messages/fr.yaml')."""
    return (STARTER / rel).read_text("utf-8")


def tiny_files() -> dict[str, str]:
    """The files of a small but complete project: templates and messages come from the package."""
    return {
        "handouts.yaml": tiny_settings(),
        "content/contraindications/en.yaml": CONTRAINDICATIONS,
        "content/documents/tiny-info/en.yaml": INFO,
        "content/documents/tiny-aftercare/en.yaml": AFTERCARE,
        "content/documents/tiny-consent/en.yaml": CONSENT,
        "content/brands/tiny.yaml": BRAND,
    }


def french(langs: tuple[str, ...] = ("en", "fr")) -> dict[str, str]:
    """Files that add French to the tiny project: settings, the package's messages, the tiny list."""
    return {
        "handouts.yaml": tiny_settings(langs=langs),
        "content/contraindications/fr.yaml": CONTRAINDICATIONS,
    }


def repository_project(root: Path, copy_documents: bool = False) -> Path:
    """A copy of the repository's own project (its brands) at root; with copy_documents, the
    package's starter documents copied into its content/ to be edited (as `init --copy-content`)."""
    shutil.copytree(REPO / "content", root / "content")
    if copy_documents:
        shutil.copytree(STARTER / "documents", root / "content/documents")
    return root


def override(root: Path, rel: str) -> Path:
    """Copy the built-in theme's file of templates/REL into the project (an override); return it."""
    assert rel.startswith("templates/"), rel
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(THEME / rel.removeprefix("templates/"), target)
    return target


# A second brand with a logo (a figure with alternative text) and a French translation of the
# tiny project (its aftercare left untranslated): the `french_built` session fixture.
LOGO_BRAND = """\
name: Logo Clinic
logo: logo.svg
logo_alt: Logo Clinic, a blue square
colors: {primary: "#112233", accent: "#445566"}
"""
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10" fill="#00f"/></svg>'
)


def french_files() -> dict[str, str]:
    """A French translation of the tiny project (messages from the package's starter content)."""
    return {
        "handouts.yaml": tiny_settings(langs=("en", "fr")),
        "content/contraindications/fr.yaml": tiny_files()["content/contraindications/en.yaml"]
        .replace("Are you pregnant, or could you be?", "Êtes-vous enceinte, ou pourriez-vous l'être?")
        .replace("label: Pregnancy", "label: Grossesse"),
        "content/documents/tiny-info/fr.yaml": INFO.replace("Tiny information sheet", "Petite fiche")
        .replace("Thin needles go into tight muscles.", "De fines aiguilles entrent dans les muscles.")
        .replace('version: "1.0"\n', 'version: "1.0"\ntranslates: "1.0"\n'),
        "content/documents/tiny-consent/fr.yaml": CONSENT.replace(
            "Tiny consent form", "Petit consentement"
        ).replace('version: "1.0"\n', 'version: "1.0"\ntranslates: "1.0"\n'),
    }


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, "utf-8")


def write_tiny(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """Write the tiny project (its content, plus files over it; no templates: the theme's) at root."""
    write_tree(root, {**tiny_files(), **(files or {})})
    return root


def built_tiny(factory: pytest.TempPathFactory, name: str, *build_args: str) -> Path:
    """A tiny project built (`handouts build BUILD_ARGS`) into a new temporary folder."""
    root = write_tiny(factory.mktemp(name) / "proj")
    code, _, err = run_cli(root, "build", *build_args)
    assert code == 0, err
    return root


def copy_project(source: Path, dest: Path) -> Path:
    """A copy of a (built) project: out/ and its snapshot stay current, for they name no paths."""
    shutil.copytree(source, dest, symlinks=True)
    return dest


def built_french(factory: pytest.TempPathFactory, tiny_built: Path) -> Path:
    """A copy of the built tiny project with French and the logo brand added, and built."""
    root = copy_project(tiny_built, factory.mktemp("french-built") / "proj")
    write_tree(
        root, {**french_files(), "content/brands/logo.yaml": LOGO_BRAND, "content/brands/logo.svg": SVG}
    )
    code, _, err = run_cli(root, "build", "-j", "2")
    assert code == 0, err
    assert "built 30, unchanged 10" in err  # the English tiny outputs were current already
    return root


def pdftotext(path: Path, *args: str) -> str:
    """Text of a PDF by poppler, layout kept."""
    return subprocess.run(
        ["pdftotext", "-layout", *args, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def run_cli(root: Path, *args: str) -> tuple[int, str, str]:
    """Run `handouts --project root ARGS` in-process; return (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from handouts.cli import main

    result = CliRunner().invoke(main, ["--project", str(root), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def page_texts(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def unembedded_fonts(path: Path) -> list[str]:
    """Names of fonts used on any page that carry no embedded font file."""
    from pypdf import PdfReader

    missing = []
    for page in PdfReader(path).pages:
        fonts = page.get("/Resources", {}).get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            desc_font = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            desc = desc_font.get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            if not any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                missing.append(str(font.get("/BaseFont")))
    return missing


def render_page_png(pdf: Path, dest: Path, page: int) -> Path:
    """One page of a PDF as a 72 dpi PNG (1 px = 1 pt), by poppler."""
    subprocess.run(["pdftoppm", "-r", "72", "-f", str(page), "-l", str(page), "-png", "-singlefile",
                    str(pdf), str(dest)], check=True)  # fmt: skip
    return dest.with_suffix(".png")


def dark_pixels(png: Path, box: tuple[int, int, int, int]) -> int:
    """How many pixels in box are darker than mid-grey."""
    from PIL import Image

    with Image.open(png) as image:
        return sum(image.convert("L").crop(box).histogram()[:128])


def qualified_name(field: object) -> str:
    """A pypdf field's (or widget's) fully qualified name: its /T and its parents' joined by periods."""
    parts = []
    node = field.get_object()  # type: ignore[attr-defined]
    for _ in range(16):
        if "/T" in node:
            parts.append(str(node["/T"]))
        if "/Parent" not in node:
            break
        node = node["/Parent"].get_object()
    return ".".join(reversed(parts))


def fill_form(src: Path, dest: Path, values: dict[str, str]) -> Path:
    """Fill a form like a script would: pypdf, keeping the form's own appearance streams."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(src))
    writer.update_page_form_field_values(None, values, auto_regenerate=False)
    writer.write(dest)
    return dest


# --- the robustness suite's figures (README "Reliability") -------------------------------

RELIABILITY: dict[str, int] = {}


def tally(name: str, count: int = 1) -> None:
    """Count a generated input, injected fault or outcome for the end-of-run summary."""
    RELIABILITY[name] = RELIABILITY.get(name, 0) + count


# --- signing (issue 15) ------------------------------------------------------------------

SIGNING_PASSWORD = "correct horse battery staple"
SIGNING_ENV = {"HANDOUTS_SIGNING_PASSWORD": SIGNING_PASSWORD}
# The tiny project's settings, then the signing block.
SIGNING_YAML = (
    tiny_settings()
    + """\
signing:
  certificate: keys/clinic.p12
  password_env: HANDOUTS_SIGNING_PASSWORD
"""
)


def pdfsig(path: Path) -> str:
    """poppler's report on a PDF's signatures (it exits non-zero for unsigned files)."""
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout


def check_pdfa3b(path: Path) -> None:
    """The PDF/A-3b rules `archive` keeps (veraPDF is not packaged for Debian): XMP declaring
    part 3 conformance B and agreeing with the document information, an sRGB output intent,
    every font embedded, no encryption, a file identifier, printable annotations."""
    import xml.etree.ElementTree as ET

    from pypdf import PdfReader

    ns = {
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
        "dc": "http://purl.org/dc/elements/1.1/",
        "xmp": "http://ns.adobe.com/xap/1.0/",
        "pdf": "http://ns.adobe.com/pdf/1.3/",
    }
    reader = PdfReader(path)
    assert "/Encrypt" not in reader.trailer
    assert len(reader.trailer["/ID"]) == 2
    root = reader.trailer["/Root"]
    xml = ET.fromstring(root["/Metadata"].get_object().get_data())
    descriptions = xml.findall(".//rdf:Description", ns)

    def find(prop: str) -> str | None:
        for desc in descriptions:
            prefix, local = prop.split("/")[0].split(":")
            found = desc.findtext(prop, namespaces=ns) or desc.get(f"{{{ns[prefix]}}}{local}")
            if found:
                return found
        return None

    assert find("pdfaid:part") == "3" and find("pdfaid:conformance") == "B"
    info = reader.metadata
    assert find("dc:title/rdf:Alt/rdf:li") == info["/Title"]
    for key, prop in (("/CreationDate", "xmp:CreateDate"), ("/ModDate", "xmp:ModifyDate")):
        stamp = find(prop)
        if key not in info:
            assert stamp is None, prop
            continue
        assert stamp is not None, prop
        assert _pdf_datetime(str(info[key])) == _iso_datetime(stamp), (key, info[key], stamp)
    if "/Producer" in info:
        assert find("pdf:Producer") == info["/Producer"]
    (intent,) = root["/OutputIntents"]
    assert intent.get_object()["/S"] == "/GTS_PDFA1"
    for page in reader.pages:
        for ref in page.get("/Annots", []):
            annot = ref.get_object()
            flags = int(annot.get("/F", 0))
            assert flags & 4 and not flags & (1 | 2 | 32), annot  # printed, never hidden
            rect = [float(v) for v in annot["/Rect"]]
            assert (rect[2] - rect[0]) * (rect[3] - rect[1]) == 0 or "/AP" in annot
    assert "/NeedAppearances" not in root.get("/AcroForm", {})
    rows = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    for line in rows.splitlines()[2:]:
        assert line.split()[-5] == "yes", line


def check_signed_pdfa3b(path: Path) -> None:
    """pikepdf's PDF/A-3b validator on a sealed record, as far as it can judge a signed file.

    It supports no interactive form, and a signature lives in one (the catalog's /AcroForm):
    on the file as written it stops at the catalog, so its verdict is 'not_checked' with that
    finding (and the embedded original form it then did not reach), and no violation. It then
    judges the record without its signature (the field and widget, and ETSI's ESIC
    declaration of PAdES, removed in memory), which must pass. What it leaves, the signature
    itself, must keep to PDF 1.7 (no 2.0 version or extension) and pass check_pdfa3b's
    annotation rules (printed, never hidden, zero-size or drawn).
    """
    import pikepdf
    import pikepdf.pdfa

    assert path.read_bytes().startswith(b"%PDF-1.7")
    written = pikepdf.pdfa.validate_written(path, "3b")
    assert written.verdict == "not_checked" and all(f.kind == "unsupported" for f in written.findings)
    (stop, *unreached) = written.findings
    assert stop.rule == "pikepdf:schema-Catalog" and stop.where.endswith("/AcroForm"), stop
    # Not walked past the catalog, it finds the embedded form only among all objects, unchecked.
    assert {f.rule for f in unreached} <= {"pikepdf:embedded-file"}, unreached
    with pikepdf.open(path) as pdf:
        root = pdf.Root
        assert str(root.get("/Version", "/1.7")) <= "/1.7"
        extensions = root.get("/Extensions", pikepdf.Dictionary())
        assert set(extensions.keys()) <= {"/ESIC", "/Type"}, extensions
        for ext in extensions.values():
            if isinstance(ext, pikepdf.Dictionary):
                assert ext.BaseVersion == "/1.7"
        fields = list(root.AcroForm.Fields)
        assert fields and all(f.FT == "/Sig" and f.V.SubFilter == "/ETSI.CAdES.detached" for f in fields)
        widgets = {f.objgen for f in fields}
        del root.AcroForm
        if "/Extensions" in root:
            del root.Extensions
        for page in pdf.pages:
            if "/Annots" in page.obj:
                kept = [a for a in page.Annots if a.objgen not in widgets]
                if kept:
                    page.Annots = pikepdf.Array(kept)
                else:
                    del page.Annots
        report = pikepdf.pdfa.check(pdf, "3b")
        assert report.verdict == "pass", report.findings
    check_pdfa3b(path)


def _pdf_datetime(value: str) -> object:
    import datetime as dt
    import re

    m = re.fullmatch(r"D:(\d{14})(Z|[+-])?(\d\d)?'?(\d\d)?'?", value)
    assert m, value
    base = dt.datetime.strptime(m[1], "%Y%m%d%H%M%S")
    if m[2] in (None, "Z"):
        return base.replace(tzinfo=dt.UTC)
    offset = dt.timedelta(hours=int(m[3]), minutes=int(m[4] or 0)) * (-1 if m[2] == "-" else 1)
    return base.replace(tzinfo=dt.timezone(offset))


def _iso_datetime(value: str) -> object:
    import datetime as dt

    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
