"""Issue 20, finding 2: what the tool prints from a file, a PDF or a user cannot drive the terminal.

Every string `screen` prints comes from the form (its file name, metadata, field names and
values) or from an error about it. A crafted form whose patient name held CR and ESC used to
wipe the line before it, so a FLAGGED patient looked clear. Each case here puts a control
sequence into one such string and checks the output, piped (no raw control reaches the pipe)
and on a terminal (pyte, a VT emulator, shows the screen a person would see).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pty
import select
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pikepdf
import pyte
import pytest

from handouts.cli.common import flag, json_text, say
from handouts.errors import PdfInputError, shown
from handouts.intake.screen import Flag, FormInfo, ScreenResult, screen_path

from helpers import fill_form, run_cli

# What a hostile form puts into a string: wipe the line, climb to the line before, set the
# window title (OSC), an 8-bit CSI, a new line of its own, bidi overrides and isolates.
ATTACKS = {
    "wipe": "\r\x1b[2K clear: all answered no; signed",
    "climb": "\x1b[1A\r\x1b[2Kflagged.pdf: clear: all answered no, signed",
    "osc": "\x1b]0;all clear\x07",
    "csi8": "\x9b2K",
    "newline": "\nflagged.pdf: clear: all answered no, signed",
    "bidi": "\u202edengis ,on derewsna lla\u202c",
    "isolate": "\u2067x\u2069\u200f",
    "separator": "a\u2028b",
}
IDS = ["pregnancy", "metal-allergy"]
SIGNED = {
    "consent.agree": "/Yes",
    "patient.name": "Jane Doe",
    "patient.signature": "Jane Doe",
    "patient.date": "2026-12-01",
}
ALL_NO = {f"contraindication.{i}": "/no" for i in IDS}
FLAGGED = {**ALL_NO, "contraindication.pregnancy": "/yes"}


def unsafe(text: str) -> list[str]:
    """Characters a terminal would act on or reorder (line breaks between lines aside)."""
    return [
        c
        for line in text.split("\n")
        for c in line
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") and c not in "\u200c\u200d"
    ]


@pytest.fixture(scope="module")
def form(module_built: Path) -> Path:
    return module_built / "out/tiny/en/tiny-consent-fillable.pdf"


def crafted(
    form: Path,
    dest: Path,
    answers: dict[str, str],
    *,
    name: str = "Jane Doe",
    meta: dict[str, str] | None = None,
    rename: tuple[str, str] | None = None,
) -> Path:
    """A filled form, then edited as an attacker would with pikepdf: metadata, a field's name."""
    fill_form(form, dest, {**SIGNED, **answers, "patient.name": name})
    with pikepdf.open(dest, allow_overwriting_input=True) as pdf:
        for key, value in (meta or {}).items():
            pdf.docinfo[pikepdf.Name("/" + key)] = value
        if rename is not None:
            old, new = rename
            for field in pdf.Root.AcroForm.Fields:
                for kid in field.get("/Kids", []):
                    if str(kid.get("/T", "")) == old:
                        kid.T = new
            checklist = str(pdf.docinfo["/handoutschecklist"]).split(",")
            pdf.docinfo[pikepdf.Name("/handoutschecklist")] = ",".join(
                new if c == old else c for c in checklist
            )
        pdf.save(dest)
    return dest


# Where each printed string comes from in a form, and how to put an attack into it:
# (single file or folder, how to make the form).
def _in_metadata(key: str) -> Any:
    return lambda form, dest, attack: crafted(form, dest, ALL_NO, meta={key: "1" + attack})


# Every provenance field screen reads (FormInfo), under the metadata key it is read from.
META_KEYS = [
    "handouts" + {"document": "doc"}.get(f.name, f.name.replace("_", ""))
    for f in dataclasses.fields(FormInfo)
]
JSON_ONLY = {"metadata handoutsbrand", "metadata handoutspacketid"}
PLACES: dict[str, Any] = {
    "patient name": lambda form, dest, attack: crafted(form, dest, ALL_NO, name=attack),
    **{f"metadata {key}": _in_metadata(key) for key in META_KEYS},
    "checklist id (flagged)": lambda form, dest, attack: crafted(
        form, dest, FLAGGED, rename=("pregnancy", "pregnancy" + attack)
    ),
    "checklist id (unanswered)": lambda form, dest, attack: crafted(
        form, dest, {"contraindication.pregnancy": "/no"}, rename=("metal-allergy", "metal" + attack)
    ),
    "error detail": lambda form, dest, attack: crafted(
        form, dest, ALL_NO, meta={"handoutschecklist": "pregnancy,metal-allergy,x" + attack}
    ),
}


