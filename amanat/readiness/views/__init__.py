"""Readiness and election-day pages: parse the input, call one service or the selectors, render."""
