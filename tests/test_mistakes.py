"""A new clinic's first hour (issue 19): each mistake reported once, at its line, with the fix;
no fallback without a word."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from handouts.content.brandcheck import contrast, font_problem, image_problem, stamp_face, stamp_face_problem
from handouts.content.catalogue import load_catalogue
from handouts.project import Project

from helpers import (
    AFTERCARE,
    BRAND,
    CONSENT,
    INFO,
    REPO,
    fill_form,
    french,
    repository_project,
    run_cli,
    starter_text,
    tiny_settings,
)

Make = Callable[..., Path]

TWO_BRANDS = {"content/brands/other.yaml": BRAND.replace("Tiny Clinic", "Other Clinic")}


def _french(make_project: Make, files: dict[str, str] | None = None) -> Path:
    """The tiny project with French messages and list, and French documents where files say."""
    return make_project({**french(), **(files or {})})


# --- one mistake, one line: no follow-ons --------------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        INFO.replace("title:", "titel:"),
        INFO.replace("  - heading: What", "\t- heading: What"),
        INFO.replace("2026-11-01", "2026-13-01"),
        INFO.replace("id: tiny-info", "id: tiny info"),
    ],
)
def test_a_broken_default_language_file_is_one_error_not_two(make_project: Make, broken: str) -> None:
    root = _french(
        make_project,
        {
            "content/documents/tiny-info/en.yaml": broken,
            "content/documents/tiny-info/fr.yaml": INFO.replace("title: Tiny", "title: Petite"),
        },
    )
    code, _, err = run_cli(root, "validate")
    lines = err.splitlines()
    assert code == 2
    assert lines[-1] == "Aborted with 1 content error.", err
    assert "no en.yaml" not in err and "every document needs" not in err
    assert lines[0].startswith("content/documents/tiny-info/en.yaml:")


def test_a_broken_document_keeps_its_outputs_without_warnings_even_with_prune(built_project: Path) -> None:
    root = built_project
    before = (root / "out/tiny/en/tiny-info.pdf").read_bytes()
    path = root / "content/documents/tiny-info/en.yaml"
    path.write_text(INFO.replace("title:", "titel:"), "utf-8")
    for args in ((), ("--prune",)):
        code, _, err = run_cli(root, "build", *args)
        assert code == 2
        assert "no content produces" not in err and "no longer" not in err, err
        assert "pruned" not in err
        assert err.count("tiny-info/en.yaml") == 1, err
        assert (root / "out/tiny/en/tiny-info.pdf").read_bytes() == before
        assert (root / "out/tiny/en/tiny-info-large-print.pdf").is_file()


def test_a_broken_translation_is_not_rebuilt_from_the_default_language(make_project: Make) -> None:
    from handouts.render.outputs import plan_outputs

    root = _french(make_project, {"content/documents/tiny-info/fr.yaml": INFO.replace("title:", "titel:")})
    cat = load_catalogue(Project(root), strict=False)
    assert cat.broken == {("tiny-info", "fr")}
    keys = {s.key for s in plan_outputs(cat)}
    assert "tiny/fr/tiny-info.pdf" not in keys  # not an English sheet under the French name
    assert "tiny/en/tiny-info.pdf" in keys and "tiny/fr/tiny-consent.pdf" in keys
    messages = [p.message for p in cat.errors + cat.warnings]
    assert not any("not translated" in m and "tiny-info" in m for m in messages), messages


def test_prune_removes_the_folders_it_empties(built_project: Path) -> None:
    root = built_project
    shutil.copy(root / "content/brands/tiny.yaml", root / "content/brands/second.yaml")
    assert run_cli(root, "build")[0] == 0
    assert (root / "out/second/en").is_dir()
    (root / "content/brands/second.yaml").unlink()
    code, _, err = run_cli(root, "build", "--prune")
    assert code == 0, err
    assert not (root / "out/second").exists()
    assert (root / "out/tiny/en/tiny-info.pdf").is_file()


# --- what a brand names is what it claims ----------------------------------------------------


def _brand_errors(
    make_project: Make, brand: str, files: dict[str, str | bytes] | None = None, name: str = "proj"
) -> str:
    root = make_project({"content/brands/tiny.yaml": brand, **(files or {})}, name=name)
    return run_cli(root, "validate")[2]


def test_a_logo_that_is_not_an_image_is_refused(make_project: Make) -> None:
    brand = BRAND + "logo: assets/logo.png\nlogo_alt: Logo\n"
    err = _brand_errors(make_project, brand, {"content/brands/assets/logo.png": "not a picture\n"})
    assert "content/brands/tiny.yaml:7: logo: content/brands/assets/logo.png is not a PNG image" in err
    assert "export the logo again" in err


def test_svg_logos_must_parse_and_be_svg(tmp_path: Path) -> None:
    bad = tmp_path / "a.svg"
    bad.write_text("<svg><g></svg>", "utf-8")
    html = tmp_path / "b.svg"
    html.write_text("<html><body/></html>", "utf-8")
    good = REPO / "content/brands/assets/demo-logo.svg"
    assert "not a readable SVG image" in str(image_problem(bad)[0])
    assert "not an SVG image (it holds <html>)" in str(image_problem(html)[0])
    assert image_problem(good) == (None, False)


def test_raster_logos_decode_and_match_their_name(tmp_path: Path) -> None:
    from PIL import Image

    png, jpeg_named_png = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (4, 4), "white").save(png, "PNG")
    Image.new("RGB", (4, 4), "white").save(jpeg_named_png, "JPEG")
    truncated = tmp_path / "c.png"
    truncated.write_bytes(png.read_bytes()[:20])
    assert image_problem(png) == (None, False)
    assert image_problem(jpeg_named_png) == ("is a JPEG image named .png: rename it to end in .jpg", True)
    assert "is not a PNG image" in str(image_problem(truncated)[0])
    assert "is not a PNG, JPEG or SVG file" in str(image_problem(tmp_path / "x.bmp")[0])


def test_a_font_that_is_not_installed_is_refused_with_similar_ones(make_project: Make) -> None:
    err = _brand_errors(make_project, BRAND.replace("font: DejaVu Sans", "font: Open Sanz"))
    assert "content/brands/tiny.yaml:6: font: 'Open Sanz' is not installed" in err
    assert "installed ones with a similar name: Open Sans" in err
    message = font_problem("Comic Sans Pro")
    assert message is not None and "is not installed" in message and "install it" in message
    assert font_problem("DejaVu Sans") is None and font_problem("lato") is None


def test_a_font_the_stamp_cannot_use_is_a_warning_not_a_silent_fallback(make_project: Make) -> None:
    # Nimbus Sans (fonts-urw-base35, which ./dev installs) is an .otf with CFF outlines: the
    # documents print in it, but a packet's "Prepared for" line cannot embed it.
    face = stamp_face("Nimbus Sans")
    assert face is not None and face.read_bytes()[:4] == b"OTTO"
    root = make_project({"content/brands/tiny.yaml": BRAND.replace("font: DejaVu Sans", "font: Nimbus Sans")})
    code, _, err = run_cli(root, "validate")
    assert code == 0, err  # a warning: the brand still builds
    assert (
        "content/brands/tiny.yaml:6: warning: font: the regular face of 'Nimbus Sans' has CFF (PostScript) "
        "outlines, so packets set the 'Prepared for' line in the field font (DejaVu Sans) instead"
    ) in err, err
    assert run_cli(root, "validate", "--strict")[0] != 0
    for family in ("DejaVu Sans", "Lato", "Open Sans"):  # TrueType faces: the stamp uses them
        assert stamp_face_problem(family) is None, family


def test_a_brand_file_name_must_be_a_safe_folder_name(make_project: Make) -> None:
    err = _brand_errors(make_project, BRAND, {"content/brands/maple leaf.yaml": BRAND})
    assert (
        "content/brands/maple leaf.yaml: the file name 'maple leaf' becomes the brand's id and a folder "
        "in out/: rename the file to maple-leaf.yaml"
    ) in err


def test_colours_must_meet_wcag_aa_contrast_on_white(make_project: Make) -> None:
    err = _brand_errors(make_project, BRAND.replace('primary: "#112233"', 'primary: "#ffff00"'))
    assert (
        "content/brands/tiny.yaml:4: colors.primary: #ffff00 on the white page has a contrast of 1.1:1" in err
    )
    assert "at least 4.5:1 (WCAG AA): choose a darker colour" in err
    for brand in ("demo", "turning-point"):  # the shipped brands pass
        text = (REPO / f"content/brands/{brand}.yaml").read_text("utf-8")
        assert "contrast" not in _brand_errors(make_project, text.replace("logo:", "#logo:"), {}, brand)


PAIRS = [("#000000", "#ffffff"), ("#777777", "#ffffff"), ("#b5542a", "#ffffff"), ("#0b5d7a", "#ffffff"),
         ("#ffff00", "#ffffff"), ("#123456", "#fedcba")]  # fmt: skip


@pytest.mark.parametrize("pair", PAIRS)
def test_contrast_is_the_wcag_ratio(pair: tuple[str, str]) -> None:
    from coloraide import Color  # a colour library nobody here wrote judges the formula

    expected = Color(pair[0]).contrast(pair[1], method="wcag21")
    assert contrast(*pair) == pytest.approx(expected, abs=0.005)


# --- fallbacks say so, or are refused ---------------------------------------------------------


def test_a_french_default_language_does_not_warn_about_version_question_marks(make_project: Make) -> None:
    files = {
        "handouts.yaml": "default_language: fr\n",
        **{f"content/documents/{d}/fr.yaml": text for d, text in
           (("tiny-info", INFO), ("tiny-aftercare", AFTERCARE), ("tiny-consent", CONSENT))},
    }  # fmt: skip
    root = _french(make_project, files)
    code, out, err = run_cli(root, "validate")
    assert code == 0, err
    assert "?" not in err and "lags" not in err, err
    # A translation whose own version is behind still warns, with the fix.
    (root / "content/documents/tiny-info/en.yaml").write_text(INFO.replace('"1.0"', '"0.9"'), "utf-8")
    err = run_cli(root, "validate")[2]
    assert (
        "content/documents/tiny-info/en.yaml:4: warning: translation lags: it translates version 0.9 but fr "
        'is at 1.0; update it and set translates: "1.0"'
    ) in err


def test_a_packet_in_a_language_a_document_lacks_is_refused(make_project: Make) -> None:
    root = _french(make_project, {"content/documents/tiny-info/fr.yaml": INFO})
    code, _, err = run_cli(root, "packet", "--patient", "Léa T", "--lang", "fr", "--docs", "info,consent")
    assert code == 2
    assert err.strip() == (
        "--lang: tiny-consent has no 'fr' version (content/documents/<id>/fr.yaml): translate it, "
        "choose another language, or leave it out of the packet"
    )
    assert not list(root.glob("*.pdf"))


def test_several_documents_of_a_kind_need_a_default(make_project: Make) -> None:
    second = INFO.replace("id: tiny-info", "id: tiny-info-two")
    root = make_project({"content/documents/tiny-info-two/en.yaml": second})
    code, _, err = run_cli(root, "validate")
    assert code == 0
    assert (
        "2 documents are of kind 'info' (tiny-info, tiny-info-two): packets asking for 'info' will be " in err
    )
    code, _, err = run_cli(root, "packet", "--patient", "P", "--docs", "info")
    assert code == 2
    assert "--docs: 'info' could mean tiny-info, tiny-info-two: name one of them, or mark the one" in err
    (root / "content/documents/tiny-info-two/en.yaml").write_text(second + "default: true\n", "utf-8")
    cat = load_catalogue(Project(root))
    assert cat.defaults["info"] == "tiny-info-two" and not cat.warnings
    (root / "content/documents/tiny-info/en.yaml").write_text(INFO + "default: true\n", "utf-8")
    code, _, err = run_cli(root, "validate")
    assert code == 2
    assert "default: tiny-info is already the default info; mark only one document of a kind" in err


def test_the_shipped_csv_works_with_a_second_document_of_a_kind(tmp_path: Path) -> None:
    from handouts.build.index import CatalogueIndex
    from handouts.packet.make import resolve_docs

    root = repository_project(tmp_path / "proj", copy_documents=True)
    info = (root / "content/documents/dry-needling-info/en.yaml").read_text("utf-8")
    extra = root / "content/documents/shockwave-info"
    extra.mkdir()
    (extra / "en.yaml").write_text(info.replace("id: dry-needling-info", "id: shockwave-info"), "utf-8")
    (root / "content/documents/dry-needling-info/en.yaml").write_text(info + "default: true\n", "utf-8")
    index = CatalogueIndex.from_catalogue(load_catalogue(Project(root)))
    assert resolve_docs(index, ["info", "consent", "aftercare"], "en")[0] == "dry-needling-info"
    # The snapshot's index keeps what packets need to choose.
    again = CatalogueIndex.from_json(index.to_json())
    assert again.defaults == index.defaults and again.default_brand == index.default_brand


def test_without_a_default_brand_several_brands_are_never_picked_for_you(make_project: Make) -> None:
    root = make_project(TWO_BRANDS)
    code, _, err = run_cli(root, "packet", "--patient", "P")
    assert code == 2
    assert err.strip() == "--brand: choose a brand (other, tiny), or set default_brand in handouts.yaml"
    code, _, err = run_cli(root, "render", "tiny-info", "--html", "-o", str(root / "x.html"))
    assert code == 2 and "--brand: choose a brand" in err
    (root / "handouts.yaml").write_text(tiny_settings("default_brand: tiny"), "utf-8")
    code, _, err = run_cli(root, "render", "tiny-info", "--html", "-o", str(root / "x.html"))
    assert code == 0, err
    assert "Tiny Clinic" in (root / "x.html").read_text("utf-8")
    (root / "handouts.yaml").write_text(tiny_settings("out: out", "default_brand: nowhere"), "utf-8")
    code, _, err = run_cli(root, "validate")
    assert code == 2
    assert "handouts.yaml:4: default_brand: 'nowhere' is not a brand; choose from: other, tiny" in err


def test_the_front_desk_makes_you_choose_the_clinic_without_a_default(make_project: Make) -> None:
    from handouts.web.app import create_app

    root = make_project(TWO_BRANDS)
    client = create_app(Project(root)).test_client()
    html = client.get("/").get_data(as_text=True)
    assert '<option value="" selected>Choose the clinic</option>' in html
    (root / "handouts.yaml").write_text(tiny_settings("default_brand: tiny"), "utf-8")
    html = client.get("/").get_data(as_text=True)
    assert "Choose the clinic" not in html
    assert '<option value="tiny" selected>' in html


def test_a_csv_row_without_an_email_is_paper_only_not_a_failure(module_built: Path, tmp_path: Path) -> None:
    day = tmp_path / "day.csv"
    day.write_text("patient,date,email\nAda Mail,2026-12-01,ada@example.org\nBo Paper,2026-12-01,\n", "utf-8")
    code, out, err = run_cli(
        module_built, "packets", "--csv", str(day), "--out", str(tmp_path / "o"), "--eml", str(tmp_path / "e")
    )
    assert code == 0, err
    assert "row 3: not sent: no email" in out
    assert "1 without an email address (paper only)" in out
    assert "not sent: no email" in (tmp_path / "o/report.csv").read_text("utf-8-sig")
    assert len(list((tmp_path / "e").glob("*.eml"))) == 1


def test_dev_keeps_the_callers_folder(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "content").mkdir()
    (root / "templates").mkdir()
    run = subprocess.run(
        [str(REPO / "dev"), "--project", "proj", "list"], cwd=tmp_path, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert "not a handouts project" not in run.stderr, run.stderr
    assert "no brand files" in run.stderr  # it read ./proj, relative to the caller's folder
    run = subprocess.run(
        [str(REPO / "dev"), "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr  # no --project: the repository's own project
    assert run.stdout.startswith("ok: ")


def test_french_reading_ease_stays_on_its_0_to_100_scale() -> None:
    from handouts.lint.readability import analyse, formula_for

    formula = formula_for("fr")
    assert formula is not None
    easy = formula.score(analyse(["Oui.", "Non.", "Un peu."], "fr"))
    hard = formula.score(analyse(["anticonstitutionnellement " * 40 + "."], "fr"))
    assert easy == 100.0 and hard == 0.0


def test_the_archive_of_a_filled_packet_names_no_unembedded_font(module_built: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    packet = tmp_path / "p.pdf"
    code, _, err = run_cli(module_built, "packet", "--patient", "Jo P", "--fillable", "-o", str(packet))
    assert code == 0, err
    fields = PdfReader(packet).get_fields() or {}
    values = {k: "/no" for k in fields if k.startswith("contraindication.")}
    values.update({"consent.agree": "/Yes", "patient.signature": "Jo P", "patient.date": "2026-12-01"})
    filled = fill_form(packet, tmp_path / "f.pdf", values)
    record = tmp_path / "r.pdf"
    code, _, err = run_cli(module_built, "archive", str(filled), "-o", str(record))
    assert code == 0, err
    fonts = subprocess.run(["pdffonts", str(record)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("ZapfDingbats" not in row for row in rows), fonts
    assert all(row[-5] == "yes" for row in rows), fonts  # emb: every font embedded


def test_readme_says_which_brand_keys_are_required() -> None:
    import re

    import yaml as pyyaml

    from handouts.content.models import Brand

    readme = (REPO / "README.md").read_text("utf-8")
    block = readme.split("### Add a brand", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    said = {
        line.split(":", 1)[0].strip() for line in block.splitlines() if re.search(r"#\s*required\b", line)
    }
    required = {name for name, field in Brand.model_fields.items() if field.is_required()}
    assert said == required, (said, required)
    Brand.model_validate(pyyaml.safe_load(io.StringIO(block)))  # and the example is a valid brand


def test_the_readmes_form_filling_example_runs_as_written(module_built: Path, tmp_path: Path) -> None:
    import sys

    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("## The fillable consent form", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    form = module_built / "out/tiny/en/tiny-consent-fillable.pdf"
    packet = tmp_path / "packet.pdf"
    code, _, err = run_cli(
        module_built, "packet", "--patient", "Jane Doe", "--fillable", "--password", "the password",
        "--docs", "consent", "-o", str(packet),
    )  # fmt: skip
    assert code == 0, err
    for name, source in (("plain", form), ("encrypted", packet)):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(source, folder / "dry-needling-consent-fillable.pdf")
        run = subprocess.run([sys.executable, "-c", snippet], cwd=folder, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        code, out, _ = run_cli(module_built, "screen", str(folder / "filled.pdf"))
        assert code == 1, out  # flagged
        assert "FLAGGED" in out and "YES pregnancy" in out
        assert "unanswered" not in out.lower(), out  # every question answered, signed and dated


# The README's tour of mistakes: each edit, made to the shipped content.
TOUR = {
    "content/brands/demo.yaml": ('primary: "#0b5d7a"', "primary: #0b5d7a"),
    "content/brands/turning-point.yaml": ('primary: "#1f4e79"', 'primary: "#ffff00"'),
    "content/documents/dry-needling-info/en.yaml": ("title:", "titel:"),
    "content/documents/dry-needling-info/fr.yaml": ("  - heading: Qu'est", "\t- heading: Qu'est"),
    "content/documents/dry-needling-consent/en.yaml": ('version: "1.0"', "version: 1.1"),
    "content/documents/dry-needling-aftercare/en.yaml": ("effective: 2026-11-01", "effective: 01/12/2026"),
}


def test_the_readmes_tour_of_mistakes_is_what_validate_says(tmp_path: Path) -> None:
    root = repository_project(tmp_path / "proj", copy_documents=True)  # the documents, to edit
    for rel, (old, new) in TOUR.items():
        path = root / rel
        text = path.read_text("utf-8")
        assert old in text, rel
        path.write_text(text.replace(old, new, 1), "utf-8")
    code, _, err = run_cli(root, "validate")
    assert code == 2
    readme = (REPO / "README.md").read_text("utf-8")
    shown = readme.split("$ handouts validate            # with mistakes\n", 1)[1].split("```", 1)[0]
    assert err.splitlines() == shown.splitlines()


def test_an_email_in_a_language_without_its_templates_says_it_borrows_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handouts.layers import for_project
    from handouts.mail import compose

    monkeypatch.setattr(compose, "_WARNED", set())  # said once per process: start afresh

    # German: the theme has English and French email templates; the project adds a German subject.
    (tmp_path / "templates/email/de").mkdir(parents=True)
    (tmp_path / "templates/email/de/subject.txt.j2").write_text("x", "utf-8")
    with caplog.at_level("WARNING"):
        found = compose.find_templates(for_project(Project(tmp_path)), "tiny", "de", "en")
    assert found["subject.txt.j2"] == "de/subject.txt.j2" and found["body.txt.j2"] == "en/body.txt.j2"
    assert "templates/email/de/ has no body.txt.j2: de messages use the en one" in caplog.text
    assert "subject.txt.j2" not in caplog.text


@pytest.mark.parametrize(
    ("rel", "words"),
    [
        ("content/messages/EN_ca.yaml", "the file name 'EN_ca' must be a language code such as en or fr-CA"),
        (
            "content/messages/xx.yaml",
            "'xx' is not a language code babel knows, so dates could not be written",
        ),
    ],
)
def test_language_file_names_are_codes(make_project: Make, rel: str, words: str) -> None:
    root = make_project(
        {rel: starter_text("messages/en.yaml"), "handouts.yaml": "starter_documents: false\n"}
    )
    code, _, err = run_cli(root, "validate")
    assert code == 2
    assert f"{rel}: {words}" in err
    assert "Traceback" not in err