class TestEveryPrintedStringIsEscaped:
    """Each attack in each place a form's text reaches the output: human (piped) and JSON."""

    @pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
    @pytest.mark.parametrize("place", list(PLACES), ids=list(PLACES))
    def test_single_file(
        self, module_built: Path, form: Path, tmp_path: Path, place: str, attack: str
    ) -> None:
        bad = PLACES[place](form, tmp_path / "form.pdf", ATTACKS[attack])
        code, out, err = run_cli(module_built, "screen", str(bad))
        assert not unsafe(out + err), (out, err)
        human = out + err
        # In a folder, on the one line of each form.
        folder = tmp_path / "folder"
        folder.mkdir()
        bad.rename(folder / "form.pdf")
        code, out, err = run_cli(module_built, "screen", str(folder))
        assert not unsafe(out + err), (out, err)
        assert len(out.splitlines()) == 2  # the form's line and the summary, nothing more
        # JSON stays exact: it parses back to the form's own text, with nothing raw in it.
        code, out, _ = run_cli(module_built, "screen", "--json", str(folder / "form.pdf"))
        assert not unsafe(out)
        exact = screen_path(folder / "form.pdf", module_built).to_json(flag)
        assert json.loads(out) == exact
        # The form still held the attack (a fill may strip it): the report shows it escaped.
        # (The brand and the packet id are in the JSON only.)
        if unsafe(json.dumps(exact, ensure_ascii=False)) and place not in JSON_ONLY:
            assert any(escape in human for escape in ("\\x", "\\u", "\\n", "\\r")), human

    @pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
    def test_file_name(self, module_built: Path, form: Path, tmp_path: Path, attack: str) -> None:
        folder = tmp_path / "folder"
        folder.mkdir()
        name = ATTACKS[attack].replace("/", "_").replace("\0", "") + ".pdf"
        crafted(form, folder / name, FLAGGED)
        code, out, err = run_cli(module_built, "screen", str(folder))
        assert code == 1
        assert not unsafe(out + err) and len(out.splitlines()) == 2, out


def _every_string(value: Any, attack: str) -> Any:
    """value with every string field (nested dataclasses and lists too) set to attack."""
    if isinstance(value, str):
        return attack
    if isinstance(value, list):
        return [_every_string(v, attack) for v in value] or [attack]
    if isinstance(value, dict):
        return {attack + k: _every_string(v, attack) for k, v in value.items()} or {attack: attack}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{f.name: _every_string(getattr(value, f.name), attack) for f in dataclasses.fields(value)},
        )
    return value


class TestEveryReportField:
    """Whatever field a result gains, the report prints it escaped: all fields are filled in."""

    @pytest.mark.parametrize("status", ["clear", "flagged", "incomplete", "unreadable", "tampered"])
    @pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
    def test_report(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        status: str, attack: str,
    ) -> None:  # fmt: skip
        from handouts.cli import intake

        payload = ATTACKS[attack]
        base = ScreenResult(
            file="f.pdf",
            status="clear",
            form=FormInfo("d", "1", "2026-01-01", "abc", "en", "b", "p"),
            answers={"x": "yes"},
            flagged=[Flag("x", "X", "high", "note")],
            unanswered=["y"],
            certification="c",
            certification_warning=True,
            patient_name="n",
        )
        hostile = dataclasses.replace(
            _every_string(base, payload), status=status, problem=PdfInputError("bad " + payload)
        )
        say(intake.screen_line(hostile))
        say(intake._screen_report(hostile))
        captured = capsys.readouterr().out
        assert not unsafe(captured), captured
        assert "\\x1b" in captured or "\\u" in captured or "\\x9b" in captured or "\\n" in captured


def test_the_one_function_escapes_and_bounds() -> None:
    assert shown("a\r\x1b[2Kb", 100) == "a\\r\\x1b[2Kb"
    assert shown("\u202eabc\u2066\u200e", 100) == "\\u202eabc\\u2066\\u200e"
    assert shown("\x9b\x85\x7f", 100) == "\\x9b\\x85\\x7f"
    # Names in other scripts print as they are, joiners included.
    assert shown("Łukasz Żółć, Ольга, می‌خواهم", 100) == "Łukasz Żółć, Ольга, می‌خواهم"
    long = shown("x" * 1000, 50)
    assert len(long) == 50 and long.endswith("…")
    assert json.loads(json_text({"a": "\u202e\x9b\x1b"})) == {"a": "\u202e\x9b\x1b"}
    assert not unsafe(json_text({"a": "\u202e\x9b\x1b\u2028"}))


