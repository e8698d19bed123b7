"""Gradescope support: the autograder zip, the run on Gradescope, and results.json.

`package` builds the zip (setup.sh, run_autograder and the grader's source, never the
solutions), `run` grades /autograder/submission with the same pipeline as `grader grade`, and
`results` turns the resulting result.json into Gradescope's results.json format.
"""
