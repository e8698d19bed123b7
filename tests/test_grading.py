"""Grading end to end, as result.json reports it: every sentence of the SPEC's "How it is judged".

Submissions are the reference solutions with edits (tests/variants.py): each classic mistake must
fail exactly its own items and say why, each valid alternative must pass, and each way a student
function can go wrong (a crash, a hang, autograd, a lie) must cost that function only.
"""

from __future__ import annotations

import pytest
from attacks.stored_answers import stored_backward
from conftest import failing, item, mutated, solution
from variants import ALTERNATIVES, MISTAKES, Variant, combined, with_functions

from grader.backprop_ninja import spec
from grader.backprop_ninja.hidden import HIDDEN
from grader.grading import judge_case, make_item
from grader.hints import HintContext
from grader.records import CaseResult
from grader.session import Outcome
from grader.submissions import Submission

FILES = ("exercise1", "exercise2", "exercise3")


def submission(**files: str) -> dict[str, str]:
    """All three solutions, with some files replaced."""
    return {f: solution(f) for f in FILES} | files


def text(it: dict) -> str:
    return (it["message"] + " " + it["hint"]).lower()


# The solutions, and determinism


@pytest.fixture(scope="module")
def solved(grader) -> dict:
    from grader.submissions import Submission

    data = {f: s.encode() for f, s in submission().items()}
    return grader.grade(Submission("solutions", data)).to_json()


def test_the_solutions_score_full_marks(solved):
    assert solved["score"] == solved["max_score"] == 100.0
    assert failing(solved) == set()
    assert all(i["score"] == i["max_score"] for i in solved["items"])


def test_every_case_reports_its_seed_errors_and_shape(solved):
    for it in solved["items"]:
        if it["id"] == "exercise3.training":
            continue
        # Two public cases (the lecture's sizes, then others), then the five hidden ones.
        assert len(it["cases"]) == 7 and it["cases"][0]["public"], it["id"]
        assert [c["public"] for c in it["cases"]] == [True, True] + [False] * 5, it["id"]
        assert len({c["seed"] for c in it["cases"]}) == 7
        for c in it["cases"]:
            assert c["passed"] is True and c["status"] == "passed"
            assert 0 <= c["max_rel_err"] < 1e-5 and c["max_abs_err"] is not None
            assert c["shape"] == c["expected_shape"] and c["config"]["seed"] == c["seed"]


def test_grading_the_same_submission_twice_gives_the_same_result(grade):
    """Apart from when it was graded and how long it took; mistakes and hints included."""
    files = submission(exercise1=MISTAKES["bessel"].source())
    first, second = grade(files), grade(files)
    for result in (first, second):
        assert failing(result) == {"exercise1.dbndiff2"}
        del result["graded_at"], result["duration_s"], result["timing"]
    assert first == second


# Each classic mistake fails exactly its own items, and says why


@pytest.mark.parametrize("name", MISTAKES)
def test_a_classic_mistake_fails_exactly_its_own_items(grade, name):
    variant = MISTAKES[name]
    result = grade(submission(**{variant.file: variant.source()}))
    assert failing(result) == variant.items
    for item_id in variant.items:
        it = item(result, item_id)
        assert it["status"] == "failed" and it["score"] == 0, item_id
        # Every case, the hidden n = 100 one included, shows the mistake, and says so.
        assert [c["status"] for c in it["cases"]] == ["failed"] * 7, item_id
        assert all(word in text(it) for word in variant.says), (item_id, text(it))


def test_bessel_fails_the_hidden_case_with_n_100(grade):
    result = grade(submission(exercise2=MISTAKES["bessel_fused"].source()))
    (big,) = [c for c in item(result, "exercise2.dhprebn")["cases"] if c["config"]["n"] == 100]
    assert big["status"] == "failed" and "bessel" in big["hint"].lower()


def test_a_hidden_case_is_not_named_to_the_student(grade):
    """The item's message speaks of "a hidden case"; the TA's report has the details."""
    source = with_functions(
        "exercise1",
        dlogprobs="""
        def dlogprobs(logprobs, Yb, n):
            d = torch.zeros_like(logprobs)
            d[range(n), Yb] = -1.0 / max(n, 20)  # wrong only where n < 20: hidden cases
            return d
        """,
    )
    it = item(grade(submission(exercise1=source)), "exercise1.dlogprobs")
    assert it["status"] == "failed" and it["score"] == pytest.approx(2 * 4 / 7, abs=1e-3)
    assert "4/7 cases passed; on a hidden case:" in it["message"]
    assert "n100" not in it["message"] and "seed" not in it["message"]


# Each valid alternative passes


def alternative_groups() -> list[list[str]]:
    """The alternatives, batched into as few submissions as their edits allow."""
    groups: list[list[str]] = []
    for name, v in ALTERNATIVES.items():
        for group in groups:
            others = [ALTERNATIVES[g] for g in group]
            if others[0].file == v.file and _disjoint(v, others):
                group.append(name)
                break
        else:
            groups.append([name])
    return groups


def _disjoint(v: Variant, others: list[Variant]) -> bool:
    olds = [old for o in others for old, _ in o.edits]
    return not any(v.items & o.items for o in others) and not any(
        old in o or o in old for old, _ in v.edits for o in olds
    )


@pytest.mark.parametrize("names", alternative_groups(), ids="+".join)
def test_valid_alternatives_pass(grade, names):
    variants = [ALTERNATIVES[n] for n in names]
    result = grade(submission(**{variants[0].file: combined(variants)}))
    assert failing(result) == set()
    assert result["score"] == 100.0
    for v in variants:
        for item_id in v.items:
            warnings = " ".join(item(result, item_id)["warnings"])
            assert all(word in warnings for word in v.warns), (item_id, warnings)


