"""``lenet serve``: the model over HTTP (``app``, FastAPI) and what each request computes (``service``)."""
