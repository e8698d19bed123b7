"""Whose each folder of a Gradescope export is: its `submission_metadata.yml`, read as events.

Only what the grader takes is built: each top-level key (a submission's folder) and the names,
emails and SIDs of that entry's `:submitters:`, as text. Everything else is walked past without
being built. A real export's file holds a few KB a submission, but one student's upload holding
such a file is read as an export when graded without --one, and building a 4 MiB file of two
million list items took 7.5 s and 728 MB in the grader's own process (its 16 MiB cap allows four
times that); walked as YAML's events it takes about a second and no memory beyond the text.

YAML's own text only, as PyYAML's BaseLoader reads it: every scalar is the string written (a
5,000-digit SID is no int that Python then refuses to print), tags are ignored and `<<` is an
ordinary key. An alias stands for what its anchor built where that was a name, a person, a list
of people or an entry, and for nothing usable elsewhere, so aliases nested a thousandfold repeat
no bytes.
"""

from collections.abc import Container, Iterator

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

# What one entry may give: a group of at most this many people, each field at most this long.
# Gradescope's groups hold a handful and its names a few dozen characters.
MAX_MEMBERS = 100
MAX_FIELD_CHARS = 1000
# Gradescope's files use a few anchors or none; each kept anchor holds up to MAX_FIELD_CHARS, and
# 16 MiB of `- &aN x` lines would otherwise keep three million of them.
MAX_ANCHORS = 10_000
PERSON_FIELDS = ("name", "email", "sid")
# How a group's names, emails and SIDs are joined in one field each (the summary splits a
# result without `members` at it).
MEMBER_SEPARATOR = "; "

Person = dict[str, str]


class MetadataError(ValueError):
    """The file cannot be read as an export's metadata; the message says why."""


class NotAMapping(MetadataError):
    """The document is not a mapping of folder names."""


class TooManyAbsent(MetadataError):
    """More keys name folders the export lacks than a real, complete export would."""


def read(text: str, held: Container[str], max_absent: int) -> dict[str, list[Person]]:
    """Each listed folder's submitters, each one's fields text cut to MAX_FIELD_CHARS (a list
    empty where the entry names nobody readably). More than `max_absent` keys that are not in
    `held` stop the reading there (TooManyAbsent): each would be a row and a report."""
    try:
        return _Walk(_events(text)).document(held, max_absent)
    except yaml.YAMLError as e:  # libyaml's own word on a file that is not YAML
        raise MetadataError(str(e)) from None


def fields_of(people: list[Person]) -> dict:
    """A submission's student fields: each of name, email and SID joined over its people, and
    the people apart (`members`): gradebook rows come from those, never from splitting the
    joined fields again, which a name holding "; " would split into a person nobody is."""
    fields: dict = {
        k: MEMBER_SEPARATOR.join(p[k] for p in people if p.get(k)) for k in PERSON_FIELDS
    }
    fields["members"] = people
    return {k: v for k, v in fields.items() if v}


def _events(text: str) -> Iterator[Event]:
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # libyaml's parser where built
    return yaml.parse(text, Loader=loader)


