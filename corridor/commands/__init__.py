"""One module per `corridor` subcommand group; each exposes a click object named `cli`."""
