"""From an inbox row to a reply: routing, commands, per-chat workers, delivery."""
