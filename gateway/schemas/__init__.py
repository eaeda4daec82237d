"""Request and response bodies of the gateway API, one module per resource."""
