"""The session: calls by name into sandboxed student processes, one case after another.

`call_each` sends a function's cases to its process together (no round trip between them);
these tests pin that its outcomes are exactly those of one `call` per case: each call has its
own time limit and fresh arguments, and a crash or a timeout decides what follows as separate
calls would.
"""

from __future__ import annotations

import select
import time

import pytest
import torch

from grader.assignment import ContentError
from grader.sandbox import client
from grader.sandbox.client import CALL_WINDOW, Limits, Zygote
from grader.sandbox.inside import protocol
from grader.session import Session
from grader.timing import CallTimer

ALLOWED = frozenset({"x", "i"})


@pytest.fixture(scope="module")
def zygote():
    z = Zygote(Limits(call_seconds=1.0))
    yield z
    z.close()


def session_for(zygote, source: str, **kwargs) -> Session:
    return Session({"ex": "import os, time\nimport torch\n" + source}, zygote, **kwargs)


def cases(n: int, x: torch.Tensor | None = None) -> list[dict]:
    return [{"x": torch.full((3,), float(i)) if x is None else x, "i": i} for i in range(n)]


def test_each_case_gets_its_own_answer_in_order(zygote):
    s = session_for(zygote, "def f(x, i):\n    return x * 2 + i\n")
    outcomes = s.call_each("ex", "f", cases(5), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok"] * 5
    for i, o in enumerate(outcomes):
        assert torch.equal(o.value[0], torch.full((3,), 3.0 * i))


def test_a_crash_costs_its_own_case_and_the_rest_run_in_a_fresh_process(zygote):
    s = session_for(zygote, "def f(x, i):\n    if i == 1:\n        os._exit(3)\n    return x + 1\n")
    timer = CallTimer()
    s.timer = timer
    outcomes = s.call_each("ex", "f", cases(4), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok", "error", "ok", "ok"]
    assert "ended without answering" in outcomes[1].message
    assert torch.equal(outcomes[3].value[0], torch.full((3,), 4.0))
    assert len(timer.seconds["ex.f"]) == 3, "only calls that returned a value are timed"


def test_answers_given_before_a_crash_count_when_a_later_request_finds_the_process_gone(
    zygote, monkeypatch
):
    """Requests go out ahead of their answers. On a busy machine the process can answer call 0
    and end in call 1 before the grader has sent call 2: that send fails, but call 0's answer
    waits in the socket and still counts (it once took the crash for call 1 instead)."""
    real, frames = protocol.Channel.send_frame, []

    def sent_after_the_end(channel, data, deadline=None):
        if b'"func"' in data:
            frames.append(data)
            if len(frames) == 3:  # wait until the process has ended, as a busy grader would
                poll = select.poll()
                poll.register(channel.sock, select.POLLHUP)
                poll.poll(10_000)
        return real(channel, data, deadline)

    monkeypatch.setattr(protocol.Channel, "send_frame", sent_after_the_end)
    s = session_for(zygote, "def f(x, i):\n    if i == 1:\n        os._exit(3)\n    return x + 1\n")
    outcomes = s.call_each("ex", "f", cases(4), ALLOWED)
    s.close()
    assert len(frames) >= 3, "the third request went out after the process ended"
    assert [o.status for o in outcomes] == ["ok", "error", "ok", "ok"]
    assert torch.equal(outcomes[0].value[0], torch.full((3,), 1.0))


def test_the_grader_s_time_reading_an_answer_is_not_taken_from_the_next_call(zygote, monkeypatch):
    """Each call has 1 s here; reading the first answer takes the grader 1.2 s (a busy machine,
    a large answer). The second call, answered within 0.3 s, must not time out for it."""
    real, slow = client._to_reply, [True]

    def slow_first_read(answer, data, elapsed=0.0):
        if "result" in answer and slow and slow.pop():  # the first call's answer, not the load's
            time.sleep(1.2)
        return real(answer, data, elapsed)

    monkeypatch.setattr(client, "_to_reply", slow_first_read)
    # The second answer comes 0.3 s after the first, while the grader is still reading that.
    s = session_for(zygote, "def f(x, i):\n    time.sleep(0.3 * i)\n    return x\n")
    outcomes = s.call_each("ex", "f", cases(2), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok", "ok"]


def test_an_answer_given_in_time_counts_though_the_grader_looked_late(zygote, monkeypatch):
    """Each call has 1 s here; the grader stops for 1.2 s after sending the call (a busy or
    paused machine) and then finds the answer waiting: it was a timeout."""
    real, stalled = client.StudentProcess._answer, [True]

    def late_look(self, request_id, deadline):
        if stalled and stalled.pop():
            time.sleep(1.2)
        return real(self, request_id, deadline)

    s = session_for(zygote, "def f(x, i):\n    return x + i\n")
    s.call_each("ex", "f", cases(1), ALLOWED)  # the file loaded first, on time
    monkeypatch.setattr(client.StudentProcess, "_answer", late_look)
    outcomes = s.call_each("ex", "f", cases(2), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok", "ok"]


@pytest.mark.parametrize("padding", ["#\n" * 400_000, "# " + "é" * 300_000 + "\n"])
def test_a_file_within_the_upload_limit_loads_however_its_text_escapes(zygote, padding):
    """800 KB of comment lines, or 600 KB of non-ASCII text: escaped into the load request's
    JSON header, either passed the header's 1 MiB, and the student read that their code ended
    without answering."""
    s = session_for(zygote, "def f(x, i):\n    return x + i\n" + padding)
    outcomes = s.call_each("ex", "f", cases(1), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok"]


def test_a_file_s_output_is_cut_to_one_process_s_limit_across_its_restarts(zygote):
    """Each crash starts a fresh process with a fresh output limit: a file that printed to the
    limit and crashed in every call filled result.json with 20 MB (red team)."""
    s = session_for(zygote, "def f(x, i):\n    print('#' * 9_000, flush=True)\n    os._exit(3)\n")
    outcomes = s.call_each("ex", "f", cases(6), ALLOWED)
    text = s.output("ex")
    s.close()
    assert [o.status for o in outcomes] == ["error"] * 6
    limit = zygote.limits.output_bytes
    assert len(text) < limit + 100 and text.startswith("#" * 9_000 + "\n" + "#" * 6_000)
    assert text.endswith(f"... [{6 * 9_001 - limit} more characters of output were cut]")


def test_did_you_mean_is_worked_out_once_per_function_over_a_bounded_few_names(zygote, monkeypatch):
    """It was worked out for every case, over every name the file defined: 40,000 of them cost
    a red team's submission 22 s of CPU. The message is the same for every case."""
    import grader.session as session

    weighed = []
    real = session.missing_function

    def counting(func, file, defined, expected, *where):
        weighed.append(len(defined))
        return real(func, file, defined, expected, *where)

    monkeypatch.setattr(session, "missing_function", counting)
    many = "".join(f"def _dlogit{i:04d}():\n    pass\n" for i in range(5_000))
    s = session_for(zygote, many + "def dlogitz(x, i):\n    return x\n")
    outcomes = s.call_each("ex", "dlogits", cases(8), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["missing"] * 8
    assert "did you mean `dlogits`" in outcomes[0].message
    assert len({o.message for o in outcomes}) == 1
    assert weighed == [session.MAX_DID_YOU_MEAN]


def test_a_function_the_assignment_does_not_declare_is_a_suite_s_typo_not_a_missing_one(zygote):
    """`call_each("ex", "dlogprob")` where the assignment declares `dlogprobs`: the suite fails
    with the name and the close one (it was "no function `dlogprob`" for every student, 0
    points, with none needing a look), before any process is asked; a declared name is called."""
    s = session_for(zygote, "def dlogprobs(x, i):\n    return x\n", expected={"ex": {"dlogprobs"}})
    with pytest.raises(ContentError, match=r"ex\.dlogprob, not one of .*did you mean 'dlogprobs'"):
        s.call_each("ex", "dlogprob", cases(2), ALLOWED)
    with pytest.raises(ContentError, match="ex.dlogprob"):
        s.declared("ex", "dlogprob")
    assert s.files["ex"].process is None
    assert [o.status for o in s.call_each("ex", "dlogprobs", cases(2), ALLOWED)] == ["ok"] * 2
    s.close()


def test_an_answer_past_the_limit_is_refused_and_one_within_it_is_read(zygote):
    """The grader holds a file's public answers until it judges them: 64 MiB answers made one
    submission hold 5 GB (red team). The lecture's largest answer is ~50 KB."""
    limit = zygote.limits.result_bytes
    assert limit <= 8 << 20
    s = session_for(zygote, "def f(x, i):\n    return torch.zeros(i)\n")
    outcomes = s.call_each(
        "ex", "f", [{"x": torch.zeros(1), "i": n} for n in (limit // 4, limit // 4 + 1)], ALLOWED
    )
    s.close()
    assert outcomes[0].status == "ok" and outcomes[0].value[0].numel() == limit // 4
    assert outcomes[1].status == "error" and "exceed the limit" in outcomes[1].message
    # An honest answer, too large: said plainly, not as something invalid the process sent.
    assert "returned more than the grader reads" in outcomes[1].message
    assert "sent something invalid" not in outcomes[1].message


def test_an_endless_loop_times_out_once_and_skips_the_function_s_other_cases(zygote):
    s = session_for(zygote, "def f(x, i):\n    while i == 1:\n        pass\n    return x\n")
    outcomes = s.call_each("ex", "f", cases(4), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok", "timeout", "timeout", "timeout"]
    assert "no answer within 1 s" in outcomes[1].message
    assert all("skipped" in o.message for o in outcomes[2:])


def test_each_call_has_its_own_time_limit_not_a_share_of_one(zygote):
    """Six calls of 0.25 s take 1.5 s together, past the 1 s limit of one call: all pass."""
    s = session_for(zygote, "def f(x, i):\n    time.sleep(0.25)\n    return x\n")
    outcomes = s.call_each("ex", "f", cases(6), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok"] * 6


def test_each_call_gets_fresh_arguments(zygote):
    """A function that changes its input in place cannot pass a change on to the next case."""
    x = torch.zeros(4)
    s = session_for(zygote, "def f(x):\n    x += 1\n    return x\n")
    outcomes = s.call_each("ex", "f", [{"x": x}] * 3, ALLOWED)
    s.close()
    assert [o.value[0].tolist() for o in outcomes] == [[1.0] * 4] * 3
    assert x.tolist() == [0.0] * 4


def test_requests_and_answers_larger_than_the_window_and_the_socket_buffer_get_through(zygote):
    big = torch.ones(200, 1000)  # 800 KB each way, per case
    assert big.numel() * 4 > 4 * CALL_WINDOW
    s = session_for(zygote, "def f(x, i):\n    return x * i\n")
    outcomes = s.call_each("ex", "f", cases(4, big), ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok"] * 4
    assert [o.value[0].sum().item() for o in outcomes] == [0.0, 200_000.0, 400_000.0, 600_000.0]


def test_calls_past_the_submission_s_time_budget_are_not_made(zygote):
    s = session_for(zygote, "def f(x, i):\n    time.sleep(0.3)\n    return x\n", time_budget=2.0)
    outcomes = s.call_each("ex", "f", cases(12), ALLOWED)
    s.close()
    statuses = [o.status for o in outcomes]
    made = statuses.count("ok")
    assert 1 <= made < 12 and statuses == ["ok"] * made + ["timeout"] * (12 - made)
    assert all("total time budget" in o.message for o in outcomes[made:])


def test_one_file_s_timeouts_leave_the_other_files_their_share_of_the_budget(zygote):
    """The budget was the submission's, first come first served: a file whose every function
    loops (a helper that never returns) spent it all in timeouts, and the other files' calls,
    right, came back "timed out" before they were made. Each runnable file now keeps a reserve
    of it until it has spent that much itself."""
    head = "import time\nimport torch\n"
    s = Session(
        {
            "slow": head + "def f(x, i):\n    time.sleep(0.4)\n    return x\n",
            "fast": head + "def f(x, i):\n    return x + i\n",
            "absent": None,
        },
        zygote,
        time_budget=6.0,
    )
    slow = s.call_each("slow", "f", cases(30), ALLOWED)
    fast = s.call_each("fast", "f", cases(3), ALLOWED)
    s.close()
    # The slow file keeps the budget less the fast file's reserve (half of it, split between
    # the two runnable files: the absent one reserves nothing).
    made = [o.status for o in slow].count("ok")
    assert 1 <= made < 30 and "total time budget" in slow[-1].message
    assert [o.status for o in fast] == ["ok"] * 3


def test_one_function_s_slow_calls_leave_the_file_s_other_functions_their_share(zygote):
    """Within one file the budget was first come first served: layer-by-layer's one layers.py,
    its linear_backward right but 9.3 s a call (inside the call limit), spent it all over its
    35 calls, and the other five functions' hidden cases, right too, came back "the
    submission's total time budget ran out" (30 of 100). Each function the assignment names now
    keeps a reserve of it until it has spent that much itself."""
    s = Session(
        {
            "ex": "import time\nimport torch\n"
            "def slow(x, i):\n    time.sleep(0.4)\n    return x\n"
            "def fast(x, i):\n    return x + i\n"
        },
        zygote,
        time_budget=6.0,
        expected={"ex": frozenset({"slow", "fast"})},
    )
    slow = s.call_each("ex", "slow", cases(30), ALLOWED)
    fast = s.call_each("ex", "fast", cases(3), ALLOWED)
    s.close()
    made = [o.status for o in slow].count("ok")
    assert 1 <= made < 30 and "total time budget" in slow[-1].message
    assert [o.status for o in fast] == ["ok"] * 3, [o.message for o in fast]


def test_a_refused_call_among_others_is_refused_alone(zygote):
    """A case that lacks an argument the function declares is refused; the others are made."""
    s = session_for(zygote, "def f(x, i):\n    return x\n")
    available = cases(3)
    del available[1]["i"]
    outcomes = s.call_each("ex", "f", available, ALLOWED)
    s.close()
    assert [o.status for o in outcomes] == ["ok", outcomes[1].status, "ok"]
    assert outcomes[1].status != "ok"


def test_a_stopped_session_makes_no_more_calls(zygote):
    s = session_for(zygote, "def f(x, i):\n    return x\n")
    assert s.call("ex", "f", cases(1)[0], ALLOWED).status == "ok"
    s.stop()
    outcomes = s.call_each("ex", "f", cases(2), ALLOWED)
    s.close()
    assert [o.message for o in outcomes] == ["grading was stopped before this call"] * 2


# ---- a process handed hidden inputs answers no public call ----------------------------------

MEMORY = (
    "seen = []\n"
    "def f(x, i):\n"
    "    seen.append(i)\n"
    "    return torch.tensor([float(v) for v in seen])\n"
)


def test_a_public_call_after_hidden_inputs_gets_a_fresh_process(zygote):
    """Student code keeps what it was given: a public answer must not be able to carry it."""
    s = session_for(zygote, MEMORY)
    hidden = s.call_each("ex", "f", cases(3)[1:], ALLOWED)  # unflagged calls count as hidden
    (public,) = s.call_each("ex", "f", cases(1), ALLOWED, public=True)
    s.close()
    assert hidden[-1].value[0].tolist() == [1.0, 2.0]
    assert public.value[0].tolist() == [0.0], "the public call remembers a hidden input"


def test_public_calls_before_hidden_ones_share_a_process(zygote):
    """Asked public first (as the suites ask), no process is started twice."""
    s = session_for(zygote, MEMORY)
    outcomes = s.call_each("ex", "f", cases(4), ALLOWED, public=[True, True, False, False])
    spawned = s.files["ex"].process
    s.close()
    assert outcomes[-1].value[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert spawned is not None and s.files["ex"].process is spawned


def test_flags_mixed_in_one_call_each_are_kept_apart(zygote):
    s = session_for(zygote, MEMORY)
    outcomes = s.call_each("ex", "f", cases(3), ALLOWED, public=[True, False, True])
    s.close()
    assert [o.value[0].tolist() for o in outcomes] == [[0.0], [0.0, 1.0], [2.0]]


def test_no_process_of_the_submission_outlives_hidden_inputs_into_a_public_call(zygote):
    """Another file's process can be signalled through the machine (its free memory, process
    numbers): once hidden inputs were handed out, a public call finds every process new."""
    s = Session({"a": "import torch\n" + MEMORY, "b": "import torch\n" + MEMORY}, zygote)
    s.call_each("b", "f", cases(1), ALLOWED, public=True)
    b_before = s.files["b"].process
    s.call_each("a", "f", cases(2), ALLOWED)  # hidden
    a_hidden = s.files["a"].process
    (public,) = s.call_each("b", "f", cases(1), ALLOWED, public=True)
    alive = [f.process for f in s.files.values() if f.process is not None and not f.process.dead]
    s.close()
    assert a_hidden.dead and b_before.dead
    assert alive == [s.files["b"].process] and public.value[0].tolist() == [0.0]


def test_a_signature_s_names_are_weighed_in_time_linear_in_their_number(zygote):
    """`declared` once looked each parameter up in the list of defaulted ones: a signature a
    student process reports (forged, or a `def` of thousands of names each side) then cost the
    grader's own process names x defaulted comparisons, some 10^10 for a megabyte's header,
    minutes of the grader's CPU outside every deadline."""
    compared = []

    class Name(str):
        __hash__ = str.__hash__

        def __eq__(self, other):
            compared.append(1)
            return str.__eq__(self, other)

    s = session_for(zygote, "def f(x, i):\n    return x\n")
    assert s.declared("ex", "f") == ["x", "i"]
    k = 2_000
    needed, kept = [Name(f"a{j}") for j in range(k)], [Name(f"b{j}") for j in range(k)]
    s.files["ex"].functions["f"] = {
        "params": needed + kept,
        "varkw": False,
        "varargs": False,
        "positional_only": [],
        "defaulted": kept,
    }
    assert s.declared("ex", "f") == needed
    s.close()
    assert len(compared) < 4 * k


def test_the_zygote_forks_student_processes_with_its_objects_frozen(zygote):
    """Whether a student process ran a full collection over torch's objects (writing to each
    one's header, so copying most of the zygote's heap) was an accident of the collector's
    counters it inherited: a batch's CPU a submission once went from ~185 to ~330 ms on a
    change that only added a few objects to the zygote. It freezes what it holds before its
    first fork (student code may not import gc to look: the zygote is asked)."""
    s = session_for(zygote, "def f(x, i):\n    return x\n")
    assert s.call_each("ex", "f", cases(1), ALLOWED)[0].status == "ok"
    s.close()
    assert zygote.heap()["frozen"] > 50_000  # torch alone holds ~10^5 objects


def test_every_timeout_and_memory_refusal_is_filed_as_a_limit_reached(zygote, monkeypatch):
    """The verdicts a loaded machine or a small memory share can give, each filed where it
    arose (`limits_reached`, which a later batch regrades rather than keep): a call past its
    time, the submission's budget run out, an import past its time, an allocation refused
    (torch's allocator or a MemoryError, through the student's own exception); an honest
    failure and a crash with the OOM killer idle are none of them."""
    import dataclasses

    def reached(s: Session) -> list[tuple[str, str]]:
        return [(r["limit"], r["at"]) for r in s.limits_json()]

    s = session_for(zygote, "def f(x, i):\n    while i == 1:\n        pass\n    return x\n")
    s.call_each("ex", "f", cases(3), ALLOWED)
    s.close()
    assert reached(s) == [("call_seconds", "ex.f")]

    s = session_for(zygote, "def f(x, i):\n    time.sleep(0.3)\n    return x\n", time_budget=1.0)
    s.call_each("ex", "f", cases(8), ALLOWED)
    s.close()
    assert reached(s) == [("time_budget", "ex.f")]

    hog = (
        "def f(x, i):\n    return torch.empty(1 << 42)\n\n\ndef g(x, i):\n    try:\n"
        "        bytearray(1 << 42)\n    except MemoryError as e:\n"
        "        raise ValueError('no room') from e\n"
    )
    s = session_for(zygote, hog)
    outcomes = [*s.call_each("ex", "f", cases(1), ALLOWED), s.call("ex", "g", cases(1)[0], ALLOWED)]
    s.close()
    assert [o.status for o in outcomes] == ["error", "error"]
    assert "ValueError: no room" in outcomes[1].message
    assert reached(s) == [("memory", "ex.f"), ("memory", "ex.g")]

    honest = "def f(x, i):\n    if i == 1:\n        os._exit(3)\n    raise ValueError('wrong')\n"
    monkeypatch.setattr("grader.session.oom_kills", lambda: 5)
    s = session_for(zygote, honest)
    s.call_each("ex", "f", cases(2), ALLOWED)
    s.close()
    assert reached(s) == []

    quick = dataclasses.replace(zygote.limits, import_seconds=1.0)
    monkeypatch.setattr(zygote, "limits", quick)
    s = session_for(zygote, "while True:\n    pass\n")
    assert s.call("ex", "f", {"x": 1}, ALLOWED).status == "timeout"
    s.close()
    assert reached(s) == [("import_seconds", "ex.py")]


def test_a_process_the_sandbox_could_not_start_is_a_limit_reached(zygote, monkeypatch):
    """A student process that gave no word within its time (a loaded machine) or could not
    put its layers in force ran none of the student's code, and every item of its file said
    "not your code's fault": a result the next batch kept as it was. It is filed in
    `limits_reached`, so the next batch grades it again."""

    def never_started(self) -> None:
        self._why_dead = "the grader's sandbox could not start a process for your code (test)"
        self.kill()

    monkeypatch.setattr(client.StudentProcess, "hello", never_started)
    s = session_for(zygote, "def f(x, i):\n    return x\n")
    outcome = s.call("ex", "f", cases(1)[0], ALLOWED)
    s.close()
    assert outcome.status == "error" and "could not start a process" in outcome.message
    assert [(r["limit"], r["at"]) for r in s.limits_json()] == [("process_start", "ex.py")]
