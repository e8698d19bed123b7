"""Autograder for 'Becoming a Backprop Ninja': hand-written gradients judged against autograd."""

__version__ = "0.1.0"