class _Walk:
    """One pass over the events, building the four kinds of node the grader reads."""

    def __init__(self, events: Iterator[Event]) -> None:
        self.events = events
        self.anchors: dict[str, tuple[str, object]] = {}  # anchor -> (kind, what it built)

    def document(self, held: Container[str], max_absent: int) -> dict[str, list[Person]]:
        next(self.events)  # the stream's start
        first = next(self.events)
        if not isinstance(first, DocumentStartEvent):
            return {}  # an empty file
        listing = self._listing(next(self.events), held, max_absent)
        next(self.events)  # the document's end
        if not isinstance(next(self.events), StreamEndEvent):
            raise MetadataError("it holds more than one YAML document")
        return listing

    def _listing(self, ev: Event, held: Container[str], most: int) -> dict[str, list[Person]]:
        if not isinstance(ev, MappingStartEvent):
            # Nothing, '' or [] lists nobody (YAML's null is BaseLoader's empty text).
            if isinstance(ev, ScalarEvent) and ev.value == "":
                return {}
            if isinstance(ev, AliasEvent):
                self._alias(ev, "", None)  # nothing is defined before the document's node
            if isinstance(ev, SequenceStartEvent) and isinstance(
                next(self.events), CollectionEndEvent
            ):
                return {}
            raise NotAMapping("not a mapping of submission folders")
        listing: dict[str, list[Person]] = {}
        absent = 0
        for key_event in self._items():
            key = self._key(key_event)
            if key not in listing and key not in held:
                absent += 1
                if absent > most:
                    raise TooManyAbsent(f"it lists more than {most} folders the export lacks")
            listing[key] = self._entry(next(self.events))
        return listing

    def _entry(self, ev: Event) -> list[Person]:
        if isinstance(ev, AliasEvent):
            return self._alias(ev, "entry", [])
        if not isinstance(ev, MappingStartEvent):
            self._skip(ev)
            return []
        self._anchor(ev, "other", None)
        people: list[Person] = []
        for key_event in self._items():
            if self._key(key_event).lstrip(":") == "submitters":  # the last one counts
                people = self._people(next(self.events))
            else:
                self._skip(next(self.events))
        self._anchor(ev, "entry", people)
        return people

    def _people(self, ev: Event) -> list[Person]:
        if isinstance(ev, AliasEvent):
            return self._alias(ev, "people", [])
        if not isinstance(ev, SequenceStartEvent):
            self._skip(ev)
            return []
        self._anchor(ev, "other", None)
        people: list[Person] = []
        for seen, item in enumerate(self._items()):
            person = self._person(item) if seen < MAX_MEMBERS else self._skip(item)
            if isinstance(person, dict):
                people.append(person)
        self._anchor(ev, "people", people)
        return people

    def _person(self, ev: Event) -> Person | None:
        if isinstance(ev, AliasEvent):
            return self._alias(ev, "person", None)
        if not isinstance(ev, MappingStartEvent):
            self._skip(ev)
            return None
        self._anchor(ev, "other", None)
        fields: dict[str, str | None] = {}
        for key_event in self._items():
            name = self._key(key_event).lstrip(":")
            if name in PERSON_FIELDS:
                fields[name] = self._text(next(self.events))
            else:
                self._skip(next(self.events))
        person = {k: v for k in PERSON_FIELDS if (v := fields.get(k))}
        self._anchor(ev, "person", person)
        return person

    def _text(self, ev: Event) -> str | None:
        """A scalar's text, cut; None for a collection or an alias of one."""
        if isinstance(ev, AliasEvent):
            return self._alias(ev, "text", None)
        built = self._skip(ev)
        return built if isinstance(built, str) else None

    def _key(self, ev: Event) -> str:
        """A mapping's key: text, as BaseLoader refuses a key it cannot hash."""
        key = self._text(ev)
        if key is None:
            raise MetadataError("a mapping's key is not text")
        return key

    def _items(self) -> Iterator[Event]:
        """The first event of each item of the collection just opened, up to its end. Each
        item must be consumed whole before the next is asked for."""
        while not isinstance(ev := next(self.events), CollectionEndEvent):
            yield ev

    def _skip(self, ev: Event) -> str | None:
        """Walk past the node `ev` opens, building nothing but a scalar's cut text (returned)
        and what anchors met on the way stand for."""
        if isinstance(ev, ScalarEvent):
            text = ev.value[:MAX_FIELD_CHARS]
            self._anchor(ev, "text", text)
            return text
        if isinstance(ev, AliasEvent):
            return self._alias(ev, "text", None)
        depth = 0
        while True:  # iterative: nesting a million deep costs no recursion
            if isinstance(ev, CollectionStartEvent):
                self._anchor(ev, "other", None)
                depth += 1
            elif isinstance(ev, CollectionEndEvent):
                depth -= 1
            elif isinstance(ev, ScalarEvent):
                self._anchor(ev, "text", ev.value[:MAX_FIELD_CHARS])
            elif isinstance(ev, AliasEvent):
                self._alias(ev, "", None)  # only to refuse an undefined one
            if depth == 0:
                return None
            ev = next(self.events)

    def _anchor(self, ev: NodeEvent, kind: str, built: object) -> None:
        if ev.anchor is None:
            return
        if ev.anchor not in self.anchors and len(self.anchors) >= MAX_ANCHORS:
            raise MetadataError(f"it defines more than {MAX_ANCHORS} YAML anchors")
        self.anchors[ev.anchor] = (kind, built)

    def _alias(self, ev: AliasEvent, kind: str, otherwise):
        """What the alias's anchor built, if it built a `kind`; else `otherwise`."""
        if ev.anchor not in self.anchors:
            raise MetadataError(f"found the undefined alias {ev.anchor!r}")
        built_kind, built = self.anchors[ev.anchor]
        return built if built_kind == kind else otherwise
