"""One router per resource; `service.http.app.create_app` includes them."""
