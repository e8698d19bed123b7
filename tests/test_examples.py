"""The example class: built from the solutions, each example shows exactly its named mistake.

write_examples makes one folder per example; an edit that no longer applies exactly once stops
the build with an error naming the example, so no example can silently rot. Each example's
outcome is pinned with the public check, which judges with the grader's own code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.backprop_ninja import student_check_driver
from grader.backprop_ninja.examples import EXAMPLES
from grader.examples import write_examples

ROOT = Path(__file__).resolve().parent.parent
ALL = {"exercise1.py", "exercise2.py", "exercise3.py"}
EX3 = {f"exercise3.{g}" for g in ("dC", "dW1", "db1", "dW2", "db2", "dbngain", "dbnbias")}

# Items that do not pass, per example (everything else passes).
EXPECTED_FAILURES = {
    "complete": set(),
    "bessel": {"exercise1.dbndiff2"},
    "missing_branch": {"exercise1.dcounts"},
    "missing_sum": {"exercise1.db2", "exercise3.dbnbias"},
    "no_div_n": {"exercise2.dlogits"},
    "partial": EX3 | {"exercise3.training"},
    "zoë martin": set(),
}


@pytest.fixture(scope="module")
def example_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("examples")
    write_examples(
        ROOT / "solutions" / "backprop-ninja", ROOT / "assignments" / "backprop-ninja", out
    )
    return out


def rows(folder: Path) -> dict[str, dict]:
    """The public check's item per item id."""
    return {item["id"]: item for item in student_check_driver.check(folder)["items"]}


def test_every_listed_example_gets_a_folder(example_class: Path) -> None:
    expected = {"complete", "blank", "bessel", "missing_branch", "missing_sum", "no_div_n",
                "partial", "zoë martin"}  # fmt: skip
    assert set(EXAMPLES) == expected
    assert {p.name for p in example_class.iterdir()} == expected


def test_partial_has_only_exercises_1_and_2(example_class: Path) -> None:
    assert {p.name for p in (example_class / "partial").iterdir()} == {
        "exercise1.py",
        "exercise2.py",
    }
    for name in set(EXAMPLES) - {"partial"}:
        assert {p.name for p in (example_class / name).iterdir()} == ALL, name


def test_complete_is_the_solutions_without_markers_and_blank_is_the_stubs(
    example_class: Path,
) -> None:
    for name in ALL:
        complete = (example_class / "complete" / name).read_text()
        assert "SOLUTION" not in complete
        assert complete.splitlines() == [
            ln
            for ln in (ROOT / "solutions" / "backprop-ninja" / name).read_text().splitlines()
            if ln.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION")
        ]
        assert (example_class / "blank" / name).read_text() == (
            ROOT / "assignments" / "backprop-ninja" / name
        ).read_text()


def test_blank_is_not_implemented_everywhere(example_class: Path) -> None:
    items = rows(example_class / "blank")
    assert len(items) == 36
    assert {i["status"] for i in items.values()} == {"not_implemented"}


@pytest.mark.parametrize("example", EXPECTED_FAILURES)
def test_each_example_fails_exactly_its_mistake(example: str, example_class: Path) -> None:
    items = rows(example_class / example)
    assert len(items) == 36
    failing = {item_id for item_id, item in items.items() if item["status"] != "passed"}
    assert failing == EXPECTED_FAILURES[example]


def test_zoe_martin_writes_dbnmeani_the_lectures_way_and_passes_with_a_warning(
    example_class: Path,
) -> None:
    item = rows(example_class / "zoë martin")["exercise1.dbnmeani"]
    assert item["status"] == "passed"
    assert any("(64,)" in w and "accepted" in w for w in item["warnings"]), item["warnings"]


def test_a_rotten_edit_names_the_example_and_the_text(tmp_path: Path) -> None:
    solutions = tmp_path / "solutions"
    shutil.copytree(ROOT / "solutions" / "backprop-ninja", solutions)
    ex1 = solutions / "exercise1.py"
    ex1.write_text(ex1.read_text().replace("(1.0 / (n - 1))", "1.0 / (n - 1)"))
    with pytest.raises(ValueError, match=r"'bessel'.*\(1\.0 / \(n - 1\)\)"):
        write_examples(solutions, ROOT / "assignments" / "backprop-ninja", tmp_path / "out")
    assert not (tmp_path / "out").exists(), "nothing is written when an example is stale"


def test_an_edit_that_matches_twice_is_refused(tmp_path: Path) -> None:
    table = {"twice": {"exercise1.py": [("return", "return")]}}
    with pytest.raises(ValueError, match="'twice'.*'return' occurs"):
        write_examples(
            ROOT / "solutions" / "backprop-ninja",
            ROOT / "assignments" / "backprop-ninja",
            tmp_path,
            table=table,
        )


def test_rebuilding_drops_files_an_example_no_longer_has(tmp_path: Path) -> None:
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "exercise3.py").write_text("stale\n")
    write_examples(
        ROOT / "solutions" / "backprop-ninja", ROOT / "assignments" / "backprop-ninja", tmp_path
    )
    assert not (tmp_path / "partial" / "exercise3.py").exists()
