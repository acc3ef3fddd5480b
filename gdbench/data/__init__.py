"""Datasets: one module per dataset, read from the real on-disk formats, plus synthetic.py,
which writes small generated data in those same formats."""
