"""Rendering a page from `templates/`: one Jinja2 environment, escaping on, pages self-contained.

Every page is a single file: CSS and the one small script are inlined, pictures are inline SVG,
and nothing is fetched. A Content-Security-Policy in the page allows no network at all and only
the script whose hash it names, so even text that escaped the escaping could not run code.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import tempfile
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ..scoring import shown_points
from ..valid_text import bidi_inert, code_point_name, inked, inked_runs, valid
from .charts import share_percent

# The templates live at the top of the repository (issue 4); an installed grader that carries them
# inside the package (grader/templates) is looked up second.
_HERE = Path(__file__).resolve().parent
TEMPLATE_DIRS = (_HERE.parent.parent / "templates", _HERE.parent / "templates")


class TemplateMissing(RuntimeError):
    """The report templates are not where the grader looks for them."""


@cache
def environment() -> jinja2.Environment:
    dirs = [d for d in TEMPLATE_DIRS if (d / "base.html.j2").is_file()]
    if not dirs:
        raise TemplateMissing(
            "cannot find the report templates (base.html.j2) in "
            + " or ".join(str(d) for d in TEMPLATE_DIRS)
            + ": run the grader from its repository or install it with its templates/ folder"
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        autoescape=True,  # every template here is HTML; student text is escaped wherever it goes
        undefined=jinja2.StrictUndefined,  # a typo in a template is an error, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        points=points,
        sci=sci,
        pct=pct,
        isolate=isolate,
        ident=ident,
        isolate_text=isolate_text,
        inert=inert,
        whole=whole,
        names=names,
        member=member,
    )
    return env


def names(label: str, name: str) -> bool:
    """Whether a submission's label already says the student's name: an LMS download names a
    submission `<name> (<key>)` ("davedoe (1004)"), and the name is then not said again in
    parentheses. A name that is only part of the label ("Ann" of "Annabel_1234") still is."""
    return label == name or label.startswith(f"{name} (")


# What stands for a group member with no name, email or SID to show.
NO_ONE = "–"


def member(person: dict) -> str:
    """How a list names a group member: their name, else their email, else their SID, the first
    that is more than blanks, else NO_ONE. A member the export gave no name, or a name of
    blanks, showed as nothing between the dots of the terminal's list (`Bob ·  · Carol`), and a
    name of blanks so in summary.html."""
    fields = (str(person.get(k) or "") for k in ("name", "email", "sid"))
    return next((f for f in fields if f.strip()), NO_ONE)


@cache
def assignment_title(name: str | None) -> str:
    """What the pages call a result's assignment: its title in this course, else its name as
    result.json gives it (a result from another course still gets a page)."""
    if not name:
        return ""
    from ..assignment import load

    try:
        return load(name).title
    except Exception:  # noqa: BLE001 - an unknown or broken assignment still has a name
        return str(name)


def render_page(template: str, **context: object) -> str:
    """A whole HTML page from `template`, with the shared script and its CSP hash."""
    env = environment()
    script = env.get_template("page.js").render()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return env.get_template(template).render(
        script=Markup(script), script_hash=f"sha256-{digest}", **context
    )


def write_atomic(path: Path, text: str) -> Path:
    """Write `text` whole or not at all: a batch killed mid-write leaves the old file or none."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a name or from student code (valid_text)
        data = valid(text).encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the report from a web server or a TA
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# Text a student chose (a name, a file name, a note quoting one) may hold right-to-left letters
# or bidi overrides, which turn the words around them: "Mallory \u202e)9001 :dis(" beside an id
# showed the id reversed and a "100 Points" the grader never wrote. Each such text is isolated,
# so its direction stays inside it, and the characters that could close the isolation early
# are written as escapes (valid_text.bidi_inert).


def isolate(text: object) -> Markup:
    """Student text, escaped, in an isolating `<bdi>` of its own: for text among the page's words
    (a name beside an id, a file name in a note). Text already escaped (`join`'s) is kept so."""
    return Markup("<bdi>%s</bdi>") % Markup(bidi_inert(str(escape(text))))


# The longest word of a name or an id kept on one line in a table (a Gradescope folder
# `submission_283746512`, an email): about 11em, what a column of three such beside the scores
# and the notes still fits at 1024 px.
WHOLE_WORD = 24


def ident(text: object) -> Markup:
    """Who a row is (a name, an email, an SID, a submission's name), isolated as `isolate`
    does, with its inkless characters written as escapes (`valid_text.inked`): a name holding
    a zero-width space showed as a classmate's exactly, and one holding a right-to-left mark
    or override as another name, where a TA tells the rows apart by these alone. Each escape
    is marked as the grader's (`<span class="escape">`, its character named on hover): a name
    typed with the six characters `\\u200b` read as one holding a zero-width space."""
    pieces = [
        Markup('<span class="escape" title="%s">%s</span>') % (code_point_name(c), shown)
        if c
        else Markup(bidi_inert(str(escape(shown))))
        for c, shown in inked_runs(str(text))
    ]
    return Markup("<bdi>%s</bdi>") % Markup("").join(pieces)


def whole(text: object) -> bool:
    """Whether `text` may keep each of its words whole in a table cell (style.css's
    `td.ident.whole`): a cell allowed to break anywhere was squeezed by the notes beside it
    until `submission_10` read `submission_1` over `0`. A longer word (a 120-character folder
    name) still breaks anywhere, so the scores beside it stay in view."""
    return max((len(w) for w in str(text or "").split()), default=0) <= WHOLE_WORD


def isolate_text(text: object) -> str:
    """Student text isolated where no markup can be (the page's <title>, a submission's name):
    between the isolate characters FSI and PDI, which it can no longer close, its inkless
    characters written as escapes as `ident` writes them."""
    return f"\u2068{bidi_inert(inked(str(text)))}\u2069"


def inert(text: object) -> Markup:
    """Student text, escaped, with no character that could reach past it: for a block of its
    own (a message, a traceback, printed output), whose grader's words share its lines."""
    return Markup(bidi_inert(str(escape(text))))


def points(x: object) -> str:
    """A score as a person writes it: 48, 17.5, 98.57 (`scoring.shown_points`); a dash for no
    number."""
    if not isinstance(x, int | float) or not math.isfinite(x):
        return "–"
    return shown_points(x)


def sci(x: object) -> str:
    """An error figure in two significant digits (3.1e-02), or a dash when there is none."""
    if not isinstance(x, int | float):
        return "–"
    if x == 0:
        return "0"
    return f"{x:.2g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.1e}"


def pct(share: object) -> str:
    """A share in [0, 1] as a whole percentage, never all or none of it where it is not
    (`charts.share_percent`)."""
    if not isinstance(share, int | float) or not math.isfinite(share):
        return "–"
    return share_percent(share)
