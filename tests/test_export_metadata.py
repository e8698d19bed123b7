"""An export's metadata, read as YAML events: whose each folder is, and nothing else built.

The reader must give what PyYAML's BaseLoader gives for every file Gradescope writes (the first
tests hold it to a small reading over BaseLoader's whole tree), and for a file of a student's
own writing cost no more than the text itself, refuse what no export holds, and never recurse.
"""

from __future__ import annotations

import random
import textwrap
import tracemalloc

import pytest
import yaml

from grader import export_metadata
from grader.export_metadata import (
    MAX_ANCHORS,
    MAX_FIELD_CHARS,
    MAX_MEMBERS,
    PERSON_FIELDS,
    MetadataError,
    NotAMapping,
    TooManyAbsent,
    fields_of,
    read,
)

EVERYONE = frozenset(f"submission_{i}" for i in range(1, 10))


def through_the_whole_tree(text: str) -> dict[str, list[dict]]:
    """The reading the event walk replaced: BaseLoader builds everything, then the people are
    picked out of it (the last of a repeated key counts, a group is cut to MAX_MEMBERS before
    what is not a mapping is dropped, and only non-empty text is a field)."""
    meta = yaml.load(text, Loader=yaml.BaseLoader) or {}  # noqa: S506 - text, lists, dicts
    return {key: _people(info) for key, info in meta.items()}


def _people(info: object) -> list[dict]:
    info = _plain(info) if isinstance(info, dict) else {}
    people = info.get("submitters") or []
    if not isinstance(people, list):
        return []
    return [
        {k: p[k][:MAX_FIELD_CHARS] for k in PERSON_FIELDS if isinstance(p.get(k), str) and p[k]}
        for p in (_plain(q) for q in people[:MAX_MEMBERS] if isinstance(q, dict))
    ]


def _plain(mapping: dict) -> dict:
    return {str(k).lstrip(":"): v for k, v in mapping.items()}


GRADESCOPE_LIKE = {
    "one person and a group, Ruby's keys": """
        submission_1:
          :submitters:
          - :name: Ada Lovelace
            :sid: '1815'
            :email: ada@example.edu
          :created_at: 2026-11-30 23:59:01.000000000 -08:00
          :score:
          :assignment:
            :title: Backprop Ninja
            :release_date: 2026-11-01 00:00:00.000000000 -07:00
        submission_2:
          :submitters:
          - :name: Alan Turing
            :sid: 1912
            :email: alan@example.edu
          - :name: Grace Hopper
            :sid: 007
            :email: grace@example.edu
        """,
    "plain keys, flow style, a repeated key": """
        submission_3: {submitters: [{name: Bo, sid: 0x1F}], submitters: [{name: Cy}]}
        submission_4: {':submitters': [{':name': Di, ':email': ''}]}
        """,
    "a person and a group given again by alias": """
        submission_5:
          :submitters: &pair
          - &ed {':name': Ed, ':sid': '5'}
          - :name: Flo
        submission_6:
          :submitters: [*ed]
        submission_7:
          :submitters: *pair
        """,
    "nobody readable": """
        submission_8:
        submission_9:
          :submitters: Ada
        """,
}


@pytest.mark.parametrize("text", GRADESCOPE_LIKE.values(), ids=GRADESCOPE_LIKE.keys())
def test_it_reads_what_basic_yaml_reads(text):
    text = textwrap.dedent(text)
    assert read(text, EVERYONE, 0) == through_the_whole_tree(text)


def test_a_group_is_named_in_one_field_each_and_kept_apart():
    got = read(textwrap.dedent(GRADESCOPE_LIKE["one person and a group, Ruby's keys"]), EVERYONE, 0)
    assert fields_of(got["submission_2"]) == {
        "name": "Alan Turing; Grace Hopper",
        "email": "alan@example.edu; grace@example.edu",
        "sid": "1912; 007",
        "members": got["submission_2"],
    }
    assert fields_of([]) == {}


