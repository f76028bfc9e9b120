"""The HTTP app over the engine: routes, dependencies, auth and keys, the audit log, limits and
metrics middleware, upload jobs and the web page. It calls the engine; the engine never imports it."""