def test_a_half_precision_answer_is_judged_as_its_inputs_dtype_and_fails(grade):
    """The answer's dtype never loosens the judgement: float16 rounding exceeds float32's."""
    source = solution("exercise1").replace("    return dh\n", "    return dh.half()\n")
    result = grade(submission(exercise1=source))
    assert failing(result) == {"exercise1.dh"}
    assert (
        "returned float16 while the inputs are float32" in item(result, "exercise1.dh")["message"]
    )


def test_every_alternative_is_graded():
    assert sorted(n for g in alternative_groups() for n in g) == sorted(ALTERNATIVES)


# Arguments by name


def test_a_disallowed_argument_is_forbidden_for_that_function_only(grade):
    ex1 = solution("exercise1").replace(
        "def dprobs(probs, dlogprobs):", "def dprobs(probs, dlogprobs, dW1):"
    )
    ex2 = solution("exercise2").replace(
        "def dlogits(logits, Yb, n):", "def dlogits(logits, Yb, n, dlogprobs):"
    )
    result = grade(submission(exercise1=ex1, exercise2=ex2))
    assert failing(result) == {"exercise1.dprobs", "exercise2.dlogits"}
    for item_id, name in (("exercise1.dprobs", "dW1"), ("exercise2.dlogits", "dlogprobs")):
        it = item(result, item_id)
        assert it["status"] == "forbidden" and it["score"] == 0
        assert f"declares '{name}', which it may not use" in it["message"]


def test_a_defaulted_parameter_keeps_its_default_unless_its_name_is_allowed(grade):
    """Like a pytest test's defaulted arguments: `eps=1e-5` (the lecture lets students hard-code
    epsilon) keeps its value, an allowed name with a default is filled, and a gradient the
    function may not use, declared with a default, is never handed to it. These were forbidden."""
    ex1 = (
        solution("exercise1")
        .replace("def dprobs(probs, dlogprobs):", "def dprobs(probs, dlogprobs, dW1=None):")
        .replace("def dhprebn(dbndiff, dbnmeani, n):", "def dhprebn(dbndiff, dbnmeani, n=None):")
        .replace("    return dprobs\n", "    assert dW1 is None\n    return dprobs\n")
    )
    ex2 = solution("exercise2").replace(
        "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):",
        "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n, eps=1e-5):",
    )
    ex3 = solution("exercise3").replace("h, logits\n):", "h, logits, eps=1e-5, *, lr=0.1\n):")
    assert ex1.count("=None") == 2 and "eps=" in ex2 and "lr=0.1" in ex3
    result = grade(submission(exercise1=ex1, exercise2=ex2, exercise3=ex3))
    assert failing(result) == set()
    assert result["score"] == result["max_score"]


def test_a_positional_only_parameter_after_one_kept_at_its_default_is_a_clear_error():
    from grader.calls import plan_call
    from grader.sandbox.inside.signatures import signature_of

    def dh(eps=1e-5, dlogits=None, /, W2=None):
        return dlogits

    args, positional, refused = plan_call(
        "dh", signature_of(dh), {"dlogits": 1, "W2": 2}, frozenset({"dlogits", "W2"})
    )
    assert refused.status == "error"
    assert "'dlogits' by position after 'eps'" in refused.message

    def dh2(dlogits, eps=1e-5, /, W2=None):
        return dlogits

    args, positional, refused = plan_call(
        "dh2", signature_of(dh2), {"dlogits": 1, "W2": 2}, frozenset({"dlogits", "W2"})
    )
    assert refused is None and args == {"dlogits": 1, "W2": 2} and positional == ["dlogits"]


def test_thousands_of_disallowed_parameters_are_named_a_few_at_a_time():
    """Each name went into every case's message: 26 functions of 3,600 made-up parameters made
    a 12.6 MB report.html from a 533 KB file (red team)."""
    from grader.calls import plan_call

    params = [f"p{i}" for i in range(3_600)]
    sig = {"params": ["x", *params], "varkw": False, "varargs": False, "positional_only": []}
    _, _, refused = plan_call("f", sig, {"x": 1}, frozenset({"x"}))
    assert refused.status == "forbidden" and len(refused.message) < 500
    assert "'p0', 'p1'" in refused.message and "and 3588 more" in refused.message
    _, _, refused = plan_call("f", sig, {"x": 1}, frozenset({"x", *params}))
    assert refused.status == "error" and "and 3588 more, which this case" in refused.message


def test_a_parameter_name_thousands_of_characters_long_is_quoted_by_its_start():
    """One parameter of 9,000 characters in each of 26 functions made a 593 KB result.json
    from a 247 KB upload, every case's message quoting the name whole (red team)."""
    from grader.calls import plan_call

    long = "d" + "x" * 8_999
    sig = {"params": ["x", long], "varkw": False, "varargs": False, "positional_only": []}
    _, _, refused = plan_call("f", sig, {"x": 1}, frozenset({"x"}))
    assert refused.status == "forbidden" and len(refused.message) < 500, len(refused.message)
    assert f"{long[:40]!r}... (9,000 characters), which it may not use" in refused.message
    _, _, refused = plan_call("f", sig, {"x": 1}, frozenset({"x", long}))
    assert refused.status == "error" and "(9,000 characters), which this case" in refused.message
    sig = {"params": [long, "x"], "positional_only": [long, "x"], "defaulted": [long]}
    _, _, refused = plan_call(
        "f", dict(sig, varkw=False, varargs=False), {"x": 1}, frozenset({"x"})
    )
    assert len(refused.message) < 500 and "after 'dxxx" in refused.message, refused.message


