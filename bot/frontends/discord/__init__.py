"""`gradcheck discord`: the Discord bot (bot.py) and one package per feature (quiz, study, qotd,
mock), each a cog in `_cog.py` loaded through its `setup()`."""
