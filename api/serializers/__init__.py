"""Request and response shapes of the API, one module per module of api.views."""
