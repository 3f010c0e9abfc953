"""Extensions: skills, plugins, MCP servers and the browser, managed for the owner."""
