"""The HTTP and WebSocket faces of Sluice: public API, admin API and relay."""