def test_a_misspelt_parameter_is_refused_with_the_name_it_is_closest_to():
    """`def dbnvar(bnvar, d_bnvar_inv)` was told only "allowed are C, W1, W2, Xb, Yb, b1, b2,
    batch_size, block_size, bnbias, bndiff, bndiff2 and 39 more (see the docstring)"."""
    from grader.calls import plan_call

    sig = {"params": ["bnvar", "d_bnvar_inv"], "varkw": False, "varargs": False}
    allowed = frozenset({"bnvar", "dbnvar_inv", "dbnraw", "bndiff", "C", "W1"})
    available = dict.fromkeys([*allowed, "dW1", "dbnvar"])  # every name the case has
    _, _, refused = plan_call("dbnvar", sig, available, allowed)
    assert refused.status == "forbidden"
    assert refused.message.startswith(
        "`dbnvar` declares 'd_bnvar_inv', which it may not use: did you mean `dbnvar_inv`? "
        "allowed are "
    ), refused.message
    sig["params"] = ["bnvar", "dW1"]  # a gradient it may not have, not a misspelt `W1`
    _, _, refused = plan_call("dbnvar", sig, available, allowed)
    assert "did you mean" not in refused.message, refused.message


def test_a_near_miss_name_is_missing_with_did_you_mean(grade):
    source = solution("exercise1").replace("def dlogit_maxes(", "def dlogits_maxes(")
    result = grade(submission(exercise1=source))
    assert failing(result) == {"exercise1.dlogit_maxes"}
    it = item(result, "exercise1.dlogit_maxes")
    assert it["status"] == "missing" and it["score"] == 0
    assert "no function `dlogit_maxes`" in it["message"] and "`dlogits_maxes`" in it["message"]


def test_a_missing_file_leaves_its_items_missing_and_the_others_graded(grade):
    result = grade({"exercise1": solution("exercise1"), "exercise3": solution("exercise3")})
    ex2 = {i["id"] for i in result["items"] if i["exercise"] == "exercise2"}
    assert ex2 == {"exercise2.dlogits", "exercise2.dhprebn"}
    assert failing(result) == ex2
    for item_id in ex2:
        assert item(result, item_id)["status"] == "missing"
        assert "exercise2.py was not submitted" in item(result, item_id)["message"]
    assert result["score"] == 80.0


# Return values that are not an answer


def test_an_exercise3_that_fails_to_import_is_one_failure_of_the_file(grade):
    """Every item of exercise 3 says the import's message, the training run too: the run once
    said it as its step 1's ("step 1: importing exercise3.py failed"), so the class summary saw
    two messages and left the file off the TA's "needs a look" list (exercises 1 and 2 were
    on it)."""
    from grader.report.html import file_failures

    result = grade(submission(exercise3=solution("exercise3") + "raise ValueError('boom')\n"))
    ex3 = [i for i in result["items"] if i["id"].startswith("exercise3.")]
    assert {i["status"] for i in ex3} == {"error"}
    training = item(result, "exercise3.training")
    assert training["message"].startswith("importing exercise3.py failed"), training["message"]
    assert "ValueError: boom" in file_failures(result)["exercise3"]


def test_nan_inf_none_and_non_tensors_fail_with_clear_messages(grade):
    broken = {
        "dcounts_sum": ("return dcounts_sum * float('nan')", "contains NaN values"),
        "dcounts": ("return dcounts / 0.0", "contains Inf values"),
        "dnorm_logits": ("dnorm_logits", "returned None: did you forget `return`?"),
        "dh": ("return dh, dh", "returned a list or tuple, not a torch.Tensor"),
        "dW2": ("return dW2.numpy()", "returned a numpy array, not a torch.Tensor"),
        "db2": ("return db2.long()", "returned an int64 tensor"),
        "dhpreact": ("return 3.0", "returned a float, not a torch.Tensor"),
    }
    source = solution("exercise1")
    for grad, (ret, _) in broken.items():
        source = source.replace(f"    return {grad}\n", f"    {ret}\n")
    result = grade(submission(exercise1=source))
    assert failing(result) == {f"exercise1.{g}" for g in broken}
    for grad, (_, says) in broken.items():
        it = item(result, f"exercise1.{grad}")
        assert it["status"] == "failed" and says in it["message"], it["message"]


@pytest.mark.parametrize(
    "slip",
    [
        ("    dlogits /= n\n", "    dlogits /= 32\n"),  # wrong values at other sizes
        ("F.softmax(logits, 1)\n", "F.softmax(logits, 1).view(32, -1)\n"),  # a crash there
    ],
    ids=["wrong elsewhere", "crash elsewhere"],
)
def test_a_size_hard_coded_in_backward_costs_its_gradients_not_the_run(grade, slip):
    """The run is made at the lecture's sizes, where this backward is right: it trains. The
    wrong-values form once lost the run's 17 points (every gradient excused, nothing left to
    judge) while the crashing form kept them."""
    old, new = slip
    result = grade(submission(exercise3=mutated("exercise3", old, new)))
    training = item(result, "exercise3.training")
    assert training["status"] == "passed" and training["extra"]["excused"] == [], training
    assert {"exercise3.dW1", "exercise3.dC"} <= failing(result)
    for grad in ("dW1", "dC"):
        it = item(result, f"exercise3.{grad}")
        assert 0 < it["score"] < it["max_score"], it


SIZE_SLIPS = {
    "wrong elsewhere": ("    dlogits /= n\n", "    dlogits /= 32\n"),
    "crash elsewhere": ("F.softmax(logits, 1)\n", "F.softmax(logits, 1).view(32, -1)\n"),
    "not implemented elsewhere": (
        "    dlogits = F.softmax(logits, 1)\n",
        "    if n != 32:\n        raise NotImplementedError\n    dlogits = F.softmax(logits, 1)\n",
    ),
}


