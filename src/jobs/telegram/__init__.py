"""Everything that touches Telethon lives here."""
