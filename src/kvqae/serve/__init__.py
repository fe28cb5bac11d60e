"""`kvqae serve`: an HTTP API (FastAPI) and a web page over an answerable output folder (`kvqae.ask`)."""