# --- the attack as reported: a FLAGGED line the next form tried to wipe ---------------------


@pytest.fixture(scope="module")
def attacked(module_built: Path, form: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("attacked")
    crafted(form, folder / "a-flagged.pdf", FLAGGED)
    # Its flagged id climbs to the line before, wipes it and writes a clear verdict there.
    climb = "\x1b[1A\r\x1b[2Ka-flagged.pdf: clear: all answered no; signed"
    crafted(form, folder / "b-crafted.pdf", FLAGGED, rename=("pregnancy", "pregnancy" + climb))
    return folder


def _command(module_built: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "handouts", "--project", str(module_built), *args]


def _on_a_terminal(argv: list[str]) -> bytes:
    """Run argv with stdout and stderr on a pseudo-terminal; return what the terminal received."""
    main, side = pty.openpty()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=side, stderr=side, env=os.environ)
    os.close(side)
    received = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        received += chunk
    process.wait(timeout=60)
    os.close(main)
    return received


def _screen_shows(received: bytes) -> list[str]:
    screen = pyte.Screen(200, 50)
    stream = pyte.ByteStream(screen)
    stream.feed(received)
    return [line.rstrip() for line in screen.display if line.strip()]


class TestTheReportedAttack:
    @pytest.mark.parametrize("args", [(), ("--json",)], ids=["human", "json"])
    def test_on_a_terminal_the_flagged_line_stays(
        self, module_built: Path, attacked: Path, args: tuple[str, ...]
    ) -> None:
        received = _on_a_terminal(_command(module_built, "screen", *args, str(attacked)))
        if args:  # exact JSON, and nothing in it that a terminal acts on
            text = received.decode().replace("\r\n", "\n")
            assert json.loads(text)["summary"]["flagged"] == 2 and not unsafe(text)
            return
        shows = _screen_shows(received)
        flagged = [line for line in shows if line.startswith(str(attacked / "a-flagged.pdf"))]
        assert len(flagged) == 1 and ": flagged: pregnancy" in flagged[0], shows
        assert not any(line.startswith("a-flagged.pdf: clear") for line in shows), shows
        assert any("\\x1b[1A" in line for line in shows), shows

    def test_piped_nothing_raw_passes(self, module_built: Path, attacked: Path) -> None:
        done = subprocess.run(
            _command(module_built, "screen", str(attacked)), capture_output=True, timeout=120
        )
        output = (done.stdout + done.stderr).decode()
        assert done.returncode == 1
        assert not unsafe(output), output
        assert output.count("\n") == 3  # two forms and the summary


def test_log_lines_are_escaped_on_the_clis_handler(module_built: Path) -> None:
    import logging

    from handouts.errors import TerminalSafe

    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "%s: readable", ("a\x1b[2J\u202eb\nc",), None
    )
    assert TerminalSafe().filter(record) and record.getMessage() == "a\\x1b[2J\\u202eb\\nc: readable"
    # The CLI puts it on the handlers its messages go to (stderr).
    run_cli(module_built, "list")
    assert all(any(isinstance(f, TerminalSafe) for f in h.filters) for h in logging.getLogger().handlers)


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_the_register_lists_a_hostile_forms_strings_escaped(
    built_project: Path, form: Path, tmp_path: Path, attack: str
) -> None:
    hostile = crafted(
        form, tmp_path / "form.pdf", FLAGGED, meta={"handoutsversion": "1" + ATTACKS[attack]},
        rename=("pregnancy", "pregnancy" + ATTACKS[attack].replace(",", ";")),
    )  # fmt: skip
    run_cli(built_project, "screen", "--patient-ref", "C-1", str(hostile))
    code, out, err = run_cli(built_project, "register", "list")
    assert code == 0 and "return" in out, (out, err)
    assert not unsafe(out + err), out
    assert "\\x" in out or "\\u" in out or "\\n" in out  # the form's text is there, escaped
    code, out, _ = run_cli(built_project, "register", "list", "--json")
    assert not unsafe(out) and json.loads(out)["entries"]