@pytest.mark.parametrize("slip", SIZE_SLIPS.values(), ids=SIZE_SLIPS)
def test_a_gradient_wrong_at_the_runs_sizes_is_excused_whatever_fails_elsewhere(grade, slip):
    """Bessel's n in backward (dW1 and dC wrong everywhere) beside a size hard-coded: however
    that slip shows at other sizes, the run takes dW1 and dC from autograd and trains on the
    rest. Where it crashed, their items' status was `error`, not `failed`, so they stayed in
    the run and failed it: 17 points more for the same two slips."""
    source = mutated("exercise3", "n / (n - 1) * bnraw", "bnraw")
    old, new = slip
    assert source.count(old) == 1
    result = grade(submission(exercise3=source.replace(old, new)))
    training = item(result, "exercise3.training")
    assert training["status"] == "passed", training
    assert training["extra"]["excused"] == ["dC", "dW1"], training
    assert {"exercise3.dW1", "exercise3.dC"} <= failing(result)


def test_stored_answers_to_the_runs_public_inputs_do_not_score_the_run(grade):
    """A backward that computes nothing: autograd's answers to the public cases and to each
    step of the training run (whose inputs ship with the bundle), stored in the file, and an
    error on any other input. No case at the run's sizes failed, so nothing was excused, and
    the run made in the public phase stood: 17 of 30 points, 20.7 with the public cases. The
    run counts only where backward answered every case at its sizes; the public cases keep
    their share (docs/threat-model.md, "Known limits")."""
    result = grade(submission(exercise3=stored_backward()))
    training = item(result, "exercise3.training")
    assert training["status"] == "error" and training["score"] == 0, training
    assert "on a hidden case at those sizes backward gave no answer" in training["message"]
    assert [c["public"] for c in training["cases"]] == [False]  # it tells a hidden verdict
    for grad in spec.EXERCISE3_GRADS:
        it = item(result, f"exercise3.{grad}")
        assert [c["passed"] for c in it["cases"]] == [True, True] + [False] * 5, it
    assert result["exercises"]["exercise3"]["score"] < 4


def test_answers_stored_for_guessed_seeds_miss_the_hidden_case_at_the_runs_sizes(grade):
    """cases.py ships, so a hidden case is its sizes and seed: with the lecture-sized hidden
    case's seed 5, answers stored for seeds 0 to 15 at those sizes passed it, and with it the
    run counted again, with no gradient computed. With seeds drawn below 2**32, a search of the
    seeds torch's manual_seed tells apart found one from inputs spelt out through the hidden
    counts. A hidden seed is now a 128-bit secret filling the generator's whole state
    (grader/seeding.py): neither a small guess nor any 32-bit seed, its own low bits included
    (the best such a search could reach), draws its case."""
    low_bits = [cfg.seed % 2**32 for cfg in HIDDEN]
    result = grade(submission(exercise3=stored_backward(guesses=[*range(16), *low_bits])))
    training = item(result, "exercise3.training")
    assert training["status"] == "error" and training["score"] == 0, training
    for grad in spec.EXERCISE3_GRADS:
        it = item(result, f"exercise3.{grad}")
        assert [c["passed"] for c in it["cases"]] == [True, True] + [False] * 5, it


def test_answers_stored_for_the_secret_itself_would_pass_so_the_secret_is_what_holds(grade):
    """The test above is not vacuous: the same file storing the lecture-sized hidden case's
    secret passes that case and the run counts, so the secret is all that keeps it out."""
    (secret,) = [cfg.seed for cfg in HIDDEN if cfg.n == 32 and cfg.vocab_size == 27]
    result = grade(submission(exercise3=stored_backward(guesses=[secret])))
    assert item(result, "exercise3.training")["status"] == "passed"
    it = item(result, "exercise3.dW1")
    assert [c["passed"] for c in it["cases"]].count(True) == 3, it


INDEX_ADD = "    dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))\n"


def test_a_sparse_dC_is_judged_on_its_values_and_an_unreadable_one_costs_dC_only(grade):
    """torch.sparse_coo_tensor is the embedding's own sparse gradient: right values, once
    unreadable, which made backward's whole answer an error (0 of 30). A meta tensor, which
    has no values, fails dC alone; the six gradients beside it and the run are judged."""
    sparse = mutated(
        "exercise3",
        INDEX_ADD,
        "    dC = torch.sparse_coo_tensor(Xb.reshape(1, -1), demb.reshape(-1, C.shape[1]), "
        "C.shape)\n",
    )
    assert failing(grade(submission(exercise3=sparse))) == set()
    meta = mutated("exercise3", INDEX_ADD, "    dC = torch.empty_like(C, device='meta')\n")
    result = grade(submission(exercise3=meta))
    assert failing(result) == {"exercise3.dC"}
    dC = item(result, "exercise3.dC")
    assert dC["status"] == "failed" and "cannot be read" in dC["message"], dC
    assert item(result, "exercise3.training")["extra"]["excused"] == ["dC"]


def test_a_backward_without_return_is_asked_about_return(grade):
    """`grads = {...}` left without `return grads`: exercise 3 said "returned a None; expected
    a dict ...", where exercise 1's functions are asked "did you forget `return`?"."""
    source = mutated("exercise3", "    return {\n", "    grads = {\n")
    result = grade(submission(exercise3=source))
    for grad in ("dC", "dbnbias"):
        message = item(result, f"exercise3.{grad}")["message"]
        assert "returned None: did you forget `return`? Expected a dict with keys" in message
        assert "a None" not in message


def test_a_dict_keyed_by_parameter_names_says_which_key_was_meant(grade):
    """`{"C": dC, ...}`, the lecture's `parameters` names: each gradient says the key it has
    and the one meant (`C` and `dC` are too far apart for the spelling check: dC's message
    said only which keys must be)."""
    source = solution("exercise3")
    for grad in ("dC", "dW1", "db1", "dW2", "db2", "dbngain", "dbnbias"):
        old = f'"{grad}": {grad},'
        assert source.count(old) == 1
        source = source.replace(old, f'"{grad[1:]}": {grad},')
    result = grade(submission(exercise3=source))
    for grad in ("dC", "dW1"):  # `C` is too far from `dC` for the spelling check alone
        it = item(result, f"exercise3.{grad}")
        assert f"it has `{grad[1:]}`: meant as `{grad}`?" in it["message"], it["message"]


