"""The FastAPI application: REST under /api/v1, the live websocket, and the dashboard's static files."""
