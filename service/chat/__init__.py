"""Multi-turn chat: conversations kept in SQLite, follow-up questions rewritten against earlier turns."""
