"""Embeddings and the FAISS index.

Set before NumPy loads: our NumPy work is small, and OpenBLAS threads spinning after each call
fight torch's threads for the same 2 cores (measured: grading 2.5x slower with them)."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
