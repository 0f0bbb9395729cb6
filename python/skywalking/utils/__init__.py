"""Small helpers shared by the agent and its plugins (no native code, no third-party imports)."""
