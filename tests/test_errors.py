"""errors.py: one exit-code table; errors name their field and each face words it."""

from __future__ import annotations

import pytest

from handouts.errors import (
    SCREEN_EXIT,
    VERIFY_EXIT,
    ContentError,
    Exit,
    HandoutsError,
    InputErrors,
    MailError,
    PrintError,
    Problem,
    TamperedError,
    UnknownChoice,
    UsageError,
    as_is,
    choose,
)


def test_the_exit_code_table() -> None:
    assert [int(code) for code in Exit] == [0, 1, 2, 3, 4, 5, 7]  # 6: taken by the scan port (needs review)
    assert HandoutsError("x").exit_code == UsageError("x").exit_code == Exit.BAD_INPUT == 2
    assert MailError("x").exit_code == Exit.NOT_SENT == 4
    assert PrintError("x").exit_code == Exit.NOT_PRINTED == 7
    assert TamperedError("x").exit_code == Exit.TAMPERED == 5
    assert SCREEN_EXIT == {"clear": 0, "incomplete": 3, "flagged": 1, "unreadable": 2, "tampered": 5}
    assert VERIFY_EXIT == {"valid": 0, "unsigned": 3, "unreadable": 2, "invalid": 1}
    assert Exit.UNSIGNED is Exit.INCOMPLETE  # one number, two commands' words for it


def test_each_face_words_the_field_its_own_way() -> None:
    from handouts.cli.common import flag

    error = UsageError("{field} is after the appointment date; check both dates", field="dob")
    assert error.worded(flag) == "--dob is after the appointment date; check both dates"
    assert error.worded(as_is) == str(error) == "dob is after the appointment date; check both dates"
    web = {"dob": "Date of birth"}
    assert error.worded(web.__getitem__).startswith("Date of birth is after")
    assert error.field == "dob"


def test_other_fields_and_values_in_a_template() -> None:
    from handouts.cli.common import flag

    error = UsageError("shorten {field} or {therapist} ({length} characters)", field="area", length=301)
    assert error.worded(flag) == "shorten --area or --therapist (301 characters)"
    assert flag("name_pattern") == "--name-pattern"
    assert flag("printing.printer") == "printing.printer"  # a settings key, as handouts.yaml writes it


def test_typed_values_are_never_read_as_template() -> None:
    hostile = "{field} {0} {__class__} }{"
    error = UnknownChoice("brand", hostile, ["demo"], field="brand")
    assert str(error) == f"brand: unknown brand '{hostile}'; choose from: demo"
    plain = UsageError(f"no such output: {hostile}")  # no field, no values: printed as given
    assert str(plain) == f"no such output: {hostile}"


def test_choose_is_the_one_unknown_choice_check() -> None:
    assert choose("language", "fr", ["en", "fr"]) == "fr"
    with pytest.raises(UnknownChoice) as caught:
        choose("language", "de", ["en", "fr"])
    assert str(caught.value) == "unknown language 'de'; choose from: en, fr"
    assert (caught.value.field, caught.value.code, caught.value.value) == (None, "unknown", "de")
    with pytest.raises(UnknownChoice, match=r"^lang: unknown language 'de'"):
        choose("language", "de", ["en"], field="lang")


def test_input_errors_keep_every_problem_one_line_each() -> None:
    from handouts.cli.common import flag

    errors = InputErrors(
        [UsageError("{field} is required", field="patient"), UsageError("{field} is bad", field="dob")]
    )
    assert errors.lines(flag) == ["--patient is required", "--dob is bad"]
    assert errors.lines() == ["patient is required", "dob is bad"]
    assert [e.field for e in errors.errors] == ["patient", "dob"]


def test_content_errors_list_problems_sorted_without_warnings() -> None:
    error = ContentError(
        [
            Problem("content/b.yaml", 3, "second"),
            Problem("content/a.yaml", None, "first"),
            Problem("content/a.yaml", 1, "a warning", warning=True),
        ]
    )
    assert error.lines() == [
        "content/a.yaml: first",
        "content/b.yaml:3: second",
        "Aborted with 2 content errors.",
    ]
