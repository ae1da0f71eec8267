"""Amanat (امانت): electoral-risk and election-operations platform."""
