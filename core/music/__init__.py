"""Music knowledge shared by every generator: the spec a prompt resolves to, theory, lexicon."""
