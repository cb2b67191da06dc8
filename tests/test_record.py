"""The leaflet's own record (issue 17): review date, approval, sources and feedback, validated,
printed at the end (and "Draft" in every page's footer), and in the PDF metadata; key points."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest

from helpers import AFTERCARE, BRAND, INFO, page_texts, run_cli

Make = Callable[..., Path]
FILE = "content/documents/tiny-info/en.yaml"
DRAFT = "Draft: not yet approved by a clinician"
LINKED = "  - title: A tiny source\n    url: https://www.example.org/tiny\n"
# A section long enough to push the info sheet onto three pages.
LONG = "  - heading: Much more to read\n    paragraphs:\n" + "".join(
    f"      - Paragraph {i}. Thin needles go into tight muscles, and the muscle may twitch, then relax.\n"
    for i in range(60)
)


def with_record(
    text: str, review_by: dt.date | str | None = "2040-11-01", approved_by: str | None = "Clinical lead"
) -> str:
    """text (a tiny document) with its record's review date and approval changed (None: key removed)."""
    lines = [
        line for line in text.splitlines(keepends=True) if not line.startswith(("review_by:", "approved_by:"))
    ]
    text = "".join(lines)
    if review_by is not None:
        text += f"review_by: {review_by}\n"
    if approved_by is not None:
        text += f'approved_by: "{approved_by}"\n'
    return text


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("review_by", "review_by is missing: add 'review_by:' with a date as YYYY-MM-DD"),
        ("approved_by", "approved_by is missing: add 'approved_by:'"),
        ("sources", "sources is missing: add 'sources:'"),
    ],
)
def test_a_document_without_its_record_does_not_validate(make_project: Make, key: str, message: str) -> None:
    text = INFO
    if key == "sources":
        text = text.split("sources:\n")[0]
    else:
        text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(f"{key}:"))
    code, _, err = run_cli(make_project({FILE: text}), "validate")
    assert code == 2
    assert f"{FILE}:1: {message}" in err, err


def test_sources_need_a_title_and_links_are_web_addresses(make_project: Make) -> None:
    text = INFO.replace("  - A tiny source\n", "  - title: A tiny source\n    url: www.example.org\n")
    code, _, err = run_cli(make_project({FILE: text}), "validate")
    assert code == 2 and f"{FILE}:" in err and "sources[0].url" in err, err
    text = INFO.split("sources:\n")[0] + "sources: []\n"
    code, _, err = run_cli(make_project({FILE: text}), "validate")
    assert code == 2 and "sources" in err, err


def test_the_review_date_comes_after_the_effective_date(make_project: Make) -> None:
    code, _, err = run_cli(make_project({FILE: with_record(INFO, "2026-11-01")}), "validate")
    line = with_record(INFO, "2026-11-01").splitlines().index("review_by: 2026-11-01") + 1
    assert code == 2
    assert (
        f"{FILE}:{line}: review_by: the review date must come after the date the wording takes effect" in err
    )


def test_review_date_warns_60_days_before_and_strict_fails_after(make_project: Make) -> None:
    today = dt.date.today()
    root = make_project({FILE: with_record(INFO, today + dt.timedelta(days=61))})
    code, out, err = run_cli(root, "validate", "--strict")
    assert code == 0 and "review_by" not in err, err

    root = make_project({FILE: with_record(INFO, today + dt.timedelta(days=30))}, "soon")
    code, out, err = run_cli(root, "validate")
    assert code == 0 and out.startswith("ok:")
    line = next(i for i, t in enumerate(with_record(INFO).splitlines(), 1) if t.startswith("review_by:"))
    assert f"{FILE}:{line}: warning: review_by: the review is due in 30 days" in err, err

    root = make_project({FILE: with_record(INFO, today - dt.timedelta(days=1))}, "past")
    code, out, err = run_cli(root, "validate")
    assert code == 0, err  # a passed review date warns: the sheet still builds
    assert f"{FILE}:{line}: warning: review_by: the review was due on" in err, err
    code, _, err = run_cli(root, "validate", "--strict")
    assert code == 2 and "Aborted with 1 warning(s) (--strict)" in err, err


def test_a_draft_warns_and_strict_validate_fails(make_project: Make) -> None:
    root = make_project({FILE: with_record(INFO, approved_by="")})
    code, out, err = run_cli(root, "validate")
    assert code == 0 and out.startswith("ok:")
    assert f"{FILE}:" in err and "warning: approved_by: empty, so the document is a draft" in err
    code, _, err = run_cli(root, "validate", "--strict")
    assert code == 2 and "approved_by" in err


def _render(root: Path, doc: str, target: Path, *args: str) -> list[str]:
    code, _, err = run_cli(root, "render", doc, "-o", str(target), *args)
    assert code == 0, err
    return page_texts(target)


def test_a_draft_says_so_on_every_page_and_its_record_ends_the_last(
    make_project: Make, tmp_path: Path
) -> None:
    text = INFO.replace("sections:\n", "sections:\n" + LONG).replace("  - A tiny source\n", LINKED)
    root = make_project({FILE: with_record(text, approved_by="")})
    pages = _render(root, "tiny-info", tmp_path / "draft.pdf")
    assert len(pages) >= 3
    for number, text in enumerate(pages, 1):
        assert DRAFT in " ".join(text.split()), f"page {number}"
    last = " ".join(pages[-1].split())
    assert (
        "Not yet approved by a clinician · Review by 2040-11-01 · Sources: A tiny source "
        "(https://www.example.org/tiny)"
    ) in last
    assert not any("Review by" in page for page in pages[:-1])
    with pikepdf.open(tmp_path / "draft.pdf") as pdf:
        info = {k: str(v) for k, v in pdf.docinfo.items()}
        assert info["/handoutsapprovedby"] == ""
        assert info["/handoutsreviewby"] == "2040-11-01"
        assert info["/handoutssources"] == "A tiny source <https://www.example.org/tiny>"
        with pdf.open_metadata() as xmp:
            assert xmp["dc:source"] == info["/handoutssources"]
            assert xmp["pdfuaid:part"] == "1"