def test_a_right_gradient_in_another_s_place_says_whose_it_is(grade):
    """The lecture's `grads` list with dW1 first, and a dict with dbngain and dbnbias swapped:
    each misplaced gradient is right for the parameter it belongs to, and says so (it said only
    "wrong shape", or for dbngain and dbnbias, of one shape, only "values differ")."""
    listed = mutated(
        "exercise3",
        '    return {\n        "dC": dC,\n        "dW1": dW1,\n',
        '    return [dW1, dC, db1, dW2, db2, dbngain, dbnbias]\n    return {\n        "dC": dC,\n'
        '        "dW1": dW1,\n',
    )
    result = grade(submission(exercise3=listed))
    assert failing(result) == {"exercise3.dC", "exercise3.dW1"}  # the run excuses both
    for grad, other in (("dC", "dW1"), ("dW1", "dC")):
        hint = item(result, f"exercise3.{grad}")["hint"]
        assert f"this is {other}, right, in {grad}'s place: the list goes dC, dW1" in hint, hint
    swapped = mutated("exercise3", '"dbngain": dbngain,', '"dbngain": dbnbias,').replace(
        '"dbnbias": dbnbias,', '"dbnbias": dbngain,'
    )
    result = grade(submission(exercise3=swapped))
    assert {"exercise3.dbngain", "exercise3.dbnbias"} <= failing(result)
    hint = item(result, "exercise3.dbngain")["hint"]
    assert "this is dbnbias, right, under the key dbngain" in hint, hint


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_gradient_that_is_no_number_is_not_called_an_update(bad):
    """A dW2 of NaN (a division by zero) was told "this is W2 after an update (W2 - nan * dW2),
    not dW2": the update's step was read off values that are no numbers. An update is still
    named as one."""
    from grader.backprop_ninja import judging
    from grader.backprop_ninja.cases import cases

    public = cases(public_only=True)

    def outcome(case, dW2):
        grads = {g: (case.compact_grads[g].float(), "float32") for g in spec.EXERCISE3_GRADS}
        return Outcome("ok", value={**grads, "dW2": (dW2.float(), "float32")})

    for case in public:
        dW2 = case.compact_grads["dW2"].clone()
        dW2[0, 0] = bad
        (it,) = [
            i
            for i in judging.parameter_gradients(None, [case], None, [outcome(case, dW2)])
            if i.id == "exercise3.dW2"
        ]
        assert it.status == "failed" and "after an update" not in it.hint, it.hint
    case = public[0]
    updated = case.params["W2"].double() - 0.1 * case.compact_grads["dW2"]
    (it,) = [
        i
        for i in judging.parameter_gradients(None, [case], None, [outcome(case, updated)])
        if i.id == "exercise3.dW2"
    ]
    assert "this is W2 after an update (W2 - 0.1 * dW2)" in it.hint, it.hint


def test_a_wrong_gradient_equal_to_another_s_right_one_is_no_swap(grade):
    """dbngain without `bnraw *` is dhpreact's sum, dbnbias's value; db1 taken as dhpreact's sum
    (batchnorm skipped) too. The student's dbnbias passes beside them, so nothing was swapped,
    yet both said "this is dbnbias, right, under the key ...", pointing at keys that were fine
    and away from the missing factor. A swap leaves the other gradient's own place wrong too."""
    slips = mutated(
        "exercise3",
        "    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)\n",
        "    dbngain = dhpreact.sum(0, keepdim=True)\n",
    ).replace("    db1 = dhprebn.sum(0)\n", "    db1 = dhpreact.sum(0)\n")
    result = grade(submission(exercise3=slips))
    assert {"exercise3.dbngain", "exercise3.db1"} <= failing(result)
    assert "exercise3.dbnbias" not in failing(result)
    for grad in ("dbngain", "db1"):
        it = item(result, f"exercise3.{grad}")
        hints = [it["hint"], *(c.get("hint", "") for c in it["cases"])]
        assert not any("this is dbnbias" in h for h in hints), hints


def test_a_gradient_left_out_of_exercise_3s_dict_costs_that_gradient_only(grade):
    """A key misspelt or left out of backward's dict fails that gradient alone, as None in the
    lecture's list does: the others are judged, and the run takes the absent ones from autograd
    (it once failed all seven and the run: 0 of 30 for six right gradients)."""
    source = solution("exercise3")
    for old, new in (('"dbngain": dbngain', '"dbngian": dbngain'), ('        "db1": db1,\n', "")):
        assert source.count(old) == 1
        source = source.replace(old, new)
    result = grade(submission(exercise3=source))
    assert failing(result) == {"exercise3.dbngain", "exercise3.db1"}
    for grad in ("dbngain", "db1"):
        it = item(result, f"exercise3.{grad}")
        assert it["status"] == "failed"
        assert f"the returned dict has no {grad}" in it["message"], it["message"]
    assert "`dbngian`" in item(result, "exercise3.dbngain")["message"]
    assert "dbngian" not in item(result, "exercise3.db1")["message"]
    training = item(result, "exercise3.training")
    assert training["status"] == "passed", training["message"]
    assert "db1, dbngain came from autograd" in training["message"]


# Autograd is forbidden, for the function that uses it only

