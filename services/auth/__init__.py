"""Authentication and authorisation: password hashing, tokens, and who may see what."""
