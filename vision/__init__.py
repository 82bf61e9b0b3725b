"""Reading licence plates and ISO 6346 container codes from camera frames."""