def test_an_approved_sheet_prints_its_record_and_no_draft(make_project: Make, tmp_path: Path) -> None:
    brand = BRAND + "feedback: feedback@example.org\n"
    root = make_project({"content/brands/tiny.yaml": brand})
    pages = _render(root, "tiny-aftercare", tmp_path / "a.pdf")
    text = " ".join(" ".join(pages).split())
    assert "Draft" not in text
    assert "Approved by Clinical lead · Review by 2040-11-01 · Sources: A tiny source" in text
    assert "Tell us what you think of this leaflet: feedback@example.org" in " ".join(pages[-1].split())
    with pikepdf.open(tmp_path / "a.pdf") as pdf:
        assert str(pdf.docinfo["/handoutsapprovedby"]) == "Clinical lead"


def test_no_feedback_line_without_the_brands_feedback(make_project: Make, tmp_path: Path) -> None:
    pages = _render(make_project(), "tiny-consent", tmp_path / "c.pdf")
    text = " ".join(pages)
    assert "Approved by Clinical lead" in " ".join(pages[-1].split())
    assert "Tell us" not in text


def test_key_points_show_under_the_title(make_project: Make, tmp_path: Path) -> None:
    text = AFTERCARE.replace(
        "sections:\n", "key_points:\n  - Soreness fades.\n  - Chest pain needs care now.\nsections:\n"
    )
    root = make_project({"content/documents/tiny-aftercare/en.yaml": text})
    first = " ".join(_render(root, "tiny-aftercare", tmp_path / "k.pdf")[0].split())
    title, points, section = (
        first.index("Tiny aftercare sheet"),
        first.index("The main points"),
        first.index("After your session"),
    )
    assert (
        title < points < first.index("Soreness fades.") < first.index("Chest pain needs care now.") < section
    )
    with pikepdf.open(tmp_path / "k.pdf") as pdf:
        roles = _roles(pdf.Root.StructTreeRoot)
    # A heading and a list of their own in the structure tree, not just bold text.
    assert roles.count("/H2") == 5 and "/L" in roles  # 3 sections, the key points, the contact


def _roles(node: pikepdf.Object) -> list[str]:
    found: list[str] = []
    kids = node.get("/K")
    if kids is None:
        return found
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            found.append(str(kid.S))
            found += _roles(kid)
    return found


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (["One.", "Two.", "Three.", "Four."], "key_points has 4 items; at most 3"),
        (["x" * 101], "key_points[0] is too long (101 characters; at most 100)"),
    ],
)
def test_key_points_are_at_most_three_short_lines(
    make_project: Make, points: list[str], message: str
) -> None:
    block = "key_points:\n" + "".join(f"  - {p}\n" for p in points)
    code, _, err = run_cli(
        make_project({FILE: INFO.replace("sections:\n", block + "sections:\n")}), "validate"
    )
    assert code == 2
    line = INFO.splitlines().index("sections:") + 2  # the first key point
    assert f"{FILE}:{line}: {message}" in err, err


def test_consent_forms_have_no_key_points(make_project: Make) -> None:
    from helpers import CONSENT

    text = CONSENT.replace("sections:\n", "key_points:\n  - One.\nsections:\n")
    code, _, err = run_cli(make_project({"content/documents/tiny-consent/en.yaml": text}), "validate")
    assert code == 2 and "unknown key 'key_points'" in err, err


def test_a_packet_carries_its_documents_record(built_project: Path, tmp_path: Path) -> None:
    target = tmp_path / "packet.pdf"
    code, _, err = run_cli(
        built_project, "packet", "--patient", "Jo Test", "--dob", "1980-02-03", "-o", str(target)
    )
    assert code == 0, err
    with pikepdf.open(target) as pdf:
        info = {k: str(v) for k, v in pdf.docinfo.items()}
        assert info["/handoutsreviewby"] == "2040-11-01"
        assert info["/handoutssources"] == "A tiny source"  # each source once
        assert "/handoutsdrafts" not in info  # every tiny document is approved
        with pdf.open_metadata() as xmp:
            assert xmp["dc:source"] == "A tiny source" and xmp["pdfuaid:part"] == "1"


def test_a_packets_record_names_its_drafts_and_earliest_review() -> None:
    from handouts.packet.assemble import packet_record

    keys = ("/handoutsreviewby", "/handoutsapprovedby", "/handoutssources")
    records = [
        dict(zip(("doc", *keys), ("a", "2028-01-01", "Clinical lead", "Page one; Page two"), strict=True)),
        dict(zip(("doc", *keys), ("b", "2027-06-01", "", "Page two"), strict=True)),
    ]
    assert packet_record(records) == {
        "/handoutsreviewby": "2027-06-01",
        "/handoutsdrafts": "b",
        "/handoutssources": "Page one; Page two",
    }
