"""The tutor's pure logic: sessions, the question chooser, progress figures, SM-2 scheduling,
question of the day and the mock-night state machine. No Discord, no terminal, no database."""
