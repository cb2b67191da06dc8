"""The packet stage's checks, on their own: a patient's details, the documents chosen, the file name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from handouts.errors import InputErrors, UsageError
from handouts.packet.make import resolve
from handouts.packet.naming import DEFAULT_PATTERN, check_pattern, file_name, packet_flags
from handouts.packet.protect import check_password
from handouts.packet.request import Patient, check_patient_ref, make_patient
from handouts.project import Project

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def index(tiny_built: Path) -> object:
    from handouts.build.snapshot import current

    state = current(Project(tiny_built))
    assert state is not None
    return state.index


def fields_of(exc: InputErrors) -> list[tuple[str | None, str]]:
    return [(e.field, e.code) for e in exc.errors]


def test_make_patient_checks_and_cleans_every_value(tiny: Path) -> None:
    person = make_patient(
        Project(tiny), "  Zoë Doe ", "1980-02-03", "2026-12-01", " Sam Lee", "left\u00a0arm", today=TODAY
    )
    assert person == Patient("Zoë Doe", dt.date(1980, 2, 3), dt.date(2026, 12, 1), "Sam Lee", "left\u00a0arm")
    assert make_patient(Project(tiny), "A", today=TODAY).date == TODAY  # no date: today
    assert make_patient(Project(tiny), "A", "", "", "", "").dob is None


def test_make_patient_reports_every_problem_by_field(tiny: Path) -> None:
    with pytest.raises(InputErrors) as caught:
        make_patient(Project(tiny), " ", "1980-02-30", "20261201", "x" * 101, "arm\u202e", today=TODAY)
    assert fields_of(caught.value) == [
        ("patient", "required"),
        ("dob", "not-a-date"),
        ("date", "not-a-date"),  # YYYY-MM-DD only, as the message says
        ("therapist", "too-long"),
        ("area", "control-character"),
    ]
    assert caught.value.lines()[0] == "patient is required"
    assert "1980-02-30" not in " ".join(caught.value.lines())  # a date of birth is patient data


def test_chart_number_is_checked_with_the_other_details(tiny: Path) -> None:
    person = make_patient(Project(tiny), "A", today=TODAY, patient_ref=" C-10442/b ")
    assert person.ref == "C-10442/b"
    assert make_patient(Project(tiny), "A", today=TODAY, patient_ref="  ").ref is None
    with pytest.raises(InputErrors) as caught:
        make_patient(Project(tiny), " ", today=TODAY, patient_ref="Jane Doe")  # a name is not a chart number
    assert fields_of(caught.value) == [("patient", "required"), ("patient_ref", "not-a-chart-number")]
    assert "Jane" not in " ".join(caught.value.lines())


@pytest.mark.parametrize("value", ["Jane Doe", "-C1", "C" * 65, "C\x001", "C-1;DROP", "Zoë"])
def test_check_patient_ref_refuses_what_cannot_be_a_chart_number(value: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_patient_ref(value)
    assert (caught.value.field, caught.value.code) == ("patient_ref", "not-a-chart-number")
    assert caught.value.worded(lambda f: "--patient-ref").startswith("--patient-ref must be the clinic's")


def test_chart_number_is_not_in_the_packets_id(tiny: Path) -> None:
    plain = make_patient(Project(tiny), "A", today=TODAY)
    with_ref = make_patient(Project(tiny), "A", today=TODAY, patient_ref="C-1")
    assert file_name(plain, "tiny", "en", ("tiny-info",)) == file_name(with_ref, "tiny", "en", ("tiny-info",))


@pytest.mark.parametrize(
    ("dob", "date", "code"),
    [("2030-01-01", "2026-12-01", "after"), ("1899-12-31", "2026-12-01", "too-early")],
)
def test_date_of_birth_must_fit_the_appointment(tiny: Path, dob: str, date: str, code: str) -> None:
    with pytest.raises(InputErrors) as caught:
        make_patient(Project(tiny), "A", dob, date)
    assert fields_of(caught.value) == [("dob", code)]


def test_the_snapshot_index_stands_for_the_field_font(tiny: Path, index: object) -> None:
    """With the snapshot's index the font file is not read; the verdicts are the same."""
    for name in ("Ольга Σοφία", "王小明"):
        results = []
        for given in (None, index):
            try:
                results.append(make_patient(Project(tiny), name, index=given).name)  # type: ignore[arg-type]
            except InputErrors as exc:
                results.append(fields_of(exc))
        assert results[0] == results[1], name
    assert results[0] == [("patient", "unprintable")]


def test_resolve_fills_defaults_and_maps_kinds(index: object) -> None:
    plan = resolve(index, ("consent", "tiny-info"), None, None)  # type: ignore[arg-type]
    assert (plan.brand, plan.lang, plan.documents) == ("tiny", "en", ("tiny-consent", "tiny-info"))


def test_resolve_reports_brand_language_and_documents_at_once(index: object) -> None:
    with pytest.raises(InputErrors) as caught:
        resolve(index, ("leaflet",), "nope", "de")  # type: ignore[arg-type]
    assert fields_of(caught.value) == [("brand", "unknown"), ("lang", "unknown"), ("docs", "unknown")]
    assert caught.value.lines()[0] == "brand: unknown brand 'nope'; choose from: tiny"
    for docs, code in (((), "empty"), (("info", "tiny-info"), "twice")):
        with pytest.raises(InputErrors) as caught:
            resolve(index, docs, None, None)  # type: ignore[arg-type]
        assert fields_of(caught.value) == [("docs", code)]


def test_the_file_name_holds_no_name_and_changes_with_every_input() -> None:
    person = Patient("Jane Doe", dt.date(1980, 2, 3), TODAY, "Sam Lee", "neck")
    name = file_name(person, "tiny", "en", ("tiny-info",))
    assert name.startswith("packet-tiny-en-2026-12-01-") and name.endswith(".pdf")
    assert "jane" not in name.lower() and "doe" not in name.lower()
    assert file_name(person, "tiny", "en", ("tiny-info",)) == name  # stable
    others = {
        file_name(
            Patient("Jane Doe", dt.date(1980, 2, 4), TODAY, "Sam Lee", "neck"), "tiny", "en", ("tiny-info",)
        ),
        file_name(person, "tiny", "en", ("tiny-info", "tiny-consent")),
        file_name(person, "tiny", "en", ("tiny-info",), flags=packet_flags(True, False, False)),
        file_name(person, "tiny", "fr", ("tiny-info",)),
    }
    assert len(others) == 4 and name not in others
    assert file_name(person, "tiny", "en", (), "{patient}-{date}") == "Jane-Doe-2026-12-01.pdf"
    assert file_name(Patient("../..", date=TODAY), "b", "l", (), "{patient}.pdf") == "patient.pdf"


@pytest.mark.parametrize(
    ("pattern", "code"),
    [("{nope}.pdf", "unknown-field"), ("{patient!r}", "unknown-field"), ("a/{id}", "not-plain"), ("{", "")],
)
def test_bad_name_patterns_are_refused_before_anything_is_made(pattern: str, code: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_pattern(pattern)
    assert (caught.value.field, caught.value.code) == ("name_pattern", code)
    check_pattern(DEFAULT_PATTERN)


def test_passwords_every_reader_can_open() -> None:
    check_password(None)
    check_password("Ж" * 63)  # 126 bytes
    for bad, code in (("", "empty"), ("Ж" * 64, "too-long")):
        with pytest.raises(UsageError) as caught:
            check_password(bad)
        assert (caught.value.field, caught.value.code) == ("password", code)
