"""The API: retrieval, cited answers, and the FastAPI app around them."""