AUTOGRAD = {
    "dprobs": """
        def dprobs(probs, dlogprobs):
            p = probs.clone().requires_grad_()
            with torch.enable_grad():
                p.log().backward(dlogprobs)
            return p.grad
        """,
    "dcounts_sum_inv": """
        def dcounts_sum_inv(counts, counts_sum_inv, dprobs):
            x = counts_sum_inv.clone().requires_grad_()
            with torch.enable_grad():
                (g,) = torch.autograd.grad((counts * x * dprobs).sum(), x)
            return g
        """,
    "dcounts_sum": """
        def dcounts_sum(counts_sum, dcounts_sum_inv):
            return torch.func.grad(lambda x: (x**-1 * dcounts_sum_inv).sum())(counts_sum)
        """,
    "dh": """
        def dh(dlogits, W2, h):
            x = h.clone().requires_grad_()
            with torch.enable_grad():
                (x @ W2).backward(dlogits)
            return x.grad
        """,
    # A computed key into a class dict: introspection, which the scan refuses outright.
    "dnorm_logits": """
        def dnorm_logits(counts, dcounts, norm_logits):
            x = norm_logits.clone().requires_grad_()
            with torch.enable_grad():
                y = (x.exp() * dcounts).sum()
                torch.Tensor.__dict__["".join(["back", "ward"])](y)
            return counts * dcounts
        """,
}


def test_autograd_is_forbidden_and_scores_zero_for_that_function_only(grade):
    result = grade(submission(exercise1=with_functions("exercise1", **AUTOGRAD)))
    assert failing(result) == {f"exercise1.{g}" for g in AUTOGRAD}
    for grad in AUTOGRAD:
        it = item(result, f"exercise1.{grad}")
        assert it["status"] == "forbidden" and it["score"] == 0, grad
        assert "autograd" in it["message"] and "scores 0" in it["message"], it["message"]
    assert "introspection" in item(result, "exercise1.dnorm_logits")["message"]


def test_a_traceback_shows_the_student_s_lines_and_none_of_torch_s(grade):
    """A `.backward()` left at a file's top, and a function that raised inside torch: the
    report showed torch's frames with the grading machine's paths to its packages
    (`.../site-packages/torch/_tensor.py`), where the student's check shows their lines alone."""
    at_top = (
        solution("exercise2") + "\n_w = torch.ones(3, requires_grad=True)\n_w.sum().backward()\n"
    )
    inside = mutated(
        "exercise1",
        "dprobs = (1.0 / probs) * dlogprobs",
        "dprobs = torch.nn.functional.cross_entropy(probs, dlogprobs[:1])",
    )
    result = grade(submission(exercise1=inside, exercise2=at_top))
    banned, raised = item(result, "exercise2.dlogits"), item(result, "exercise1.dprobs")
    assert banned["status"] == "forbidden" and raised["status"] == "error", (banned, raised)
    for message, line in ((banned, "_w.sum().backward()"), (raised, "cross_entropy(probs")):
        frames = [ln for ln in message["message"].splitlines() if ln.strip().startswith("File ")]
        assert frames and all('File "exercise' in f for f in frames), message["message"]
        assert line in message["message"] and "site-packages" not in message["message"]


def test_a_long_exception_keeps_the_heading_the_student_s_line_and_its_type(grade):
    """`assert ok, (dlogits, logits)` prints its tensors in thousands of characters: the
    traceback's last 4,000 were kept, the tail of a tensor, with no heading, no line of the
    student's and no exception type (the table's row read `ERROR 4.4440e-02,`)."""
    long = mutated(
        "exercise2",
        "    dlogits = F.softmax(logits, 1)\n",
        "    dlogits = F.softmax(logits, 1)\n"
        "    assert False, 'start ' + 'x' * 9000 + ' the end'\n",
    )
    message = item(grade(submission(exercise2=long)), "exercise2.dlogits")["message"]
    assert "Traceback (most recent call last):" in message, message[:300]
    trace = message[message.index("Traceback (most recent call last):") :]
    assert len(trace) <= 4000, len(trace)
    assert 'File "exercise2.py", line ' in trace and "assert False, 'start '" in trace, trace
    assert "AssertionError: start xxx" in trace and trace.rstrip().endswith("xxx the end"), trace
    assert "characters cut ...]" in trace


def test_code_that_could_hide_autograd_is_refused_in_words_that_say_so(grade):
    """`print(locals())` is no autograd: the message says what the grader refuses and why,
    not that the student computed gradients with autograd."""
    debug = "    print(locals())\n    return (1.0 / probs) * dlogprobs\n"
    source = with_functions("exercise1", dprobs="def dprobs(probs, dlogprobs):\n" + debug)
    it = item(grade(submission(exercise1=source)), "exercise1.dprobs")
    assert it["status"] == "forbidden" and it["score"] == 0
    assert "`dprobs` uses locals():" in it["message"], it["message"]
    assert "could reach it unseen" in it["message"] and "remove it" in it["message"]


def test_the_run_time_check_catches_autograd_the_scan_was_not_asked_to_see():
    """Defence in depth: with the static scan off, the run-time autograd ban still catches it."""
    from grader.pipeline import Grader

    g = Grader(public_only=True, static_scan=False)
    try:
        sub = Submission(
            "s",
            {
                "exercise1": with_functions("exercise1", **AUTOGRAD).encode(),
                "exercise2": None,
                "exercise3": None,
            },
        )
        result = g.grade(sub).to_json()
    finally:
        g.close()
    for grad in AUTOGRAD:
        it = item(result, f"exercise1.{grad}")
        assert it["status"] == "forbidden" and "while running" in it["message"], it["message"]


# A dispatch mode entered at import, which only forwards each operator: torch's Python dispatch
# looks operators up by name, which the autograd ban refuses.
DISPATCH_MODE = (
    "from torch.utils._python_dispatch import TorchDispatchMode\n\n\n"
    "class _Forwarding(TorchDispatchMode):\n"
    "    def __torch_dispatch__(self, func, types, args=(), kwargs=None):\n"
    "        return func(*args, **(kwargs or {}))\n\n\n"
    "_Forwarding().__enter__()\n"
)


