"""Agentic multi-step search over a RAGSystem."""
