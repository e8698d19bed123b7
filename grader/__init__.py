"""Autograder for hand-written backprop: a course's assignments, judged against autograd."""

__version__ = "0.1.0"
