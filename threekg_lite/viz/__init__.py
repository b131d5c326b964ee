"""Figures for the book: ECG plots, VCG loops, the 3KG views, pretraining curves."""
