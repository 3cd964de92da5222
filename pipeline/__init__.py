"""Figures for explanatory neural-network posts."""
