"""`handouts packet`: one patient's documents merged, stamped, pre-filled; fast and careful."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from helpers import page_texts, run_cli

DETAILS = [
    "--patient",
    "Jane Doe",
    "--dob",
    "1980-02-03",
    "--date",
    "2026-12-01",
    "--therapist",
    "Sam Lee",
    "--area",
    "left upper trapezius",
]


@pytest.fixture(scope="module")
def project(module_built: Path) -> Path:
    return module_built


def packet(project: Path, tmp_path: Path, *args: str) -> tuple[int, Path, str]:
    target = tmp_path / "packet.pdf"
    code, _, err = run_cli(project, "packet", *DETAILS, *args, "-o", str(target))
    return code, target, err


def flat(text: str) -> str:
    return " ".join(text.split())


def test_documents_in_order_with_bookmarks_and_page_labels(project: Path, tmp_path: Path) -> None:
    code, target, err = packet(project, tmp_path, "--docs", "consent,info")
    assert code == 0, err
    reader = PdfReader(target)
    outline = [(item.title, reader.get_destination_page_number(item)) for item in reader.outline]
    assert [title for title, _ in outline] == ["Tiny consent form", "Tiny information sheet"]
    consent_pages = len(PdfReader(project / "out/tiny/en/tiny-consent-fillable.pdf").pages)
    assert [page for _, page in outline] == [0, consent_pages]
    assert reader.page_labels == [str(n) for n in range(1, len(reader.pages) + 1)]


def test_details_printed_on_first_page_of_each_document(project: Path, tmp_path: Path) -> None:
    code, target, err = packet(project, tmp_path)
    assert code == 0, err
    reader = PdfReader(target)
    firsts = [reader.get_destination_page_number(item) for item in reader.outline]
    line = "Prepared for Jane Doe, December 1, 2026, therapist Sam Lee, area: left upper trapezius"
    texts = page_texts(target)
    for number, text in enumerate(texts):
        assert (line in flat(text)) == (number in firsts), number


def test_consent_prefilled_and_flattened_for_print(project: Path, tmp_path: Path) -> None:
    code, target, err = packet(project, tmp_path)
    assert code == 0, err
    reader = PdfReader(target)
    assert not reader.get_fields()
    assert "/AcroForm" not in reader.trailer["/Root"]
    text = flat(" ".join(page_texts(target)))
    assert "1980-02-03" in text  # date of birth, on the consent form (unambiguous in any language)
    assert "Sam Lee" in text


def test_fillable_packet_keeps_the_form_and_screen_reads_it(project: Path, tmp_path: Path) -> None:
    code, target, err = packet(project, tmp_path, "--fillable")
    assert code == 0, err
    fields = PdfReader(target).get_fields()
    assert fields["patient.name"]["/V"] == "Jane Doe"
    assert fields["therapist.name"]["/V"] == "Sam Lee"
    assert "contraindication.pregnancy" in fields
    # The form's field hierarchy survives the merge: no partial name holds a period.
    partial = [str(f["/T"]) for f in fields.values() if "/T" in f]
    assert "contraindication" in partial and not [name for name in partial if "." in name]
    code, out, _ = run_cli(project, "screen", "--json", str(target))
    assert code == 3  # nothing answered yet
    data = json.loads(out)
    assert data["form"]["document"] == "tiny-consent"
    assert data["patient_name"] == "Jane Doe"


def test_packet_names_only_embedded_fonts(project: Path, tmp_path: Path) -> None:
    # A record archived from a packet is PDF/A: every font it names must be embedded (the
    # stamp once carried the form's unembedded ZapfDingbats into every first page).
    code, target, err = packet(project, tmp_path, "--fillable")
    assert code == 0, err
    rows = subprocess.run(["pdffonts", str(target)], check=True, capture_output=True, text=True).stdout
    fonts = rows.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), rows


def marked_content(page: Any) -> list[tuple[str, int | None, list[str]]]:
    """Each marked-content sequence on a page: (tag, MCID or None, XObjects it draws)."""
    import pikepdf

    found: list[tuple[str, int | None, list[str]]] = []
    open_: list[tuple[str, int | None, list[str]]] = []
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op in ("BMC", "BDC"):
            props = operands[1] if op == "BDC" else None
            mcid = int(props.MCID) if isinstance(props, pikepdf.Dictionary) and "/MCID" in props else None
            open_.append((str(operands[0]), mcid, []))
        elif op == "EMC" and open_:
            found.append(open_.pop())
        elif op == "Do":
            for sequence in open_:
                sequence[2].append(str(operands[0]))
            if not open_:
                found.append(("", None, [str(operands[0])]))
    return found


@pytest.mark.parametrize("fillable", [False, True])
def test_packet_is_tagged_each_document_a_part(project: Path, tmp_path: Path, fillable: bool) -> None:
    import pikepdf

    code, target, err = packet(project, tmp_path, *(["--fillable"] if fillable else []))
    assert code == 0, err
    pdf = pikepdf.open(target)
    assert pdf.Root.MarkInfo.Marked and str(pdf.Root.Lang) == "en"
    root = pdf.Root.StructTreeRoot
    (document,) = list(root.K)
    assert str(document.S) == "/Document"
    parts = list(document.K)
    assert [str(p.S) for p in parts] == ["/Part"] * 3
    assert [str(p.T) for p in parts] == [
        "Tiny information sheet",
        "Tiny consent form",
        "Tiny aftercare sheet",
    ]
    tree = {int(k): v for k, v in pikepdf.NumberTree(root.ParentTree).items()}
    pages = list(pdf.pages)
    for number, page in enumerate(pages):
        marks = tree[int(page.obj.StructParents)]
        sequences = marked_content(page)
        mcids = [m for _, m, _ in sequences if m is not None]
        assert len(mcids) == len(set(mcids)) and mcids, number
        for mcid in mcids:  # every piece of tagged content leads to its element
            assert str(marks[mcid].get("/Type")) == "/StructElem", (number, mcid)
        for tag, _, drawn in sequences:  # stamps and flattened field values are never untagged
            if any(name == "/HandoutsStamp" or name.startswith("/Fxo") for name in drawn):
                assert tag in ("/P", "/Artifact"), (number, tag, drawn)
    reader = PdfReader(target)
    firsts = [reader.get_destination_page_number(item) for item in reader.outline]
    for part, first in zip(parts, firsts, strict=True):
        stamp = part.K[0]  # "Prepared for ..." is the first paragraph of each document
        assert str(stamp.S) == "/P" and stamp.Pg.objgen == pages[first].objgen
        assert any(
            m == int(stamp.K) for _, m, drawn in marked_content(pages[first]) if "/HandoutsStamp" in drawn
        )
    annots = {a.objgen for page in pages for a in page.obj.get("/Annots", [])}
    refs = []
    stack = [root]
    while stack:
        element = stack.pop()
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
            if isinstance(kid, pikepdf.Dictionary):
                if kid.get("/Type") == "/OBJR":
                    refs.append(kid.Obj.objgen)
                elif kid.get("/Type") != "/MCR":
                    stack.append(kid)
    assert set(refs) <= annots  # no reference to an annotation that is gone
    assert bool(refs) == fillable and (not fillable or len(set(refs)) == len(annots))


def test_password_encrypts_with_aes_256(project: Path, tmp_path: Path) -> None:
    code, target, err = packet(project, tmp_path, "--fillable", "--password", "pw-123")
    assert code == 0, err
    reader = PdfReader(target)
    assert reader.is_encrypted
    assert reader.trailer["/Encrypt"]["/V"] == 5  # AES-256
    assert reader.decrypt("pw-123")
    code, _, _ = run_cli(project, "screen", "--password", "pw-123", str(target))
    assert code == 3
    code, _, err = run_cli(project, "screen", str(target))
    assert code == 2 and "encrypted" in err


def test_default_file_name_holds_no_patient_name(project: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "handouts", "--project", str(project), "packet", *DETAILS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    files = list(tmp_path.glob("*.pdf"))
    assert len(files) == 1
    assert "jane" not in files[0].name.lower() and "doe" not in files[0].name.lower()
    assert files[0].stat().st_mode & 0o077 == 0  # readable by its owner only
    subprocess.run(
        [
            sys.executable,
            "-m",
            "handouts",
            "--project",
            str(project),
            "packet",
            *DETAILS,
            "--name-pattern",
            "{patient}-{date}.pdf",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "Jane-Doe-2026-12-01.pdf").is_file()
    assert "Jane" not in result.stderr


def test_fast_path_imports_neither_weasyprint_nor_the_content_models(project: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from handouts.cli import main\n"
        "try:\n"
        f"    main(['--project', {str(project)!r}, 'packet', '--patient', 'A B',\n"
        f"          '-o', {str(tmp_path / 'p.pdf')!r}])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "print([m for m in ('weasyprint', 'pydantic', 'jinja2') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert (tmp_path / "p.pdf").is_file()


def test_stale_document_is_built_first(make_project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = make_project()
    code, _, err = run_cli(
        root, "packet", "--patient", "A B", "--docs", "info", "-o", str(tmp_path / "p.pdf")
    )
    assert code == 0, err
    assert (root / "out/tiny/en/tiny-info.pdf").is_file()
    assert "Tiny information sheet" in page_texts(tmp_path / "p.pdf")[0]


@pytest.mark.parametrize(
    "name",
    ["<b>Bold</b> Smith", "{{ 7*7 }} Jones", "%PDF-1.7 Brown", "Łukasz Żółć", "Ольга Σοφία"],
)
def test_hostile_but_printable_names_print_literally(project: Path, tmp_path: Path, name: str) -> None:
    target = tmp_path / "p.pdf"
    code, _, err = run_cli(project, "packet", "--patient", name, "--fillable", "-o", str(target))
    assert code == 0, err
    assert name in flat(page_texts(target)[0])
    assert PdfReader(target).get_fields()["patient.name"]["/V"] == name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patient", "x" * 500], "--patient is 500 characters long; at most 100"),
        (["--patient", "Jane \u202eeoD"], "invisible control character (U+202E)"),
        (["--patient", "Jane \u200fDoe"], "invisible control character (U+200F)"),
        (["--patient", "Jane 😀"], "which the form font cannot print"),
        (["--patient", "王小明"], "which the form font cannot print"),
        (["--patient", "   "], "--patient is required"),
        (["--patient", "A", "--dob", "2026-02-30"], "--dob is not a real date; use YYYY-MM-DD"),
        (["--patient", "A", "--date", "tomorrow"], "--date is not a real date"),
        (["--patient", "A", "--dob", "2030-01-01", "--date", "2026-12-01"], "is after the appointment"),
        (["--patient", "A", "--docs", "leaflet"], "unknown document 'leaflet'"),
        (["--patient", "A", "--brand", "nope"], "unknown brand 'nope'"),
        (["--patient", "A", "--password", "p" * 128], "--password is too long: at most 127 bytes"),
        (["--patient", "A", "--password", "Ж" * 64], "--password is too long"),
        (  # three lines of large print at the smallest size allowed hold about 270 characters
            ["--large-print", "--patient", "Pat " * 25, "--therapist", "Theo " * 20, "--area", "arm " * 25],
            "too long to print legibly; shorten --area or --therapist",
        ),
    ],
)
def test_bad_values_are_refused_with_one_line(
    project: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    code, out, err = run_cli(project, "packet", *args, "-o", str(tmp_path / "p.pdf"))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p.pdf").exists()


def test_longest_password_opens_and_long_details_shrink_but_print(project: Path, tmp_path: Path) -> None:
    password = "Ж" * 63  # 126 bytes of UTF-8: the most the AES-256 handler reads is 127
    code, target, err = packet(project, tmp_path, "--fillable", "--password", password)
    assert code == 0, err
    assert run_cli(project, "screen", "--password", password, str(target))[0] == 3
    area = "left upper trapezius and the muscles along the shoulder blade"
    code, target, err = run_cli(
        project, "packet", "--patient", "Maximiliana Bartholomew-Featherstonehaugh", "--therapist",
        "Sam Lee", "--area", area, "-o", str(tmp_path / "long.pdf"),
    )  # fmt: skip
    assert code == 0, err
    assert area in flat(page_texts(tmp_path / "long.pdf")[0])


def test_large_print_packet(project: Path, tmp_path: Path) -> None:
    code, target, err = packet(project, tmp_path, "--large-print", "--fillable")
    assert code == 0, err
    reader = PdfReader(target)
    assert [item.title for item in reader.outline] == [
        "Tiny information sheet",
        "Tiny consent form",
        "Tiny aftercare sheet",
    ]
    large = len(PdfReader(project / "out/tiny/en/tiny-info-large-print.pdf").pages)
    assert reader.get_destination_page_number(reader.outline[1]) == large
    assert "Prepared for Jane Doe" in flat(page_texts(target)[0])


def test_options_change_the_default_file_name(project: Path, tmp_path: Path) -> None:
    names = set()
    for extra in ([], ["--fillable"], ["--large-print"], ["--password", "x"]):
        subprocess.run(
            [sys.executable, "-m", "handouts", "--project", str(project), "-q", "packet", *DETAILS, *extra],
            cwd=tmp_path,
            check=True,
        )
        names = {p.name for p in tmp_path.glob("*.pdf")}
    assert len(names) == 4  # a re-run with other options never passes an old file for the new one


def test_bad_name_pattern(project: Path, tmp_path: Path) -> None:
    def run(pattern: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "handouts", "--project", str(project), "packet", "--patient", "A",
             "--name-pattern", pattern],
            cwd=tmp_path, capture_output=True, text=True,
        )  # fmt: skip

    result = run("{nope}.pdf")
    assert result.returncode == 2
    assert result.stderr.startswith("--name-pattern: unknown field 'nope'")
    result = run("{patient.upper}.pdf")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.pdf"))


def test_no_log_line_names_the_patient(project: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "handouts",
            "-vv",
            "--project",
            str(project),
            "packet",
            *DETAILS,
            "--fillable",
            "-o",
            str(tmp_path / "p.pdf"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for secret in ("Jane", "Doe", "1980", "Sam Lee", "trapezius"):
        assert secret not in result.stderr + result.stdout
