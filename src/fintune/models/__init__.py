"""Model families, loading (hub id, local directory or the bundled MiniLM) and batched inference."""
