"""Protocol code only: one small typed library per device family (no MQTT, no app config)."""
