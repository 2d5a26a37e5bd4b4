"""Slack adapter (slack-bolt `AsyncApp`): Slack payloads in, calls into `bot/`, Block Kit out.

`build_app(settings, database)` wires everything (app.py); `SlackHttpServer` / `serve_socket_mode` run it
(server.py); `crowdrank serve --slack` is the command line entry point (bot/commands/serve.py).
"""
