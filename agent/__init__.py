"""The devtel agent: measures a developer's inner loop on their machine and emits it as OTLP.

Kept import-light on purpose: the receiver imports ``agent.contract`` and must not
pull in the agent's dependencies with it.
"""
