"""The monitoring centre and rapid response: alert workflow, incidents grouped per cargo
movement, dispatch to the nearest available rapid response unit (RRU), the response
clock and its escalation, notifications (console, email, signed webhooks, MQTT), and
the live feed of the operator console. See docs/monitoring.md."""
