"""Alerts: rules, their evaluation and their delivery."""