@pytest.mark.parametrize("text", ["", "---\n", "[]", "''"])
def test_an_empty_file_lists_nobody(text):
    assert read(text, EVERYONE, 0) == {}


@pytest.mark.parametrize("text", ["[submission_1]", "~", "just text", "&a [x]"])
def test_a_document_that_is_not_a_mapping_is_said_so(text):
    with pytest.raises(NotAMapping):
        read(text, EVERYONE, 0)


@pytest.mark.parametrize(
    "text, why",
    [
        ("submission_1: {}\n---\nsubmission_2: {}\n", "more than one YAML document"),
        ("submission_1: *nobody\n", "undefined alias 'nobody'"),
        ("? [submission_1]\n: {}\n", "key is not text"),
        ("submission_1: [unclosed\n", "while parsing"),
        ("submission_1: " + "[" * 10_000 + "]" * 10_000, "nesting depth"),
    ],
)
def test_what_basic_yaml_refuses_is_refused_with_the_reason(text, why):
    with pytest.raises(MetadataError, match=why):
        read(text, EVERYONE, 0)


def test_folders_the_export_lacks_stop_the_reading_past_the_bound():
    """A million keys of folders nobody holds are a million rows and reports: the reading stops
    at the first key past the bound, whatever follows."""
    listing = "".join(f"absent_{i}: {{}}\n" for i in range(5)) + "submission_1: {}\n"
    assert len(read(listing, EVERYONE, 5)) == 6
    with pytest.raises(TooManyAbsent, match="more than 4 folders"):
        read(listing + "[not yaml at all", EVERYONE, 4)


