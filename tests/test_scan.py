"""Printed consents read back from scans: the marks on the page, the recorded form map, the reader.

Test scans are generated (tests/scansynth.py): the tiny catalogue's printed consent (built once
per run) rendered by PDFium, pen marks drawn where the boxes are, then degraded like a scanner
or a phone. The suite reads one or two scans per case at 150-200 dpi; bench/scanfigure.py
reads hundreds, at every degradation.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pikepdf
import pytest

import scansynth as ss
from handouts.intake.scan import read, sources
from handouts.render.formmap import FormMap
from handouts.render.formmap import load as load_map
from handouts.render.scanmarks import ScanId, decode, encode, stamp

from helpers import check_pdfa3b, copy_project, override, pdftotext, run_cli

DOC = "tiny-consent"
PRINT = f"tiny/en/{DOC}.pdf"
LARGE = f"tiny/en/{DOC}-large-print.pdf"
IDS = ("pregnancy", "metal-allergy")
DPI = 150


@pytest.fixture(scope="module")
def project(module_built: Path) -> Path:
    return module_built


@cache
def _pages(pdf: str, dpi: int) -> tuple[np.ndarray, ...]:
    return tuple(ss.render(Path(pdf), dpi))


def form_of(project: Path, rel: str = PRINT) -> FormMap:
    return ss.form_map_of(project / "out", rel)


def scan_of(project: Path, filling: ss.Filling, seed: int, *, degrade: ss.Degrade | None = None,
            style: ss.Mark | None = None, rel: str = PRINT, dpi: int = DPI,
            pdf: Path | None = None) -> list[np.ndarray]:  # fmt: skip
    """The pages of one filled-in form, scanned (pdf: another printout of the same layout)."""
    rng = np.random.default_rng(seed)
    form = form_of(project, rel)
    pages = ss.fill(list(_pages(str(pdf or project / "out" / rel), dpi)), form, filling, dpi, rng, style)
    return [ss.degrade(p, degrade or ss.random_degrade(rng), rng) for p in pages]


def read_scan(project: Path, images: list[np.ndarray], dpi: int = DPI) -> list[read.ScanForm]:
    data = ss.write_pdf(images, dpi=dpi, quality=90)
    return read.read_pages(sources.load_bytes(data, "scan.pdf"), "scan.pdf", read.context(project))


def only(forms: list[read.ScanForm]) -> read.ScanForm:
    assert len(forms) == 1, [f.result.error() or f.result.problems for f in forms]
    return forms[0]


def with_packet(project: Path, packet: str, dest: Path) -> Path:
    """The printed consent as a packet of that id would carry it (its codes redrawn)."""
    form = form_of(project)
    with pikepdf.open(project / "out" / PRINT) as pdf:
        for index in range(len(pdf.pages)):
            stamp(pdf, index, form.scan_id(index + 1, packet=packet))
        pdf.save(dest)
    return dest


# --- the printed page ------------------------------------------------------------------


def test_payload_round_trip_and_refusals() -> None:
    sid = ScanId("dry-needling-consent", "1.0", "8765dd7", "fr-CA", "turning-point", 2, 3, "a1b2c3",
                 "9870625909")  # fmt: skip
    text = encode(sid)
    assert text == text.upper()  # alphanumeric mode: the smaller code
    assert decode(text) == sid
    odd = ScanId(DOC, "1.0", "8765dd7", "en", "Brand With Spaces", 1, 3, "a1b2c3")
    assert decode(encode(odd)) == odd
    for bad in ("", "https://example.org", "HO1 A B C D E 4 3 X", "HO1 A 1.0 F EN B 0 3 ABC"):
        with pytest.raises(ValueError):
            decode(bad)


def test_printed_consent_pages_carry_their_code(project: Path) -> None:
    import zxingcpp

    built = json.loads((project / "out/manifest.json").read_text())["outputs"]
    entry = next(e for e in built if e["path"] == PRINT)
    pages = _pages(str(project / "out" / PRINT), DPI)
    assert len(pages) == entry["pages"] == 2
    for number, image in enumerate(pages, 1):
        codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert len(codes) == 1
        sid = decode(codes[0].text)
        assert (sid.document, sid.version, sid.lang, sid.brand) == (DOC, "1.0", "en", "tiny")
        assert (sid.page, sid.pages, sid.packet) == (number, len(pages), None)
        assert sid.fingerprint == entry["content_fingerprint"][:7]  # the footer's short fingerprint
        assert sid.map_id == entry["form_map"]


def test_only_printed_consents_are_stamped(project: Path) -> None:
    out = project / "out/tiny/en"
    stamped = {f"{DOC}.pdf": True, f"{DOC}-large-print.pdf": True, f"{DOC}-fillable.pdf": False,
               f"{DOC}-fillable-large-print.pdf": False, "tiny-info.pdf": False,
               "tiny-aftercare.pdf": False}  # fmt: skip
    for name, expected in stamped.items():
        with pikepdf.open(out / name) as pdf:
            marks = ["/HandoutsScan" in (p.obj.Resources.get("/XObject") or {}) for p in pdf.pages]
            assert marks == [expected] * len(pdf.pages), name


def test_recorded_boxes_are_where_the_page_draws_them(project: Path) -> None:
    form = form_of(project)
    pages = _pages(str(project / "out" / PRINT), 200)
    assert form.checklist == IDS and form.version == "1.0"
    scale = 200 / 72
    grey = [p.min(axis=2) for p in pages]
    boxes = [(n, b) for n, page in enumerate(form.pages) for q in page.questions for b in (q.yes, q.no)]
    boxes += [(n, page.consent) for n, page in enumerate(form.pages) if page.consent]
    assert len(boxes) == 2 * len(form.checklist) + 1
    for n, box in boxes:
        x0, y0 = int(box.x * scale), int(box.y * scale)
        x1, y1 = int((box.x + box.w) * scale), int((box.y + box.h) * scale)
        frame = np.concatenate([grey[n][y0 + 1, x0 + 3 : x1 - 3], grey[n][y1 - 2, x0 + 3 : x1 - 3]])
        inside = grey[n][y0 + 4 : y1 - 4, x0 + 4 : x1 - 4]
        assert frame.mean() < 110 and inside.min() > 200, (n, box)
    signature = [p.line("patient.signature") for p in form.pages if p.line("patient.signature")]
    assert len(signature) == 1


def test_a_packet_replaces_the_code_in_place(project: Path, tmp_path: Path) -> None:
    import zxingcpp

    def contents(path: Path) -> list[bytes]:
        with pikepdf.open(path) as pdf:
            return [b"".join(s.read_bytes() for s in p.obj.Contents) for p in pdf.pages]

    path = with_packet(project, "9870625909", tmp_path / "packet.pdf")
    assert contents(path) == contents(project / "out" / PRINT)  # only the XObject changed
    for number, image in enumerate(ss.render(path, DPI), 1):
        sid = decode(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)[0].text)
        assert (sid.page, sid.packet) == (number, "9870625909")


def test_form_map_is_looked_up_by_id_only(project: Path) -> None:
    assert load_map(project / "out", "../../etc") is None
    assert load_map(project / "out", "zzzzzz") is None


# --- reading: one case each -------------------------------------------------------------


def test_all_no_is_clear_at_200_dpi(project: Path) -> None:
    result = only(read_scan(project, scan_of(project, ss.Filling(), 1, dpi=200), 200)).result
    assert result.status == "clear", (result.unclear, result.problems)
    assert result.source == "scan" and result.is_current is True and result.pages == [1, 2]
    assert result.answers == dict.fromkeys(IDS, "no")
    assert all(c >= 0.5 for c in result.confidence.values())
    assert result.consent_box and result.signature and result.date


def test_each_kind_of_mark_counts(project: Path) -> None:
    """Ticks, crosses, filled boxes and circles on the checklist page (page 2 left out)."""
    for seed, style in enumerate(ss.MARKS, 2):
        [page, _] = scan_of(project, ss.Filling({"pregnancy": "yes"}), seed, style=style)
        result = only(read_scan(project, [page])).result
        assert result.status == "flagged", (style, result.unclear)
        assert [f.id for f in result.flagged] == ["pregnancy"] and result.answers["metal-allergy"] == "no"
        assert result.flagged[0].severity == "check-with-therapist"


def test_several_yes_upside_down_and_shuffled(project: Path) -> None:
    filling = ss.Filling({"pregnancy": "yes", "metal-allergy": "yes"})
    degrade = ss.Degrade(angle=2.5, upside_down=True, blur=0.6, jpeg=60)
    result = only(read_scan(project, scan_of(project, filling, 6, degrade=degrade)[::-1])).result
    assert result.status == "flagged" and result.pages == [1, 2]
    assert sorted(f.id for f in result.flagged) == sorted(IDS)


@pytest.mark.parametrize(
    ("filling", "status", "check"),
    [
        (ss.Filling({"metal-allergy": "blank"}), "incomplete", "unanswered"),
        (ss.Filling({"pregnancy": "both"}), "needs-review", "both boxes marked"),
        (ss.Filling({"pregnancy": "between"}), "needs-review", "a mark between the boxes"),
        (ss.Filling(signature=False), "incomplete", "no signature"),
        (ss.Filling(dict.fromkeys(IDS, "blank"), False, False, False), "incomplete", "blank"),
    ],
    ids=["unanswered", "double", "between", "unsigned", "blank"],
)
def test_cases_that_are_never_clear(project: Path, filling: ss.Filling, status: str, check: str) -> None:
    form = only(read_scan(project, scan_of(project, filling, 7)))
    result = form.result
    assert result.status == status, (result.unclear, result.problems)
    if check == "unanswered":
        assert result.unanswered == ["metal-allergy"] and result.answers["metal-allergy"] is None
    elif check == "no signature":
        assert not result.signature and result.date and result.consent_box
    elif check == "blank":
        assert result.unanswered == list(IDS) and not (result.consent_box or result.signature or result.date)
    else:
        assert [u["id"] for u in result.unclear] == ["pregnancy"] and result.unclear[0]["reason"] == check
        assert result.confidence["pregnancy"] == 0.0 and result.answers["pregnancy"] is None
        assert form.crops["pregnancy"].size > 0  # for a person to look at


def test_missing_page_is_named(project: Path) -> None:
    pages = scan_of(project, ss.Filling(), 8)
    result = only(read_scan(project, [pages[0]])).result
    assert result.status == "incomplete" and not result.signature
    assert result.problems == ["form page 2 of 2 is missing from the scan"]


def test_two_patients_packets_shuffled(project: Path, tmp_path: Path) -> None:
    scans = []
    cases = ((9, "1111111111", ss.Filling()), (10, "2222222222", ss.Filling({"metal-allergy": "yes"})))
    for seed, packet, filling in cases:
        scans += scan_of(project, filling, seed, pdf=with_packet(project, packet, tmp_path / f"{packet}.pdf"))
    forms = read_scan(project, [scans[i] for i in (3, 0, 2, 1)])
    by_packet = {f.scan_id.packet: f.result for f in forms if f.scan_id}
    assert len(forms) == 2 and set(by_packet) == {"1111111111", "2222222222"}
    assert by_packet["1111111111"].status == "clear"
    assert [f.id for f in by_packet["2222222222"].flagged] == ["metal-allergy"]
    assert by_packet["2222222222"].form is not None and by_packet["2222222222"].form.packet_id == "2222222222"


def test_print_packets_of_two_patients_scanned_together(project: Path, tmp_path: Path) -> None:
    """Each packet's consent, told apart by the packet id; the information and aftercare pages passed over."""
    form = form_of(project)
    rng = np.random.default_rng(24)
    scans, ids = [], {}
    for name, filling in (("Ann Lee", ss.Filling()), ("Bo Chen", ss.Filling({"pregnancy": "yes"}))):
        target = tmp_path / f"{name}.pdf"
        code, _, err = run_cli(
            project, "packet", "--patient", name, "--date", "2026-12-01", "-o", str(target)
        )
        assert code == 0, err
        with pikepdf.open(target) as pdf:
            ids[name] = str(pdf.docinfo["/handoutspacketid"])
        info, *consent, aftercare = ss.render(target, DPI)
        pages = [info, *ss.fill(consent, form, filling, DPI, rng), aftercare]
        scans += [ss.degrade(p, ss.Degrade(angle=float(rng.uniform(-2, 2)), upside_down=n == 2), rng)
                  for n, p in enumerate(pages)]  # fmt: skip
    order = [int(i) for i in np.random.default_rng(25).permutation(len(scans))]
    ss.write_pdf([scans[i] for i in order], tmp_path / "scan.pdf", dpi=DPI, quality=90)
    code, out, _ = run_cli(project, "screen", str(tmp_path / "scan.pdf"))
    assert (
        code == 1
        and out.strip().splitlines()[-1] == "1 clear, 1 flagged, 0 needs-review, 0 incomplete, 0 unreadable"
    )
    assert f"; packet {ids['Bo Chen']}): flagged: pregnancy" in out
    forms = read_scan(project, [scans[i] for i in order])
    results = {f.result.form.packet_id: f.result for f in forms if f.result.form}
    assert len(forms) == 2 and set(results) == set(ids.values())
    ann, bo = results[ids["Ann Lee"]], results[ids["Bo Chen"]]
    assert ann.status == "clear", (ann.problems, ann.unclear)
    assert bo.status == "flagged" and [f.id for f in bo.flagged] == ["pregnancy"]
    # The packet printed the appointment date on the date line: it counts, as on a fillable packet.
    assert ann.date and sorted(ann.pages + bo.pages) == sorted(order.index(i) + 1 for i in (1, 2, 5, 6))


