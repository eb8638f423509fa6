"""The local stack `make run` starts: moto server as local AWS, the HTTP API and a WebSocket gateway."""