def test_a_mode_entered_at_import_meets_the_ban_in_the_student_s_call_not_in_the_grader_s(
    grade,
):
    """The mode ran its own code in the grader's making of each call's inputs, where the ban's
    refusal ended the process before it answered: every item read as a crash ("os._exit, a
    segmentation fault, or running out of memory"), which the student's functions never did.
    The inputs are now made with torch's modes off; the student's code meets its mode itself."""
    source = solution("exercise1") + "\n\n" + DISPATCH_MODE
    result = grade(submission(exercise1=source))
    it = item(result, "exercise1.dlogprobs")
    assert it["status"] == "forbidden" and "_get_operation_overload" in it["message"], it
    assert "ended without answering" not in it["message"]
    assert item(result, "exercise2.dlogits")["status"] == "passed"


# Each crash costs only its item


def test_each_kind_of_crash_costs_only_its_item(grade):
    source = with_functions(
        "exercise1",
        dcounts_sum="""
        def dcounts_sum(counts_sum, dcounts_sum_inv):
            return counts_sum[10**6]
        """,
        dcounts="""
        def dcounts(counts_sum_inv, dprobs, dcounts_sum):
            raise NotImplementedError
        """,
        dh="""
        def dh(dlogits, W2):
            import os
            os._exit(3)
        """,
        db2="""
        def db2(dlogits):
            import sys
            sys.exit(1)
        """,
    )
    result = grade(submission(exercise1=source))
    crashed = {"dcounts_sum": "error", "dcounts": "not_implemented", "dh": "error", "db2": "error"}
    assert failing(result) == {f"exercise1.{g}" for g in crashed}
    for grad, status in crashed.items():
        assert item(result, f"exercise1.{grad}")["status"] == status, grad
    # The student's traceback, and only theirs.
    message = item(result, "exercise1.dcounts_sum")["message"]
    assert "IndexError" in message and "counts_sum[10**6]" in message
    assert "worker.py" not in message and "grader" not in message
    assert "not implemented" in item(result, "exercise1.dcounts")["message"]
    assert "ended without answering" in item(result, "exercise1.dh")["message"]
    # The items after os._exit ran in a fresh process, on every case.
    assert [c["status"] for c in item(result, "exercise1.dW2")["cases"]] == ["passed"] * 7


def test_a_hanging_function_times_out_and_costs_only_its_item():
    from grader.pipeline import Grader
    from grader.sandbox.client import Limits
    from grader.submissions import Submission

    source = with_functions(
        "exercise1",
        dW2="""
        def dW2(h, dlogits):
            while True:
                pass
        """,
    )
    grader = Grader(limits=Limits(call_seconds=2), public_only=True)
    try:
        data = {f: s.encode() for f, s in submission(exercise1=source).items()}
        result = grader.grade(Submission("hangs", data)).to_json()
    finally:
        grader.close()
    assert failing(result) == {"exercise1.dW2"}
    it = item(result, "exercise1.dW2")
    assert it["status"] == "timeout" and "no answer within 2 s" in it["message"]


def test_a_function_hanging_in_the_chain_alone_keeps_its_judged_cases():
    """The chain feeds each function the student's own gradients and is only reported: a
    function that hangs there (here on dcounts_sum's wrong values) and is right in isolation
    passes every case. Its chain timeout once skipped its hidden cases: 2 of 7 for a right
    dcounts, a second charge of dcounts_sum's mistake."""
    from grader.pipeline import Grader
    from grader.sandbox.client import Limits
    from grader.submissions import Submission

    source = with_functions(
        "exercise1",
        dcounts_sum="""
        def dcounts_sum(counts_sum, dcounts_sum_inv):
            return -(counts_sum**-2) * dcounts_sum_inv * 1.5
        """,
        dcounts="""
        def dcounts(counts_sum_inv, dprobs, dcounts_sum, counts_sum, dcounts_sum_inv):
            while not torch.allclose(dcounts_sum, -(counts_sum**-2) * dcounts_sum_inv):
                pass
            return counts_sum_inv * dprobs + dcounts_sum
        """,
    )
    grader = Grader(limits=Limits(call_seconds=2))
    try:
        result = grader.grade(Submission("chain", {"exercise1": source.encode()})).to_json()
    finally:
        grader.close()
    dcounts = item(result, "exercise1.dcounts")
    assert dcounts["status"] == "passed" and len(dcounts["cases"]) == 7, dcounts["message"]
    steps = {s["grad"]: s["status"] for s in result["chain"]["steps"]}
    assert steps["dcounts_sum"] == "failed" and steps["dcounts"] == "timeout", steps


def test_a_backward_hanging_in_the_training_run_alone_costs_the_run_only():
    """The run is its own item: a backward that hangs there (here where no hidden unit is
    quiet, as in the run and in no case) keeps its seven gradient items. Its timeout once
    skipped their hidden cases: 5 of 7 cases lost by each of seven right gradients."""
    from grader.pipeline import Grader
    from grader.sandbox.client import Limits
    from grader.submissions import Submission

    source = mutated(
        "exercise3",
        "    dlogits = F.softmax(logits, 1)\n",
        "    while hprebn.var(0).min() > 0.1:\n        pass\n    dlogits = F.softmax(logits, 1)\n",
    )
    grader = Grader(limits=Limits(call_seconds=2))
    try:
        result = grader.grade(Submission("run", {"exercise3": source.encode()})).to_json()
    finally:
        grader.close()
    exercise3 = {i for i in failing(result) if i.startswith("exercise3.")}
    assert exercise3 == {"exercise3.training"}, exercise3
    assert item(result, "exercise3.training")["status"] == "timeout"
    assert all(len(item(result, f"exercise3.{g}")["cases"]) == 7 for g in ("dC", "dW1"))