def test_copies_without_packet_id(project: Path) -> None:
    first, second = scan_of(project, ss.Filling(), 12), scan_of(project, ss.Filling({"pregnancy": "yes"}), 13)
    assert [f.result.status for f in read_scan(project, first + second)] == ["clear", "flagged"]
    mixed = read_scan(project, [first[0], second[0], first[1], second[1]])
    # A page number repeats out of sequence: which pages belong together cannot be told.
    assert len(mixed) >= 2 and all(f.result.status in ("needs-review", "flagged") for f in mixed)
    assert all(any("copies of this form are mixed" in p for p in f.result.problems) for f in mixed)


@pytest.fixture(scope="module")
def two_versions(tiny_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project whose consent went from v1.0 to v1.1; the v1.0 printout kept as old-v1.0.pdf."""
    from handouts.build.builder import build
    from handouts.build.report import BuildOptions
    from handouts.project import Project

    root = copy_project(tiny_built, tmp_path_factory.mktemp("versions") / "proj")
    (root / "old-v1.0.pdf").write_bytes((root / "out" / PRINT).read_bytes())
    doc = root / "content/documents" / DOC / "en.yaml"
    doc.write_text(doc.read_text("utf-8").replace('version: "1.0"', 'version: "1.1"'), "utf-8")
    maps = set((root / "out/formmaps").iterdir())
    # --prune too: no build deletes a recorded layout (the v1.0 printouts are still out there).
    report = build(Project(root), BuildOptions(None, docs=(DOC,), prune=True, jobs=1))
    assert report.count("built") == 4 and not report.count("pruned")
    assert maps < set((root / "out/formmaps").iterdir())
    return root


def test_an_output_whose_form_map_is_gone_is_rebuilt(built_project: Path) -> None:
    """A PDF in out/ always has its layout beside it: the fast path and the full one both check."""
    entry = next(e for e in json.loads((built_project / "out/manifest.json").read_text())["outputs"]
                 if e["path"] == PRINT)  # fmt: skip
    (built_project / "out/formmaps" / f"{entry['form_map']}.json").unlink()
    code, out, err = run_cli(built_project, "build", "--check")
    assert code == 1 and f"stale: {PRINT}" in out + err
    code, out, err = run_cli(built_project, "build")
    assert code == 0 and f"built: {PRINT}" in out + err and "built 1," in out + err
    assert (built_project / "out/formmaps" / f"{entry['form_map']}.json").is_file()


def test_a_consent_override_without_the_scan_names_is_refused(built_project: Path) -> None:
    """A clinic's consent template that dropped the consent box's data-scan name: its printed
    consents fail with one line naming what is missing (never a form that cannot be read back)."""
    template = override(built_project, "templates/consent.html.j2")
    text = template.read_text("utf-8")
    assert text.count(' data-scan="consent"') == 1
    template.write_text(text.replace(' data-scan="consent"', ""), "utf-8")
    code, out, err = run_cli(built_project, "build")
    assert code != 0, out + err
    problems = [line for line in (out + err).splitlines() if "consent layout" in line]
    assert problems and all("no box recorded for consent;" in line for line in problems), out + err
    assert "Traceback" not in out + err and f"built: {PRINT}" not in out + err


def test_page_of_an_older_version(two_versions: Path) -> None:
    project = two_versions
    pages = scan_of(project, ss.Filling(), 14)
    old = scan_of(project, ss.Filling(), 15, pdf=project / "old-v1.0.pdf")  # the same layout, v1.0
    forms = read_scan(project, [pages[0], old[1], pages[1]])
    assert len(forms) == 2
    current = next(f.result for f in forms if f.result.form and f.result.form.version == "1.1")
    older = next(f.result for f in forms if f.result.form and f.result.form.version == "1.0")
    assert current.status != "clear" and older.status != "clear"
    assert any("another version" in p for p in current.problems)
    assert older.is_current is False and any("current form is v1.1" in p for p in older.problems)


def smudged(images: list[np.ndarray], form: FormMap, index: int, dpi: int = DPI) -> list[np.ndarray]:
    """The pages with a pen scribble across the code of page `index` (before scanning)."""
    import cv2

    out = [i.copy() for i in images]
    x, y, w, h = (v * dpi / 72 for v in form.pages[index].geometry.qr())
    cv2.rectangle(
        out[index],
        (int(x + w * 0.2), int(y + h * 0.3)),
        (int(x + w * 0.7), int(y + h * 0.6)),
        (40, 40, 40),
        -1,
    )
    return out


def test_a_page_whose_code_is_lost_is_told_by_its_layout(project: Path) -> None:
    """Read (its answers count) but never clear: nothing on the page says whose it is."""
    form = form_of(project)
    rng = np.random.default_rng(22)
    for index in (0, 1):  # the checklist page (boxes), the signature page (lines only)
        drawn = ss.fill(list(_pages(str(project / "out" / PRINT), DPI)), form, ss.Filling(), DPI, rng)
        degrade = ss.Degrade(angle=-2, upside_down=index == 1, blur=0.5, jpeg=70)
        pages = [ss.degrade(p, degrade, rng) for p in smudged(drawn, form, index)]
        result = only(read_scan(project, pages)).result
        assert result.status == "needs-review", (index, result.problems)
        assert result.answers == dict.fromkeys(IDS, "no") and result.signature and result.consent_box
        assert result.problems == [
            f"scan page {index + 1}: its code cannot be read; taken for form page {index + 1} "
            "by its printed boxes and lines: check that it belongs to this form"
        ]


def test_a_lost_code_is_never_guessed(project: Path) -> None:
    """A page of another layout, or a page two forms in the scan lack, stays set aside."""
    form, large = form_of(project), form_of(project, LARGE)
    rng = np.random.default_rng(23)
    printed = ss.fill(list(_pages(str(project / "out" / PRINT), DPI)), form, ss.Filling(), DPI, rng)
    other = ss.fill(list(_pages(str(project / "out" / LARGE), DPI)), large, ss.Filling(), DPI, rng)
    for pages in ([printed[0], smudged(other, large, 1)[1]], [printed[0], smudged(printed, form, 0)[0]]):
        forms = read_scan(project, [ss.degrade(p, ss.Degrade(angle=1), rng) for p in pages])
        assert [f.result.status for f in forms] == ["incomplete", "unreadable"]
        assert "QR code cannot be read" in (forms[1].result.error() or "")
    packets = [with_packet(project, n, project / f"p{n}.pdf") for n in ("3333333333", "4444444444")]
    a, b = (ss.fill(ss.render(p, DPI), form, ss.Filling(), DPI, rng) for p in packets)
    forms = read_scan(
        project, [ss.degrade(p, ss.Degrade(), rng) for p in (a[0], b[0], smudged(a, form, 1)[1])]
    )
    assert sorted(f.result.status for f in forms) == ["incomplete", "incomplete", "unreadable"]
    assert "fits page 2 of 2 forms in this scan" in (forms[-1].result.error() or "")


def test_non_form_image_and_damaged_files_are_unreadable(project: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(15)
    photo = np.full((1400, 1000, 3), 235, np.uint8)
    for _ in range(40):
        c = tuple(int(v) for v in rng.integers(0, 200, 3))
        x, y = (int(v) for v in rng.integers(0, 900, 2))
        photo[y : y + 80, x : x + 120] = c
    path = tmp_path / "holiday.jpg"
    ss.write_image(photo, path)
    [result] = read.screen_scan(path, project)
    assert result.status == "unreadable" and "not a page of a handouts consent form" in (result.error() or "")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    [broken] = read.screen_scan(tmp_path / "broken.png", project)
    assert broken.status == "unreadable" and "broken.png" in (broken.error() or "")


def test_large_print_greyscale_and_a_phone_photo(project: Path) -> None:
    filling = ss.Filling({"metal-allergy": "yes"})
    large = scan_of(
        project, filling, 16, rel=LARGE, degrade=ss.Degrade(angle=-1.5, grey=True, blur=0.4, jpeg=75)
    )
    result = only(read_scan(project, large)).result
    assert result.status == "flagged" and [f.id for f in result.flagged] == ["metal-allergy"]
    phone = ss.Degrade(angle=3, scale=0.9, slant=0.04, blur=0.6, noise=4, jpeg=70, background=90)
    result = only(read_scan(project, scan_of(project, filling, 17, degrade=phone, dpi=200), 200)).result
    assert result.status == "flagged" and [f.id for f in result.flagged] == ["metal-allergy"]


@pytest.mark.parametrize(
    ("dpi", "degrade"),
    [
        (600, ss.Degrade(angle=2.5, upside_down=True, blur=1.5, jpeg=80)),  # noise: slow at 600 dpi
        (300, ss.Degrade(angle=-3, photocopies=2, blur=0.8, jpeg=60, grey=True)),
    ],
    ids=["600dpi-upside-down", "300dpi-copy-of-a-copy"],
)
def test_the_ends_of_the_resolution_range(project: Path, dpi: int, degrade: ss.Degrade) -> None:
    """600 dpi (a page four times the pixels of 300) and a greyscale photocopy of a copy at 300."""
    rows: dict[str, ss.RowAction] = {"pregnancy": "yes", "metal-allergy": "no"}
    pages = scan_of(project, ss.Filling(rows), 22, degrade=degrade, dpi=dpi)[::-1]
    result = only(read_scan(project, pages, dpi)).result
    assert result.status == "flagged" and [f.id for f in result.flagged] == ["pregnancy"], result.unclear
    assert result.answers == {"pregnancy": "yes", "metal-allergy": "no"} and result.signature


def test_generated_set_has_no_wrong_all_clear(project: Path) -> None:
    """Random forms, random degradations: every yes/no read right or sent to review, never a wrong clear."""
    rng = np.random.default_rng(18)
    for n in range(6):
        rows: dict[str, ss.RowAction] = dict.fromkeys(IDS, "no")
        rows[IDS[n % 2]] = ("yes", "blank", "both", "between", "no", "no")[n]
        filling = ss.Filling(rows, signature=n != 5)
        truly_clear = set(rows.values()) == {"no"} and filling.signature
        result = only(
            read_scan(project, scan_of(project, filling, 100 + n, degrade=ss.random_degrade(rng)))
        ).result
        assert (result.status == "clear") == truly_clear, (n, result.status, result.unclear, result.problems)
        unclear = {u["id"] for u in result.unclear}
        for cid, truth in rows.items():
            if truth in ("yes", "no") and cid not in unclear:
                assert result.answers[cid] == truth, (n, cid)


def test_hostile_code_is_quoted_bounded(project: Path, tmp_path: Path) -> None:
    """A code naming an unknown layout, with control characters: one bounded line, no traceback."""
    sid = ScanId("x\u202e" * 12, "1.0", "8765dd7", "en", "tiny", 1, 1, "abcdef")
    with pikepdf.open(project / "out" / PRINT) as pdf:
        del pdf.pages[-1]
        stamp(pdf, 0, sid)
        pdf.save(tmp_path / "hostile.pdf")
    [form] = read_scan(project, ss.render(tmp_path / "hostile.pdf", DPI))
    error = form.result.error() or ""
    assert form.result.status == "unreadable" and "\u202e" not in error and len(error) < 300
    assert "recorded layout is not in" in error


# --- the record of a scan -----------------------------------------------------------------


def test_archive_of_a_scan_is_a_pdfa_record(project: Path, tmp_path: Path) -> None:
    """A first page of the answers as read (the crop in doubt too), the scanned pages, the scan inside."""
    import stat

    from pypdf import PdfReader

    scan = tmp_path / "scan.pdf"
    ss.write_pdf(scan_of(project, ss.Filling({"pregnancy": "both"}), 30, degrade=ss.Degrade(angle=1)), scan)
    target = tmp_path / "record.pdf"
    code, out, err = run_cli(project, "archive", str(scan), "-o", str(target))
    assert code == 0, err
    assert out == "" and f"{scan} (scan pages 1, 2): needs-review: pregnancy: both boxes marked" in err
    assert "PDF/A-3b, 3 pages, 1 answers read from the scan, original embedded" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # a patient record
    check_pdfa3b(target)
    import pikepdf.pdfa

    import uacheck

    with pikepdf.open(target) as pdf:
        report = pikepdf.pdfa.check(pdf, "3b")
        assert report.verdict == "pass", report.findings
    assert uacheck.check(target, claims_ua=False) == []  # tagged: headings, the table, alt text of images
    reader = PdfReader(target)
    assert reader.attachments == {"scan.pdf": [scan.read_bytes()]}  # the source, byte for byte
    first = " ".join(pdftotext(target, "-l", "1").split())
    entry = next(
        e for e in json.loads((project / "out/manifest.json").read_text())["outputs"] if e["path"] == PRINT
    )
    wanted = ("Consent form read from a scan", "Status: needs-review", f"{DOC} v1.0",
              entry["content_fingerprint"][:7], "Pregnancy (pregnancy) unclear 0.00",
              "Metal allergy (metal-allergy) no 1.00", "Pregnancy: both boxes marked",
              "Consent box ticked")  # fmt: skip
    for words in wanted:
        assert words in first, words

    with pikepdf.open(target) as pdf:  # images each page draws: the crop in doubt, then a scanned page each
        drawn = [
            [(int(x.Width), int(x.Height)) for x in (p.Resources.XObject[str(o[0])] for o, op in
             pikepdf.parse_content_stream(p) if str(op) == "Do") if x.Subtype == "/Image"]
            for p in pdf.pages
        ]  # fmt: skip
    assert len(drawn[0]) == 1 and drawn[0][0][0] < 400 and [len(d) for d in drawn[1:]] == [1, 1]
    assert all(w > 1000 for ((w, _),) in drawn[1:])
    assert reader.metadata["/handoutsdoc"] == DOC and reader.metadata["/handoutssource"] == "scan"
    again = tmp_path / "again.pdf"
    assert run_cli(project, "archive", str(scan), "-o", str(again))[0] == 0
    assert again.read_bytes() == target.read_bytes()  # the same scan, the same record


def test_archive_of_an_image_and_of_a_scan_of_two_forms(project: Path, tmp_path: Path) -> None:
    pages = scan_of(project, ss.Filling(), 31, degrade=ss.Degrade(angle=-1))
    ss.write_image(pages[1], tmp_path / "page.png")
    code, _, err = run_cli(project, "archive", str(tmp_path / "page.png"))
    assert code == 0 and "incomplete" in err  # page 1 is missing: archived, and said so
    check_pdfa3b(tmp_path / "page-archive.pdf")
    assert list(__import__("pypdf").PdfReader(tmp_path / "page-archive.pdf").attachments) == ["scan.png"]
    two = tmp_path / "two.pdf"
    other = scan_of(project, ss.Filling(), 32, pdf=with_packet(project, "5555555555", tmp_path / "p.pdf"))
    ss.write_pdf(pages + other, two)
    code, _, err = run_cli(project, "archive", str(two))
    assert code == 2 and "holds 2 forms" in err and not (tmp_path / "two-archive.pdf").exists()
    assert len(err.strip().splitlines()) == 1


# --- the command ---------------------------------------------------------------------------


def test_cli_screens_scans_files_and_folders(project: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ss.write_pdf(scan_of(project, ss.Filling({"pregnancy": "yes"}), 19), inbox / "a.pdf", dpi=DPI)
    clear = scan_of(project, ss.Filling(), 20, degrade=ss.Degrade(angle=1, blur=0.5))
    for n, page in enumerate(clear, 1):
        ss.write_image(page, inbox / f"b-{n}.png")
    code, out, _ = run_cli(project, "screen", "--json", str(inbox / "a.pdf"))
    data = json.loads(out)
    assert code == 1 and data["status"] == "flagged" and data["source"] == "scan"
    keys = {"answers", "flagged", "unanswered", "consent_box", "signature", "confidence", "unclear", "pages"}
    assert keys <= set(data) and data["flagged"][0]["id"] == "pregnancy"
    code, out, _ = run_cli(project, "screen", str(inbox))
    assert code == 1
    assert "a.pdf (scan pages 1, 2): flagged: pregnancy" in out
    # Each page image alone is a form with a page missing.
    assert out.count(": incomplete:") == 2 and "0 clear" in out
    code, out, _ = run_cli(project, "screen", str(inbox / "b-2.png"))
    assert code == 3 and "form page 1 of 2 is missing" in out
    tiff = tmp_path / "c.tiff"
    ss.write_image(clear[0], tiff)
    code, _, _ = run_cli(project, "screen", str(tiff))
    assert code == 3


def test_cli_needs_review_exit_code(project: Path, tmp_path: Path) -> None:
    path = tmp_path / "review.pdf"
    ss.write_pdf(scan_of(project, ss.Filling({"metal-allergy": "both"}), 21), path, dpi=DPI)
    code, out, _ = run_cli(project, "screen", str(path))
    assert code == 6 and "NEEDS-REVIEW" in out and "UNCLEAR metal-allergy: both boxes marked" in out


def test_a_pipe_named_like_a_scan_is_refused_without_reading(project: Path, tmp_path: Path) -> None:
    """A FIFO named page.png (nothing ever writes to it): one line, exit 2, no hang, for screen and archive."""
    import os

    pipe = tmp_path / "page.png"
    os.mkfifo(pipe)
    for command in (("screen", str(pipe)), ("archive", str(pipe), "-o", str(tmp_path / "r.pdf"))):
        code, out, err = run_cli(project, *command)
        assert code == 2, (command, out, err)
        assert str(pipe) in out + err and "Traceback" not in out + err
    assert not (tmp_path / "r.pdf").exists()