def test_a_huge_list_nobody_reads_is_walked_past_without_being_built():
    """BaseLoader built every item (728 MB for 4 MiB of `[a, a, ...]`): the walk keeps no more
    than the text it is given and libyaml's copy of it."""
    text = "submission_1:\n  :submitters: [{':name': Ada}]\n  junk: [" + "a," * 200_000 + "a]\n"
    tracemalloc.start()
    try:
        got = read(text, EVERYONE, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == {"submission_1": [{"name": "Ada"}]}
    assert peak < 2 * len(text), f"{peak} bytes at the peak for {len(text)} of text"


def test_aliases_repeat_no_bytes_and_stand_only_for_what_was_built():
    """A billion laughs: nested aliases stand for a list where a name belongs, so no name is
    made of them; a name given by alias is the anchor's text, cut."""
    laughs = ["n0: &n0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"n{i}: &n{i} [" + ", ".join([f"*n{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "\n".join(laughs) + textwrap.dedent(f"""
        n9: &long {"x" * (MAX_FIELD_CHARS + 10)}
        submission_1:
          :submitters:
          - {{':name': *n8, ':sid': *long}}
          - {{':name': *n0}}
        """)
    got = read(text, EVERYONE, 10)
    assert got["submission_1"] == [{"sid": "x" * MAX_FIELD_CHARS}, {}]


def test_a_group_is_cut_to_its_largest_size():
    crowd = ", ".join(["*who"] * (MAX_MEMBERS + 50))
    text = f"submission_1:\n  :submitters: [&who {{':name': Bo}}, {crowd}]\n"
    assert read(text, EVERYONE, 0)["submission_1"] == [{"name": "Bo"}] * MAX_MEMBERS


def test_more_anchors_than_any_export_holds_are_refused(monkeypatch):
    monkeypatch.setattr(export_metadata, "MAX_ANCHORS", 3)
    text = "junk: [&a1 x, &a2 x, &a1 y, &a3 x]\nsubmission_1: {}\n"
    assert read(text, EVERYONE, 1) == {"junk": [], "submission_1": []}  # a1 twice: 3 anchors
    with pytest.raises(MetadataError, match="more than 3 YAML anchors"):
        read(text.replace("]", ", &a4 x]"), EVERYONE, 1)
    assert MAX_ANCHORS >= 1000


# Scalars as Gradescope and YAML 1.1 write them: quoted or not, numbers, timestamps, YAML 1.1's
# booleans and nulls, tags, unicode, a separator inside a name, and nothing.
SCALARS = (
    "Ada", "no", "on", "~", "null", "007", "0x1F", "1e3", ".inf", "''", "", "'- a'", '"a; b"',
    "2026-11-30 23:59:01.000000000 -08:00", '"Zo\\u00eb \\n x"', "李小龙", "!!str 12",
    "!ruby/object:Foo bar", "<<", "=",
)  # fmt: skip


def _random_export(rng: random.Random) -> str:
    """A metadata file of up to five entries: Ruby's keys or plain ones (one style a file),
    keys in any order and repeated, groups, empty or missing submitters, block and flow
    styles, multi-line names, merge keys and complex keys, anchors and aliases to any earlier
    node."""
    colon, anchors = rng.choice((":", "")), []

    def anchored() -> str:
        if rng.random() < 0.8:
            return ""
        anchors.append(f"a{len(anchors)}")
        return f"&{anchors[-1]} "

    def scalar() -> str:
        if anchors and rng.random() < 0.1:
            return "*" + rng.choice(anchors)
        return anchored() + rng.choice(SCALARS)

    def person() -> str:
        keys = rng.choices(("name", "sid", "email", "other", "<<"), k=rng.randint(0, 4))
        if rng.random() < 0.3:
            return anchored() + "{" + ", ".join(f"{colon}{k}: {scalar()}" for k in keys) + "}"
        lines = [f"{colon}{k}: |\n      multi\n      line" if rng.random() < 0.1 else
                 f"{colon}{k}: {scalar()}" for k in keys]  # fmt: skip
        return anchored() + "\n    ".join(lines) if lines else "{}"

    def entry() -> str:
        lines = []
        for key in rng.choices(("submitters", "created_at", "score", "history", "<<"), k=3):
            if key == "submitters":
                people = [
                    f"  - *{rng.choice(anchors)}" if anchors and rng.random() < 0.1
                    else f"  - {person()}" for _ in range(rng.randint(0, 3))
                ]  # fmt: skip
                given = ["", " []", f" *{rng.choice(anchors)}" if anchors else ""]
                tail = rng.choice(given) if rng.random() < 0.2 else ""
                lines.append(f"  {colon}{key}:{tail}" + ("".join("\n" + p for p in people)
                                                         if not tail else ""))  # fmt: skip
            elif key == "history":
                lines.append(f"  {colon}{key}:\n  - {colon}score: 1\n    x: [a, {{b: c}}]")
            elif key == "<<":
                lines.append(f"  <<: {{'{colon}submitters': [{{'{colon}name': merged}}]}}")
            else:
                lines.append(f"  {colon}{key}: {scalar()}")
        return "\n".join(lines)

    folders = []
    for _ in range(rng.randint(0, 5)):
        folder = rng.choice(("submission_1", "'submission_2'", "no", "123", "? submission_3\n"))
        folders.append(f"{folder}:\n{entry()}")
    return ("---\n" if rng.random() < 0.3 else "") + "\n".join(folders) + "\n"


def test_random_gradescope_like_files_read_as_basic_yaml_reads_them():
    """The walk against BaseLoader's whole tree on files drawn at random (the check the walk
    was first held to, kept): the same submitters, and the same files refused. A node that
    holds an alias to itself, which BaseLoader refuses, the walk reads as naming nobody."""
    rng, compared = random.Random(7), 0
    for _ in range(1500):
        text = _random_export(rng)
        try:
            expected = through_the_whole_tree(text)
        except yaml.YAMLError as e:
            if "recursive" in str(e):
                continue
            with pytest.raises(MetadataError):
                read(text, EVERYONE, 10)
            continue
        assert read(text, EVERYONE, 10) == expected, text
        compared += 1
    assert compared > 1000
