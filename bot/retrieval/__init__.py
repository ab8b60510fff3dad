"""Answering follow-up questions from the knowledge base (retriever.py)."""
