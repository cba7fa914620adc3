"""Fidelity of the course: the manual, observations, attendance, scores and reliability."""
