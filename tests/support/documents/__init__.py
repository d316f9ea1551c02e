"""The project's own documents as the tests read them: the README's sections and commands,
markdown links and headings, pyproject.toml's metadata (no tests here)."""