def test_a_backward_hanging_at_other_sizes_alone_keeps_the_run():
    """A timeout skips backward's later cases, and the hidden case at the run's sizes comes
    last: a backward right wherever it answers, too slow at n = 100 alone (loops over n * n *
    n_hidden), had that case skipped, and the run, which it drove right, lost its 17 points as
    "no answer at the run's sizes". The cases at the run's sizes are asked in a scope of their
    own; the case after the timeout at other sizes is still skipped."""
    from grader.pipeline import Grader
    from grader.sandbox.client import Limits
    from grader.submissions import Submission

    source = mutated(
        "exercise3",
        "    dlogits = F.softmax(logits, 1)\n",
        "    while n == 100:\n        pass\n    dlogits = F.softmax(logits, 1)\n",
    )
    grader = Grader(limits=Limits(call_seconds=2))
    try:
        result = grader.grade(Submission("slow", {"exercise3": source.encode()})).to_json()
    finally:
        grader.close()
    training = item(result, "exercise3.training")
    assert training["status"] == "passed" and training["score"] == 17, training["message"]
    dW1 = item(result, "exercise3.dW1")
    statuses = {c["config"]["n"]: c["status"] for c in dW1["cases"] if not c["public"]}
    assert statuses == {5: "passed", 17: "passed", 100: "timeout", 9: "timeout", 32: "passed"}


def test_stored_answers_that_hang_on_hidden_inputs_do_not_score_the_run():
    """The scope of its own that keeps the case at the run's sizes asked after a timeout at
    other sizes: a backward of stored answers hanging on the first hidden input meets that
    case too, hangs there, and the run stays uncounted."""
    from grader.pipeline import Grader
    from grader.sandbox.client import Limits
    from grader.submissions import Submission

    grader = Grader(limits=Limits(call_seconds=2))
    try:
        data = {"exercise3": stored_backward(hang=True).encode()}
        result = grader.grade(Submission("stored", data)).to_json()
    finally:
        grader.close()
    training = item(result, "exercise3.training")
    assert training["status"] == "timeout" and training["score"] == 0, training
    assert "on a hidden case at those sizes backward gave no answer" in training["message"]
    dC = item(result, "exercise3.dC")
    hidden = [c["status"] for c in dC["cases"] if not c["public"]]
    assert hidden == ["timeout"] * 5, hidden


# What runs in the student's process cannot reach the judgement

LIES = """

torch.allclose = lambda *args, **kwargs: True
torch.Tensor.__sub__ = lambda a, b: torch.zeros_like(a)
torch.Tensor.__eq__ = lambda a, b: torch.ones_like(a, dtype=torch.bool)
torch.Tensor.abs = lambda a: torch.zeros_like(a)


class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal", "__eq__", "isclose"):
            return True
        if name in ("__sub__", "sub", "abs", "max", "amax"):
            return torch.zeros(())
        return super().__torch_function__(func, types, args, kwargs or {})


def dlogits(logits, Yb, n):
    return F.softmax(logits, 1)  # wrong: no one-hot, no 1/n


def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):
    return (2.0 * dhpreact).as_subclass(Liar)
"""


def test_monkeypatching_torch_or_a_lying_tensor_cannot_pass(grade):
    result = grade(submission(exercise2="import torch\nimport torch.nn.functional as F\n" + LIES))
    assert failing(result) == {"exercise2.dlogits", "exercise2.dhprebn"}
    for item_id in ("exercise2.dlogits", "exercise2.dhprebn"):
        assert item(result, item_id)["score"] == 0


def test_changing_inputs_in_place_affects_nothing_else(grade):
    source = with_functions(
        "exercise1",
        dprobs="""
        def dprobs(probs, dlogprobs):
            d = (1.0 / probs) * dlogprobs
            probs.zero_()
            dlogprobs.fill_(float("nan"))
            return d
        """,
    )
    assert failing(grade(submission(exercise1=source))) == set()


# judge_case and make_item, the suites' two helpers


def meta(public: bool, seed: int) -> dict:
    return {"case": f"case-{seed}", "seed": seed, "public": public, "config": {"n": 5}}


def test_a_call_that_failed_keeps_its_status_and_message():
    import torch

    truth = torch.ones(3, dtype=torch.float64)
    case = judge_case(
        meta(True, 1), Outcome("timeout", "no answer"), truth, input_dtype=torch.float32
    )
    assert case.status == "timeout" and case.message == "no answer"
    assert case.expected_shape == [3]


def test_a_failed_case_carries_the_hint_and_the_call_warnings():
    import torch

    truth = torch.arange(1.0, 5.0, dtype=torch.float64)
    outcome = Outcome("ok", value=(-truth.float(), "float32"), warnings=["printed a lot"])
    case = judge_case(
        meta(True, 1), outcome, truth, input_dtype=torch.float32, hints=HintContext(5)
    )
    assert case.status == "failed" and case.hint == "the sign is flipped"
    assert case.warnings == ["printed a lot"]


def case_result(status: str, public: bool, seed: int, **kw) -> CaseResult:
    return CaseResult(**meta(public, seed), status=status, **kw)


def test_an_item_shows_its_most_pressing_status_and_first_such_failure():
    cases = [
        case_result("passed", True, 1, warnings=["w"]),
        case_result("failed", False, 2, message="off", hint="sign"),
        case_result("timeout", False, 3, message="hung", warnings=["w"]),
    ]
    it = make_item("exercise1.dh", cases)
    assert it.status == "timeout" and it.exercise == "exercise1"
    assert it.message == "1/3 cases passed; on a hidden case: hung"
    assert it.warnings == ["w"] and it.hint == ""


def test_an_item_whose_cases_all_pass_says_so():
    it = make_item("exercise1.dh", [case_result("passed", True, 1)])
    assert it.status == "passed" and it.message == "its only case passed"  # not "all 1 cases"
    it = make_item("exercise1.dh", [case_result("passed", True, k) for k in (1, 2)])
    assert it.message == "all 2 cases passed"
    it = make_item("exercise1.dh", [case_result("failed", False, 1, message="off")])
    assert it.message == "0/1 case passed; on a hidden case: off"
