"""Sandbox Cin7 Core External API v2: an HTTP server written from reference/cin7-core-api.md alone.

It shares no code with the project's `shared/` package, so a misreading of the API cannot hide on both sides.
Entry points: `sandbox.cin7.server.Cin7Sandbox` (tests), `sandbox.cin7.cli.main` (`orosync sandbox cin7`),
`sandbox.cin7.seed.seed_demo` (the demo tenant). See README.md in this folder.
"""
